package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// entEnv is a service on a real engine whose resources all have a launch URL.
type entEnv struct {
	*testEnv
	pupil, class  string
	subject       string
	firstResource string
}

func newENTEnv(tb testing.TB, cfg func(*Config)) *entEnv {
	tb.Helper()
	ctx := context.Background()
	d, _, err := synth.GenerateDataset(synth.Config{Students: 60, Seed: 3})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range d.Resources {
		d.Resources[i].URL = "https://ent.example.fr/ressources/" + d.Resources[i].ID
	}
	st := memstore.New()
	if _, err := st.Ingest(ctx, d); err != nil {
		tb.Fatal(err)
	}
	eng, err := recommender.New(ctx, st, recommender.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := NewHS256Verifier(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	c := Config{Verifier: v, RateLimit: 1000, RateBurst: 1000}
	if cfg != nil {
		cfg(&c)
	}
	srv := New(c, eng, st, cache.NewMemory(1000, 16), nil)
	e := &entEnv{testEnv: &testEnv{srv: srv, h: srv.Handler()}}
	for _, s := range d.Students {
		if s.Consent {
			e.pupil, e.class = s.ID, s.ClassID
			break
		}
	}
	e.subject, e.firstResource = d.Resources[0].Subject, d.Resources[0].ID
	return e
}

func (e *entEnv) recs(tb testing.TB, tok string, header map[string]string) recommender.Recommendations {
	tb.Helper()
	w := e.do(tb, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/recommendations?k=5", token: tok, header: header})
	if w.Code != http.StatusOK {
		tb.Fatalf("recommendations: %d %s", w.Code, w.Body.String())
	}
	return decode[recommender.Recommendations](tb, w)
}

func (e *entEnv) path(tb testing.TB, tok string) recommender.Path {
	tb.Helper()
	w := e.do(tb, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/path?length=5&subject=" + e.subject, token: tok})
	if w.Code != http.StatusOK {
		tb.Fatalf("path: %d %s", w.Code, w.Body.String())
	}
	return decode[recommender.Path](tb, w)
}

func TestRecommendationsAndPathsCarryTheResourceURL(t *testing.T) {
	e := newENTEnv(t, nil)
	teacher := token(t, RoleTeacher, "prof", classes(e.class))
	for _, it := range e.recs(t, teacher, nil).Items {
		if it.URL != "https://ent.example.fr/ressources/"+it.ResourceID {
			t.Fatalf("item %s has url %q", it.ResourceID, it.URL)
		}
	}
	p := e.path(t, teacher)
	if len(p.Steps) == 0 {
		t.Fatal("empty path")
	}
	for _, st := range p.Steps {
		if st.URL != "https://ent.example.fr/ressources/"+st.ResourceID {
			t.Fatalf("step %s has url %q", st.ResourceID, st.URL)
		}
	}
}

func TestHiddenResourcesLeaveRecommendationsAndPaths(t *testing.T) {
	e := newENTEnv(t, nil)
	teacher := token(t, RoleTeacher, "prof", classes(e.class))
	before := e.recs(t, teacher, nil)
	first := before.Items[0].ResourceID
	// The step hidden for everyone must differ from the item hidden for the class: when the
	// path starts with the list's first item, showing that item again for the class alone
	// would rightly leave it hidden for everyone.
	firstStep := ""
	for _, st := range e.path(t, teacher).Steps {
		if st.ResourceID != first {
			firstStep = st.ResourceID
			break
		}
	}
	if firstStep == "" {
		t.Fatal("no path step other than the first recommended item")
	}
	hide := func(tok, id, body string) int {
		return e.do(t, req{method: http.MethodPost, path: "/v1/resources/" + id + "/hidden", token: tok, body: body}).Code
	}
	t.Run("RefusesTeachersOfOtherClassesAndPupils", func(t *testing.T) {
		for name, tc := range map[string]struct {
			tok, body string
		}{
			"OtherClass":         {token(t, RoleTeacher, "prof2", classes("NOT-"+e.class)), `{"class_id":"` + e.class + `"}`},
			"TeacherForEveryone": {teacher, ""},
			"Student":            {token(t, RoleStudent, e.pupil), `{"class_id":"` + e.class + `"}`},
		} {
			if code := hide(tc.tok, first, tc.body); code != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, code)
			}
		}
		if code := hide(token(t, RoleAdmin, "admin"), "no-such-resource", ""); code != http.StatusNotFound {
			t.Errorf("unknown resource: %d, want 404", code)
		}
	})
	if code := hide(teacher, first, `{"class_id":"`+e.class+`"}`); code != http.StatusNoContent {
		t.Fatalf("teacher hides for their class: %d", code)
	}
	if code := hide(token(t, RoleAdmin, "admin"), firstStep, ""); code != http.StatusNoContent {
		t.Fatalf("admin hides for everyone: %d", code)
	}
	after := e.recs(t, teacher, nil)
	if len(after.Items) != len(before.Items) {
		t.Fatalf("%d items after hiding, want still %d", len(after.Items), len(before.Items))
	}
	for _, it := range after.Items {
		if it.ResourceID == first || it.ResourceID == firstStep {
			t.Fatalf("hidden resource %s still recommended", it.ResourceID)
		}
	}
	for i, st := range e.path(t, teacher).Steps {
		if st.ResourceID == first || st.ResourceID == firstStep || slices.Contains(st.Alternatives, firstStep) || st.Position != i+1 {
			t.Fatalf("path step %+v: hidden resource kept or positions broken", st)
		}
	}
	w := e.do(t, req{method: http.MethodDelete, path: "/v1/resources/" + first + "/hidden", token: teacher, body: `{"class_id":"` + e.class + `"}`})
	if w.Code != http.StatusNoContent {
		t.Fatalf("show again: %d %s", w.Code, w.Body.String())
	}
	if again := e.recs(t, teacher, nil); !slices.ContainsFunc(again.Items, func(it recommender.Item) bool { return it.ResourceID == first }) {
		t.Fatalf("resource %s shown again is not recommended again", first)
	}
}

func TestSimilarResourcesShareSubjectAndCompetencies(t *testing.T) {
	e := newENTEnv(t, nil)
	student := token(t, RoleStudent, e.pupil)
	id := e.recs(t, student, nil).Items[0].ResourceID
	w := e.do(t, req{method: http.MethodGet, path: "/v1/resources/" + id + "/similar?k=3", token: student})
	if w.Code != http.StatusOK {
		t.Fatalf("similar: %d %s", w.Code, w.Body.String())
	}
	sim := decode[recommender.Similar](t, w)
	if len(sim.Items) != 3 {
		t.Fatalf("%d similar resources, want 3", len(sim.Items))
	}
	for _, it := range sim.Items {
		if it.ResourceID == id || len(it.Reasons) == 0 || it.URL == "" {
			t.Fatalf("similar item %+v: itself, without reason or without url", it)
		}
	}
	for name, tc := range map[string]struct {
		tok, id string
		want    int
	}{
		"AnalystForbidden": {token(t, RoleAnalyst, "a"), id, http.StatusForbidden},
		"UnknownResource":  {student, "no-such-resource", http.StatusNotFound},
	} {
		if w := e.do(t, req{method: http.MethodGet, path: "/v1/resources/" + tc.id + "/similar", token: tc.tok}); w.Code != tc.want {
			t.Errorf("%s: %d, want %d", name, w.Code, tc.want)
		}
	}
}

func TestAcceptLanguageChoosesTheReasonsLanguage(t *testing.T) {
	e := newENTEnv(t, nil)
	student := token(t, RoleStudent, e.pupil)
	message := func(header map[string]string, query string) (string, string) {
		w := e.do(t, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/recommendations?k=3" + query, token: student, header: header})
		r := decode[recommender.Recommendations](t, w)
		return r.Items[0].Reasons[0].Message, w.Header().Get("Content-Language")
	}
	fr, lfr := message(nil, "")
	en, len_ := message(map[string]string{"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}, "")
	forced, lforced := message(map[string]string{"Accept-Language": "en"}, "&lang=fr")
	other, lother := message(map[string]string{"Accept-Language": "de-DE"}, "")
	if fr == en || lfr != "fr" || len_ != "en" {
		t.Fatalf("fr %q (%s) and en %q (%s): want two languages", fr, lfr, en, len_)
	}
	if forced != fr || lforced != "fr" || other != fr || lother != "fr" {
		t.Fatalf("lang=fr gave %q (%s), German gave %q (%s); want French", forced, lforced, other, lother)
	}
}

func TestCORSAllowsOnlyTheConfiguredOrigins(t *testing.T) {
	e := newENTEnv(t, func(c *Config) { c.CORSOrigins = []string{"https://ent.example.fr"} })
	preflight := func(origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "/v1/students/"+e.pupil+"/recommendations", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", http.MethodGet)
		r.Header.Set("Access-Control-Request-Headers", "authorization")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		return w
	}
	w := preflight("https://ent.example.fr")
	if w.Code >= 300 || w.Header().Get("Access-Control-Allow-Origin") != "https://ent.example.fr" ||
		!strings.Contains(strings.ToLower(w.Header().Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight from the ENT: %d %v", w.Code, w.Header())
	}
	if w := preflight("https://evil.example"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin allowed: %v", w.Header())
	}
	got := e.do(t, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/recommendations?k=2",
		token: token(t, RoleStudent, e.pupil), header: map[string]string{"Origin": "https://ent.example.fr"}})
	if got.Code != http.StatusOK || got.Header().Get("Access-Control-Allow-Origin") != "https://ent.example.fr" ||
		!strings.Contains(got.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Fatalf("GET from the ENT: %d %v", got.Code, got.Header())
	}
}
