package api

import (
	"context"
	"errors"
	"slices"

	"github.com/parcours-ent/parcours/recommender"
)

// action is what a request does; with the role and the target it decides access.
type action string

const (
	actReadPupil action = "pupil.read"      // recommendations, path
	actDecide    action = "path.decide"     // a teacher's decision on a step
	actOverview  action = "class.overview"  // a teacher's class view
	actIngest    action = "ingest"          // batch intake
	actXAPI      action = "xapi.statements" // usage intake
	actConsent   action = "consent.write"
	actExport    action = "export"
	actErase     action = "erase"
	actAudit     action = "audit.read"
	actAnalytics action = "analytics.read"
)

// target is whom or what an action is about; empty fields do not apply.
type target struct {
	StudentID string
	ClassID   string
	SchoolID  string
}

// authorize is the one place that decides access: role × action × target. It returns nil,
// errForbidden, or an error of the store (a teacher's access needs the pupil's class).
//
// Existence is never revealed to whom may not see it: a pupil who is not one's own, or
// unknown, is 403 for students, parents and teachers alike (a teacher's lookup of an
// unknown pupil answers 403, not 404). 404 is only ever returned for ids the caller is
// entitled to (their own id, their child, or any id for an admin), once the action runs.
func (s *Server) authorize(ctx context.Context, cl *Claims, act action, t target) error {
	switch act {
	case actReadPupil:
		switch cl.Role {
		case RoleStudent:
			return allowIf(cl.Subject == t.StudentID)
		case RoleParent:
			return allowIf(slices.Contains(cl.Students, t.StudentID))
		case RoleTeacher:
			return s.teachesPupil(ctx, cl, t.StudentID)
		}
	case actDecide:
		if cl.Role == RoleTeacher {
			return s.teachesPupil(ctx, cl, t.StudentID)
		}
	case actOverview:
		if cl.Role == RoleTeacher {
			return allowIf(slices.Contains(cl.Classes, t.ClassID))
		}
	case actIngest:
		return allowIf(cl.Role == RoleService || cl.Role == RoleAdmin)
	case actXAPI:
		return allowIf(cl.Role == RoleService)
	case actConsent, actExport:
		switch cl.Role {
		case RoleAdmin:
			return nil
		case RoleParent:
			return allowIf(slices.Contains(cl.Students, t.StudentID))
		}
	case actErase, actAudit:
		return allowIf(cl.Role == RoleAdmin)
	case actAnalytics:
		switch cl.Role {
		case RoleAdmin:
			return nil
		case RoleAnalyst:
			// An analyst bound to a school sees that school only; one without a school
			// claim works for the académie and sees any school.
			return allowIf(cl.School == "" || cl.School == t.SchoolID)
		}
	}
	return errForbidden
}

func allowIf(ok bool) error {
	if ok {
		return nil
	}
	return errForbidden
}

// teachesPupil looks up the pupil's class: an unknown pupil is forbidden, like another
// teacher's pupil, so that a teacher cannot probe which ids exist.
func (s *Server) teachesPupil(ctx context.Context, cl *Claims, studentID string) error {
	if len(cl.Classes) == 0 {
		return errForbidden
	}
	classID, err := s.pupilClass(ctx, studentID)
	switch {
	case errors.Is(err, recommender.ErrNotFound):
		return errForbidden
	case err != nil:
		return err
	}
	return allowIf(slices.Contains(cl.Classes, classID))
}

// pupilClass returns the pupil's class, from the pupil's cache bucket when it holds it
// (it is dropped with the rest whenever the pupil's rows change), else from the store.
// So a teacher's cached read needs no store query, and still works while it is down.
func (s *Server) pupilClass(ctx context.Context, studentID string) (string, error) {
	const field = "class"
	version := ""
	if s.cache != nil {
		v, val, ok, err := s.cache.Lookup(ctx, bucketOf(studentID), field, s.cfg.CacheTTL)
		switch {
		case err != nil:
			s.metrics.cache.WithLabelValues(field, "error").Inc()
		case ok:
			s.metrics.cache.WithLabelValues(field, "hit").Inc()
			return string(val), nil
		default:
			s.metrics.cache.WithLabelValues(field, "miss").Inc()
			version = v
		}
	}
	st, err := s.store.Student(ctx, studentID)
	if err != nil {
		if errors.Is(err, recommender.ErrNotFound) && version != "" {
			_ = s.cache.Drop(ctx, bucketOf(studentID)) // no key for ids that do not exist
		}
		return "", err
	}
	if version != "" {
		if _, err := s.cache.Store(ctx, bucketOf(studentID), version, field, []byte(st.ClassID), s.cfg.CacheTTL); err != nil {
			s.metrics.cache.WithLabelValues(field, "error").Inc()
		}
	}
	return st.ClassID, nil
}
