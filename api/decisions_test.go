package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/parcours-ent/parcours/recommender"
)

func TestDecisionHistoryAndUndo(t *testing.T) {
	e := newENTEnv(t, nil)
	teacher := token(t, RoleTeacher, "prof", classes(e.class))
	path := func(tb testing.TB) recommender.Path {
		tb.Helper()
		w := e.do(tb, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/path?length=5&subject=" + e.subject, token: teacher})
		var p recommender.Path
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &p) != nil || len(p.Steps) == 0 {
			tb.Fatalf("path: %d %s", w.Code, w.Body.String())
		}
		return p
	}
	ids := func(p recommender.Path) []string {
		var out []string
		for _, s := range p.Steps {
			out = append(out, s.ResourceID)
		}
		return out
	}
	decide := func(tb testing.TB, res, d string) int {
		tb.Helper()
		return e.do(tb, req{method: http.MethodPost, path: "/v1/students/" + e.pupil + "/path/decisions", token: teacher,
			body: `{"resource_id":"` + res + `","decision":"` + d + `"}`}).Code
	}
	first := path(t).Steps[0].ResourceID

	t.Run("UndoWithNothingToUndoIsAConflict", func(t *testing.T) {
		if code := decide(t, first, recommender.DecisionUndo); code != http.StatusConflict {
			t.Fatalf("undo with no decision: %d, want 409", code)
		}
	})
	t.Run("UndoBringsARejectedStepBack", func(t *testing.T) {
		if code := decide(t, first, recommender.DecisionReject); code != http.StatusCreated {
			t.Fatalf("reject: %d", code)
		}
		if slices.Contains(ids(path(t)), first) {
			t.Fatalf("the rejected step %s is still in the path", first)
		}
		if code := decide(t, first, recommender.DecisionUndo); code != http.StatusCreated {
			t.Fatalf("undo: %d", code)
		}
		if !slices.Contains(ids(path(t)), first) {
			t.Fatalf("after the undo the step %s is not back: %v", first, ids(path(t)))
		}
	})
	t.Run("HistoryKeepsEveryDecisionForTheTeacherOnly", func(t *testing.T) {
		w := e.do(t, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/path/decisions", token: teacher})
		var h decisionHistory
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &h) != nil {
			t.Fatalf("history: %d %s", w.Code, w.Body.String())
		}
		var got []string
		for _, d := range h.Decisions {
			got = append(got, d.Decision)
		}
		if !slices.Equal(got, []string{recommender.DecisionReject, recommender.DecisionUndo}) || h.Decisions[0].TeacherID != "prof" {
			t.Fatalf("history %v, want reject then undo by prof", got)
		}
		other := token(t, RoleTeacher, "prof2", classes("another-class"))
		if w := e.do(t, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/path/decisions", token: other}); w.Code != http.StatusForbidden {
			t.Fatalf("another class's teacher reads the history: %d", w.Code)
		}
		student := token(t, RoleStudent, e.pupil)
		if w := e.do(t, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/path/decisions", token: student}); w.Code != http.StatusForbidden {
			t.Fatalf("the pupil reads the teachers' history: %d", w.Code)
		}
	})
	t.Run("OverviewOfOneSubjectGroupsOnItsCompetenciesOnly", func(t *testing.T) {
		var all, one recommender.Overview
		for _, x := range []struct {
			q  string
			ov *recommender.Overview
		}{{"", &all}, {"?subject=" + e.subject, &one}} {
			w := e.do(t, req{method: http.MethodGet, path: "/v1/classes/" + e.class + "/overview" + x.q, token: teacher})
			if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), x.ov) != nil {
				t.Fatalf("overview%s: %d %s", x.q, w.Code, w.Body.String())
			}
		}
		if len(one.Competencies) == 0 || len(one.Competencies) >= len(all.Competencies) || one.Subject != e.subject {
			t.Fatalf("%d competencies for %s of %d in all", len(one.Competencies), e.subject, len(all.Competencies))
		}
		for _, g := range one.Groups {
			for _, c := range g.Competencies {
				if !slices.Contains(one.Competencies, c) {
					t.Fatalf("group %d names %s, not a %s competency", g.ID, c, e.subject)
				}
			}
		}
		for _, p := range one.Pupils {
			if p.Personal && len(p.Needs) != len(one.Competencies) {
				t.Fatalf("pupil %s has %d needs for %d competencies", p.StudentID, len(p.Needs), len(one.Competencies))
			}
		}
	})
}
