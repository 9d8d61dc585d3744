package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/parcours-ent/parcours/datasets"
)

// ingestKind is one of the batch intake endpoints: its CSV reader. A JSON body goes
// through datasets.ReadJSONRows, which applies the same rules.
type ingestKind struct {
	read func(r io.Reader, name string, d *datasets.Dataset) error
}

var ingestKinds = map[string]ingestKind{
	"competencies": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadCompetencies(r, n, func(x datasets.Competency) error { d.Competencies = append(d.Competencies, x); return nil })
	}},
	"resources": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadResources(r, n, func(x datasets.Resource) error { d.Resources = append(d.Resources, x); return nil })
	}},
	"students": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadStudents(r, n, func(x datasets.Student) error { d.Students = append(d.Students, x); return nil })
	}},
	"lessons": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadLessons(r, n, func(x datasets.Lesson) error { d.Lessons = append(d.Lessons, x); return nil })
	}},
	"grades": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadGrades(r, n, func(x datasets.Grade) error { d.Grades = append(d.Grades, x); return nil })
	}},
	"classes": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadClasses(r, n, func(x datasets.Class) error { d.Classes = append(d.Classes, x); return nil })
	}},
	"absences": {func(r io.Reader, n string, d *datasets.Dataset) error {
		return datasets.ReadAbsences(r, n, func(x datasets.Absence) error { d.Absences = append(d.Absences, x); return nil })
	}},
}

// IngestKinds lists the kinds POST /v1/ingest/{kind} accepts.
func IngestKinds() []string {
	ks := make([]string, 0, len(ingestKinds))
	for k := range ingestKinds {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// ingestResult is the answer to a batch: counts only, no pupil ids.
type ingestResult struct {
	Kind      string `json:"kind,omitempty"`
	Rows      int    `json:"rows"`
	Students  int    `json:"students_changed"`
	Classes   int    `json:"classes_changed"`
	Catalogue bool   `json:"catalogue_changed"`
	// RefitScheduled tells that the model is refitted in the background for the new
	// catalogue (durably: a restart resumes it); until then new resources are served with
	// their catalogue difficulty.
	RefitScheduled bool `json:"refit_scheduled"`
}

func (s *Server) postIngest(c *gin.Context) {
	kind := c.Param("kind")
	spec, ok := ingestKinds[kind]
	if !ok {
		writeProblem(c, newProblem(http.StatusNotFound, "no such ingest kind; want one of "+strings.Join(IngestKinds(), ", ")))
		return
	}
	if err := s.authorize(c.Request.Context(), claimsOf(c), actIngest, target{}); err != nil {
		s.fail(c, err)
		return
	}
	d := &datasets.Dataset{}
	var err error
	switch ct := c.ContentType(); ct {
	case "text/csv":
		err = spec.read(c.Request.Body, kind, d)
	case "application/json", "":
		// Read whole (bounded by MaxIngestBytes) to refuse invalid UTF-8 with its JSON
		// pointer: encoding/json would store it as U+FFFD.
		var body []byte
		if body, err = io.ReadAll(c.Request.Body); err != nil {
			err = jsonProblem(err)
		} else if p := invalidUTF8(body); p != nil {
			err = p
		} else {
			err = datasets.DefaultLimits.ReadJSONRows(bytes.NewReader(body), kind, d)
		}
	default:
		err = newProblem(http.StatusUnsupportedMediaType, "send application/json (an array of rows) or text/csv")
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.ingest(c.Request.Context(), d)
	if err != nil {
		s.fail(c, err)
		return
	}
	res.Kind = kind
	c.JSON(http.StatusOK, res)
}

// ingest hands a validated batch to the engine (all or nothing), which brings the
// changed pupils' profiles up to date and reports them: their cached answers are dropped
// and recomputed in the background. A catalogue change is refitted outside the request.
//
// A batch of students may change a pupil's class or consent, that is who may read them
// and what may be served: like an erasure it is refused while the cache cannot be
// cleared, and reported as failed (to be retried: ingest is idempotent) when the cache
// could not be cleared after it was stored.
func (s *Server) ingest(ctx context.Context, d *datasets.Dataset) (ingestResult, error) {
	if err := datasets.CheckNotFuture(d, time.Now().Add(s.cfg.FutureTolerance)); err != nil {
		return ingestResult{}, err
	}
	var rostered []string
	for _, x := range d.Students {
		rostered = append(rostered, x.ID)
	}
	if err := s.invalidate(ctx, rostered); err != nil {
		return ingestResult{}, errCacheUnclear
	}
	ch, err := s.eng.Ingest(ctx, d)
	if err != nil {
		return ingestResult{}, err
	}
	if err := s.invalidate(ctx, ch.Students); err != nil {
		if len(rostered) > 0 {
			return ingestResult{}, errCacheUnclearAfter
		}
	} else {
		s.prefetch(ch.Students)
	}
	rows := len(d.Competencies) + len(d.Resources) + len(d.Students) + len(d.Lessons) +
		len(d.Grades) + len(d.Absences) + len(d.Statements)
	return ingestResult{Rows: rows, Students: len(ch.Students), Classes: len(ch.Classes),
		Catalogue: ch.Catalogue, RefitScheduled: ch.Catalogue}, nil
}
