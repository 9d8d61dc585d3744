package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/recommender/cache/redistest"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// replica is one `parcours serve` child process.
type replica struct {
	url string
	cmd *exec.Cmd
	log string
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChild runs bin with args and env on a cleaned environment, killed at cleanup and
// by the kernel if the test dies (Pdeathsig); its output goes to a log file.
func startChild(tb testing.TB, name, bin string, env []string, args ...string) (*exec.Cmd, string) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PARCOURS_") || strings.HasPrefix(k, "DATABASE_") || k == "REDIS_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logPath := filepath.Join(tb.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return cmd, logPath
}

func waitReady(tb testing.TB, url, logPath string) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	tb.Fatalf("%s not ready after 2 min:\n%s", url, b)
}

// call makes one request and decodes a JSON answer into out (when not nil).
func call(tb testing.TB, method, url, tok string, body any, out any) int {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestThreeReplicasBehindHAProxyShareEverything starts three `parcours serve` on one
// PostgreSQL and one Redis behind HAProxy (Debian's package, installed by
// scripts/provision.sh) and checks that no replica keeps state of its own: a decision, a
// consent change and an xAPI statement sent through one replica are honoured by each of
// the others on the next read, a teacher's session opened on one is valid on the others,
// and a replica killed during a write load loses no statement it acknowledged.
func TestThreeReplicasBehindHAProxyShareEverything(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy is not installed (scripts/provision.sh installs it)")
		}
		t.Skip("haproxy is not installed (scripts/provision.sh installs it)")
	}
	dbURL := pgtest.NewDatabase(t)
	redisURL := redistest.URL(t)
	_, prefix := redistest.New(t)
	t.Setenv("DATABASE_URL", dbURL)
	dir := filepath.Join(t.TempDir(), "a")
	if code, _, stderr := runCLI(t, "generate", "--out", dir, "--students", "40", "--seed", "9"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	if code, _, stderr := runCLI(t, "ingest", "--data", dir); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	bin := filepath.Join(t.TempDir(), "parcours")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const secret = "replicas-test-secret"
	env := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "PARCOURS_REDIS_PREFIX=" + prefix,
		"PARCOURS_JWT_SECRET=" + secret, "PARCOURS_REFIT_INTERVAL=0", "PARCOURS_RATE_LIMIT=100000", "PARCOURS_RATE_BURST=100000"}
	var reps []*replica
	for i := range 3 {
		addr := freeAddr(t)
		cmd, logPath := startChild(t, fmt.Sprintf("replica%d", i), bin, env, "serve", "--addr", addr)
		reps = append(reps, &replica{url: "http://" + addr, cmd: cmd, log: logPath})
	}
	for _, r := range reps {
		waitReady(t, r.url, r.log)
	}
	lbAddr := freeAddr(t)
	cfg := fmt.Sprintf(`global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend fe
  bind %s
  default_backend be
backend be
  balance roundrobin
  option httpchk GET /healthz
`, lbAddr)
	for i, r := range reps {
		cfg += fmt.Sprintf("  server r%d %s check inter 200ms fall 1 rise 1\n", i, strings.TrimPrefix(r.url, "http://"))
	}
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, lbLog := startChild(t, "haproxy", haproxy, nil, "-db", "-f", cfgPath)
	lb := "http://" + lbAddr
	waitReady(t, lb, lbLog)

	mint := func(args ...string) string {
		t.Setenv("PARCOURS_JWT_SECRET", secret)
		code, out, stderr := runCLI(t, append([]string{"token"}, args...)...)
		if code != 0 {
			t.Fatalf("token: %s", stderr)
		}
		return strings.TrimSpace(out)
	}
	admin := mint("--role", "admin", "--sub", "admin-r")
	service := mint("--role", "service", "--sub", "lrs-r")
	pupil := "eleve-000003"
	var export struct {
		Student struct {
			ClassID string `json:"class_id"`
		} `json:"student"`
		Statements []struct {
			ID string `json:"id"`
		} `json:"statements"`
	}
	if code := call(t, "GET", reps[0].url+"/v1/students/"+pupil+"/export", admin, nil, &export); code != 200 {
		t.Fatalf("export: %d", code)
	}
	teacher := mint("--role", "teacher", "--sub", "prof-r", "--class", export.Student.ClassID)
	student := mint("--role", "student", "--sub", pupil)

	t.Run("DecisionThroughOneReplicaIsHonouredByTheOthers", func(t *testing.T) {
		type path struct {
			Steps []struct {
				ResourceID string `json:"resource_id"`
			} `json:"steps"`
		}
		var p path
		pathURL := "/v1/students/" + pupil + "/path?subject=MATHS&length=5"
		for _, r := range reps { // every replica has it cached
			if code := call(t, "GET", r.url+pathURL, teacher, nil, &p); code != 200 || len(p.Steps) == 0 {
				t.Fatalf("path: %d, %d steps", code, len(p.Steps))
			}
		}
		rejected := p.Steps[0].ResourceID
		if code := call(t, "POST", reps[0].url+"/v1/students/"+pupil+"/path/decisions", teacher,
			map[string]string{"resource_id": rejected, "decision": "reject", "comment": "déjà vu"}, nil); code/100 != 2 {
			t.Fatalf("decision: %d", code)
		}
		for i, r := range reps[1:] {
			var q path
			call(t, "GET", r.url+pathURL, teacher, nil, &q)
			for _, s := range q.Steps {
				if s.ResourceID == rejected {
					t.Errorf("replica %d still suggests %s, rejected through replica 0", i+1, rejected)
				}
			}
		}
	})

	t.Run("ConsentWithdrawnThroughOneReplicaIsHonouredByTheOthers", func(t *testing.T) {
		recURL := "/v1/students/" + pupil + "/recommendations?k=5"
		for _, r := range reps {
			var rec struct {
				Source string `json:"source"`
			}
			if code := call(t, "GET", r.url+recURL, student, nil, &rec); code != 200 || rec.Source == "fallback" {
				t.Fatalf("before: %d, source %q", code, rec.Source)
			}
		}
		if code := call(t, "PUT", reps[1].url+"/v1/students/"+pupil+"/consent", admin, map[string]bool{"personalization": false}, nil); code/100 != 2 {
			t.Fatalf("consent: %d", code)
		}
		for i, r := range reps {
			var rec struct {
				Source string `json:"source"`
			}
			if code := call(t, "GET", r.url+recURL, student, nil, &rec); code != 200 || rec.Source != "fallback" {
				t.Errorf("replica %d after consent withdrawn through replica 1: %d, source %q, want fallback", i, code, rec.Source)
			}
		}
	})

	t.Run("StatementThroughOneReplicaIsReadByTheOthers", func(t *testing.T) {
		id := "7d1c2f7e-0000-4000-8000-000000000001"
		st := statement(id, pupil)
		if code := call(t, "POST", reps[2].url+"/xapi/statements", service, st, nil); code/100 != 2 {
			t.Fatalf("statement: %d", code)
		}
		for i, r := range reps[:2] {
			var ex struct {
				Statements []struct {
					ID string `json:"id"`
				} `json:"statements"`
			}
			call(t, "GET", r.url+"/v1/students/"+pupil+"/export", admin, nil, &ex)
			found := false
			for _, s := range ex.Statements {
				found = found || s.ID == id
			}
			if !found {
				t.Errorf("replica %d does not see the statement posted through replica 2", i)
			}
		}
	})

	t.Run("TeacherSessionOpenedOnOneReplicaWorksOnTheOthers", func(t *testing.T) {
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.PostForm(reps[0].url+"/teacher/login", url.Values{"token": {teacher}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Value != "" {
				cookie = c
			}
		}
		if resp.StatusCode != http.StatusSeeOther || cookie == nil {
			t.Fatalf("sign-in on replica 0: %d, cookie %v", resp.StatusCode, cookie)
		}
		for i, r := range reps[1:] {
			req, _ := http.NewRequest("GET", r.url+"/teacher/", nil)
			req.AddCookie(cookie)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("replica %d with the session opened on replica 0: %d, want 200", i+1, resp.StatusCode)
			}
		}
	})

	t.Run("AReplicaKilledUnderLoadLosesNothingAcknowledged", func(t *testing.T) {
		var mu sync.Mutex
		var acked []string
		var wg sync.WaitGroup
		stop := time.Now().Add(3 * time.Second)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; time.Now().Before(stop); n++ {
					id := fmt.Sprintf("7d1c2f7e-%04d-4000-8000-%012d", w, n)
					if call(t, "POST", lb+"/xapi/statements", service, statement(id, pupil), nil)/100 == 2 {
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Second)
		reps[1].cmd.Process.Kill() // kill -9, mid-load
		wg.Wait()
		if len(acked) < 10 {
			t.Fatalf("only %d statements acknowledged", len(acked))
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var stored int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM statements WHERE id = ANY($1)`, acked).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != len(acked) {
			t.Errorf("%d statements acknowledged, %d stored", len(acked), stored)
		}
		t.Logf("%d statements acknowledged during the kill, all stored", len(acked))
	})
}

func statement(id, pupil string) map[string]any {
	return map[string]any{
		"id":        id,
		"actor":     map[string]any{"objectType": "Agent", "account": map[string]string{"homePage": "https://ent.parcours.fr", "name": pupil}},
		"verb":      map[string]string{"id": "http://adlnet.gov/expapi/verbs/completed"},
		"object":    map[string]string{"id": "res-00001"},
		"timestamp": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
	}
}
