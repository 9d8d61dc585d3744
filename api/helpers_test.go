package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

var testSecret = []byte("test-secret-of-at-least-16-bytes")

// fakeEngine answers from the store so that tests see data changes: the first item's
// score is the pupil's number of grades plus decisions. It counts computations.
type fakeEngine struct {
	store recommender.Store
	calls atomic.Int64
	delay time.Duration
	// afterRead, when set, runs once the pupil's data has been read, before answering.
	afterRead func()
	mu        sync.Mutex
	ver       string
}

func (e *fakeEngine) ModelVersion() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ver == "" {
		return "m1"
	}
	return e.ver
}

func (e *fakeEngine) Ingest(ctx context.Context, b *datasets.Dataset) (recommender.Changed, error) {
	return e.store.Ingest(ctx, b)
}

func (e *fakeEngine) pupilScore(ctx context.Context, id string) (datasets.Student, float64, error) {
	e.calls.Add(1)
	if e.delay > 0 {
		time.Sleep(e.delay)
	}
	st, err := e.store.Student(ctx, id)
	if err != nil {
		return st, 0, err
	}
	ev, err := e.store.PupilEvents(ctx, id)
	if err != nil {
		return st, 0, err
	}
	ds, err := e.store.Decisions(ctx, id)
	if err != nil {
		return st, 0, err
	}
	if e.afterRead != nil {
		e.afterRead()
	}
	return st, float64(len(ev.Grades) + len(ev.Statements) + len(ds)), nil
}

func (e *fakeEngine) Recommend(ctx context.Context, r recommender.Request) (recommender.Recommendations, error) {
	st, score, err := e.pupilScore(ctx, r.StudentID)
	if err != nil {
		return recommender.Recommendations{}, err
	}
	src := recommender.SourceComputed
	if !st.Consent {
		src, score = recommender.SourceFallback, 0
	}
	items := []recommender.Item{{ResourceID: "R1", Title: "Fractions", Subject: "MATHS", Competencies: []string{"K1"}, Score: score,
		Reasons: []recommender.Reason{{Code: "weak_competency", Message: "à retravailler"}}}}
	return recommender.Recommendations{StudentID: r.StudentID, Items: items, ModelVersion: e.ModelVersion(),
		GeneratedAt: time.Now().UTC(), Source: src}, nil
}

func (e *fakeEngine) Path(ctx context.Context, r recommender.PathRequest) (recommender.Path, error) {
	_, score, err := e.pupilScore(ctx, r.StudentID)
	if err != nil {
		return recommender.Path{}, err
	}
	steps := []recommender.Step{{Position: 1, ResourceID: "R1", Competency: "K1", Status: recommender.StatusSuggested, PSuccess: score}}
	return recommender.Path{StudentID: r.StudentID, Subject: r.Subject, Steps: steps, ModelVersion: e.ModelVersion(),
		GeneratedAt: time.Now().UTC(), Source: recommender.SourceComputed}, nil
}

func (e *fakeEngine) Decide(ctx context.Context, d recommender.Decision) error {
	return e.store.AddDecision(ctx, d)
}

func (e *fakeEngine) ClassOverviewFor(ctx context.Context, classID, subject, lang string) (recommender.Overview, error) {
	sts, err := e.store.ClassStudents(ctx, classID)
	if err != nil {
		return recommender.Overview{}, err
	}
	ov := recommender.Overview{ClassID: classID, GeneratedAt: time.Now().UTC()}
	for _, s := range sts {
		ov.Pupils = append(ov.Pupils, recommender.PupilNeeds{StudentID: s.ID, Personal: s.Consent})
	}
	return ov, nil
}

func (e *fakeEngine) Analytics(ctx context.Context, schoolID string) (recommender.Analytics, error) {
	return recommender.Analytics{SchoolID: schoolID, MinGroup: 10}, nil
}

func (e *fakeEngine) SetConsent(ctx context.Context, id string, consent bool) error {
	return e.store.SetConsent(ctx, id, consent)
}

func (e *fakeEngine) Export(ctx context.Context, id string) (recommender.Export, error) {
	return e.store.Export(ctx, id)
}

func (e *fakeEngine) Erase(ctx context.Context, id string) error {
	return e.store.DeleteStudent(ctx, id)
}

// flakyStore is a store that can be switched off, as PostgreSQL going down would.
type flakyStore struct {
	recommender.Store
	down     atomic.Bool
	auditOff atomic.Bool
}

func (f *flakyStore) err(op string) error {
	return fmt.Errorf("flaky.%s: %w", op, recommender.ErrUnavailable)
}

func (f *flakyStore) Student(ctx context.Context, id string) (datasets.Student, error) {
	if f.down.Load() {
		return datasets.Student{}, f.err("Student")
	}
	return f.Store.Student(ctx, id)
}

func (f *flakyStore) Access(ctx context.Context, id string) (recommender.Access, error) {
	if f.down.Load() {
		return recommender.Access{}, f.err("Access")
	}
	return f.Store.Access(ctx, id)
}

func (f *flakyStore) PupilEvents(ctx context.Context, id string) (features.PupilEvents, error) {
	if f.down.Load() {
		return features.PupilEvents{}, f.err("PupilEvents")
	}
	return f.Store.PupilEvents(ctx, id)
}

func (f *flakyStore) AppendAudit(ctx context.Context, e recommender.AuditEntry) error {
	if f.down.Load() || f.auditOff.Load() {
		return f.err("AppendAudit")
	}
	return f.Store.AppendAudit(ctx, e)
}

func (f *flakyStore) Ingest(ctx context.Context, b *datasets.Dataset) (recommender.Changed, error) {
	if f.down.Load() {
		return recommender.Changed{}, f.err("Ingest")
	}
	return f.Store.Ingest(ctx, b)
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if f.down.Load() {
		return f.err("Ping")
	}
	return f.Store.Ping(ctx)
}

// fixture is a small académie: school SCH1 with classes C1 (S1, S2, S4 without consent)
// and C2 (S3); school SCH2 with class C3 (S5).
func fixture() *datasets.Dataset {
	t0 := time.Date(2026, 9, 7, 8, 0, 0, 0, time.UTC)
	return &datasets.Dataset{
		Competencies: []datasets.Competency{{ID: "K1", Subject: "MATHS", Level: "6e", Label: "Fractions"}},
		Resources: []datasets.Resource{
			{ID: "R1", Title: "Fractions", Subject: "MATHS", Level: "6e", Type: datasets.ResourceExercise, Competencies: []string{"K1"}, DurationMin: 10},
			{ID: "R2", Title: "Fractions 2", Subject: "MATHS", Level: "6e", Type: datasets.ResourceQuiz, Competencies: []string{"K1"}, DurationMin: 10},
		},
		Students: []datasets.Student{
			{ID: "S1", SchoolID: "SCH1", ClassID: "C1", Level: "6e", Consent: true},
			{ID: "S2", SchoolID: "SCH1", ClassID: "C1", Level: "6e", Consent: true},
			{ID: "S3", SchoolID: "SCH1", ClassID: "C2", Level: "6e", Consent: true},
			{ID: "S4", SchoolID: "SCH1", ClassID: "C1", Level: "6e", Consent: false},
			{ID: "S5", SchoolID: "SCH2", ClassID: "C3", Level: "6e", Consent: true},
		},
		Grades: []datasets.Grade{
			{ID: "G1", StudentID: "S1", Subject: "MATHS", Competencies: []string{"K1"}, AssessmentID: "A1", Date: t0, Score: 12, OutOf: 20, Coefficient: 1},
		},
	}
}

type testEnv struct {
	srv   *Server
	h     http.Handler
	store *flakyStore
	eng   *fakeEngine
	cache recommender.Cache
}

type envOption func(*Config, *testEnv)

// withStore runs the service on s instead of a fresh memstore.
func withStore(s recommender.Store) envOption {
	return func(_ *Config, e *testEnv) { e.store = &flakyStore{Store: s} }
}

// reset (re)loads the fixture: ingest upserts, so it restores erased pupils.
func (e *testEnv) reset(tb testing.TB) {
	tb.Helper()
	for _, st := range fixture().Students { // erased by an earlier case: lift the tombstone
		_ = e.store.Store.RemoveTombstone(context.Background(), st.ID)
	}
	if _, err := e.store.Store.Ingest(context.Background(), fixture()); err != nil {
		tb.Fatalf("fixture: %v", err)
	}
}

func withCache(c recommender.Cache) envOption {
	return func(_ *Config, e *testEnv) { e.cache = c }
}

func withConfig(f func(*Config)) envOption { return func(c *Config, _ *testEnv) { f(c) } }

func newEnv(tb testing.TB, opts ...envOption) *testEnv {
	tb.Helper()
	v, err := NewHS256Verifier(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	env := &testEnv{store: &flakyStore{Store: memstore.New()}, cache: cache.NewMemory(1000, 16)}
	cfg := Config{Verifier: v, RateLimit: 1000, RateBurst: 1000}
	for _, o := range opts {
		o(&cfg, env)
	}
	env.reset(tb)
	env.eng = &fakeEngine{store: env.store}
	env.srv = New(cfg, env.eng, env.store, env.cache, nil)
	env.h = env.srv.Handler()
	return env
}

func token(tb testing.TB, role, sub string, mod ...func(*Claims)) string {
	tb.Helper()
	c := Claims{Role: role}
	c.Subject = sub
	for _, m := range mod {
		m(&c)
	}
	s, err := MintToken(testSecret, c, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func students(ids ...string) func(*Claims) { return func(c *Claims) { c.Students = ids } }
func classes(ids ...string) func(*Claims)  { return func(c *Claims) { c.Classes = ids } }
func school(id string) func(*Claims)       { return func(c *Claims) { c.School = id } }

type req struct {
	method, path, token, body, ctype string
	header                           map[string]string
	remote                           string // the client's address (httptest's 192.0.2.1:1234 when empty)
}

func (e *testEnv) do(tb testing.TB, r req) *httptest.ResponseRecorder {
	tb.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.body != "" {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	return w
}

func decode[T any](tb testing.TB, w *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

// problemOf decodes a problem+json answer, failing when the answer is not one.
func problemOf(tb testing.TB, w *httptest.ResponseRecorder) Problem {
	tb.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		tb.Fatalf("status %d Content-Type %q, want application/problem+json; body %s", w.Code, ct, w.Body.String())
	}
	p := decode[Problem](tb, w)
	if p.Status != w.Code || p.Type == "" || p.Title == "" {
		tb.Fatalf("incomplete problem %+v for status %d", p, w.Code)
	}
	return p
}

func auditActions(tb testing.TB, s recommender.Store, studentID string) []string {
	tb.Helper()
	es, err := s.Audit(context.Background(), recommender.AuditQuery{StudentID: studentID})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.ActorRole+":"+e.Action)
	}
	sort.Strings(out)
	return out
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
