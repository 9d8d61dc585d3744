package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite api/openapi.json's schemas from the Go types")

// schemaTypes are the response bodies whose schemas come from their Go types, so that the
// document cannot drift from what the handlers marshal.
var schemaTypes = map[string]any{
	"Recommendations": recommender.Recommendations{},
	"Path":            recommender.Path{},
	"Overview":        recommender.Overview{},
	"Export":          pupilExport{},
	"Analytics":       recommender.Analytics{},
	"Decision":        recommender.Decision{},
	"DecisionHistory": decisionHistory{},
	"AuditEntries":    auditEntries{},
	"Consent":         consentAnswer{},
	"IngestResult":    ingestResult{},
	"Similar":         recommender.Similar{},
	// experiments.go
	"Experiment":           experimentView{},
	"Experiments":          experimentList{},
	"ExperimentDefinition": experiment.Definition{},
	"ClassExperiments":     classExperiments{},
	"OptOut":               optOutAnswer{},
}

// auditEntries and consentAnswer are the shapes of GET /v1/audit and PUT .../consent.
type auditEntries struct {
	StudentID string                   `json:"student_id"`
	Entries   []recommender.AuditEntry `json:"entries"`
}

type consentAnswer struct {
	StudentID       string `json:"student_id"`
	Personalization bool   `json:"personalization"`
}

// schemaOf renders t as an OpenAPI 3.0 schema: a struct's fields by their json names,
// required unless omitempty/omitzero, nullable when encoding/json writes null (a nil
// slice, map or pointer).
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	switch t {
	case reflect.TypeOf(time.Time{}):
		return map[string]any{"type": "string", "format": "date-time"}
	case reflect.TypeOf(time.Duration(0)):
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem(), defs)
		s["nullable"] = true
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs), "nullable": true}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs), "nullable": true}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" || !f.IsExported() {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if f.Anonymous && name == "" {
					walk(f.Type)
					continue
				}
				if name == "" {
					name = f.Name
				}
				s := schemaOf(f.Type, defs)
				optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
				if optional {
					delete(s, "nullable") // left out rather than null
				} else {
					required = append(required, name)
				}
				props[name] = s
			}
		}
		walk(t)
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func TestOpenAPISchemasFollowTheGoTypes(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, v := range schemaTypes {
		want := schemaOf(reflect.TypeOf(v), nil)
		var norm any // through JSON, so that types compare as the document holds them
		b, _ := json.Marshal(want)
		_ = json.Unmarshal(b, &norm)
		if *updateOpenAPI {
			schemas[name] = norm
			continue
		}
		if d := cmp.Diff(norm, schemas[name]); d != "" {
			t.Errorf("schema %s differs from its Go type (run go test ./api -run OpenAPISchemas -update-openapi) (-go +doc):\n%s", name, d)
		}
	}
	if *updateOpenAPI {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", " ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("openapi.json", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
