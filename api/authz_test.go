package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// endpoint is one row of the authorisation matrix: how to call it on a target id.
type endpoint struct {
	name string
	call func(target string) req
	// targets are the ids for own / someone else's / unknown, from the point of view of
	// the roles of roleTokens (student S1, parent of S1, teacher of C1, analyst of SCH1).
	targets [3]string
	// want gives, per role, the statuses for own, someone else's and unknown.
	want map[string][3]int
}

var (
	pupilTargets  = [3]string{"S1", "S3", "NOPE"}
	classTargets  = [3]string{"C1", "C2", "CX"}
	schoolTargets = [3]string{"SCH1", "SCH2", "SCHX"}
	all403        = [3]int{403, 403, 403}
)

func roleTokens(tb testing.TB) map[string]string {
	return map[string]string{
		RoleStudent: token(tb, RoleStudent, "S1"),
		RoleParent:  token(tb, RoleParent, "P1", students("S1")),
		RoleTeacher: token(tb, RoleTeacher, "T1", classes("C1")),
		RoleAdmin:   token(tb, RoleAdmin, "A1"),
		RoleAnalyst: token(tb, RoleAnalyst, "N1", school("SCH1")),
		RoleService: token(tb, RoleService, "moodle"),
	}
}

func endpoints() []endpoint {
	readers := map[string][3]int{RoleStudent: {200, 403, 403}, RoleParent: {200, 403, 403}, RoleTeacher: {200, 403, 403}}
	guardians := map[string][3]int{RoleAdmin: {200, 200, 404}, RoleParent: {200, 403, 403}}
	return []endpoint{
		{"Recommendations", func(id string) req { return req{method: "GET", path: "/v1/students/" + id + "/recommendations?k=5"} }, pupilTargets, readers},
		{"Path", func(id string) req {
			return req{method: "GET", path: "/v1/students/" + id + "/path?length=3&subject=MATHS"}
		}, pupilTargets, readers},
		{"Decision", func(id string) req {
			return req{method: "POST", path: "/v1/students/" + id + "/path/decisions", body: `{"resource_id":"R1","decision":"pin","comment":"ok"}`}
		}, pupilTargets, map[string][3]int{RoleTeacher: {201, 403, 403}}},
		{"Consent", func(id string) req {
			return req{method: "PUT", path: "/v1/students/" + id + "/consent", body: `{"personalization":false}`}
		}, pupilTargets, guardians},
		{"Export", func(id string) req { return req{method: "GET", path: "/v1/students/" + id + "/export"} }, pupilTargets, guardians},
		{"Erase", func(id string) req { return req{method: "DELETE", path: "/v1/students/" + id} }, pupilTargets,
			map[string][3]int{RoleAdmin: {204, 204, 404}}},
		{"ClassOverview", func(id string) req { return req{method: "GET", path: "/v1/classes/" + id + "/overview"} }, classTargets,
			map[string][3]int{RoleTeacher: {200, 403, 403}}},
		{"IngestGrades", func(id string) req {
			return req{method: "POST", path: "/v1/ingest/grades", body: `[{"grade_id":"G-` + id + `","student_id":"S1","subject":"MATHS","competencies":["K1"],"assessment_id":"A2","date":"2026-09-10T08:00:00Z","score":15,"out_of":20,"coefficient":1,"status":""}]`}
		}, pupilTargets, map[string][3]int{RoleService: {200, 200, 200}, RoleAdmin: {200, 200, 200}}},
		{"XAPIStatements", func(id string) req {
			return req{method: "POST", path: "/xapi/statements", header: map[string]string{"X-Experience-API-Version": "1.0.3"},
				body: `{"id":"6f1c2d3e-0000-4000-8000-` + fmt.Sprintf("%012x", len(id)) + `","actor":{"account":{"homePage":"https://ent.example","name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"R1"},"timestamp":"2026-09-10T09:00:00Z"}`}
		}, pupilTargets, map[string][3]int{RoleService: {200, 200, 200}}},
		{"Audit", func(id string) req { return req{method: "GET", path: "/v1/audit?student=" + id} }, pupilTargets,
			map[string][3]int{RoleAdmin: {200, 200, 200}}},
		{"Analytics", func(id string) req { return req{method: "GET", path: "/v1/analytics/overview?school=" + id} }, schoolTargets,
			map[string][3]int{RoleAdmin: {200, 200, 200}, RoleAnalyst: {200, 403, 403}}},
	}
}

// TestAuthorisationMatrix runs every role against every endpoint on its own target,
// someone else's and an unknown one, each on a fresh service.
func TestAuthorisationMatrix(t *testing.T) {
	runMatrix(t, func(t *testing.T) *testEnv { return newEnv(t) })
}

// runMatrix runs the matrix; env returns the service for one case (a fresh one, or a
// shared one reset to the fixture).
func runMatrix(t *testing.T, envFor func(t *testing.T) *testEnv) {
	toks := roleTokens(t)
	for _, ep := range endpoints() {
		for _, role := range roles {
			want, ok := ep.want[role]
			if !ok {
				want = all403
			}
			for i, kind := range []string{"Own", "Others", "Unknown"} {
				name := fmt.Sprintf("%s/%s/%s/Gets%d", ep.name, role, kind, want[i])
				t.Run(name, func(t *testing.T) {
					env := envFor(t)
					r := ep.call(ep.targets[i])
					r.token = toks[role]
					w := env.do(t, r)
					if w.Code != want[i] {
						t.Fatalf("%s %s as %s: status %d, want %d; body %s", r.method, r.path, role, w.Code, want[i], w.Body.String())
					}
					if w.Code >= 400 {
						p := problemOf(t, w)
						if w.Code == http.StatusForbidden && strings.Contains(p.Detail, ep.targets[i]) {
							t.Fatalf("403 names the target: %q", p.Detail)
						}
					}
				})
			}
		}
	}
}

func TestAuthorisationEdges(t *testing.T) {
	tests := []struct {
		name  string
		token func(testing.TB) string
		path  string
		want  int
	}{
		{"TeacherWithoutClassesIsForbidden", func(tb testing.TB) string { return token(tb, RoleTeacher, "T9") }, "/v1/students/S1/recommendations", 403},
		{"ParentOfOtherChildIsForbidden", func(tb testing.TB) string { return token(tb, RoleParent, "P2", students("S3")) }, "/v1/students/S1/path?subject=MATHS", 403},
		{"StudentWhoseOwnRecordIsGoneGets404", func(tb testing.TB) string { return token(tb, RoleStudent, "GONE") }, "/v1/students/GONE/recommendations", 404},
		{"AcademieAnalystSeesAnySchool", func(tb testing.TB) string { return token(tb, RoleAnalyst, "N2") }, "/v1/analytics/overview?school=SCH2", 200},
		{"SchoolAnalystWithoutParameterSeesOwnSchool", func(tb testing.TB) string { return token(tb, RoleAnalyst, "N1", school("SCH1")) }, "/v1/analytics/overview", 200},
		{"StudentCannotReadClassOverview", func(tb testing.TB) string { return token(tb, RoleStudent, "S1", classes("C1")) }, "/v1/classes/C1/overview", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			w := env.do(t, req{method: "GET", path: tc.path, token: tc.token(t)})
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body.String())
			}
		})
	}
}
