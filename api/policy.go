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
	actReadPupil     action = "pupil.read"          // recommendations, path
	actDecide        action = "path.decide"         // a teacher's decision on a step
	actDecisionsRead action = "path.decisions.read" // the history of a pupil's decisions
	actOverview      action = "class.overview"      // a teacher's class view
	actIngest        action = "ingest"              // batch intake
	actXAPI          action = "xapi.statements"     // usage intake
	actXAPIRead      action = "xapi.statement.read"
	actConsent       action = "consent.write"
	actExport        action = "export"
	actErase         action = "erase"
	actLift          action = "tombstone.lift"
	// actAuthenticate is a request refused for its token (401): audited with the
	// caller's address, never the token.
	actAuthenticate action = "authenticate"
	actAudit        action = "audit.read"
	actAnalytics    action = "analytics.read"
	actSimilar      action = "resources.similar" // no pupil's data: the catalogue only
	actHide         action = "resources.hide"
	// Experiments (experiments.go): define and read (aggregates only), a class's
	// experiments and opt-out (its teacher), feedback on a served list (the pupil, the ENT).
	actExperimentWrite action = "experiment.write"
	actExperimentRead  action = "experiment.read"
	actClassExperiment action = "class.experiment"
	actFeedback        action = "feedback"
)

// target is whom or what an action is about; empty fields do not apply.
type target struct {
	StudentID string
	ClassID   string
	SchoolID  string
	// Schools are an experiment's schools (empty: every school).
	Schools []string
	// access is the pupil's row of record when the caller has read it already (nil with
	// accessRead set: the pupil is unknown), so that a teacher's check reads it only once.
	access     *recommender.Access
	accessRead bool
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
			return s.teachesPupil(ctx, cl, t)
		}
	case actDecide, actDecisionsRead:
		if cl.Role == RoleTeacher {
			return s.teachesPupil(ctx, cl, t)
		}
	case actOverview:
		if cl.Role == RoleTeacher {
			return allowIf(slices.Contains(cl.Classes, t.ClassID))
		}
	case actIngest:
		return allowIf(cl.Role == RoleService || cl.Role == RoleAdmin)
	case actSimilar:
		return allowIf(cl.Role == RoleStudent || cl.Role == RoleParent || cl.Role == RoleTeacher || cl.Role == RoleAdmin)
	case actHide:
		switch cl.Role {
		case RoleAdmin:
			return nil
		case RoleTeacher:
			return allowIf(t.ClassID != "" && slices.Contains(cl.Classes, t.ClassID))
		}
	case actXAPI, actXAPIRead:
		return allowIf(cl.Role == RoleService)
	case actConsent, actExport:
		switch cl.Role {
		case RoleAdmin:
			return nil
		case RoleParent:
			return allowIf(slices.Contains(cl.Students, t.StudentID))
		}
	case actErase, actAudit, actLift:
		return allowIf(cl.Role == RoleAdmin)
	case actExperimentWrite, actExperimentRead:
		switch cl.Role {
		case RoleAdmin:
			return nil
		case RoleAnalyst:
			// A school's analyst works on experiments within their school only.
			return allowIf(cl.School == "" || (len(t.Schools) > 0 &&
				!slices.ContainsFunc(t.Schools, func(sc string) bool { return sc != cl.School })))
		}
	case actClassExperiment:
		switch cl.Role {
		case RoleAdmin:
			return nil
		case RoleTeacher:
			return allowIf(slices.Contains(cl.Classes, t.ClassID))
		}
	case actFeedback:
		switch cl.Role {
		case RoleService:
			return nil
		case RoleStudent:
			return allowIf(cl.Subject == t.StudentID)
		}
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

// teachesPupil checks the pupil's class as the store of record has it now, never as a
// cache remembers it: a class change, by the API or by `parcours ingest`, revokes the
// old teacher's access at once. An unknown pupil is forbidden, like another teacher's
// pupil, so that a teacher cannot probe which ids exist.
func (s *Server) teachesPupil(ctx context.Context, cl *Claims, t target) error {
	if len(cl.Classes) == 0 {
		return errForbidden
	}
	acc := t.access
	if !t.accessRead {
		a, err := s.store.Access(ctx, t.StudentID)
		switch {
		case errors.Is(err, recommender.ErrNotFound):
		case err != nil:
			return err
		default:
			acc = &a
		}
	}
	if acc == nil {
		return errForbidden
	}
	return allowIf(slices.Contains(cl.Classes, acc.ClassID))
}
