package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
)

// xapiServer is a running `parcours serve` on a generated folder whose roster and
// catalogue name the actors and activities of datasets/testdata/xapi: Moodle's user 1 by
// account, H5P's user by mailbox, Moodle and H5P URLs as resource URLs and alternative
// ids. It returns the base URL, an LRS client's credentials and an admin token.
type xapiServer struct {
	url, key, secret, admin string
	resources               map[string]string // fixture activity -> resource id
	h5pPupil                string
}

func startXAPIServer(t *testing.T) *xapiServer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := synth.Generate(synth.Config{Students: 60, Seed: 3}, dir, nil); err != nil {
		t.Fatal(err)
	}
	d, err := datasets.LoadFolder(dir, datasets.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := &xapiServer{resources: map[string]string{}}
	first := d.Students[0]
	d.Students = append(d.Students, datasets.Student{ID: "1", SchoolID: first.SchoolID, ClassID: first.ClassID,
		Level: first.Level, Consent: true, DisplayName: "Utilisateur Moodle"})
	d.Students[1].Mbox = "mailto:user@mail.com"
	x.h5pPupil = d.Students[1].ID
	d.Resources[0].URL = "http://www.example.org/mod/quiz/view.php?id=1"
	d.Resources[1].AltIDs = []string{"http://www.example.org/mod/book/view.php?id=1"}
	d.Resources[2].AltIDs = []string{"https://h5p.org/true-false"}
	d.Resources[3].AltIDs = []string{"https://h5p.org/single-choice-set", "moodle-cm-4"}
	for i, a := range []string{"quiz", "book", "true-false", "single-choice-set"} {
		x.resources[a] = d.Resources[i].ID
	}
	for name, write := range map[string]func(io.Writer) error{
		datasets.StudentsFile:  func(w io.Writer) error { return datasets.WriteStudents(w, d.Students) },
		datasets.ResourcesFile: func(w io.Writer) error { return datasets.WriteResources(w, d.Resources) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cl, secret, err := api.NewLRSClient("moodle-test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, 60)
	cfg.JWTSecret = "xapi-test-secret-0123456789abcdef"
	cfg.ClientsFile = filepath.Join(t.TempDir(), "clients.jsonl")
	if err := appendClient(cfg.ClientsFile, cl); err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, DataDir: dir}
	x.url = "http://" + startMain(t, m)
	x.key, x.secret = cl.Key, secret
	x.admin, err = api.MintToken([]byte(cfg.JWTSecret), api.Claims{Role: api.RoleAdmin, RegisteredClaims: jwt.RegisteredClaims{Subject: "admin-test"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// do sends one request; auth is "basic" (the LRS client), "bad-basic", or a bearer token.
func (x *xapiServer) do(t *testing.T, method, path, version, auth string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, x.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch auth {
	case "basic":
		req.SetBasicAuth(x.key, x.secret)
	case "bad-basic":
		req.SetBasicAuth(x.key, x.secret+"x")
	case "":
	default:
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if version != "" {
		req.Header.Set("X-Experience-API-Version", version)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if bytes.Contains(b, []byte(datasets.UsageFile)) {
		t.Errorf("%s %s answered with the data folder's file name: %s", method, path, b)
	}
	return res.StatusCode, res.Header, b
}

func (x *xapiServer) export(t *testing.T, pupil string) recommender.Export {
	t.Helper()
	code, _, b := x.do(t, http.MethodGet, "/v1/students/"+pupil+"/export", "", x.admin, nil)
	if code != http.StatusOK {
		t.Fatalf("export: %d %s", code, b)
	}
	var ex recommender.Export
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	return ex
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "datasets", "testdata", "xapi", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestXAPIFromMoodleAndH5PReachesThePupilsProfile(t *testing.T) {
	x := startXAPIServer(t)
	posts := []struct {
		file, version, pupil string
		n                    int
		resource             string
	}{
		{"moodle-quiz-attempt-submitted-truefalse.json", "1.0", "1", 2, x.resources["quiz"]},
		{"moodle-course-module-completion-updated.json", "1.0.0", "1", 1, x.resources["book"]},
		{"h5p-true-false.json", "1.0.3", x.h5pPupil, 1, x.resources["true-false"]},
		{"h5p-raw-min-max.json", "1.0.3", x.h5pPupil, 1, x.resources["true-false"]},
		{"h5p-single-choice-set.json", "1.0.3", x.h5pPupil, 3, x.resources["single-choice-set"]},
	}
	before := map[string]int{"1": len(x.export(t, "1").Statements), x.h5pPupil: len(x.export(t, x.h5pPupil).Statements)}
	var ids []string
	for _, p := range posts {
		code, h, b := x.do(t, http.MethodPost, "/xapi/statements", p.version, "basic", fixture(t, p.file))
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", p.file, code, b)
		}
		if h.Get("X-Experience-API-Version") != "1.0.3" {
			t.Errorf("%s: answered without X-Experience-API-Version", p.file)
		}
		var got []string
		if err := json.Unmarshal(b, &got); err != nil || len(got) != p.n {
			t.Fatalf("%s: ids %s, want %d", p.file, b, p.n)
		}
		ids = append(ids, got...)
	}
	for pupil, n := range map[string]int{"1": 3, x.h5pPupil: 5} {
		ex := x.export(t, pupil)
		if len(ex.Statements) != before[pupil]+n {
			t.Fatalf("pupil %s holds %d statements, want %d + %d", pupil, len(ex.Statements), before[pupil], n)
		}
		if ex.Profile == nil {
			t.Fatalf("pupil %s has no profile after the statements", pupil)
		}
		for _, p := range posts {
			if p.pupil == pupil && !slices.Contains(ex.Profile.Usage.Seen, p.resource) {
				t.Errorf("pupil %s's profile has not seen %s (%s): %v", pupil, p.resource, p.file, ex.Profile.Usage.Seen)
			}
		}
	}
	var scaled []float64
	for _, st := range x.export(t, x.h5pPupil).Statements {
		// Only the statements posted here: the generated académie may already hold the
		// pupil's own answers on that resource.
		if st.ObjectID == x.resources["true-false"] && st.Scaled != nil && slices.Contains(ids, st.ID) {
			scaled = append(scaled, *st.Scaled)
		}
	}
	if slices.Sort(scaled); !slices.Equal(scaled, []float64{0, 0.75}) {
		t.Errorf("the H5P scores are stored as scaled %v, want 0 (scaled) and 0.75 (raw 3 of 0..4)", scaled)
	}

	t.Run("GetByIDAnswersTheStatement", func(t *testing.T) {
		code, _, b := x.do(t, http.MethodGet, "/xapi/statements?statementId="+ids[0], "1.0.3", "basic", nil)
		if code != http.StatusOK || !strings.Contains(string(b), `"name":"1"`) || !strings.Contains(string(b), x.resources["quiz"]) {
			t.Fatalf("GET statement: %d %s", code, b)
		}
		code, _, _ = x.do(t, http.MethodGet, "/xapi/statements?statementId=00000000-0000-4000-8000-000000000000", "1.0.3", "basic", nil)
		if code != http.StatusNotFound {
			t.Fatalf("GET of an unknown statement: %d, want 404", code)
		}
	})
	t.Run("StrangersAreKeptUnmappedAndCounted", func(t *testing.T) {
		stranger := bytes.ReplaceAll(fixture(t, "moodle-course-module-completion-updated.json"), []byte(`"name": "1"`), []byte(`"name": "9999"`))
		code, _, b := x.do(t, http.MethodPost, "/xapi/statements", "1.0.3", "basic", stranger)
		if code != http.StatusOK {
			t.Fatalf("a valid statement about an unknown pupil: %d %s, want 200", code, b)
		}
		var got []string
		_ = json.Unmarshal(b, &got)
		code, _, b = x.do(t, http.MethodGet, "/xapi/statements?statementId="+got[0], "1.0.3", "basic", nil)
		if code != http.StatusOK {
			t.Fatalf("the unmapped statement cannot be read back: %d %s", code, b)
		}
		_, _, metrics := x.do(t, http.MethodGet, "/metrics", "", "", nil)
		if !strings.Contains(string(metrics), `parcours_xapi_statements_total{outcome="unknown_actor"} 1`) {
			t.Fatalf("unmapped statement not counted in /metrics")
		}
	})
	t.Run("AnInvalidStatementFailsTheWholeBatchNamingItsPointer", func(t *testing.T) {
		n := len(x.export(t, x.h5pPupil).Statements)
		bad := bytes.Replace(fixture(t, "h5p-true-false.json"), []byte(`"scaled":0`), []byte(`"scaled":2`), 1)
		batch := []byte("[" + string(fixture(t, "h5p-raw-min-max.json")) + "," + string(bad) + "]")
		code, h, b := x.do(t, http.MethodPost, "/xapi/statements", "1.0.3", "basic", batch)
		var p api.Problem
		_ = json.Unmarshal(b, &p)
		if code != http.StatusBadRequest || p.Field != "/1/result/score/scaled" || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("got %d %s, want 400 naming /1/result/score/scaled", code, b)
		}
		if got := len(x.export(t, x.h5pPupil).Statements); got != n {
			t.Fatalf("a refused batch stored %d statements", got-n)
		}
	})
	t.Run("PutStoresUnderTheGivenIDOnce", func(t *testing.T) {
		id := "5a8f1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
		body := fixture(t, "h5p-true-false.json")
		for i := 0; i < 2; i++ {
			if code, _, b := x.do(t, http.MethodPut, "/xapi/statements?statementId="+id, "1.0.3", "basic", body); code != http.StatusNoContent {
				t.Fatalf("PUT #%d: %d %s, want 204", i+1, code, b)
			}
		}
		other := bytes.Replace(body, []byte(`"success":false`), []byte(`"success":true`), 1)
		if code, _, b := x.do(t, http.MethodPut, "/xapi/statements?statementId="+id, "1.0.3", "basic", other); code != http.StatusConflict {
			t.Fatalf("PUT of other content under a stored id: %d %s, want 409", code, b)
		}
		withID := bytes.Replace(body, []byte(`{`), []byte(`{"id":"6a8f1c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",`), 1)
		if code, _, b := x.do(t, http.MethodPut, "/xapi/statements?statementId="+id, "1.0.3", "basic", withID); code != http.StatusBadRequest {
			t.Fatalf("PUT with a body id other than statementId: %d %s, want 400", code, b)
		}
	})
	t.Run("RefusesWrongCredentialsAndVersions", func(t *testing.T) {
		body := fixture(t, "h5p-true-false.json")
		code, h, _ := x.do(t, http.MethodPost, "/xapi/statements", "1.0.3", "bad-basic", body)
		if code != http.StatusUnauthorized || !strings.Contains(strings.Join(h.Values("WWW-Authenticate"), " "), "Basic") {
			t.Fatalf("wrong secret: %d, challenge %q; want 401 with a Basic challenge", code, h.Values("WWW-Authenticate"))
		}
		for _, v := range []string{"", "0.95", "2.0.0", "1.0.9"} {
			if code, _, b := x.do(t, http.MethodPost, "/xapi/statements", v, "basic", body); code != http.StatusBadRequest {
				t.Errorf("version %q: %d %s, want 400", v, code, b)
			}
		}
		code, _, b := x.do(t, http.MethodGet, "/xapi/about", "", "", nil)
		if code != http.StatusOK || !strings.Contains(string(b), `"1.0.3"`) {
			t.Fatalf("about: %d %s", code, b)
		}
	})
}
