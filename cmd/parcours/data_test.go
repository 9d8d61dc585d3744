package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// runCLI runs one command line in process and returns its exit status and outputs.
func runCLI(tb testing.TB, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func hashFolder(tb testing.TB, dir string) map[string][32]byte {
	tb.Helper()
	sums := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sums[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sums
}

func TestGenerateSameSeedSameBytes(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, out := range []string{a, b} {
		if code, _, stderr := runCLI(t, "generate", "--out", out, "--students", "120", "--seed", "9"); code != 0 {
			t.Fatalf("generate: exit %d: %s", code, stderr)
		}
	}
	ha, hb := hashFolder(t, a), hashFolder(t, b)
	if len(ha) < 8 {
		t.Fatalf("generate wrote %d files, want the 7 data files and truth/", len(ha))
	}
	for f, h := range ha {
		if hb[f] != h {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
}

func TestBadUsageExitsTwo(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("student_id,item_id,skill_ids,correct,timestamp\ns1,i1,k1,2,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		inStderr string
	}{
		{"UnknownFlag", []string{"generate", "--nope"}, "unknown flag"},
		{"MissingOut", []string{"generate"}, "--out"},
		{"NegativeStudents", []string{"generate", "--out", dir, "--students", "-3"}, "--students"},
		{"MissingTrainFile", []string{"eval", "mastery", "--train", filepath.Join(dir, "none.csv"), "--test", bad}, "none.csv"},
		{"BadInteractionRowNamesLineAndField", []string{"eval", "mastery", "--train", bad, "--test", bad}, "bad.csv:2: correct"},
		{"IngestWithoutDatabase", []string{"ingest", "--data", dir}, "DATABASE_URL"},
	}
	t.Setenv("DATABASE_URL", "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != exitBadUse {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing on bad input", stdout)
			}
			if !strings.Contains(stderr, tc.inStderr) {
				t.Errorf("stderr %q does not name %q", stderr, tc.inStderr)
			}
		})
	}
}

func TestEvalMasteryJSONIsOneObject(t *testing.T) {
	dir := t.TempDir()
	log := "student_id,item_id,skill_ids,correct,timestamp\n" +
		"s1,i1,k1,1,1\ns1,i2,k1,0,2\ns2,i1,k1,1,1\ns2,i2,k1,1,2\ns3,i2,k1,0,1\n"
	f := filepath.Join(dir, "log.csv")
	if err := os.WriteFile(f, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "eval", "mastery", "--train", f, "--test", f, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var m map[string]float64
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stdout is not JSON: %v: %q", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value: %q", stdout)
	}
	for _, k := range []string{"auc", "rmse", "log_loss", "n"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %q in %v", k, m)
		}
	}
	if m["n"] != 5 {
		t.Errorf("n = %v, want 5", m["n"])
	}
}

func TestIngestTwiceChangesNothingAndBadFileLoadsNothing(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	dir := filepath.Join(t.TempDir(), "a")
	if code, _, stderr := runCLI(t, "generate", "--out", dir, "--students", "60", "--seed", "4"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	type summary struct {
		Files    map[string]int `json:"files"`
		Changed  int            `json:"changed"`
		Refitted bool           `json:"refitted"`
	}
	ingest := func() summary {
		t.Helper()
		code, stdout, stderr := runCLI(t, "ingest", "--data", dir, "--json")
		if code != 0 {
			t.Fatalf("ingest: exit %d: %s", code, stderr)
		}
		var s summary
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatalf("ingest --json: %v: %q", err, stdout)
		}
		return s
	}
	first := ingest()
	if first.Changed != 60 || !first.Refitted {
		t.Fatalf("first ingest = %+v, want 60 pupils changed and a refit", first)
	}
	if second := ingest(); second.Changed != 0 || second.Refitted {
		t.Fatalf("second ingest = %+v, want nothing changed", second)
	}
	assertRowCounts(t, url, first.Files)

	// A bad row in grades.csv: exit 2 naming file, line and field; the stored grades stay.
	gp := filepath.Join(dir, "grades.csv")
	b, err := os.ReadFile(gp)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	f := strings.Split(lines[3], ",")
	f[1] = "eleve-inconnu"
	lines[3] = strings.Join(f, ",")
	if err := os.WriteFile(gp, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "ingest", "--data", dir)
	if code != exitBadUse || !strings.Contains(stderr, "grades.csv:4: student_id") {
		t.Fatalf("exit %d, stderr %q: want 2 naming grades.csv:4: student_id", code, stderr)
	}
	if err := os.WriteFile(gp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	assertRowCounts(t, url, first.Files)
	if again := ingest(); again.Changed != 0 {
		t.Fatalf("after a refused file, re-ingesting the original changed %d pupils: the refused file wrote something", again.Changed)
	}
}

// assertRowCounts checks that each table holds as many rows as its file.
func assertRowCounts(tb testing.TB, url string, files map[string]int) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	tables := map[string]string{
		"competencies.csv": "competencies", "resources.csv": "resources", "students.csv": "students",
		"lessons.csv": "lessons", "grades.csv": "grades", "absences.csv": "absences", "usage.jsonl": "statements",
	}
	for file, table := range tables {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		if n != files[file] {
			tb.Errorf("%s holds %d rows, %s has %d", table, n, file, files[file])
		}
	}
}

func TestEvalRecommendWritesTheContractReport(t *testing.T) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "a"), filepath.Join(dir, "r")
	if code, _, stderr := runCLI(t, "generate", "--out", data, "--students", "80", "--seed", "3"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "eval", "recommend", "--data", data, "--out", out, "--k", "5")
	if code != 0 {
		t.Fatalf("eval recommend: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "report.md") {
		t.Errorf("stdout %q does not say where the report went", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		K        int                           `json:"k"`
		Policies map[string]map[string]float64 `json:"policies"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		// policies hold nested objects too: decode the numbers we need only.
		var loose struct {
			K        int                                   `json:"k"`
			Policies map[string]map[string]json.RawMessage `json:"policies"`
		}
		if err2 := json.Unmarshal(b, &loose); err2 != nil {
			t.Fatalf("report.json: %v", err2)
		}
		rep.K = loose.K
		rep.Policies = map[string]map[string]float64{}
		for name, p := range loose.Policies {
			rep.Policies[name] = map[string]float64{}
			for key, raw := range p {
				var f float64
				if json.Unmarshal(raw, &f) == nil {
					rep.Policies[name][key] = f
				}
			}
		}
	}
	if rep.K != 5 {
		t.Errorf("k = %d, want 5", rep.K)
	}
	for _, name := range []string{"parcours", "random", "popularity"} {
		p, ok := rep.Policies[name]
		if !ok {
			t.Errorf("policy %q missing", name)
			continue
		}
		for _, key := range []string{"ndcg_at_k", "recall_at_k", "coverage", "learning_gain"} {
			if _, ok := p[key]; !ok {
				t.Errorf("%s: %q missing (the folder has truth/)", name, key)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.md")); err != nil {
		t.Error(err)
	}
	if code, _, _ := runCLI(t, "eval", "recommend", "--data", data, "--out", out, "--k", "0"); code != exitBadUse {
		t.Errorf("--k 0: exit %d, want 2", code)
	}
}
