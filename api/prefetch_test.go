package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
)

// After an xAPI statement, the pupil's list is recomputed in the background: the next
// page view is a cache hit holding the new event, and the prefetch logged nothing as
// served.
func TestStatementMakesTheNextViewAHit(t *testing.T) {
	if testing.Short() {
		t.Skip("fits a model")
	}
	d, st, eng := realEngine(t, 20, 3)
	v, _ := NewHS256Verifier(testSecret)
	srv := New(Config{Verifier: v}, eng, st, cache.NewMemory(100, 16), nil)
	env := &testEnv{srv: srv, h: srv.Handler(), store: &flakyStore{Store: st}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.RunPrefetch(ctx, 1)

	var pupil datasets.Student
	for _, s := range d.Students {
		if s.Consent {
			pupil = s
			break
		}
	}
	student := token(t, RoleStudent, pupil.ID)
	first := pageView(t, env, student, pupil.ID)
	ex, err := st.Export(ctx, pupil.ID)
	if err != nil {
		t.Fatal(err)
	}
	served := len(ex.Served)
	body := fmt.Sprintf(`{"id":"6f1c0b2e-0000-4000-8000-00000000abcd","actor":{"account":{"homePage":"https://ent.example","name":%q}},`+
		`"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":%q},"result":{"success":true},"timestamp":%q}`,
		pupil.ID, first.Items[0].ResourceID, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
	w := env.do(t, req{method: "POST", path: "/xapi/statements", token: token(t, RoleService, "lrs"), body: body,
		header: map[string]string{"X-Experience-API-Version": "1.0.3"}})
	if w.Code != 200 {
		t.Fatalf("statement: %d %s", w.Code, w.Body.String())
	}
	// Wait for the prefetch without reading (a read that misses would compute and log).
	deadline := time.Now().Add(30 * time.Second)
	for prefetched(t, srv) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no list prefetched 30 s after the statement")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := pageView(t, env, student, pupil.ID)
	if r.Source != recommender.SourceCache || !r.GeneratedAt.After(first.GeneratedAt) {
		t.Fatalf("next view after the statement: source %q generated %v (first at %v), want a list cached after it",
			r.Source, r.GeneratedAt, first.GeneratedAt)
	}
	if ex, err = st.Export(ctx, pupil.ID); err != nil || len(ex.Served) != served {
		t.Fatalf("served log grew by %d (%v): the prefetch was logged as served", len(ex.Served)-served, err)
	}
}

// prefetched is the number of lists the prefetcher has stored.
func prefetched(tb testing.TB, srv *Server) uint64 {
	tb.Helper()
	var m dto.Metric
	if err := srv.pre.freshness.Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// pageView is the request a pupil's page makes: the contract's defaults.
func pageView(tb testing.TB, env *testEnv, tok, id string) recommender.Recommendations {
	tb.Helper()
	w := env.do(tb, req{method: "GET", path: "/v1/students/" + id + "/recommendations", token: tok})
	if w.Code != http.StatusOK {
		tb.Fatalf("recommendations: %d %s", w.Code, w.Body.String())
	}
	return decode[recommender.Recommendations](tb, w)
}
