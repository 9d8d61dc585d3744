package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// TestRealEngineEndToEnd serves a small generated académie through the real engine and
// walks the README's tour: recommendations (computed, then cached), a path, a teacher
// decision honoured at once, the class overview, analytics, and an erasure.
func TestRealEngineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("fits a model")
	}
	d, st, eng := realEngine(t, 60, 7)
	v, _ := NewHS256Verifier(testSecret)
	srv := New(Config{Verifier: v}, eng, st, cache.NewMemory(100, 16), nil)
	env := &testEnv{srv: srv, h: srv.Handler(), store: &flakyStore{Store: st}}

	var pupil datasets.Student
	for _, s := range d.Students {
		if s.Consent {
			pupil = s
			break
		}
	}
	student := token(t, RoleStudent, pupil.ID)
	teacher := token(t, RoleTeacher, "T1", classes(pupil.ClassID))

	r1 := recsOf(t, env, student, pupil.ID)
	if r1.Source != recommender.SourceComputed || len(r1.Items) == 0 || r1.ModelVersion == "" {
		t.Fatalf("first read: source %q, %d items, model %q", r1.Source, len(r1.Items), r1.ModelVersion)
	}
	for _, it := range r1.Items {
		if it.ResourceID == "" || len(it.Reasons) == 0 {
			t.Fatalf("item without id or reasons: %+v", it)
		}
	}
	if r2 := recsOf(t, env, student, pupil.ID); r2.Source != recommender.SourceCache {
		t.Fatalf("second read: source %q, want cache", r2.Source)
	}
	w := env.do(t, req{method: "GET", path: "/v1/students/" + pupil.ID + "/path?length=4&subject=" + r1.Items[0].Subject, token: teacher})
	if w.Code != 200 {
		t.Fatalf("path: %d %s", w.Code, w.Body.String())
	}
	path := decode[recommender.Path](t, w)
	if len(path.Steps) == 0 {
		t.Fatal("empty path")
	}
	rejected := r1.Items[0].ResourceID
	w = env.do(t, req{method: "POST", path: "/v1/students/" + pupil.ID + "/path/decisions", token: teacher,
		body: `{"resource_id":"` + rejected + `","decision":"reject","comment":"déjà vu en classe"}`})
	if w.Code != http.StatusCreated {
		t.Fatalf("decision: %d %s", w.Code, w.Body.String())
	}
	r3 := recsOf(t, env, student, pupil.ID)
	if r3.Source == recommender.SourceCache {
		t.Fatal("recommendations after a decision came from the cache")
	}
	for _, it := range r3.Items {
		if it.ResourceID == rejected {
			t.Fatalf("rejected resource %s still recommended", rejected)
		}
	}
	if w := env.do(t, req{method: "GET", path: "/v1/classes/" + pupil.ClassID + "/overview", token: teacher}); w.Code != 200 {
		t.Fatalf("overview: %d %s", w.Code, w.Body.String())
	}
	if w := env.do(t, req{method: "GET", path: "/v1/analytics/overview?school=" + pupil.SchoolID, token: token(t, RoleAnalyst, "N1")}); w.Code != 200 {
		t.Fatalf("analytics: %d %s", w.Code, w.Body.String())
	}
	if w := env.do(t, req{method: "DELETE", path: "/v1/students/" + pupil.ID, token: token(t, RoleAdmin, "A1")}); w.Code != http.StatusNoContent {
		t.Fatalf("erase: %d %s", w.Code, w.Body.String())
	}
	if w := env.do(t, req{method: "GET", path: "/v1/students/" + pupil.ID + "/recommendations", token: student}); w.Code != http.StatusNotFound {
		t.Fatalf("after erasure: %d, want 404", w.Code)
	}
}

func TestRealEngineUnknownSubjectNamesTheField(t *testing.T) {
	d, st, eng := realEngine(t, 20, 3)
	v, _ := NewHS256Verifier(testSecret)
	srv := New(Config{Verifier: v}, eng, st, nil, nil)
	env := &testEnv{srv: srv, h: srv.Handler(), store: &flakyStore{Store: st}}
	id := d.Students[0].ID
	for _, path := range []string{"/recommendations?subject=NOPE", "/path?subject=NOPE"} {
		w := env.do(t, req{method: "GET", path: "/v1/students/" + id + path, token: token(t, RoleStudent, id)})
		if w.Code != 400 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
		}
		if p := problemOf(t, w); p.Field != "subject" {
			t.Fatalf("%s: field %q, want subject", path, p.Field)
		}
	}
}

// realEngine generates an académie of n pupils, loads it into a memstore and fits the
// real engine on it.
func realEngine(tb testing.TB, n int, seed uint64) (*datasets.Dataset, *memstore.Store, *recommender.Engine) {
	tb.Helper()
	ctx := context.Background()
	d, _, err := synth.GenerateDataset(synth.Config{Students: n, Seed: seed})
	if err != nil {
		tb.Fatal(err)
	}
	st := memstore.New()
	if _, err := st.Ingest(ctx, d); err != nil {
		tb.Fatal(err)
	}
	eng, err := recommender.New(ctx, st, recommender.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return d, st, eng
}
