package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func statement(id, student, verb, object string) string {
	return fmt.Sprintf(`{"id":%q,"actor":{"objectType":"Agent","account":{"homePage":"https://ent.example","name":%q}},"verb":{"id":%q},"object":{"id":%q},"result":{"score":{"scaled":0.8},"success":true,"completion":true,"duration":"PT4M"},"timestamp":"2026-09-10T09:00:00Z"}`, id, student, verb, object)
}

const completed = "http://adlnet.gov/expapi/verbs/completed"

func xapi(tb testing.TB, env *testEnv, body string, hdr map[string]string) (int, string) {
	tb.Helper()
	if hdr == nil {
		hdr = map[string]string{"X-Experience-API-Version": "1.0.3"}
	}
	w := env.do(tb, req{method: "POST", path: "/xapi/statements", token: token(tb, RoleService, "moodle"), body: body, header: hdr})
	return w.Code, w.Body.String()
}

func statementCount(tb testing.TB, env *testEnv, student string) int {
	tb.Helper()
	ev, err := env.store.PupilEvents(context.Background(), student)
	if err != nil {
		tb.Fatal(err)
	}
	return len(ev.Statements)
}

func TestXAPIStatements(t *testing.T) {
	id1, id2, id3 := "0b1c2d3e-1111-4000-8000-000000000001", "0b1c2d3e-1111-4000-8000-000000000002", "0b1c2d3e-1111-4000-8000-000000000003"
	t.Run("OneStatementReturnsItsID", func(t *testing.T) {
		env := newEnv(t)
		code, body := xapi(t, env, statement(id1, "S1", completed, "R1"), nil)
		if code != 200 || body != `["`+id1+`"]` {
			t.Fatalf("%d %s", code, body)
		}
		if n := statementCount(t, env, "S1"); n != 1 {
			t.Fatalf("%d statements stored, want 1", n)
		}
	})
	t.Run("ArrayReturnsIDsInOrder", func(t *testing.T) {
		env := newEnv(t)
		code, body := xapi(t, env, "["+statement(id1, "S1", completed, "R1")+","+statement(id2, "S2", completed, "R2")+"]", nil)
		if code != 200 || body != `["`+id1+`","`+id2+`"]` {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("SameIDTwiceIsStoredOnce", func(t *testing.T) {
		env := newEnv(t)
		for i := 0; i < 2; i++ {
			if code, body := xapi(t, env, statement(id1, "S1", completed, "R1"), nil); code != 200 {
				t.Fatalf("post %d: %d %s", i, code, body)
			}
		}
		if n := statementCount(t, env, "S1"); n != 1 {
			t.Fatalf("%d statements stored, want 1", n)
		}
	})
	t.Run("BatchWithOneBadStatementStoresNothing", func(t *testing.T) {
		env := newEnv(t)
		bad := strings.Replace(statement(id3, "S2", completed, "R1"), `"timestamp":"2026-09-10T09:00:00Z"`, `"timestamp":"yesterday"`, 1)
		code, body := xapi(t, env, "["+statement(id1, "S1", completed, "R1")+","+statement(id2, "S1", completed, "R2")+","+bad+"]", nil)
		if code != 400 || !strings.Contains(body, `"field":"/2/timestamp"`) {
			t.Fatalf("%d %s, want 400 naming /2/timestamp", code, body)
		}
		if n := statementCount(t, env, "S1") + statementCount(t, env, "S2"); n != 0 {
			t.Fatalf("%d statements stored from a rejected batch", n)
		}
	})
	t.Run("BatchNamingAnUnknownPupilStoresNothing", func(t *testing.T) {
		env := newEnv(t)
		code, body := xapi(t, env, "["+statement(id1, "S1", completed, "R1")+","+statement(id2, "NOPE", completed, "R1")+"]", nil)
		if code < 400 || code >= 500 {
			t.Fatalf("%d %s, want a 4xx", code, body)
		}
		if n := statementCount(t, env, "S1"); n != 0 {
			t.Fatalf("%d statements stored from a rejected batch", n)
		}
	})
	t.Run("NewStatementInvalidatesCache", func(t *testing.T) {
		env := newEnv(t)
		tok := token(t, RoleStudent, "S1")
		recsOf(t, env, tok, "S1")
		xapi(t, env, statement(id1, "S1", completed, "R1"), nil)
		if r := recsOf(t, env, tok, "S1"); r.Source != "computed" || r.Items[0].Score != 2 {
			t.Fatalf("after usage: source %q score %v, want computed 2", r.Source, r.Items[0].Score)
		}
	})
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"MissingVersionHeaderIs400", map[string]string{}},
		{"WrongVersionHeaderIs400", map[string]string{"X-Experience-API-Version": "0.95"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			code, body := xapi(t, env, statement(id1, "S1", completed, "R1"), tc.hdr)
			if code != 400 || !strings.Contains(body, "X-Experience-API-Version") {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
}

func TestIngest(t *testing.T) {
	service := token(t, RoleService, "pronote")
	tests := []struct {
		name, kind, ctype, body string
		want                    int
		wantField               string
	}{
		{"JSONGradesAccepted", "grades", "", newGrade, 200, ""},
		{"CSVGradesAccepted", "grades", "text/csv", "grade_id,student_id,subject,competencies,assessment_id,date,score,out_of,coefficient,status\nG9,S2,MATHS,K1,A3,2026-09-11T08:00:00Z,,20,1,absent\n", 200, ""},
		{"CSVBadScoreNamesLineAndColumn", "grades", "text/csv", "grade_id,student_id,subject,competencies,assessment_id,date,score,out_of,coefficient,status\nG9,S2,MATHS,K1,A3,2026-09-11T08:00:00Z,abc,20,1,\n", 400, "score"},
		{"JSONWrongTypeNamesElementAndField", "grades", "", `[` + strings.TrimSuffix(strings.TrimPrefix(newGrade, "["), "]") + `,{"grade_id":"G3","student_id":"S1","subject":"MATHS","competencies":["K1"],"assessment_id":"A2","date":"2026-09-10T08:00:00Z","score":{"x":1},"out_of":20,"coefficient":1}]`, 400, "/1/score"},
		{"JSONUnknownColumnRefused", "students", "", `[{"student_id":"S9","school_id":"SCH1","class_id":"C1","level":"6e","consent":true,"health":"asthma"}]`, 400, "/0/health"},
		{"JSONBadLevelNamesField", "students", "", `[{"student_id":"S9","school_id":"SCH1","class_id":"C1","level":"CM2","consent":true}]`, 400, "/0/level"},
		{"NotAnArrayRefused", "grades", "", `{"grade_id":"G1"}`, 400, ""},
		{"UnknownKindIs404", "diagnoses", "", `[]`, 404, ""},
		{"XMLIs415", "grades", "application/xml", `<grades/>`, 415, ""},
		{"UnknownStudentInBatchRefused", "grades", "", strings.Replace(newGrade, `"S1"`, `"NOPE"`, 1), 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			w := env.do(t, req{method: "POST", path: "/v1/ingest/" + tc.kind, token: service, body: tc.body, ctype: tc.ctype})
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body.String())
			}
			if tc.want >= 400 {
				p := problemOf(t, w)
				if tc.wantField != "" && p.Field != tc.wantField {
					t.Fatalf("field %q, want %q (%s)", p.Field, tc.wantField, p.Detail)
				}
			}
		})
	}
	t.Run("BatchWithOneBadRowStoresNothing", func(t *testing.T) {
		env := newEnv(t)
		body := `[{"student_id":"S8","school_id":"SCH1","class_id":"C1","level":"6e","consent":true},{"student_id":"S9","school_id":"SCH1","class_id":"C1","level":"6e","consent":"maybe"}]`
		w := env.do(t, req{method: "POST", path: "/v1/ingest/students", token: service, body: body})
		if w.Code != 400 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		if _, err := env.store.Student(context.Background(), "S8"); err == nil {
			t.Fatal("first row of a rejected batch was stored")
		}
	})
	t.Run("IngestIsIdempotent", func(t *testing.T) {
		env := newEnv(t)
		var last string
		for i := 0; i < 2; i++ {
			w := env.do(t, req{method: "POST", path: "/v1/ingest/grades", token: service, body: newGrade})
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body.String())
			}
			last = w.Body.String()
		}
		if !strings.Contains(last, `"students_changed":0`) {
			t.Fatalf("second identical batch reported changes: %s", last)
		}
	})
}
