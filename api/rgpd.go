package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

// pupilExport is the RGPD export: what the engine's store holds about the pupil plus,
// when the store keeps experiments, the lists served to them under an experiment's arm
// and the feedback their ENT page sent (both personal data, erased with them).
type pupilExport struct {
	recommender.Export
	ExperimentExposures []experiment.Exposure `json:"experiment_exposures"`
	ExperimentFeedback  []experiment.Feedback `json:"experiment_feedback"`
}

type consentBody struct {
	Personalization *bool `json:"personalization"`
}

func (s *Server) putConsent(c *gin.Context) {
	var b consentBody
	if err := decodeJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if b.Personalization == nil {
		writeProblem(c, badRequest("/personalization", "personalization (true or false) is required"))
		return
	}
	id, ok := s.pupilID(c, actConsent)
	if !ok {
		return
	}
	err := s.setConsent(c.Request.Context(), id, *b.Personalization)
	if aerr := s.auditResult(c, actConsent, err, id); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"student_id": id, "personalization": *b.Personalization})
}

// setConsent records the choice. Consent decides what may be served: like an erasure,
// the change is refused while the cache cannot be cleared, and reported as failed (to be
// retried) when it could not be cleared after.
func (s *Server) setConsent(ctx context.Context, id string, consent bool) error {
	if err := s.invalidate(ctx, []string{id}); err != nil {
		return errCacheUnclear
	}
	if err := s.eng.SetConsent(ctx, id, consent); err != nil {
		return err
	}
	if err := s.invalidate(ctx, []string{id}); err != nil {
		return errCacheUnclearAfter
	}
	return nil
}

func (s *Server) getExport(c *gin.Context) {
	id, ok := s.pupilID(c, actExport)
	if !ok {
		return
	}
	ex, err := s.eng.Export(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	x := pupilExport{Export: ex, ExperimentExposures: []experiment.Exposure{}, ExperimentFeedback: []experiment.Feedback{}}
	if s.exps != nil {
		if x.ExperimentExposures, x.ExperimentFeedback, err = s.exps.PupilRows(c.Request.Context(), id); err != nil {
			s.fail(c, err)
			return
		}
	}
	// The pupil has a right to know who read their data: the access log goes with it.
	if x.AccessLog, err = s.store.Audit(c.Request.Context(), recommender.AuditQuery{StudentID: id}); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.audit(c, actExport, id); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, x)
}

// deleteStudent erases the pupil and audits the outcome.
func (s *Server) deleteStudent(c *gin.Context) {
	id, ok := s.pupilID(c, actErase)
	if !ok {
		return
	}
	err := s.erase(c.Request.Context(), id)
	if aerr := s.auditResult(c, actErase, err, id); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// erase drops the cache before the store (so that a cache that cannot be cleared stops
// the erasure while it can still be retried) and again after it; the generation keeps
// any answer computed before the erasure unreachable.
func (s *Server) erase(ctx context.Context, id string) error {
	if err := s.invalidate(ctx, []string{id}); err != nil {
		return newProblem(http.StatusServiceUnavailable, "the cache cannot be cleared; nothing was erased; retry later")
	}
	if err := s.eng.Erase(ctx, id); err != nil {
		return err
	}
	if err := s.invalidate(ctx, []string{id}); err != nil {
		return newProblem(http.StatusServiceUnavailable, "the pupil was erased from the store but the cache could not be cleared; retry")
	}
	return nil
}

// deleteTombstone lifts an erased pupil's tombstone (an admin's decision, audited), so
// that the id may be taken in again.
func (s *Server) deleteTombstone(c *gin.Context) {
	id, ok := s.pupilID(c, actLift)
	if !ok {
		return
	}
	err := s.store.RemoveTombstone(c.Request.Context(), id)
	if aerr := s.auditResult(c, actLift, err, id); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) getAudit(c *gin.Context) {
	id := c.Query("student")
	if p := checkID("student", id); p != nil {
		writeProblem(c, p)
		return
	}
	limit, p := queryInt(c, "limit", 1000, 1, 10000)
	if p != nil {
		writeProblem(c, p)
		return
	}
	var since time.Time
	if raw := c.Query("since"); raw != "" {
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			writeProblem(c, badRequest("since", "since must be an RFC 3339 time"))
			return
		}
		since = t
	}
	if err := s.authorize(c.Request.Context(), claimsOf(c), actAudit, target{StudentID: id}); err != nil {
		s.fail(c, err)
		return
	}
	entries, err := s.store.Audit(c.Request.Context(), recommender.AuditQuery{StudentID: id, Since: since, Limit: limit})
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.audit(c, actAudit, id); err != nil {
		s.fail(c, err)
		return
	}
	if entries == nil {
		entries = []recommender.AuditEntry{}
	}
	c.JSON(http.StatusOK, gin.H{"student_id": id, "entries": entries})
}

func (s *Server) getAnalytics(c *gin.Context) {
	cl := claimsOf(c)
	school := c.Query("school")
	if school == "" && cl.Role == RoleAnalyst {
		school = cl.School
	}
	if school != "" {
		if p := checkID("school", school); p != nil {
			writeProblem(c, p)
			return
		}
	}
	if err := s.authorize(c.Request.Context(), cl, actAnalytics, target{SchoolID: school}); err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.eng.Analytics(c.Request.Context(), school)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.audit(c, actAnalytics); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}
