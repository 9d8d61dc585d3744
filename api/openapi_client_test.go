package api

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedTypeScriptClientCompilesAgainstRealResponses generates TypeScript types
// from openapi.json with openapi-typescript and has tsc check, in strict mode, that real
// answers of the service (captured here from a real engine) are values of the response
// types the document gives. The pinned tools live in tools/openapi (npm ci, run by
// scripts/provision.sh); without them the test skips, and fails under CI=true.
func TestGeneratedTypeScriptClientCompilesAgainstRealResponses(t *testing.T) {
	tools, _ := filepath.Abs(filepath.Join("..", "tools", "openapi"))
	bin := filepath.Join(tools, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(bin, "tsc")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tools/openapi/node_modules is missing (npm ci --prefix tools/openapi): %v", err)
		}
		t.Skip("tools/openapi/node_modules is missing: run npm ci --prefix tools/openapi")
	}
	e := newENTEnv(t, nil)
	teacher := token(t, RoleTeacher, "prof", classes(e.class))
	admin := token(t, RoleAdmin, "admin")
	service := token(t, RoleService, "svc")
	captures := []struct {
		name, schema string
		r            req
		want         int
	}{
		{"recommendations", "Recommendations", req{method: "GET", path: "/v1/students/" + e.pupil + "/recommendations?k=3", token: teacher}, 200},
		{"path", "Path", req{method: "GET", path: "/v1/students/" + e.pupil + "/path?length=3&subject=" + e.subject, token: teacher}, 200},
		{"overview", "Overview", req{method: "GET", path: "/v1/classes/" + e.class + "/overview", token: teacher}, 200},
		{"export", "Export", req{method: "GET", path: "/v1/students/" + e.pupil + "/export", token: admin}, 200},
		{"audit", "AuditEntries", req{method: "GET", path: "/v1/audit?student=" + e.pupil, token: admin}, 200},
		{"analytics", "Analytics", req{method: "GET", path: "/v1/analytics/overview", token: token(t, RoleAnalyst, "an")}, 200},
		{"consent", "Consent", req{method: "PUT", path: "/v1/students/" + e.pupil + "/consent", token: admin, body: `{"personalization":true}`}, 200},
		{"similar", "Similar", req{method: "GET", path: "/v1/resources/" + e.firstResource + "/similar?k=2", token: teacher}, 200},
		{"ingest", "IngestResult", req{method: "POST", path: "/v1/ingest/classes", token: service, body: `[{"class_id":"` + e.class + `","school_id":"X","label":"6e A"}]`}, 200},
		{"about", "XAPIAbout", req{method: "GET", path: "/xapi/about"}, 200},
		{"problem", "Problem", req{method: "GET", path: "/v1/students/" + e.pupil + "/recommendations?k=0", token: teacher}, 400},
	}
	dir := t.TempDir()
	var ts strings.Builder
	ts.WriteString("import type { components } from \"./schema\";\n")
	for _, c := range captures {
		w := e.do(t, c.r)
		if w.Code != c.want {
			t.Fatalf("%s: %d %s", c.name, w.Code, w.Body.String())
		}
		if err := os.WriteFile(filepath.Join(dir, c.name+".json"), w.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		ts.WriteString("import " + c.name + "Body from \"./" + c.name + ".json\";\n")
		ts.WriteString("export const " + c.name + "Typed: components[\"schemas\"][\"" + c.schema + "\"] = " + c.name + "Body;\n")
	}
	// A decision answers 201 with the stored decision.
	w := e.do(t, req{method: http.MethodPost, path: "/v1/students/" + e.pupil + "/path/decisions", token: teacher,
		body: `{"resource_id":"` + e.firstResource + `","decision":"pin","comment":"à voir"}`})
	if w.Code != http.StatusCreated {
		t.Fatalf("decision: %d %s", w.Code, w.Body.String())
	}
	_ = os.WriteFile(filepath.Join(dir, "decision.json"), w.Body.Bytes(), 0o644)
	ts.WriteString("import decision from \"./decision.json\";\nexport const decisionTyped: components[\"schemas\"][\"Decision\"] = decision;\n")
	// The history then holds it.
	w = e.do(t, req{method: http.MethodGet, path: "/v1/students/" + e.pupil + "/path/decisions", token: teacher})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"decision":"pin"`) {
		t.Fatalf("decision history: %d %s", w.Code, w.Body.String())
	}
	_ = os.WriteFile(filepath.Join(dir, "history.json"), w.Body.Bytes(), 0o644)
	ts.WriteString("import history from \"./history.json\";\nexport const historyTyped: components[\"schemas\"][\"DecisionHistory\"] = history;\n")
	if err := os.WriteFile(filepath.Join(dir, "check.ts"), []byte(ts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tsconfig := `{"compilerOptions":{"strict":true,"noEmit":true,"resolveJsonModule":true,"module":"esnext","moduleResolution":"bundler","target":"es2022","skipLibCheck":true},"files":["check.ts"]}`
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), []byte(tsconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, _ := filepath.Abs("openapi.json")
	for _, cmd := range [][]string{
		{filepath.Join(bin, "openapi-typescript"), doc, "-o", filepath.Join(dir, "schema.d.ts")},
		{filepath.Join(bin, "tsc"), "-p", filepath.Join(dir, "tsconfig.json")},
	} {
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", filepath.Base(cmd[0]), err, out)
		}
	}
}
