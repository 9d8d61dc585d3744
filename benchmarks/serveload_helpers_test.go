package benchmarks

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/parcours-ent/parcours/benchmarks/loadgen"
)

// serveProc is one `parcours serve` child process on a loopback port.
type serveProc struct {
	URL    string
	Secret []byte
	logs   string // its stderr, read on failure
}

// freeLoopbackAddr asks the kernel for a free port on 127.0.0.1. Another process could
// take it before serve binds it; serve then fails fast and the test says so.
func freeLoopbackAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServe builds ./cmd/parcours and runs `parcours serve` on a free loopback port
// with env added to a cleaned environment (no database, no Redis: the embedded store
// and in-process cache). It returns once /readyz answers 200. The process is stopped at
// cleanup (SIGTERM, SIGKILL after 10 s), and killed by the kernel if this test process
// dies first (Pdeathsig), so it never outlives the test.
func startServe(tb testing.TB, env map[string]string) *serveProc {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "parcours")
	build := exec.Command("go", "build", "-o", bin, "./cmd/parcours")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building parcours: %v\n%s", err, out)
	}
	addr := freeLoopbackAddr(tb)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PARCOURS_") || strings.HasPrefix(k, "DATABASE_") || k == "REDIS_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		cancel()
		tb.Fatalf("creating the serve log: %v", err)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	if err := cmd.Start(); err != nil {
		cancel()
		logFile.Close()
		tb.Fatalf("starting parcours serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			tb.Errorf("parcours serve (pid %d) did not stop within 15 s: killed", cmd.Process.Pid)
		}
		logFile.Close()
	})
	p := &serveProc{URL: "http://" + addr, Secret: []byte(env["PARCOURS_JWT_SECRET"]), logs: logPath}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			tb.Fatalf("parcours serve exited before ready: %v\n%s", err, p.tail())
		default:
		}
		if resp, err := http.Get(p.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("parcours serve not ready after 3 min\n%s", p.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tail returns the last 2 kB of the child's log.
func (p *serveProc) tail() string {
	b, _ := os.ReadFile(p.logs)
	return string(b[max(0, len(b)-2048):])
}

// cacheCount reads parcours_cache_requests_total{kind,result} from /metrics.
func cacheCount(tb testing.TB, base, kind, result string) float64 {
	tb.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatalf("reading /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "parcours_cache_requests_total{") ||
			!strings.Contains(line, `kind="`+kind+`"`) || !strings.Contains(line, `result="`+result+`"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			tb.Fatalf("parsing %q: %v", line, err)
		}
		return v
	}
	return 0 // the counter is created on its first use
}

// The scenarios use the one load generator, benchmarks/loadgen (vegeta).
type loadRun = loadgen.Run

func attack(tb testing.TB, name string, rate int, d time.Duration, tr vegeta.Targeter) loadRun {
	tb.Helper()
	return loadgen.Attack(tb, name, rate, d, tr)
}

var fixedTargeter = loadgen.Targets

// statementID is a UUID (version 4 layout) derived from a seed and a counter: unique
// per request, the same on every run.
func statementID(seed string, i uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	h := sha256.Sum256(append([]byte(seed), b[:]...))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// findString returns the first string value under key anywhere in a decoded JSON value.
func findString(v any, key string) string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[key].(string); ok && s != "" {
			return s
		}
		for _, c := range x {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	case []any:
		for _, c := range x {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	}
	return ""
}

// getJSON GETs url with a bearer token and decodes the answer; it returns the status.
func getJSON(tb testing.TB, url, tok string, into any) int {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			tb.Fatalf("GET %s: decoding: %v", url, err)
		}
	}
	return resp.StatusCode
}

func TestStatementIDIsAVersion4UUIDUniquePerCounterAndStable(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := range uint64(10000) {
		id := statementID("serveload", i)
		if !uuidRE.MatchString(id) {
			t.Fatalf("statementID(%d) = %q, not a version-4 UUID", i, id)
		}
		if seen[id] {
			t.Fatalf("statementID(%d) = %q repeats an earlier id", i, id)
		}
		seen[id] = true
	}
	if a, b := statementID("serveload", 7), statementID("serveload", 7); a != b {
		t.Fatal("statementID is not stable for the same input")
	}
}
