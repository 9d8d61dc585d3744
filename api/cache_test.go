package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
)

func recsOf(tb testing.TB, env *testEnv, tok, id string) recommender.Recommendations {
	tb.Helper()
	w := env.do(tb, req{method: "GET", path: "/v1/students/" + id + "/recommendations?k=5", token: tok})
	if w.Code != http.StatusOK {
		tb.Fatalf("recommendations: %d %s", w.Code, w.Body.String())
	}
	return decode[recommender.Recommendations](tb, w)
}

const newGrade = `[{"grade_id":"G2","student_id":"S1","subject":"MATHS","competencies":["K1"],"assessment_id":"A2","date":"2026-09-10T08:00:00Z","score":15,"out_of":20,"coefficient":1,"status":""}]`

// cacheScenario runs miss → hit → invalidation by a new grade, by a decision and by an
// erasure against env, and returns after the erasure.
func cacheScenario(t *testing.T, env *testEnv) {
	student := token(t, RoleStudent, "S1")
	teacher := token(t, RoleTeacher, "T1", classes("C1"))
	admin := token(t, RoleAdmin, "A1")
	service := token(t, RoleService, "pronote")

	steps := []struct {
		name       string
		before     func(t *testing.T)
		wantSource string
		wantScore  float64
	}{
		{"FirstReadIsComputed", nil, recommender.SourceComputed, 1},
		{"SecondReadIsCached", nil, recommender.SourceCache, 1},
		{"NewGradeInvalidates", func(t *testing.T) {
			if w := env.do(t, req{method: "POST", path: "/v1/ingest/grades", token: service, body: newGrade}); w.Code != 200 {
				t.Fatalf("ingest: %d %s", w.Code, w.Body.String())
			}
		}, recommender.SourceComputed, 2},
		{"CachedAgainAfterGrade", nil, recommender.SourceCache, 2},
		{"TeacherDecisionInvalidates", func(t *testing.T) {
			w := env.do(t, req{method: "POST", path: "/v1/students/S1/path/decisions", token: teacher, body: `{"resource_id":"R2","decision":"reject"}`})
			if w.Code != http.StatusCreated {
				t.Fatalf("decision: %d %s", w.Code, w.Body.String())
			}
		}, recommender.SourceComputed, 3},
		{"CachedAgainAfterDecision", nil, recommender.SourceCache, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before(t)
			}
			r := recsOf(t, env, student, "S1")
			if r.Source != st.wantSource || r.Items[0].Score != st.wantScore {
				t.Fatalf("source %q score %v, want %q %v", r.Source, r.Items[0].Score, st.wantSource, st.wantScore)
			}
		})
	}
	t.Run("PathIsCachedToo", func(t *testing.T) {
		for i, want := range []string{recommender.SourceComputed, recommender.SourceCache} {
			w := env.do(t, req{method: "GET", path: "/v1/students/S1/path?length=3&subject=MATHS", token: student})
			if p := decode[recommender.Path](t, w); p.Source != want {
				t.Fatalf("read %d: source %q, want %q", i, p.Source, want)
			}
		}
	})
	t.Run("ErasureRemovesRowsAndCacheButKeepsAudit", func(t *testing.T) {
		if w := env.do(t, req{method: "DELETE", path: "/v1/students/S1", token: admin}); w.Code != http.StatusNoContent {
			t.Fatalf("erase: %d %s", w.Code, w.Body.String())
		}
		w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: student})
		if w.Code != http.StatusNotFound {
			t.Fatalf("after erasure: %d %s, want 404 (no cached answer)", w.Code, w.Body.String())
		}
		ctx := context.Background()
		if _, err := env.store.Student(ctx, "S1"); err == nil {
			t.Fatal("student row survived erasure")
		}
		if _, err := env.store.Export(ctx, "S1"); err == nil {
			t.Fatal("export still finds the pupil")
		}
		if ds, _ := env.store.Decisions(ctx, "S1"); len(ds) != 0 {
			t.Fatalf("%d decisions survived erasure", len(ds))
		}
		acts := strings.Join(auditActions(t, env.store, "S1"), " ")
		for _, want := range []string{"student:recommendations.read", "teacher:path.decide", "admin:erase"} {
			if !strings.Contains(acts, want) {
				t.Fatalf("audit %q lacks %q after erasure", acts, want)
			}
		}
	})
}

func TestCacheLifecycleInProcess(t *testing.T) {
	mem := cache.NewMemory(100, 16)
	env := newEnv(t, withCache(mem))
	cacheScenario(t, env)
	if n := mem.Len(); n != 0 {
		t.Fatalf("%d buckets left after erasing the only cached pupil", n)
	}
}

func TestCacheModelVersionChangeMisses(t *testing.T) {
	env := newEnv(t)
	tok := token(t, RoleStudent, "S1")
	recsOf(t, env, tok, "S1")
	env.eng.mu.Lock()
	env.eng.ver = "m2"
	env.eng.mu.Unlock()
	if r := recsOf(t, env, tok, "S1"); r.Source != recommender.SourceComputed || r.ModelVersion != "m2" {
		t.Fatalf("after refit: source %q model %q, want computed m2", r.Source, r.ModelVersion)
	}
}

func TestCacheQueryIsPartOfTheKey(t *testing.T) {
	env := newEnv(t)
	tok := token(t, RoleStudent, "S1")
	for _, path := range []string{"?k=5", "?k=6", "?k=5&subject=MATHS", "?k=5&lang=en"} {
		w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations" + path, token: tok})
		if r := decode[recommender.Recommendations](t, w); r.Source != recommender.SourceComputed {
			t.Fatalf("%s: source %q, want computed (distinct query)", path, r.Source)
		}
	}
}

func TestConsentWithdrawalInvalidatesAndFallsBack(t *testing.T) {
	env := newEnv(t)
	tok := token(t, RoleStudent, "S1")
	recsOf(t, env, tok, "S1")
	w := env.do(t, req{method: "PUT", path: "/v1/students/S1/consent", token: token(t, RoleParent, "P1", students("S1")), body: `{"personalization":false}`})
	if w.Code != 200 {
		t.Fatalf("consent: %d %s", w.Code, w.Body.String())
	}
	for _, when := range []string{"after withdrawal", "served again from the cache"} {
		if r := recsOf(t, env, tok, "S1"); r.Source != recommender.SourceFallback {
			t.Fatalf("%s: source %q, want fallback", when, r.Source)
		}
	}
}

func TestSingleflightCollapsesIdenticalMisses(t *testing.T) {
	env := newEnv(t)
	env.eng.delay = 50 * time.Millisecond
	tok := token(t, RoleStudent, "S1")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: tok})
			if w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		}()
	}
	wg.Wait()
	if n := env.eng.calls.Load(); n > 2 {
		t.Fatalf("%d computations for 20 identical concurrent misses, want 1 (2 at most if one raced past)", n)
	}
}

func TestStoreDown(t *testing.T) {
	// Access and consent come from the store of record (issue 13.1): with it down, even a
	// pupil whose answer is cached gets 503 with Retry-After, never a possibly stale grant.
	t.Run("CachedAnswerNotServedWithoutTheStoreOfRecord", func(t *testing.T) {
		spool := NewFileSpool(t.TempDir() + "/audit.jsonl")
		env := newEnv(t, withConfig(func(c *Config) { c.AuditSpool = spool }))
		for _, tok := range []string{token(t, RoleStudent, "S1"), token(t, RoleTeacher, "T1", classes("C1"))} {
			recsOf(t, env, tok, "S1")
			env.store.down.Store(true)
			w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: tok})
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("cached pupil with the store down: %d (Retry-After %q), want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
			}
			if p := problemOf(t, w); !strings.Contains(p.Detail, "unreachable") {
				t.Fatalf("problem detail %q does not say a store is unreachable", p.Detail)
			}
			if w := env.do(t, req{method: "GET", path: "/readyz"}); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("readyz with the store down: %d (Retry-After %q)", w.Code, w.Header().Get("Retry-After"))
			}
			env.store.down.Store(false)
		}
	})
	t.Run("WithoutSpoolEvenCachedReadsFailClosed", func(t *testing.T) {
		env := newEnv(t)
		tok := token(t, RoleStudent, "S1")
		recsOf(t, env, tok, "S1")
		env.store.auditOff.Store(true)
		w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: tok})
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("audit down: %d, want 503", w.Code)
		}
		if strings.Contains(w.Body.String(), "R1") {
			t.Fatal("pupil data sent although the read could not be audited")
		}
	})
}

func TestEveryPupilReadIsAudited(t *testing.T) {
	env := newEnv(t)
	teacher := token(t, RoleTeacher, "T1", classes("C1"))
	for _, p := range []string{"/v1/students/S2/recommendations", "/v1/students/S2/path?subject=MATHS", "/v1/classes/C1/overview"} {
		if w := env.do(t, req{method: "GET", path: p, token: teacher}); w.Code != 200 {
			t.Fatalf("%s: %d", p, w.Code)
		}
	}
	got := strings.Join(auditActions(t, env.store, "S2"), " ")
	want := "teacher:class.overview teacher:path.read teacher:recommendations.read"
	if got != want {
		t.Fatalf("audit of S2 = %q, want %q", got, want)
	}
	es, _ := env.store.Audit(context.Background(), recommender.AuditQuery{StudentID: "S2"})
	for _, e := range es {
		if e.ActorID != "T1" || e.At.IsZero() || strings.Contains(e.Detail, "S2") {
			t.Fatalf("entry %+v: want actor T1, a time, and a detail without the pupil id", e)
		}
	}
}

// TestComputationOverlappingAnInvalidationIsNotCached: a request reads the pupil's data,
// a new grade lands and invalidates, then the request finishes. Its (stale) answer must
// not be served to the next request.
func TestComputationOverlappingAnInvalidationIsNotCached(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) recommender.Cache{
		"Memory": func(t *testing.T) recommender.Cache { return cache.NewMemory(100, 16) },
		"Redis":  func(t *testing.T) recommender.Cache { rc, _, _ := testRedis(t); return rc },
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, withCache(mk(t)))
			tok := token(t, RoleStudent, "S1")
			read, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			env.eng.afterRead = func() {
				once.Do(func() { close(read); <-release })
			}
			done := make(chan recommender.Recommendations)
			go func() { done <- recsOf(t, env, tok, "S1") }()
			<-read // the slow request has read one grade
			w := env.do(t, req{method: "POST", path: "/v1/ingest/grades", token: token(t, RoleService, "pronote"), body: newGrade})
			if w.Code != 200 {
				t.Fatalf("ingest: %d %s", w.Code, w.Body.String())
			}
			close(release)
			if stale := <-done; stale.Items[0].Score != 1 {
				t.Fatalf("slow request score %v, want the stale 1 (the test's premise)", stale.Items[0].Score)
			}
			if r := recsOf(t, env, tok, "S1"); r.Items[0].Score != 2 || r.Source != recommender.SourceComputed {
				t.Fatalf("next read: source %q score %v, want computed 2 (the stale answer was cached)", r.Source, r.Items[0].Score)
			}
		})
	}
}

func TestCachedHitsDoNotCorruptTheStoredAnswer(t *testing.T) {
	env := newEnv(t)
	tok := token(t, RoleStudent, "S1")
	first := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: tok}).Body.String()
	var prev string
	for i := 0; i < 3; i++ {
		w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: tok})
		got := w.Body.String()
		if want := strings.Replace(first, `"source":"computed"`, `"source":"cache"`, 1); got != want {
			t.Fatalf("hit %d:\n got %s\nwant %s", i, got, want)
		}
		if prev != "" && got != prev {
			t.Fatal("hits differ")
		}
		prev = got
	}
}

func TestClassChangeRevokesTeacherAccessAtOnce(t *testing.T) {
	env := newEnv(t)
	teacher := token(t, RoleTeacher, "T1", classes("C1"))
	recsOf(t, env, teacher, "S1")
	w := env.do(t, req{method: "POST", path: "/v1/ingest/students", token: token(t, RoleService, "ent"),
		body: `[{"student_id":"S1","school_id":"SCH1","class_id":"C2","level":"6e","consent":true}]`})
	if w.Code != 200 {
		t.Fatalf("ingest: %d %s", w.Code, w.Body.String())
	}
	if w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: teacher}); w.Code != http.StatusForbidden {
		t.Fatalf("teacher of the old class: %d, want 403", w.Code)
	}
}

func TestTeacherProbeOfUnknownIDLeavesNoBucket(t *testing.T) {
	mem := cache.NewMemory(100, 16)
	env := newEnv(t, withCache(mem))
	teacher := token(t, RoleTeacher, "T1", classes("C1"))
	if w := env.do(t, req{method: "GET", path: "/v1/students/NOPE/recommendations", token: teacher}); w.Code != http.StatusForbidden {
		t.Fatalf("%d, want 403", w.Code)
	}
	if n := mem.Len(); n != 0 {
		t.Fatalf("%d buckets after probing an unknown id", n)
	}
}
