package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parcours-ent/parcours/recommender"
)

// Issue 13.9, on the real PostgreSQL: the smaller findings of the probe.
func TestSmallerFindings(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	t.Run("TokenWithAStringExpIsRefused", func(t *testing.T) {
		env := newEnv(t)
		now := time.Now()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "S1", "role": RoleStudent, "iat": now.Unix(),
			"exp": "9999999999",
		}).SignedString(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		if w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: tok}); w.Code != http.StatusUnauthorized {
			t.Fatalf(`token with "exp":"9999999999": %d, want 401`, w.Code)
		}
	})
	t.Run("InvalidTokenFloodIsRateLimitedPerAddress", func(t *testing.T) {
		env := newEnv(t)
		codes := map[int]int{}
		for range 200 {
			w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: "not.a.jwt"})
			codes[w.Code]++
		}
		if codes[http.StatusTooManyRequests] == 0 {
			t.Fatalf("200 invalid tokens from one address: %v, want 429s", codes)
		}
		// Another address is not held back by the flood.
		if w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations", token: "not.a.jwt",
			header: map[string]string{}, remote: "192.0.2.7:4000"}); w.Code != http.StatusUnauthorized {
			t.Fatalf("an invalid token from another address: %d, want 401", w.Code)
		}
	})
	t.Run("DeniedRequestsAreAudited", func(t *testing.T) {
		pg, _ := testPostgres(t)
		env := newEnv(t, withStore(pg))
		if w := env.do(t, req{method: "GET", path: "/v1/students/S3/recommendations", token: token(t, RoleTeacher, "T1", classes("C1"))}); w.Code != http.StatusForbidden {
			t.Fatalf("teacher of another class: %d", w.Code)
		}
		if w := env.do(t, req{method: "GET", path: "/v1/students/S3/path?subject=MATHS", token: "not.a.jwt"}); w.Code != http.StatusUnauthorized {
			t.Fatalf("bad token: %d", w.Code)
		}
		es, err := pg.Audit(t.Context(), recommender.AuditQuery{StudentID: "S3"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			b, _ := json.Marshal(e)
			if strings.Contains(string(b), "not.a.jwt") {
				t.Fatalf("token contents in the audit log: %s", b)
			}
			got = append(got, e.ActorRole+":"+e.ActorID+":"+e.Action+":"+e.Outcome)
		}
		want := []string{"teacher:T1:" + string(actReadPupil) + ":denied", "anonymous:addr:192.0.2.1:" + string(actAuthenticate) + ":denied"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("audit of S3 = %v, want %v", got, want)
		}
	})
	t.Run("ExportHoldsTheAccessLog", func(t *testing.T) {
		pg, _ := testPostgres(t)
		env := newEnv(t, withStore(pg))
		recsOf(t, env, token(t, RoleTeacher, "T1", classes("C1")), "S1")
		w := env.do(t, req{method: "GET", path: "/v1/students/S1/export", token: token(t, RoleAdmin, "A1")})
		var x struct {
			AccessLog []recommender.AuditEntry `json:"access_log"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &x); w.Code != 200 || err != nil {
			t.Fatalf("export: %d %v", w.Code, err)
		}
		for _, e := range x.AccessLog {
			if e.ActorID == "T1" && e.Action == "recommendations.read" {
				return
			}
		}
		t.Fatalf("the export's access log %v does not show the teacher's read", x.AccessLog)
	})
	t.Run("InvalidUTF8IsRefusedWithTheField", func(t *testing.T) {
		pg, _ := testPostgres(t)
		env := newEnv(t, withStore(pg))
		teacher := token(t, RoleTeacher, "T1", classes("C1"))
		body := "{\"resource_id\":\"R1\",\"decision\":\"reject\",\"comment\":\"d\xe9j\xe0 vu\"}"
		w := env.do(t, req{method: "POST", path: "/v1/students/S1/path/decisions", token: teacher, body: body})
		if w.Code != http.StatusBadRequest || problemOf(t, w).Field != "/comment" {
			t.Fatalf("comment in Latin-1: %d %s, want 400 naming /comment", w.Code, w.Body.String())
		}
		roster := "[{\"student_id\":\"S9\",\"school_id\":\"SCH1\",\"class_id\":\"C1\",\"level\":\"6e\",\"consent\":true,\"x\":1},{\"student_id\":\"S\xff\"}]"
		w = env.do(t, req{method: "POST", path: "/v1/ingest/students", token: token(t, RoleService, "ent"), body: roster})
		if w.Code != http.StatusBadRequest || problemOf(t, w).Field != "/1/student_id" {
			t.Fatalf("ingest with invalid UTF-8: %d %s, want 400 naming /1/student_id", w.Code, w.Body.String())
		}
	})
	t.Run("FutureDatedRowsAreRefused", func(t *testing.T) {
		pg, _ := testPostgres(t)
		env := newEnv(t, withStore(pg))
		service := token(t, RoleService, "pronote")
		for _, r := range []struct{ path, body, field string }{
			{"/v1/ingest/grades", `[{"grade_id":"G9","student_id":"S1","subject":"MATHS","competencies":["K1"],"assessment_id":"A9","date":"2099-01-05T08:00:00Z","score":15,"out_of":20,"coefficient":1,"status":""}]`, "date"},
			{"/v1/ingest/absences", `[{"absence_id":"AB9","student_id":"S1","start":"2099-01-05T08:00:00Z","end":"2099-01-05T12:00:00Z","justified":false}]`, "start"},
		} {
			w := env.do(t, req{method: "POST", path: r.path, token: service, body: r.body})
			if w.Code != http.StatusBadRequest || problemOf(t, w).Field != r.field {
				t.Errorf("%s dated 2099: %d %s, want 400 naming %s", r.path, w.Code, w.Body.String(), r.field)
			}
		}
		st := `{"id":"6f1c0b2e-0000-4000-8000-000000002099","actor":{"account":{"homePage":"https://ent.example","name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"R1"},"timestamp":"2099-01-05T08:00:00Z"}`
		if code, body := xapi(t, env, st, nil); code != http.StatusBadRequest || !strings.Contains(body, "timestamp") {
			t.Errorf("statement dated 2099: %d %s, want 400 naming the timestamp", code, body)
		}
	})
}
