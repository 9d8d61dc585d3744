package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

// Experiments is the optional store capability the experiment endpoints need (found by
// type assertion on the Store given to New, as database/sql finds driver.Pinger): the
// experiment store, the roster to assign classes, and the pupils' data an analysis reads.
// memstore and pgstore implement it; without it the endpoints answer 404 and no request
// carries a policy override.
type Experiments interface {
	experiment.Store
	experiment.Roster
	experiment.Source
}

func (s *Server) experimentRoutes(v1 *gin.RouterGroup, small gin.HandlerFunc) {
	v1.POST("/experiments", small, s.postExperiment)
	v1.GET("/experiments", small, s.listExperiments)
	v1.GET("/experiments/:id", small, s.getExperiment)
	v1.GET("/classes/:id/experiments", small, s.getClassExperiments)
	v1.PUT("/classes/:id/experiments/:eid", small, s.putClassOptOut)
	v1.POST("/feedback", small, s.postFeedback)
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

var errNoExperiments = newProblem(http.StatusNotFound, "this service runs no experiments (its store keeps none)")

func (s *Server) postExperiment(c *gin.Context) {
	cl := claimsOf(c)
	if err := s.authorize(c.Request.Context(), cl, actExperimentWrite, target{}); err != nil && cl.School == "" {
		s.fail(c, err) // not an analyst or admin at all
		return
	}
	if s.exps == nil {
		writeProblem(c, errNoExperiments)
		return
	}
	var d experiment.Definition
	if err := decodeJSON(c, &d); err != nil {
		s.fail(c, err)
		return
	}
	if cl.Role == RoleAnalyst && cl.School != "" && len(d.Schools) == 0 {
		d.Schools = []string{cl.School} // a school's analyst experiments in their school
	}
	if err := s.authorize(c.Request.Context(), cl, actExperimentWrite, target{Schools: d.Schools}); err != nil {
		s.fail(c, err)
		return
	}
	x, err := experiment.Create(c.Request.Context(), s.exps, s.exps, d, cl.Subject, s.now())
	if aerr := s.auditResult(c, actExperimentWrite, err, ""); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/experiments/"+x.ID)
	c.JSON(http.StatusCreated, experimentView{Experiment: x, Counts: countsOf(&x)})
}

// experimentView is an experiment as analysts read it: its definition, assignment and
// (GET one) the analysis. Aggregates and class ids only, never a pupil.
type experimentView struct {
	experiment.Experiment
	Counts   map[string]armCount  `json:"arm_counts"`
	Analysis *experiment.Analysis `json:"analysis,omitempty"`
}

type armCount struct {
	Classes  int `json:"classes"`
	OptedOut int `json:"opted_out"`
}

func countsOf(x *experiment.Experiment) map[string]armCount {
	m := map[string]armCount{}
	for _, a := range x.Arms {
		m[a.Name] = armCount{}
	}
	for _, a := range x.Assignments {
		n := m[a.Arm]
		n.Classes++
		if a.OptedOut {
			n.OptedOut++
		}
		m[a.Arm] = n
	}
	return m
}

// experimentReader lets analysts and admins through to the experiments, when the store
// keeps them; anyone else gets 403. Each experiment's schools are checked after.
func (s *Server) experimentReader(c *gin.Context) (*Claims, bool) {
	cl := claimsOf(c)
	if cl.Role != RoleAnalyst && cl.Role != RoleAdmin {
		s.fail(c, errForbidden)
		return nil, false
	}
	if s.exps == nil {
		writeProblem(c, errNoExperiments)
		return nil, false
	}
	return cl, true
}

func (s *Server) listExperiments(c *gin.Context) {
	cl, ok := s.experimentReader(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	xs, err := s.exps.Experiments(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := []experimentView{}
	for _, x := range xs {
		if s.authorize(ctx, cl, actExperimentRead, target{Schools: x.Schools}) == nil {
			out = append(out, experimentView{Experiment: x, Counts: countsOf(&x)})
		}
	}
	if err := s.audit(c, actExperimentRead); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, experimentList{Experiments: out})
}

func (s *Server) getExperiment(c *gin.Context) {
	cl, ok := s.experimentReader(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if p := checkID("id", id); p != nil {
		writeProblem(c, p)
		return
	}
	ctx := c.Request.Context()
	x, err := s.exps.Experiment(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.authorize(ctx, cl, actExperimentRead, target{Schools: x.Schools}); err != nil {
		s.fail(c, err)
		return
	}
	a, err := AnalyseExperiment(ctx, s.exps, &x, s.now())
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.audit(c, actExperimentRead); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, experimentView{Experiment: x, Counts: countsOf(&x), Analysis: &a})
}

// AnalyseExperiment reads the experiment's exposures and feedback and analyses them (the
// GET endpoint, `parcours eval experiment` and the analyst's page share it).
func AnalyseExperiment(ctx context.Context, st Experiments, x *experiment.Experiment, now time.Time) (experiment.Analysis, error) {
	es, err := st.Exposures(ctx, x.ID)
	if err != nil {
		return experiment.Analysis{}, err
	}
	fs, err := st.Feedback(ctx, x.ID)
	if err != nil {
		return experiment.Analysis{}, err
	}
	return experiment.Analyze(ctx, x, es, fs, st, experiment.Options{Now: now})
}

// getClassExperiments tells a class's teacher which experiments their class is in, with
// its arm: what the teacher page shows.
func (s *Server) getClassExperiments(c *gin.Context) {
	id := c.Param("id")
	if p := checkID("id", id); p != nil {
		writeProblem(c, p)
		return
	}
	if err := s.authorizeClassExperiment(c, id); err != nil {
		s.fail(c, err)
		return
	}
	cs, err := s.exps.ClassExperiments(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.now()
	out := []classExperimentView{}
	for _, ce := range cs {
		out = append(out, classExperimentView{ClassExperiment: ce, Running: !now.Before(ce.Start) && now.Before(ce.End),
			Variant: variantLetter(ce.ArmIndex)})
	}
	c.JSON(http.StatusOK, classExperiments{ClassID: id, Experiments: out})
}

type experimentList struct {
	Experiments []experimentView `json:"experiments"`
}

type classExperiments struct {
	ClassID     string                `json:"class_id"`
	Experiments []classExperimentView `json:"experiments"`
}

type optOutAnswer struct {
	ClassID      string `json:"class_id"`
	ExperimentID string `json:"experiment_id"`
	OptedOut     bool   `json:"opted_out"`
}

type classExperimentView struct {
	experiment.ClassExperiment
	Running bool   `json:"running"`
	Variant string `json:"variant"` // "A" for the control, "B", "C"... for the others
}

func variantLetter(i int) string { return string(rune('A' + i)) }

func (s *Server) authorizeClassExperiment(c *gin.Context, classID string) error {
	if err := s.authorize(c.Request.Context(), claimsOf(c), actClassExperiment, target{ClassID: classID}); err != nil {
		return err
	}
	if s.exps == nil {
		return errNoExperiments
	}
	return nil
}

type optOutBody struct {
	OptedOut *bool `json:"opted_out"`
}

// putClassOptOut lets the class's teacher take it out of an experiment (or back in).
// From then on its pupils get the engine's own policy: their cached lists were keyed by
// the arm, so none of them is served again.
func (s *Server) putClassOptOut(c *gin.Context) {
	id, eid := c.Param("id"), c.Param("eid")
	if p := firstProblem(checkID("id", id), checkID("eid", eid)); p != nil {
		writeProblem(c, p)
		return
	}
	var b optOutBody
	if err := decodeJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if b.OptedOut == nil {
		writeProblem(c, badRequest("/opted_out", "required: true takes the class out, false back in"))
		return
	}
	if err := s.authorizeClassExperiment(c, id); err != nil {
		s.fail(c, err)
		return
	}
	err := s.exps.SetOptOut(c.Request.Context(), eid, id, *b.OptedOut, s.now())
	if aerr := s.auditResult(c, actClassExperiment, err, ""); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, optOutAnswer{ClassID: id, ExperimentID: eid, OptedOut: *b.OptedOut})
}

type feedbackBody struct {
	ListID     string `json:"list_id"`
	Kind       string `json:"kind"`
	ResourceID string `json:"resource_id"`
}

// postFeedback takes what the ENT page saw a pupil do with a served list: an impression
// (the list was on screen) or a launch (a listed resource opened). The pupil themself
// (student token) or the ENT's service account may send it.
func (s *Server) postFeedback(c *gin.Context) {
	cl := claimsOf(c)
	if cl.Role != RoleStudent && cl.Role != RoleService {
		s.fail(c, errForbidden)
		return
	}
	if s.exps == nil {
		writeProblem(c, errNoExperiments)
		return
	}
	var b feedbackBody
	if err := decodeJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if p := checkID("/list_id", b.ListID); p != nil {
		writeProblem(c, p)
		return
	}
	switch b.Kind {
	case experiment.FeedbackImpression:
		if b.ResourceID != "" {
			writeProblem(c, badRequest("/resource_id", "an impression is about the whole list: no resource_id"))
			return
		}
	case experiment.FeedbackLaunch:
		if p := checkID("/resource_id", b.ResourceID); p != nil {
			writeProblem(c, p)
			return
		}
	default:
		writeProblem(c, badRequest("/kind", "kind must be impression or launch"))
		return
	}
	ctx := c.Request.Context()
	e, err := s.exps.ExposureByList(ctx, b.ListID)
	if errors.Is(err, recommender.ErrNotFound) || (err == nil && s.authorize(ctx, cl, actFeedback, target{StudentID: e.StudentID}) != nil) {
		// Another pupil's list is as unknown as a list that never was.
		writeProblem(c, newProblem(http.StatusNotFound, "no such list"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if b.Kind == experiment.FeedbackLaunch && !slices.Contains(e.ResourceIDs, b.ResourceID) {
		writeProblem(c, badRequest("/resource_id", "this resource was not in the list"))
		return
	}
	err = s.exps.LogFeedback(ctx, experiment.Feedback{ExperimentID: e.ExperimentID, Arm: e.Arm, StudentID: e.StudentID,
		ListID: b.ListID, Kind: b.Kind, ResourceID: b.ResourceID, At: s.now()})
	if aerr := s.auditResult(c, actFeedback, err, e.StudentID); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// armOf returns the policy override for the pupil's class (nil when in no running
// experiment, without consent, or without an experiment store) and the query suffix
// that keeps the arm's answers apart in the cache.
func (s *Server) armOf(ctx context.Context, acc recommender.Access) (*recommender.PolicyOverride, experiment.ClassExperiment, string, error) {
	if s.exps == nil || !acc.Consent {
		return nil, experiment.ClassExperiment{}, "", nil
	}
	pol, ce, err := experiment.PolicyFor(ctx, s.exps, acc.ClassID, acc.Consent, s.now())
	if err != nil || pol == nil {
		return nil, ce, "", err
	}
	return pol, ce, "&arm=" + pol.Name, nil
}

// listID names a served list: the same list (same pupil, time, model and arm) gets the
// same id, so that a cache hit reports feedback on the list it serves again.
func listID(studentID, model, arm string, at time.Time) string {
	h := sha256.Sum256([]byte(studentID + "\x00" + model + "\x00" + arm + "\x00" + strconv.FormatInt(at.UnixNano(), 10)))
	return "L" + hex.EncodeToString(h[:12])
}

// logExposure records the list just sent to a pupil of an experiment's class. A failure
// is counted and logged but does not fail the pupil's request: the analysis then misses
// one list (counted in parcours_experiment_exposures_total{result="error"}).
func (s *Server) logExposure(ctx context.Context, acc recommender.Access, ce experiment.ClassExperiment, body []byte) {
	var shown struct {
		ListID string `json:"list_id"`
		Source string `json:"source"`
		Items  []struct {
			ResourceID string `json:"resource_id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &shown); err != nil || shown.ListID == "" {
		return
	}
	ids := make([]string, len(shown.Items))
	for i, it := range shown.Items {
		ids[i] = it.ResourceID
	}
	err := s.exps.LogExposure(ctx, experiment.Exposure{ExperimentID: ce.ExperimentID, Arm: ce.Arm.Name, ClassID: acc.ClassID,
		StudentID: acc.StudentID, ListID: shown.ListID, ResourceIDs: ids, Source: shown.Source, At: s.now()})
	if err != nil {
		s.metrics.exposures.WithLabelValues("error").Inc()
		s.log.Warn("exposure not logged", "err", err.Error())
		return
	}
	s.metrics.exposures.WithLabelValues("ok").Inc()
}
