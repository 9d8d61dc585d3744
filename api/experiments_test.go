package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/experiment"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// expEnv is newEnv on a plain memstore (the flaky wrapper hides the experiment store).
func expEnv(tb testing.TB, now time.Time) (*testEnv, *memstore.Store) {
	tb.Helper()
	v, err := NewHS256Verifier(testSecret)
	if err != nil {
		tb.Fatal(err)
	}
	ms := memstore.New()
	env := &testEnv{store: &flakyStore{Store: ms}, cache: cache.NewMemory(1000, 16)}
	env.reset(tb)
	env.eng = &fakeEngine{store: ms}
	env.srv = New(Config{Verifier: v, RateLimit: 1000, RateBurst: 1000, Now: func() time.Time { return now }}, env.eng, ms, env.cache, nil)
	env.h = env.srv.Handler()
	return env, ms
}

const expBody = `{"id":"E1","name":"Cible 0,6","arms":[{"name":"A"},{"name":"B","target_success":0.6,"explore":true}],
	"levels":["6e"],"start":"2026-09-01T00:00:00Z","end":"2026-12-01T00:00:00Z","guardrails":{"min_uptake":0.1}}`

func TestExperimentEndpoints(t *testing.T) {
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	env, ms := expEnv(t, now)
	analyst := token(t, RoleAnalyst, "an1")
	w := env.do(t, req{method: "POST", path: "/v1/experiments", token: analyst, body: expBody})
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	x := decode[experimentView](t, w)
	if len(x.Assignments) != 3 || x.Unit != "class" || x.CreatedBy != "an1" {
		t.Fatalf("created: %+v", x)
	}
	arm := map[string]string{}
	for _, a := range x.Assignments {
		arm[a.ClassID] = a.Arm
	}
	if n := x.Counts["A"].Classes + x.Counts["B"].Classes; n != 3 || x.Counts["A"].Classes == 0 || x.Counts["B"].Classes == 0 {
		t.Errorf("arm counts %+v", x.Counts)
	}
	t.Run("SameIDIsConflict", func(t *testing.T) {
		if w := env.do(t, req{method: "POST", path: "/v1/experiments", token: analyst, body: expBody}); w.Code != http.StatusConflict {
			t.Errorf("%d %s", w.Code, w.Body.String())
		}
	})
	t.Run("PupilOfAnArmGetsAListIDAndIsExposed", func(t *testing.T) {
		w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: token(t, RoleStudent, "S1")})
		if w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		rec := decode[struct {
			ListID string `json:"list_id"`
		}](t, w)
		if rec.ListID == "" {
			t.Fatalf("no list_id: %s", w.Body.String())
		}
		es, _ := ms.Exposures(context.Background(), "E1")
		if len(es) != 1 || es[0].StudentID != "S1" || es[0].Arm != arm["C1"] || es[0].ListID != rec.ListID || len(es[0].ResourceIDs) != 1 {
			t.Fatalf("exposures %+v", es)
		}
		// A cache hit is served again: another impression of the same list.
		w = env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: token(t, RoleStudent, "S1")})
		if !strings.Contains(w.Body.String(), rec.ListID) || !strings.Contains(w.Body.String(), `"source":"cache"`) {
			t.Errorf("second read: %s", w.Body.String())
		}
		if es, _ := ms.Exposures(context.Background(), "E1"); len(es) != 2 {
			t.Errorf("%d exposures after a cache hit, want 2", len(es))
		}
		t.Run("FeedbackOnTheList", func(t *testing.T) {
			body := fmt.Sprintf(`{"list_id":%q,"kind":"launch","resource_id":"R1"}`, rec.ListID)
			if w := env.do(t, req{method: "POST", path: "/v1/feedback", token: token(t, RoleStudent, "S1"), body: body}); w.Code != 204 {
				t.Fatalf("launch: %d %s", w.Code, w.Body.String())
			}
			if w := env.do(t, req{method: "POST", path: "/v1/feedback", token: token(t, RoleStudent, "S2"), body: body}); w.Code != 404 {
				t.Errorf("another pupil's list: %d, want 404", w.Code)
			}
			bad := fmt.Sprintf(`{"list_id":%q,"kind":"launch","resource_id":"R9"}`, rec.ListID)
			if w := env.do(t, req{method: "POST", path: "/v1/feedback", token: token(t, RoleStudent, "S1"), body: bad}); w.Code != 400 || problemOf(t, w).Field != "/resource_id" {
				t.Errorf("resource not in the list: %d %s", w.Code, w.Body.String())
			}
			if w := env.do(t, req{method: "POST", path: "/v1/feedback", token: token(t, RoleStudent, "S1"), body: `{"list_id":"x","kind":"click"}`}); w.Code != 400 || problemOf(t, w).Field != "/kind" {
				t.Errorf("unknown kind: %d %s", w.Code, w.Body.String())
			}
			if w := env.do(t, req{method: "POST", path: "/v1/feedback", token: token(t, RoleTeacher, "T1", classes("C1")), body: body}); w.Code != 403 {
				t.Errorf("teacher feedback: %d, want 403", w.Code)
			}
			fs, _ := ms.Feedback(context.Background(), "E1")
			if len(fs) != 1 || fs[0].Kind != "launch" || fs[0].StudentID != "S1" {
				t.Errorf("feedback %+v", fs)
			}
		})
		t.Run("ExportListsTheExposuresAndFeedback", func(t *testing.T) {
			// The RGPD export holds every row about the pupil, experiment rows included.
			w := env.do(t, req{method: "GET", path: "/v1/students/S1/export", token: token(t, RoleAdmin, "ad")})
			if w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			x := decode[pupilExport](t, w)
			if len(x.ExperimentExposures) != 2 || x.ExperimentExposures[0].ListID != rec.ListID || x.ExperimentExposures[0].Arm != arm["C1"] {
				t.Errorf("exported exposures %+v, want the 2 of list %s", x.ExperimentExposures, rec.ListID)
			}
			if len(x.ExperimentFeedback) != 1 || x.ExperimentFeedback[0].Kind != "launch" || x.ExperimentFeedback[0].ResourceID != "R1" {
				t.Errorf("exported feedback %+v, want the launch of R1", x.ExperimentFeedback)
			}
			w = env.do(t, req{method: "GET", path: "/v1/students/S2/export", token: token(t, RoleAdmin, "ad")})
			if x := decode[pupilExport](t, w); w.Code != 200 || len(x.ExperimentExposures)+len(x.ExperimentFeedback) != 0 ||
				!strings.Contains(w.Body.String(), `"experiment_exposures":[]`) {
				t.Errorf("another pupil's export: %d %s", w.Code, w.Body.String())
			}
		})
	})
	t.Run("PupilWithoutConsentIsNeverInTheExperiment", func(t *testing.T) {
		w := env.do(t, req{method: "GET", path: "/v1/students/S4/recommendations", token: token(t, RoleTeacher, "T1", classes("C1"))})
		if w.Code != 200 || strings.Contains(w.Body.String(), "list_id") {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		es, _ := ms.Exposures(context.Background(), "E1")
		for _, e := range es {
			if e.StudentID == "S4" {
				t.Errorf("pupil without consent exposed: %+v", e)
			}
		}
	})
	t.Run("TeacherSeesTheVariantAndOptsOut", func(t *testing.T) {
		tt := token(t, RoleTeacher, "T1", classes("C1"))
		w := env.do(t, req{method: "GET", path: "/v1/classes/C1/experiments", token: tt})
		if w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		v := decode[struct {
			Experiments []classExperimentView `json:"experiments"`
		}](t, w)
		if len(v.Experiments) != 1 || !v.Experiments[0].Running || v.Experiments[0].Arm.Name != arm["C1"] {
			t.Fatalf("class view %+v", v)
		}
		if w := env.do(t, req{method: "GET", path: "/v1/classes/C2/experiments", token: tt}); w.Code != 403 {
			t.Errorf("another class: %d", w.Code)
		}
		if w := env.do(t, req{method: "PUT", path: "/v1/classes/C2/experiments/E1", token: tt, body: `{"opted_out":true}`}); w.Code != 403 {
			t.Errorf("opt-out of another class: %d", w.Code)
		}
		if w := env.do(t, req{method: "PUT", path: "/v1/classes/C1/experiments/E1", token: tt, body: `{}`}); w.Code != 400 || problemOf(t, w).Field != "/opted_out" {
			t.Errorf("opt-out without a value: %d %s", w.Code, w.Body.String())
		}
		if w := env.do(t, req{method: "PUT", path: "/v1/classes/C1/experiments/E1", token: tt, body: `{"opted_out":true}`}); w.Code != 200 {
			t.Fatalf("opt-out: %d %s", w.Code, w.Body.String())
		}
		before, _ := ms.Exposures(context.Background(), "E1")
		w = env.do(t, req{method: "GET", path: "/v1/students/S2/recommendations", token: tt})
		if w.Code != 200 || strings.Contains(w.Body.String(), "list_id") {
			t.Errorf("after opt-out: %d %s", w.Code, w.Body.String())
		}
		if after, _ := ms.Exposures(context.Background(), "E1"); len(after) != len(before) {
			t.Errorf("a class opted out is still exposed")
		}
	})
	t.Run("GetReturnsAggregatesOnly", func(t *testing.T) {
		w := env.do(t, req{method: "GET", path: "/v1/experiments/E1", token: analyst})
		if w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		for _, pupil := range []string{"S1", "S2", "S3", "S4", "S5"} {
			if strings.Contains(w.Body.String(), `"`+pupil+`"`) {
				t.Errorf("pupil %s named in the analysis: %s", pupil, w.Body.String())
			}
		}
		v := decode[experimentView](t, w)
		if v.Analysis == nil || !v.Analysis.Arms["A"].Suppressed || v.Analysis.Arms["A"].Pupils != nil {
			t.Errorf("under 10 pupils must be suppressed: %+v", v.Analysis)
		}
		if w := env.do(t, req{method: "GET", path: "/v1/experiments/nope", token: analyst}); w.Code != 404 {
			t.Errorf("unknown: %d", w.Code)
		}
		if w := env.do(t, req{method: "GET", path: "/v1/experiments", token: analyst}); w.Code != 200 || !strings.Contains(w.Body.String(), `"E1"`) {
			t.Errorf("list: %d %s", w.Code, w.Body.String())
		}
	})
	t.Run("Authorisation", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, tok, body string
			want                          int
		}{
			{"StudentCannotCreate", "POST", "/v1/experiments", token(t, RoleStudent, "S1"), expBody, 403},
			{"TeacherCannotCreate", "POST", "/v1/experiments", token(t, RoleTeacher, "T1", classes("C1")), expBody, 403},
			{"ServiceCannotRead", "GET", "/v1/experiments/E1", token(t, RoleService, "ent"), "", 403},
			{"TeacherCannotRead", "GET", "/v1/experiments/E1", token(t, RoleTeacher, "T1", classes("C1")), "", 403},
			{"SchoolAnalystCannotReadAcademieWide", "GET", "/v1/experiments/E1", token(t, RoleAnalyst, "an2", school("SCH1")), "", 403},
			{"SchoolAnalystCannotCreateElsewhere", "POST", "/v1/experiments", token(t, RoleAnalyst, "an2", school("SCH1")),
				strings.Replace(expBody, `"levels"`, `"schools":["SCH2"],"levels"`, 1), 403},
			{"NoToken", "GET", "/v1/experiments/E1", "", "", 401},
			{"AdminReads", "GET", "/v1/experiments/E1", token(t, RoleAdmin, "ad"), "", 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if w := env.do(t, req{method: tc.method, path: tc.path, token: tc.tok, body: tc.body}); w.Code != tc.want {
					t.Errorf("%d, want %d: %s", w.Code, tc.want, w.Body.String())
				}
			})
		}
		t.Run("SchoolAnalystCreatesInTheirSchool", func(t *testing.T) {
			body := strings.Replace(strings.Replace(expBody, `"E1"`, `"E2"`, 1), `2026-09-01`, `2027-01-01`, 1)
			body = strings.Replace(body, `2026-12-01`, `2027-03-01`, 1)
			w := env.do(t, req{method: "POST", path: "/v1/experiments", token: token(t, RoleAnalyst, "an2", school("SCH1")), body: body})
			if w.Code != 201 {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			for _, a := range decode[experiment.Experiment](t, w).Assignments {
				if a.SchoolID != "SCH1" {
					t.Errorf("class of another school assigned: %+v", a)
				}
			}
		})
	})
}

// TestExperimentDefinitionRefusedWithTheField: malformed, hostile or oversized
// definitions are refused with the JSON field named, and nothing is stored.
func TestExperimentDefinitionRefusedWithTheField(t *testing.T) {
	env, ms := expEnv(t, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	analyst := token(t, RoleAnalyst, "an1")
	for _, tc := range []struct {
		name, body, field string
		status            int
	}{
		{"UnknownField", strings.Replace(expBody, `"name"`, `"pupils":["S1"],"name"`, 1), "/pupils", 400},
		{"WrongType", strings.Replace(expBody, `"target_success":0.6`, `"target_success":"0.6"`, 1), "/arms/target_success", 400},
		{"OneArm", strings.Replace(expBody, `{"name":"A"},`, ``, 1), "/arms", 400},
		{"PupilUnit", strings.Replace(expBody, `"levels"`, `"unit":"pupil","levels"`, 1), "/unit", 400},
		{"TargetTooHigh", strings.Replace(expBody, `0.6`, `1.6`, 1), "/arms/1/target_success", 400},
		{"EndBeforeStart", strings.Replace(expBody, `2026-12-01`, `2026-08-01`, 1), "/end", 400},
		{"BadDate", strings.Replace(expBody, `2026-12-01T00:00:00Z`, `demain`, 1), "body", 400},
		{"UnknownLevel", strings.Replace(expBody, `"6e"`, `"CP"`, 1), "/levels/0", 400},
		{"NoClassThere", strings.Replace(expBody, `"6e"`, `"Tle"`, 1), "/schools", 400},
		{"ScriptInArmName", strings.Replace(expBody, `"name":"B"`, `"name":"<script>"`, 1), "/arms/1/name", 400},
		{"ControlCharInName", strings.Replace(expBody, `Cible 0,6`, `Cible\u0000`, 1), "/name", 400},
		{"TrailingData", expBody + `{}`, "body", 400},
		{"NotJSON", `arms=A,B`, "body", 400},
		{"Oversized", `{"id":"E9","name":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413},
	} {
		t.Run("Refuses"+tc.name, func(t *testing.T) {
			w := env.do(t, req{method: "POST", path: "/v1/experiments", token: analyst, body: tc.body})
			if w.Code != tc.status {
				t.Fatalf("%d, want %d: %s", w.Code, tc.status, w.Body.String())
			}
			if p := problemOf(t, w); p.Field != tc.field {
				t.Errorf("field %q, want %q: %s", p.Field, tc.field, w.Body.String())
			}
		})
	}
	if xs, _ := ms.Experiments(context.Background()); len(xs) != 0 {
		t.Errorf("a refused definition was stored: %+v", xs)
	}
	if w := env.do(t, req{method: "POST", path: "/v1/experiments", token: analyst, body: expBody, ctype: "text/plain"}); w.Code != 415 {
		t.Errorf("text/plain: %d", w.Code)
	}
}
