package teacher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// analystNow is the API's experiment clock: six weeks into the experiment.
var analystNow = time.Date(2026, time.March, 16, 12, 0, 0, 0, time.UTC)

// analystEnv is the real engine, API and pages over a memstore holding an académie of
// 8 classes of 12 pupils (one class of 6) and an experiment of two arms created through
// the API. Six weeks of lists served, launches reported and later grades are written
// through the stores' and API's own paths; arm B's pupils succeed more often.
func analystEnv(tb testing.TB) (*httptest.Server, string) {
	tb.Helper()
	ctx := context.Background()
	st := memstore.New()
	tb.Cleanup(func() { _ = st.Close() })
	ds := &datasets.Dataset{}
	for c := range 3 {
		id := fmt.Sprintf("M-%d", c+1)
		ds.Competencies = append(ds.Competencies, datasets.Competency{ID: id, Subject: "MATHS", Level: "6e", Label: "Compétence " + id})
		for j := range 4 {
			ds.Resources = append(ds.Resources, datasets.Resource{ID: fmt.Sprintf("R-%s-%d", id, j+1), Title: "Ressource", Subject: "MATHS",
				Level: "6e", Type: datasets.ResourceExercise, Competencies: []string{id}, Difficulty: float64(j)/2 - 1, DurationMin: 10,
				URL: resourceURL(fmt.Sprintf("R-%s-%d", id, j+1))})
		}
	}
	sizes := []int{12, 12, 12, 12, 12, 12, 12, 12, 6}
	for k, n := range sizes {
		class := fmt.Sprintf("6%c", 'A'+k)
		ds.Classes = append(ds.Classes, datasets.Class{ID: class, SchoolID: "0750001A", Label: "6e " + string(rune('A'+k))})
		for i := range n {
			ds.Students = append(ds.Students, datasets.Student{ID: fmt.Sprintf("P-%s-%02d", class, i+1), SchoolID: "0750001A",
				ClassID: class, Level: "6e", Consent: true, DisplayName: pupilName(class, i)})
		}
	}
	if _, err := st.Ingest(ctx, ds); err != nil {
		tb.Fatalf("ingest: %v", err)
	}
	eng, err := recommender.New(ctx, st, recommender.Config{Now: func() time.Time { return analystNow }})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := api.NewHS256Verifier(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	srv := api.New(api.Config{Verifier: v, Now: func() time.Time { return analystNow }}, eng, st, nil, nil)
	app, err := New(Config{API: srv.Handler(), Verifier: v, Catalogue: st, Roster: st, Location: time.UTC})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(app.MountAnalyst(app.Mount(srv.Handler())))
	tb.Cleanup(hs.Close)

	start := analystNow.AddDate(0, 0, -42)
	def := fmt.Sprintf(`{"id":"EXP-CIBLE","name":"Réussite visée 60 %%","arms":[{"name":"A"},{"name":"B","target_success":0.6}],"start":%q,"end":%q}`,
		start.Format(time.RFC3339), analystNow.AddDate(0, 0, 28).Format(time.RFC3339))
	req, _ := http.NewRequest("POST", hs.URL+"/v1/experiments", strings.NewReader(def))
	req.Header.Set("Authorization", "Bearer "+analystToken(tb, "analyst"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	var x experiment.Experiment
	_ = json.NewDecoder(resp.Body).Decode(&x)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("create experiment: %d", resp.StatusCode)
	}
	arm := map[string]string{}
	for _, a := range x.Assignments {
		arm[a.ClassID] = a.Arm
	}
	rng := rand.New(rand.NewPCG(16, 1))
	var grades []datasets.Grade
	for _, s := range ds.Students {
		a := arm[s.ClassID]
		uptake, success := 0.3, 0.5
		if a == "B" {
			uptake, success = 0.45, 0.7
		}
		for w := range 6 {
			at := start.AddDate(0, 0, 7*w).Add(9 * time.Hour)
			list := fmt.Sprintf("L-%s-%d", s.ID, w)
			comp := fmt.Sprintf("M-%d", w%3+1)
			res := []string{fmt.Sprintf("R-%s-%d", comp, 2*(w/3)+1), fmt.Sprintf("R-%s-%d", comp, 2*(w/3)+2)} // each listed first this week
			if err := st.LogExposure(ctx, experiment.Exposure{ExperimentID: x.ID, Arm: a, ClassID: s.ClassID, StudentID: s.ID,
				ListID: list, ResourceIDs: res, Source: "computed", At: at}); err != nil {
				tb.Fatal(err)
			}
			for _, r := range res {
				if rng.Float64() < uptake+0.02*float64(w) {
					if err := st.LogFeedback(ctx, experiment.Feedback{ExperimentID: x.ID, Arm: a, StudentID: s.ID, ListID: list,
						Kind: experiment.FeedbackLaunch, ResourceID: r, At: at.Add(time.Hour)}); err != nil {
						tb.Fatal(err)
					}
				}
			}
			score := 6.0
			if rng.Float64() < success {
				score = 16
			}
			grades = append(grades, datasets.Grade{ID: fmt.Sprintf("G-%s-%d", s.ID, w), StudentID: s.ID, Subject: "MATHS",
				Competencies: []string{comp}, AssessmentID: fmt.Sprintf("EV-%s-%d", comp, w), Date: at.AddDate(0, 0, 3),
				Score: score, OutOf: 20, Coefficient: 1})
		}
	}
	if _, err := st.Ingest(ctx, &datasets.Dataset{Grades: grades}); err != nil {
		tb.Fatalf("ingest grades: %v", err)
	}
	return hs, x.ID
}

func analystToken(tb testing.TB, role string) string {
	tb.Helper()
	tok, err := api.MintToken(testSecret, api.Claims{Role: role, Classes: []string{"6A"}, RegisteredClaims: jwtSubject("AN-" + role)}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func analystLogin(tb testing.TB, base, token string) (*http.Client, int) {
	tb.Helper()
	c := &http.Client{Jar: newJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(base+"/analyst/login", "application/x-www-form-urlencoded", strings.NewReader("token="+url.QueryEscape(token)))
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.StatusCode
}

// TestAnalystPageRefusesOtherRoles: only analyst and admin tokens open a session; pages
// and plots without a session send to sign-in; a teacher's session on /teacher/ does not
// open /analyst/; sign-out needs the CSRF token.
func TestAnalystPageRefusesOtherRoles(t *testing.T) {
	hs, id := analystEnv(t)
	for _, role := range []string{"teacher", "student", "service", "parent"} {
		if _, status := analystLogin(t, hs.URL, analystToken(t, role)); status != http.StatusForbidden {
			t.Errorf("%s token: sign-in %d, want 403", role, status)
		}
	}
	if _, status := analystLogin(t, hs.URL, "not-a-token"); status != http.StatusUnauthorized {
		t.Errorf("bad token: %d, want 401", status)
	}
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/analyst/", "/analyst/experiments/" + id, "/analyst/experiments/" + id + "/effect.png", "/analyst/experiments/" + id + "/uptake.png"} {
		status, body, h := get(t, anon, hs.URL+p)
		if status != http.StatusSeeOther || h.Get("Location") != "/analyst/login" || strings.Contains(body, "EXP-CIBLE") {
			t.Errorf("%s without a session: %d to %q", p, status, h.Get("Location"))
		}
	}
	// A teacher signed in on the teacher's page has no analyst session.
	tc := &http.Client{Jar: newJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := tc.Post(hs.URL+"/teacher/login", "application/x-www-form-urlencoded", strings.NewReader("token="+analystToken(t, "teacher")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status, _, h := get(t, tc, hs.URL+"/analyst/experiments/"+id); status != http.StatusSeeOther || h.Get("Location") != "/analyst/login" {
		t.Errorf("teacher session on the analyst page: %d %q", status, h.Get("Location"))
	}
	c, status := analystLogin(t, hs.URL, analystToken(t, "analyst"))
	if status != http.StatusSeeOther {
		t.Fatalf("analyst sign-in: %d", status)
	}
	// The analyst's session id replayed under the teacher page's cookie opens nothing there.
	base, _ := url.Parse(hs.URL)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Post(hs.URL+"/analyst/login", "application/x-www-form-urlencoded", strings.NewReader("token="+url.QueryEscape(analystToken(t, "analyst"))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sid string
	for _, k := range resp.Cookies() {
		if k.Name == analystCookie {
			sid = k.Value
		}
	}
	if sid == "" {
		t.Fatal("no analyst session cookie after sign-in")
	}
	forged := &http.Client{Jar: newJar(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	forged.Jar.SetCookies(base.JoinPath("/teacher/"), []*http.Cookie{{Name: cookieName, Value: sid, Path: "/"}})
	if status, _, h := get(t, forged, hs.URL+"/teacher/"); status != http.StatusSeeOther || h.Get("Location") != "/teacher/login" {
		t.Errorf("analyst session under the teacher's cookie: %d %q, want a redirect to sign-in", status, h.Get("Location"))
	}
	if status, _, _ := post(t, c, hs.URL+"/analyst/logout", hs.URL, url.Values{}); status != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: %d, want 403", status)
	}
	if status, _, _ := post(t, c, hs.URL+"/analyst/logout", "https://evil.example", url.Values{}); status != http.StatusForbidden {
		t.Errorf("sign-out from another origin: %d, want 403", status)
	}
	if status, _, _ := get(t, c, hs.URL+"/analyst/experiments/nope"); status != http.StatusNotFound {
		t.Errorf("unknown experiment: %d, want 404", status)
	}
}

// TestAnalystPageShowsAggregatesOnly: the experiment page lists arms with class and pupil
// counts, suppresses groups under 10 pupils, names no pupil, sends the CSP, and serves
// both plots as PNG.
func TestAnalystPageShowsAggregatesOnly(t *testing.T) {
	hs, id := analystEnv(t)
	for _, role := range []string{"analyst", "admin"} {
		c, status := analystLogin(t, hs.URL, analystToken(t, role))
		if status != http.StatusSeeOther {
			t.Fatalf("%s sign-in: %d", role, status)
		}
		status, body, h := get(t, c, hs.URL+"/analyst/")
		if status != 200 || !strings.Contains(body, "Réussite visée 60 %") || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("%s list: %d %s", role, status, body)
		}
		status, body, _ = get(t, c, hs.URL+"/analyst/experiments/"+id)
		if status != 200 || strings.Count(body, `class="arm-row`) != 2 || !strings.Contains(body, "Intervalle") || !strings.Contains(body, "Conclusion") {
			t.Fatalf("%s experiment page: %d\n%s", role, status, body)
		}
		if strings.Contains(body, "P-6") || strings.Contains(body, "Élève-") {
			t.Errorf("a pupil's id or name on the analyst page:\n%s", body)
		}
		for _, plot := range []string{"uptake.png", "effect.png"} {
			status, img, h := get(t, c, hs.URL+"/analyst/experiments/"+id+"/"+plot)
			if status != 200 || h.Get("Content-Type") != "image/png" {
				t.Fatalf("%s: %d %s", plot, status, h.Get("Content-Type"))
			}
			if _, err := png.Decode(bytes.NewReader([]byte(img))); err != nil {
				t.Errorf("%s is not a PNG: %v", plot, err)
			}
		}
	}
}

// TestAnalystPageSuppressesSmallArms: when an arm has fewer than 10 pupils, its row says
// so and shows no effect.
func TestAnalystPageSuppressesSmallArms(t *testing.T) {
	row := armRowFor(t, experiment.ArmResult{Suppressed: true, AssignedClasses: 1})
	if row.Pupils != "moins de 10" || row.Effect != "—" {
		t.Errorf("suppressed arm row %+v", row)
	}
}

func armRowFor(t *testing.T, res experiment.ArmResult) armRow {
	t.Helper()
	v := analystView{Experiment: experiment.Experiment{Definition: experiment.Definition{ID: "E", Arms: []experiment.Arm{{Name: "A"}, {Name: "B"}}}},
		Analysis: &experiment.Analysis{ControlArm: "A", ArmOrder: []string{"A", "B"}, MinGroup: 10,
			Arms: map[string]experiment.ArmResult{"A": {Control: true}, "B": res}}}
	rows := armRows(v)
	return rows[1]
}

// TestAnalystReadsAnExperimentInABrowser: headless Chromium signs in with an analyst
// token, opens the experiment, sees both plots loaded under the page's CSP; the
// screenshot goes to docs/analyst-experiment.png when PARCOURS_SCREENSHOTS is set.
func TestAnalystReadsAnExperimentInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	hs, id := analystEnv(t)
	ctx := browser(t, 1280, 1100)
	step(t, ctx, "open the sign-in form", chromedp.Navigate(hs.URL+"/analyst/login"), chromedp.WaitVisible(chromedp.ID("token")))
	step(t, ctx, "paste the token", chromedp.SetValue(chromedp.ID("token"), analystToken(t, "analyst")))
	step(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`a.experiment-link`)))
	step(t, ctx, "open the experiment", chromedp.Click(chromedp.CSS(`a.experiment-link`)), chromedp.WaitVisible(chromedp.CSS(`table.arms`)))
	if u := eval[string](t, ctx, `location.pathname`); u != "/analyst/experiments/"+id {
		t.Fatalf("at %s", u)
	}
	// Both plots decoded (naturalWidth > 0): the CSP let them load.
	step(t, ctx, "plots load", chromedp.Poll[chromedp.Void](`Array.from(document.querySelectorAll("img.plot")).every(i => i.complete && i.naturalWidth > 0)`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if n := eval[int](t, ctx, `document.querySelectorAll("img.plot").length`); n != 2 {
		t.Fatalf("%d plots, want 2", n)
	}
	if eff := eval[string](t, ctx, `document.querySelector("tr[data-arm=B] td.ci").textContent`); !strings.HasPrefix(eff, "[") {
		t.Errorf("arm B's interval shows as %q", eff)
	}
	screenshot(t, ctx, "analyst-experiment.png")
}
