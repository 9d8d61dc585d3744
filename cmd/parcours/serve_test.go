package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// testConfig is the environment's defaults on a free local port, with a fixed secret and
// a small demo académie.
func testConfig(tb testing.TB, students int) config {
	tb.Helper()
	for _, k := range []string{"DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "PARCOURS_JWT_SECRET", "PARCOURS_JWKS_URL", "PARCOURS_AUDIT_SPOOL"} {
		tb.Setenv(k, "")
	}
	cfg, err := loadConfig()
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.DemoStudents = students
	cfg.RefitInterval = 0
	return cfg
}

// startMain starts m and closes it at the end of the test.
func startMain(tb testing.TB, m *Main) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr, err := m.Start(ctx)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return addr
}

// printedCurls returns the curl lines of a banner, each with the comment above it.
func printedCurls(tb testing.TB, banner string) (whats, lines []string) {
	tb.Helper()
	sc := bufio.NewScanner(strings.NewReader(banner))
	sc.Buffer(nil, 1<<20)
	what := ""
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# "):
			what = l[2:]
		case strings.HasPrefix(l, "curl "):
			whats, lines = append(whats, what), append(lines, l)
		}
	}
	return whats, lines
}

// runPrinted runs a printed curl line as a shell would (through sh -c, so the quoting is
// what is tested), with the status code appended; without curl it replays the line
// with net/http after splitting it like a shell.
func runPrinted(tb testing.TB, line string) (status int, body []byte) {
	tb.Helper()
	var out []byte
	if _, err := exec.LookPath("curl"); err == nil {
		cmd := exec.Command("sh", "-c", line+` -w '\n%{http_code}'`)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err = cmd.Output()
		if err != nil {
			tb.Fatalf("%s\n: %v: %s", line, err, stderr.String())
		}
	} else {
		if os.Getenv("CI") == "true" {
			tb.Fatal("curl is missing under CI")
		}
		out = replayCurl(tb, line)
	}
	i := bytes.LastIndexByte(out, '\n')
	status, err := strconv.Atoi(string(out[i+1:]))
	if err != nil {
		tb.Fatalf("%s\n: no status code in %q", line, out)
	}
	if i < 0 {
		return status, nil
	}
	return status, out[:i]
}

// replayCurl does what the printed curl line asks with net/http: -X, -H, -d and the URL.
func replayCurl(tb testing.TB, line string) []byte {
	tb.Helper()
	words := shellWords(tb, line)
	method, url, body := "GET", "", ""
	hdr := http.Header{}
	for i := 1; i < len(words); i++ {
		switch words[i] {
		case "-X":
			i++
			method = words[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(words[i], ": ")
			hdr.Set(k, v)
		case "-d":
			i++
			body = words[i]
			if method == "GET" {
				method = "POST"
			}
		case "-o", "-w":
			i++
		default:
			if !strings.HasPrefix(words[i], "-") {
				url = words[i]
			}
		}
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Appendf(b, "\n%d", resp.StatusCode)
}

// shellWords splits a line made of bare words and single-quoted strings (what
// shellQuote writes), joining adjacent parts as a shell does.
func shellWords(tb testing.TB, line string) []string {
	tb.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\' && i+1 < len(rs):
			// an escaped character outside quotes, such as shellQuote's \'
			i++
			cur.WriteRune(rs[i])
			inWord = true
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		tb.Fatalf("unbalanced quote in %s", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// clip keeps failure messages readable.
func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

func TestServeDemoCurlLinesWorkAsPrinted(t *testing.T) {
	var out bytes.Buffer
	m := &Main{Config: testConfig(t, 300), Stdout: &out}
	began := time.Now()
	addr := startMain(t, m)
	t.Logf("demo of 300 pupils ready in %v", time.Since(began))
	banner := out.String()
	if !strings.Contains(banner, "http://"+addr) || !strings.Contains(banner, "export PARCOURS_JWT_SECRET=") {
		t.Fatalf("banner lacks the URL or the random secret:\n%s", banner)
	}
	whats, lines := printedCurls(t, banner)
	if len(lines) < 2 {
		t.Fatalf("banner prints %d curl lines, want at least 2:\n%s", len(lines), banner)
	}
	// What each answer must hold, by the endpoint its line calls.
	checks := []struct {
		path   string
		status int
		keys   []string
	}{
		{"/recommendations", 200, []string{"student_id", "items", "model_version", "generated_at", "source"}},
		{"/analytics/overview", 200, []string{"mastery", "recommendation_uptake", "teacher_decisions"}},
		{"/overview", 200, []string{"class_id", "pupils", "groups"}},
		{"/path?", 200, []string{"student_id", "steps", "source"}},
		{"/path/decisions", 201, []string{"resource_id", "decision"}},
		{"/export", 200, []string{"student", "grades", "statements"}},
		{"/audit?", 200, nil},
		{"-X DELETE", 204, nil},
	}
	seen := map[string]bool{}
	for i, line := range lines {
		t.Run(whats[i], func(t *testing.T) {
			status, body := runPrinted(t, line)
			for _, c := range checks {
				if !strings.Contains(line, c.path) {
					continue
				}
				seen[c.path] = true
				if status != c.status {
					t.Fatalf("status %d, want %d: %s", status, c.status, clip(body))
				}
				if c.keys == nil {
					return
				}
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(body, &obj); err != nil {
					t.Fatalf("not a JSON object: %v: %s", err, clip(body))
				}
				for _, k := range c.keys {
					if _, ok := obj[k]; !ok {
						t.Errorf("answer lacks %q: %s", k, clip(body))
					}
				}
				if c.path == "/recommendations" {
					var r struct {
						Items []struct {
							ResourceID string `json:"resource_id"`
							Reasons    []any  `json:"reasons"`
						} `json:"items"`
						Source string `json:"source"`
					}
					_ = json.Unmarshal(body, &r)
					if len(r.Items) == 0 || r.Source != "computed" || len(r.Items[0].Reasons) == 0 {
						t.Errorf("the demo pupil gets %d items from %q (want personalised items with reasons): %s", len(r.Items), r.Source, clip(body))
					}
				}
				return
			}
			t.Fatalf("no check for the printed line %s", line)
		})
	}
	t.Run("TeacherLinkOpensTheClassPage", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, err := c.Get(m.Demo.TeacherLink)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/teacher/" || !strings.Contains(string(page), m.Demo.ClassID) {
			t.Fatalf("the printed link leads to %s (%d), want the class picker listing %s", resp.Request.URL, resp.StatusCode, m.Demo.ClassID)
		}
	})
	t.Run("AnalystPageIsMounted", func(t *testing.T) {
		resp, err := http.Get(m.URL + "/analyst/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Connexion analyste") || resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("/analyst/login: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	})
	for _, must := range []string{"/recommendations", "/overview", "/path?", "/path/decisions", "-X DELETE"} {
		if !seen[must] {
			t.Errorf("the banner prints no %s line", must)
		}
	}
}

func TestServeDemoIsDeterministic(t *testing.T) {
	pick := func() Demo {
		m := &Main{Config: testConfig(t, 120)}
		startMain(t, m)
		if m.Demo == nil {
			t.Fatal("no demo pupil chosen in a 120-pupil académie")
		}
		d := *m.Demo
		m.Close()
		return d
	}
	a, b := pick(), pick()
	if a.StudentID != b.StudentID || a.ClassID != b.ClassID || a.Subject != b.Subject || a.ResourceID != b.ResourceID || a.EraseID != b.EraseID {
		t.Fatalf("two starts chose different demo data: %+v vs %+v", a, b)
	}
	if a.StudentID == a.EraseID {
		t.Fatal("the erasure example targets the demo pupil")
	}
}

func TestServeTokensVerifyWithTheConfiguredSecret(t *testing.T) {
	cfg := testConfig(t, 120)
	cfg.JWTSecret = "a-secret-of-at-least-16-bytes"
	var out bytes.Buffer
	m := &Main{Config: cfg, Stdout: &out}
	startMain(t, m)
	if strings.Contains(out.String(), "PARCOURS_JWT_SECRET=") {
		t.Error("the banner prints a configured secret; only a random one should be shown")
	}
	v, err := api.NewHS256Verifier([]byte(cfg.JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	for role, tok := range m.Demo.Tokens {
		c, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("%s token: %v", role, err)
		}
		if c.Role != role || time.Until(c.ExpiresAt.Time) < 11*time.Hour {
			t.Errorf("%s token has role %q expiring %v", role, c.Role, c.ExpiresAt)
		}
	}
}

func TestServeCommandShutsDownOnCancel(t *testing.T) {
	testConfig(t, 60)
	t.Setenv("PARCOURS_DEMO_STUDENTS", "60")
	t.Setenv("PARCOURS_REFIT_INTERVAL", "0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, pw, &stderr)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(nil, 1<<20)
	var url string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "Parcours is serving "); ok {
			url = u
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatalf("serve printed no URL; exit %d: %s", <-done, stderr.String())
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exited %d after SIGINT-like cancel: %s", code, stderr.String())
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still answers after shutdown")
	}
	if !strings.Contains(stderr.String(), `"msg":"serving"`) {
		t.Errorf("no JSON log line on stderr: %s", stderr.String())
	}
}

func TestServeDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := synth.Generate(synth.Config{Students: 60, Seed: 3}, dir, nil); err != nil {
		t.Fatal(err)
	}
	t.Run("ServesTheFolder", func(t *testing.T) {
		var out bytes.Buffer
		m := &Main{Config: testConfig(t, 300), DataDir: dir, Stdout: &out}
		startMain(t, m)
		if !strings.Contains(out.String(), "folder "+dir) || m.Demo == nil {
			t.Fatalf("banner does not show the folder or a demo pupil:\n%s", out.String())
		}
		_, lines := printedCurls(t, out.String())
		if status, body := runPrinted(t, lines[0]); status != 200 {
			t.Fatalf("recommendations on the folder: %d %s", status, body)
		}
	})
	t.Run("BadFolderExitsTwoNamingFileAndLine", func(t *testing.T) {
		testConfig(t, 60)
		sp := filepath.Join(dir, "students.csv")
		b, err := os.ReadFile(sp)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		f := strings.Split(lines[2], ",")
		f[4] = "peut-etre"
		lines[2] = strings.Join(f, ",")
		if err := os.WriteFile(sp, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--data", dir)
		if code != exitBadUse || !strings.Contains(stderr, "students.csv:3: consent") {
			t.Fatalf("exit %d, stderr %q: want 2 naming students.csv:3: consent", code, stderr)
		}
		if stdout != "" {
			t.Errorf("a refused folder still printed a banner: %s", stdout)
		}
	})
	t.Run("DataWithDatabaseIsBadUsage", func(t *testing.T) {
		testConfig(t, 60)
		t.Setenv("DATABASE_URL", "postgres://nowhere.invalid/x")
		code, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--data", dir)
		if code != exitBadUse || !strings.Contains(stderr, "--data") {
			t.Fatalf("exit %d, stderr %q: want 2 explaining --data", code, stderr)
		}
	})
}

func TestServeBusyPortFailsBeforeLoading(t *testing.T) {
	m1 := &Main{Config: testConfig(t, 60)}
	addr := startMain(t, m1)
	cfg := testConfig(t, 60)
	cfg.Addr = addr
	m2 := &Main{Config: cfg}
	began := time.Now()
	if _, err := m2.Start(context.Background()); err == nil {
		m2.Close()
		t.Fatal("a second server started on a busy port")
	}
	if m2.Store != nil {
		t.Errorf("a busy port was found only after loading the data (%v)", time.Since(began))
	}
}

func TestServeBannerWithoutDemoTokens(t *testing.T) {
	t.Run("JWKSPrintsNoToken", func(t *testing.T) {
		cfg := testConfig(t, 60)
		cfg.JWKSURL = "http://127.0.0.1:1/jwks.json" // fetched on first use only
		var out bytes.Buffer
		m := &Main{Config: cfg, Stdout: &out}
		startMain(t, m)
		if m.Demo != nil || strings.Contains(out.String(), "curl ") || !strings.Contains(out.String(), "no demo tokens") {
			t.Fatalf("with JWKS the banner must show no token:\n%s", out.String())
		}
	})
	t.Run("EmptyDatabaseSaysHowToLoadIt", func(t *testing.T) {
		cfg := testConfig(t, 60)
		cfg.DatabaseURL = pgtest.NewDatabase(t)
		cfg.JWTSecret = "empty-database-secret-0123456789"
		var out bytes.Buffer
		m := &Main{Config: cfg, Stdout: &out}
		startMain(t, m)
		if m.Demo != nil || !strings.Contains(out.String(), "parcours ingest --data DIR") {
			t.Fatalf("an empty database must point at ingest:\n%s", out.String())
		}
		resp, err := http.Get(m.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("readyz on an empty database: %d", resp.StatusCode)
		}
	})
}

func TestRefitEveryRefitsUntilStopped(t *testing.T) {
	var logs safeBuffer
	m := &Main{Config: testConfig(t, 60), Logger: newLogger(&logs)}
	startMain(t, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.refitEvery(ctx, 20*time.Millisecond); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"periodic refit"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no periodic refit logged: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("refitEvery did not stop with its context")
	}
	if strings.Contains(logs.String(), "eleve-") {
		t.Errorf("a log line names a pupil: %s", logs.String())
	}
}

// safeBuffer is a bytes.Buffer that a logger may write to while the test reads it.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeOnDatabaseWithoutSecretRefuses(t *testing.T) {
	testConfig(t, 60)
	// The database is never reached: the check comes before anything is opened.
	t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/absent")
	code, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0")
	if code != exitBadUse || !strings.Contains(stderr, "PARCOURS_JWT_SECRET") || !strings.Contains(stderr, "PARCOURS_JWKS_URL") {
		t.Fatalf("exit %d, stderr %q: want 2 naming PARCOURS_JWT_SECRET and PARCOURS_JWKS_URL", code, stderr)
	}
}

func TestServeShortSecretIsBadUsageBeforeLoading(t *testing.T) {
	testConfig(t, 60)
	t.Setenv("PARCOURS_JWT_SECRET", "short")
	// The folder does not exist: had serve loaded data first, it would complain about it.
	code, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "absent"))
	if code != exitBadUse || !strings.Contains(stderr, "PARCOURS_JWT_SECRET") {
		t.Fatalf("exit %d, stderr %q: want 2 naming PARCOURS_JWT_SECRET", code, stderr)
	}
}
