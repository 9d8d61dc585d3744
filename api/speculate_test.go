package api

import (
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/parcours-ent/parcours/recommender"
)

// The lookahead (speculate.go) answers a repeated read from the field it looked up while
// the access row was read, and never one whose generation the store of record no longer
// has: a consent withdrawn or a class changed behind the cache's back (as `parcours
// ingest` does) wins over the speculative hit.
func TestLookaheadHitsAndNeverServesAStaleGeneration(t *testing.T) {
	env := newEnv(t)
	lookaheads := func() float64 {
		return counterValue(t, env.srv, "lookahead")
	}
	hits := func() float64 {
		return counterValue(t, env.srv, "hit")
	}
	tok := token(t, RoleStudent, "S2")
	if r := recsOf(t, env, tok, "S2"); r.Source != recommender.SourceComputed {
		t.Fatalf("first read: source %q", r.Source)
	}
	if r := recsOf(t, env, tok, "S2"); r.Source != recommender.SourceCache {
		t.Fatalf("second read: source %q, want cache", r.Source)
	}
	if lookaheads() != 1 || hits() != 1 {
		t.Fatalf("second read: %v lookaheads, %v hits, want 1 and 1", lookaheads(), hits())
	}
	moveAndWithdraw(t, env.store) // S2's consent withdrawn in the store, cache untouched
	h0 := hits()
	if r := recsOf(t, env, tok, "S2"); r.Source != recommender.SourceFallback {
		t.Fatalf("after consent was withdrawn in the store: source %q, want fallback", r.Source)
	}
	if hits() != h0 {
		t.Fatal("the read after the withdrawal was a cache hit")
	}
	// The teacher of S1's old class: the lookahead of the old field must not answer.
	teacher := token(t, RoleTeacher, "T1", classes("C1"))
	env2 := newEnv(t)
	recsOf(t, env2, teacher, "S1")
	recsOf(t, env2, teacher, "S1")
	moveAndWithdraw(t, env2.store)
	if w := env2.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: teacher}); w.Code != http.StatusForbidden {
		t.Fatalf("teacher of the old class after the pupil moved: %d, want 403", w.Code)
	}
}

func counterValue(tb testing.TB, s *Server, result string) float64 {
	tb.Helper()
	var m dto.Metric
	if err := s.metrics.cache.WithLabelValues("recommendations", result).Write(&m); err != nil {
		tb.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
