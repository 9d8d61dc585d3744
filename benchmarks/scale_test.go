package benchmarks

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// TestBenchScale is `make bench-scale` (issue 12.5): an académie of PUPILS pupils
// (413,000 by default) generated, ingested into a fresh PostgreSQL database and refitted
// by the `parcours` binary, three `parcours serve` replicas on it and Redis behind
// HAProxy, and a mixed open-loop load through HAProxy: 90 % pupil reads (recommendations,
// the pupil's own token, pupils drawn over the whole académie, so mostly uncached), 8 %
// xAPI statements (service token, a fresh id each), 2 % teacher requests (half learning
// paths, half path decisions, on a sample of pupils in the teacher's classes).
//
//	PARCOURS_BENCH_SCALE=1 PUPILS=20000 go test -count=1 -run TestBenchScale -v -timeout 0 ./benchmarks/
//
// PARCOURS_SCALE_RATE (2000 req/s) and PARCOURS_SCALE_SECONDS (60) set the load;
// PARCOURS_SCALE_DIR keeps the generated folder there (reused when it already holds
// students.csv) instead of a temporary one. The report (latencies from each request's
// intended send time, errors, RSS per replica, PostgreSQL size, disk of the folder,
// ingest and refit times, load average) is printed and written to out/bench-scale.md.
func TestBenchScale(t *testing.T) {
	if os.Getenv("PARCOURS_BENCH_SCALE") == "" {
		t.Skip("set PARCOURS_BENCH_SCALE=1 (make bench-scale) to run the scale benchmark")
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed (scripts/provision.sh installs it)")
	}
	pupils := envInt(t, "PUPILS", 413_000, 100, 2_000_000)
	rate := envInt(t, "PARCOURS_SCALE_RATE", 2000, 1, 20000)
	seconds := envInt(t, "PARCOURS_SCALE_SECONDS", 60, 1, 600)
	loadBefore := loadAvg()
	began := time.Now()
	ctx := context.Background()

	bin := filepath.Join(t.TempDir(), "parcours")
	build := exec.Command("go", "build", "-o", bin, "./cmd/parcours")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building parcours: %v\n%s", err, out)
	}

	// The folder.
	dir := os.Getenv("PARCOURS_SCALE_DIR")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "academie")
	}
	var genTime time.Duration
	if _, err := os.Stat(filepath.Join(dir, "students.csv")); err != nil {
		t0 := time.Now()
		runChild(t, bin, nil, "generate", "--out", dir, "--students", strconv.Itoa(pupils), "--seed", "1")
		genTime = time.Since(t0)
	}
	disk := dirSize(t, dir)

	// Ingest, then refit (a second ingest: nothing new to load, the refit pending).
	dbURL := pgtest.NewDatabase(t)
	dbEnv := []string{"DATABASE_URL=" + dbURL}
	t0 := time.Now()
	ingestRSS := runChild(t, bin, dbEnv, "ingest", "--data", dir, "--no-refit", "--json")
	ingestTime := time.Since(t0)
	t0 = time.Now()
	refitRSS := runChild(t, bin, dbEnv, "ingest", "--data", dir, "--json")
	refitTime := time.Since(t0)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"CHECKPOINT", "VACUUM ANALYZE"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var dbSize int64
	var stored int
	if err := conn.QueryRow(ctx, `SELECT pg_database_size(current_database()), (SELECT count(*) FROM students)`).Scan(&dbSize, &stored); err != nil {
		t.Fatal(err)
	}

	// Three replicas and HAProxy.
	_, prefix := redistest.New(t)
	env := append(dbEnv, "REDIS_URL="+redistest.URL(t), "PARCOURS_REDIS_PREFIX="+prefix,
		"PARCOURS_JWT_SECRET="+serveLoadSecret, "PARCOURS_REFIT_INTERVAL=0",
		"PARCOURS_RATE_LIMIT=1000000", "PARCOURS_RATE_BURST=1000000")
	var reps []*scaleReplica
	for i := range 3 {
		reps = append(reps, startScaleChild(t, fmt.Sprintf("replica%d", i), bin, env, "serve", "--addr", freeLoopbackAddr(t)))
	}
	for _, r := range reps {
		waitHTTP(t, r.url+"/readyz", r)
	}
	lbAddr := freeLoopbackAddr(t)
	cfg := fmt.Sprintf("global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n"+
		"  retries 2\n  option redispatch\nfrontend fe\n  bind %s\n  default_backend be\nbackend be\n  balance roundrobin\n  option httpchk GET /healthz\n", lbAddr)
	for i, r := range reps {
		cfg += fmt.Sprintf("  server r%d %s check inter 500ms\n", i, strings.TrimPrefix(r.url, "http://"))
	}
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	lb := startScaleChild(t, "haproxy", haproxy, nil, "-db", "-f", cfgPath)
	lb.url = "http://" + lbAddr
	waitHTTP(t, lb.url+"/readyz", lb)

	// The teacher's sample: pupils spread over the académie, their classes, a resource
	// of each one's path to decide on.
	admin := mint(t, api.Claims{Role: api.RoleAdmin}, "admin-scale")
	type sampled struct{ id, class, resource string }
	var sample []sampled
	classes := map[string]bool{}
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("eleve-%06d", 1+i*(pupils/40))
		var export any
		if getJSON(t, lb.url+"/v1/students/"+id+"/export", admin, &export) != http.StatusOK {
			continue
		}
		sample = append(sample, sampled{id: id, class: findString(export, "class_id")})
		classes[sample[len(sample)-1].class] = true
	}
	var classList []string
	for c := range classes {
		classList = append(classList, c)
	}
	teacher := mint(t, api.Claims{Role: api.RoleTeacher, Classes: classList}, "enseignant-scale")
	for i := range sample {
		var p struct {
			Steps []struct {
				ResourceID string `json:"resource_id"`
			} `json:"steps"`
		}
		if getJSON(t, lb.url+"/v1/students/"+sample[i].id+"/path?subject=MATHS&length=5", teacher, &p) == http.StatusOK && len(p.Steps) > 0 {
			sample[i].resource = p.Steps[0].ResourceID
		}
	}
	var deciding []sampled
	for _, s := range sample {
		if s.resource != "" {
			deciding = append(deciding, s)
		}
	}
	if len(deciding) == 0 {
		t.Fatalf("none of %d sampled pupils has a MATHS path", len(sample))
	}
	service := mint(t, api.Claims{Role: api.RoleService}, "lrs-scale")
	stamp := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	auth := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	xh := auth(service)
	xh.Set("X-Experience-API-Version", "1.0.3")
	xh.Set("Content-Type", "application/json")
	th := auth(teacher)
	th.Set("Content-Type", "application/json")

	// Request i: a seeded mix, the same on every run. Pupil tokens are minted as needed.
	pick := func(i uint64, n int) int { return int(splitmix(i) % uint64(n)) }
	tr := fixedTargeter(func(i uint64) vegeta.Target {
		switch r := splitmix(i^0x9e3779b97f4a7c15) % 100; {
		case r < 90:
			id := fmt.Sprintf("eleve-%06d", 1+pick(i, stored))
			return vegeta.Target{Method: http.MethodGet, URL: lb.url + "/v1/students/" + id + "/recommendations?k=10",
				Header: auth(mintQuiet(api.Claims{Role: api.RoleStudent}, id))}
		case r < 98:
			id := fmt.Sprintf("eleve-%06d", 1+pick(i, stored))
			body := fmt.Sprintf(`{"id":%q,"actor":{"objectType":"Agent","account":{"homePage":"https://ent.example","name":%q}},`+
				`"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"res-%05d"},`+
				`"result":{"score":{"scaled":0.8},"success":true,"completion":true,"duration":"PT4M"},"timestamp":%q}`,
				statementID("scale", i), id, 1+i%50, stamp)
			return vegeta.Target{Method: http.MethodPost, URL: lb.url + "/xapi/statements", Header: xh, Body: []byte(body)}
		case r < 99:
			s := sample[pick(i, len(sample))]
			return vegeta.Target{Method: http.MethodGet, URL: lb.url + "/v1/students/" + s.id + "/path?subject=MATHS&length=5", Header: auth(teacher)}
		default:
			s := deciding[pick(i, len(deciding))]
			d := []string{"approve", "reject"}[i%2]
			body := fmt.Sprintf(`{"resource_id":%q,"decision":%q,"comment":"charge"}`, s.resource, d)
			return vegeta.Target{Method: http.MethodPost, URL: lb.url + "/v1/students/" + s.id + "/path/decisions", Header: th, Body: []byte(body)}
		}
	})
	run := attack(t, fmt.Sprintf("mixed load through HAProxy, %d pupils", stored), rate, time.Duration(seconds)*time.Second, tr)
	loadAfter := loadAvg()

	var b strings.Builder
	fmt.Fprintf(&b, "## Scale run: %d pupils, three replicas behind HAProxy\n\n", stored)
	cmdLine := fmt.Sprintf("PARCOURS_BENCH_SCALE=1 PUPILS=%d PARCOURS_SCALE_RATE=%d PARCOURS_SCALE_SECONDS=%d go test -count=1 -run TestBenchScale -v -timeout 0 ./benchmarks/", pupils, rate, seconds)
	fmt.Fprintf(&b, "    %s\n\n", cmdLine)
	fmt.Fprintf(&b, "%s; %d CPUs, %s; load average %s before, %s after.\n\n", began.UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.Version(), loadBefore, loadAfter)
	fmt.Fprintf(&b, "| step | figure |\n|---|---|\n")
	if genTime > 0 {
		fmt.Fprintf(&b, "| generate | %s |\n", genTime.Round(time.Second))
	}
	fmt.Fprintf(&b, "| folder on disk | %.0f MB |\n", float64(disk)/1e6)
	fmt.Fprintf(&b, "| `parcours ingest --no-refit` | %s, peak RSS %.0f MB |\n", ingestTime.Round(time.Second), float64(ingestRSS)/1024)
	fmt.Fprintf(&b, "| `parcours ingest` again (nothing new; the pending refit) | %s, peak RSS %.0f MB |\n", refitTime.Round(time.Second), float64(refitRSS)/1024)
	fmt.Fprintf(&b, "| PostgreSQL database | %.0f MB |\n\n", float64(dbSize)/1e6)
	fmt.Fprintf(&b, "| load | req/s | requests | errors | codes | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| 90 %% pupil reads, 8 %% xAPI, 2 %% teacher | %d | %d | %d | %v | %s ms | %s ms | %s ms | %s ms |\n\n",
		rate, run.N, run.Errors, run.Codes, msStr(run.Q(0.5)), msStr(run.Q(0.99)), msStr(run.Q(0.999)), msStr(run.Q(1)))
	fmt.Fprintf(&b, "| replica | RSS after the load | peak RSS (VmHWM) |\n|---|---|---|\n")
	for i, r := range reps {
		rss, hwm := procMem(r.cmd.Process.Pid)
		fmt.Fprintf(&b, "| %d | %.0f MB | %.0f MB |\n", i, float64(rss)/1024, float64(hwm)/1024)
	}
	report := b.String()
	fmt.Println(report)
	if err := os.MkdirAll("out", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("out", "bench-scale.md"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	if run.Errors > 0 {
		t.Errorf("%d errors (codes %v)", run.Errors, run.Codes)
	}
}

// splitmix is a seeded 64-bit mix (SplitMix64's finaliser): request i's draws.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mintQuiet signs a token (for the targeter, which has no testing.TB to fail).
func mintQuiet(c api.Claims, sub string) string {
	c.Subject = sub
	tok, err := api.MintToken([]byte(serveLoadSecret), c, time.Hour)
	if err != nil {
		panic(err)
	}
	return tok
}

// runChild runs the binary to completion and returns its peak RSS in KiB.
func runChild(tb testing.TB, bin string, env []string, args ...string) int64 {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(scaleBaseEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("parcours %s: %v\n%s", strings.Join(args, " "), err, out[max(0, len(out)-4096):])
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

// scaleBaseEnv is the test's environment without the settings the children get
// explicitly.
func scaleBaseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PARCOURS_") || strings.HasPrefix(k, "DATABASE_") || k == "REDIS_URL" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

type scaleReplica struct {
	url  string
	cmd  *exec.Cmd
	logs string
}

func startScaleChild(tb testing.TB, name, bin string, env []string, args ...string) *scaleReplica {
	tb.Helper()
	logPath := filepath.Join(tb.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(scaleBaseEnv(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		logFile.Close()
	})
	r := &scaleReplica{cmd: cmd, logs: logPath}
	for i, a := range args {
		if a == "--addr" && i+1 < len(args) {
			r.url = "http://" + args[i+1]
		}
	}
	return r
}

func waitHTTP(tb testing.TB, url string, r *scaleReplica) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if r.cmd.ProcessState != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	b, _ := os.ReadFile(r.logs)
	tb.Fatalf("%s not ready\n%s", url, b[max(0, len(b)-2048):])
}

// procMem returns VmRSS and VmHWM of a process, in KiB.
func procMem(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}

func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
