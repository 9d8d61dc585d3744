package teacher

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

var testSecret = []byte("teacher-page-test-secret-32-bytes")

// The fixture: class 6A (the teacher's) and class 6B (another teacher's).
const (
	classMine      = "6A"
	classOther     = "6B"
	pupilMine      = "P-6A-01" // weak on fractions: a personalised path in MATHS
	pupilOther     = "P-6B-01"
	pupilNoConsent = "P-6A-10" // the last pupil of each class has not consented
	teacherID      = "T-DUPONT"
)

var fixedNow = time.Date(2026, time.March, 20, 12, 0, 0, 0, time.UTC)

// fixture builds a small académie: 7 competencies over two subjects, 6 resources each,
// 10 pupils in 6A and 4 in 6B with seeded grades and usage.
func fixture() *datasets.Dataset {
	rng := rand.New(rand.NewPCG(3, 5))
	ds := &datasets.Dataset{Competencies: []datasets.Competency{
		{ID: "M-NUM", Subject: "MATHS", Level: "6e", Label: "Nombres décimaux"},
		{ID: "M-FRAC", Subject: "MATHS", Level: "6e", Label: "Fractions", Prerequisites: []string{"M-NUM"}},
		{ID: "M-EQ", Subject: "MATHS", Level: "6e", Label: "Équations", Prerequisites: []string{"M-FRAC"}},
		{ID: "M-GEO", Subject: "MATHS", Level: "6e", Label: "Géométrie"},
		{ID: "M-PROP", Subject: "MATHS", Level: "6e", Label: "Proportionnalité", Prerequisites: []string{"M-FRAC"}},
		{ID: "F-LEC", Subject: "FRANCAIS", Level: "6e", Label: "Lecture"},
		{ID: "F-GRAM", Subject: "FRANCAIS", Level: "6e", Label: "Grammaire", Prerequisites: []string{"F-LEC"}},
	}}
	types := []string{datasets.ResourceVideo, datasets.ResourceExercise, datasets.ResourceQuiz, datasets.ResourceSheet}
	for _, c := range ds.Competencies {
		for j := range 6 {
			ds.Resources = append(ds.Resources, datasets.Resource{
				ID: fmt.Sprintf("R-%s-%d", c.ID, j+1), Title: fmt.Sprintf("%s : %s n°%d", c.Label, types[j%4], j+1),
				Subject: c.Subject, Level: c.Level, Type: types[j%4], Competencies: []string{c.ID},
				Difficulty: -2.5 + float64(j), DurationMin: 15, URL: resourceURL(fmt.Sprintf("R-%s-%d", c.ID, j+1)),
			})
		}
	}
	add := func(class string, n int) {
		for i := range n {
			ds.Students = append(ds.Students, datasets.Student{ID: fmt.Sprintf("P-%s-%02d", class, i+1),
				SchoolID: "0750001A", ClassID: class, Level: "6e", Consent: i != n-1, DisplayName: pupilName(class, i)})
		}
		ds.Classes = append(ds.Classes, datasets.Class{ID: class, SchoolID: "0750001A", Label: classLabels[class]})
	}
	add(classMine, 10)
	add(classOther, 4)
	paris := time.FixedZone("CET", 3600)
	ds.Lessons = append(ds.Lessons, datasets.Lesson{ID: "L-FRAC", ClassID: classMine, Subject: "MATHS",
		Competencies: []string{"M-FRAC"}, Start: time.Date(2026, 3, 12, 10, 0, 0, 0, paris), End: time.Date(2026, 3, 12, 11, 0, 0, 0, paris)})
	ds.Absences = append(ds.Absences, datasets.Absence{ID: "A-1", StudentID: pupilMine,
		Start: time.Date(2026, 3, 12, 8, 0, 0, 0, paris), End: time.Date(2026, 3, 12, 17, 0, 0, 0, paris)})
	gid, sid := 0, 0
	for _, st := range ds.Students {
		for ci, c := range ds.Competencies {
			ability := rng.NormFloat64()
			if st.ID == pupilMine && c.Subject == "MATHS" {
				ability = -1.5
			}
			for a := range 2 {
				gid++
				score := math.Round(2*min(20, max(0, 10+4*ability+rng.NormFloat64()*2))) / 2
				ds.Grades = append(ds.Grades, datasets.Grade{ID: fmt.Sprintf("G-%05d", gid), StudentID: st.ID,
					Subject: c.Subject, Competencies: []string{c.ID}, AssessmentID: fmt.Sprintf("EV-%s-%d", c.ID, a),
					Date: time.Date(2026, 2, 2+ci+7*a, 14, 0, 0, 0, time.UTC), Score: score, OutOf: 20, Coefficient: 1})
			}
			for u := range 2 {
				sid++
				r := ds.Resources[rng.IntN(len(ds.Resources))]
				ok := rng.Float64() < 1/(1+math.Exp(r.Difficulty-ability))
				scaled := 0.3
				if ok {
					scaled = 0.9
				}
				ds.Statements = append(ds.Statements, datasets.Statement{ID: fmt.Sprintf("6f1c0b2e-0000-4000-8000-%012d", sid),
					StudentID: st.ID, Verb: datasets.VerbAnswered, ObjectID: r.ID,
					Timestamp: time.Date(2026, 3, 1+ci+u, 15, 0, 0, 0, time.UTC), Scaled: &scaled, Success: &ok})
			}
		}
	}
	return ds
}

// Names of the fixture: personal data the page shows to the pupils' teacher only.
var (
	firstNames  = []string{"Léa", "Hugo", "Chloé", "Louis", "Manon", "Nathan", "Inès", "Gabriel", "Jade", "Adam"}
	classLabels = map[string]string{classMine: "6e A — Mme Dupont", classOther: "6e B"}
)

func pupilName(class string, i int) string {
	return firstNames[i%len(firstNames)] + " Élève-" + class
}

func resourceURL(id string) string { return "https://ent.example.fr/ressources/" + id }

// testEnv is the API and the teacher page on the real engine over a memstore.
type testEnv struct {
	app    *App
	server *httptest.Server
	store  *memstore.Store
}

func newEnv(tb testing.TB) *testEnv {
	tb.Helper()
	return newEnvWith(tb, api.Config{})
}

// newEnvWith is newEnv with the API's settings (the verifier is set here).
func newEnvWith(tb testing.TB, cfg api.Config) *testEnv {
	tb.Helper()
	return newEnvSessions(tb, cfg, nil)
}

// newEnvSessions is newEnvWith with the page's session store (nil: in memory).
func newEnvSessions(tb testing.TB, cfg api.Config, sessions SessionStore) *testEnv {
	tb.Helper()
	return newEnvLogged(tb, cfg, sessions, nil)
}

// newEnvLogged is newEnvSessions with one logger for the API and the page (nil: none).
func newEnvLogged(tb testing.TB, cfg api.Config, sessions SessionStore, logger *slog.Logger) *testEnv {
	tb.Helper()
	return newEnvHooked(tb, cfg, sessions, logger, nil)
}

// newEnvHooked is newEnvLogged where hook, if any, may change the page's configuration
// knowing the server's URL (e.g. the OpenID callback).
func newEnvHooked(tb testing.TB, cfg api.Config, sessions SessionStore, logger *slog.Logger, hook func(base string, c *Config)) *testEnv {
	tb.Helper()
	ctx := context.Background()
	st := memstore.New()
	tb.Cleanup(func() { _ = st.Close() })
	if _, err := st.Ingest(ctx, fixture()); err != nil {
		tb.Fatalf("ingest: %v", err)
	}
	eng, err := recommender.New(ctx, st, recommender.Config{Now: func() time.Time { return fixedNow }})
	if err != nil {
		tb.Fatalf("recommender.New: %v", err)
	}
	v, err := api.NewHS256Verifier(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Verifier = v
	srv := api.New(cfg, eng, st, nil, logger)
	var h http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	tb.Cleanup(hs.Close)
	pc := Config{API: srv.Handler(), Verifier: v, Catalogue: st, Sessions: sessions, Roster: st, Logger: logger}
	if hook != nil {
		pc.Audit = st
		hook(hs.URL, &pc)
	}
	app, err := New(pc)
	if err != nil {
		tb.Fatalf("teacher.New: %v", err)
	}
	h = app.MountAnalyst(app.Mount(srv.Handler()))
	return &testEnv{app: app, server: hs, store: st}
}

func mint(tb testing.TB, role string, classes ...string) string {
	tb.Helper()
	tok, err := api.MintToken(testSecret, api.Claims{Role: role, Classes: classes,
		RegisteredClaims: jwtSubject(teacherID)}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// client is a cookie-keeping HTTP client that does not follow redirects.
func (e *testEnv) client(tb testing.TB) *http.Client {
	tb.Helper()
	jar := newJar()
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login signs in with token through the form and returns the client holding the cookie.
func (e *testEnv) login(tb testing.TB, token string) *http.Client {
	tb.Helper()
	c := e.client(tb)
	resp, err := c.Post(e.server.URL+"/teacher/login", "application/x-www-form-urlencoded",
		strings.NewReader("token="+token))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("login: status %d", resp.StatusCode)
	}
	return c
}
