package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestOpenAPIMatchesRoutes walks gin's routes and checks each is in the served document
// with its method, and that the document names no route the server lacks.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	env := newEnv(t)
	w := env.do(t, req{method: "GET", path: "/openapi.json"})
	if w.Code != http.StatusOK {
		t.Fatalf("openapi.json: %d", w.Code)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	inDoc := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			inDoc[strings.ToUpper(method)+" "+path] = true
		}
	}
	inGin := map[string]bool{}
	for _, r := range env.h.(*gin.Engine).Routes() {
		inGin[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range inGin {
		if !inDoc[k] {
			missing = append(missing, k)
		}
	}
	for k := range inDoc {
		if !inGin[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes missing from openapi.json: %v; documented but not served: %v", missing, extra)
	}
	if len(inGin) < 15 {
		t.Fatalf("only %d routes: the walk is broken", len(inGin))
	}
	t.Run("EveryDocumentedPathParameterIsDeclared", func(t *testing.T) {
		for path, ops := range doc.Paths {
			for _, m := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(path, -1) {
				for method, raw := range ops {
					if !strings.Contains(string(raw), `"name": "`+m[1]+`"`) && !strings.Contains(string(raw), `"name":"`+m[1]+`"`) {
						t.Errorf("%s %s does not declare path parameter %s", method, path, m[1])
					}
				}
			}
		}
	})
}
