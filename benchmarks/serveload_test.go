package benchmarks

// The HTTP service under open-loop load, as deployed: a real `parcours serve` process
// (embedded store, in-process cache, generated demo académie) driven by vegeta at a
// constant rate, next to a bare gin handler in this process as the yardstick:
//
//	PARCOURS_SERVE_LOAD=1 go test -count=1 -run TestServeLoad -v -timeout 15m ./benchmarks/
//
// Rates and durations: PARCOURS_SERVE_LOAD_SECONDS (5), PARCOURS_SERVE_LOAD_CACHED_RATE
// (2000), PARCOURS_SERVE_LOAD_UNCACHED_RATE (200), PARCOURS_SERVE_LOAD_PATH_RATE (200),
// PARCOURS_SERVE_LOAD_XAPI_RATE (200), PARCOURS_SERVE_LOAD_STUDENTS (300). With
// PARCOURS_SERVE_LOAD_PG=1, serve runs on PostgreSQL (serveload_pg_test.go). The table goes
// to stdout and to benchmarks/out/serve-load.md. Only loopback addresses are used; every
// scenario stops after its duration. It fails on any error or non-2xx answer and when
// the uncached scenario is not made of cache misses; latency aims are reported, not
// enforced (the machine is shared).

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
)

const serveLoadSecret = "serveload-secret-not-for-production"

func envInt(tb testing.TB, name string, def, lo, hi int) int {
	tb.Helper()
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		tb.Fatalf("%s must be an integer from %d to %d, got %q", name, lo, hi, raw)
	}
	return n
}

func mint(tb testing.TB, c api.Claims, sub string) string {
	tb.Helper()
	c.RegisteredClaims = jwt.RegisteredClaims{Subject: sub}
	tok, err := api.MintToken([]byte(serveLoadSecret), c, time.Hour)
	if err != nil {
		tb.Fatalf("minting a %s token: %v", c.Role, err)
	}
	return tok
}

// startBare serves a constant JSON answer from a bare gin engine on a loopback port:
// the floor that the machine, the kernel and the load generator put under any handler.
func startBare(tb testing.TB) string {
	tb.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	body := []byte(`{"status":"ok"}`)
	r.GET("/bare", func(c *gin.Context) { c.Data(http.StatusOK, "application/json; charset=utf-8", body) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("bare handler: %v", err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/bare"
}

// pupil is a demo pupil whose recommendations answer 200, with a token of their own.
type pupil struct{ ID, Class, Token string }

func TestServeLoad(t *testing.T) {
	if os.Getenv("PARCOURS_SERVE_LOAD") == "" {
		t.Skip("set PARCOURS_SERVE_LOAD=1 to run the load benchmark against parcours serve")
	}
	seconds := envInt(t, "PARCOURS_SERVE_LOAD_SECONDS", 5, 1, 60)
	d := time.Duration(seconds) * time.Second
	cachedRate := envInt(t, "PARCOURS_SERVE_LOAD_CACHED_RATE", 2000, 1, 20000)
	uncachedRate := envInt(t, "PARCOURS_SERVE_LOAD_UNCACHED_RATE", 200, 1, 5000)
	pathRate := envInt(t, "PARCOURS_SERVE_LOAD_PATH_RATE", 200, 1, 5000)
	xapiRate := envInt(t, "PARCOURS_SERVE_LOAD_XAPI_RATE", 200, 1, 5000)
	students := envInt(t, "PARCOURS_SERVE_LOAD_STUDENTS", 300, 10, 5000)
	loadBefore := loadAvg()

	// The rate limit is per token subject (default 50/s): raised so that it measures the
	// service, not the limiter.
	serveEnv := map[string]string{
		"PARCOURS_JWT_SECRET":     serveLoadSecret,
		"PARCOURS_DEMO_STUDENTS":  strconv.Itoa(students),
		"PARCOURS_RATE_LIMIT":     "1000000",
		"PARCOURS_RATE_BURST":     "1000000",
		"PARCOURS_REFIT_INTERVAL": "0",
	}
	if os.Getenv("PARCOURS_SERVE_LOAD_PG") == "1" {
		for k, v := range pgServeEnv(t, students) {
			serveEnv[k] = v
		}
	}
	if os.Getenv("PARCOURS_SERVE_LOAD_REDIS") == "1" {
		// The deployment's shared cache: Redis, under a prefix of this test's own.
		_, prefix := redistest.New(t)
		serveEnv["REDIS_URL"] = redistest.URL(t)
		serveEnv["PARCOURS_REDIS_PREFIX"] = prefix
	}
	only := map[string]bool{}
	for _, s := range strings.Split(os.Getenv("PARCOURS_SERVE_LOAD_ONLY"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			only[s] = true
		}
	}
	want := func(s string) bool { return len(only) == 0 || only[s] }
	began := time.Now()
	srv := startServe(t, serveEnv)
	t.Logf("parcours serve ready at %s in %.1fs (build included)", srv.URL, time.Since(began).Seconds())
	bare := startBare(t)

	// The pupils: ids from the generator (eleve-000001..), class from the admin's export,
	// kept when their recommendations answer 200 (k=50 is never asked again below).
	admin := mint(t, api.Claims{Role: api.RoleAdmin}, "admin-load")
	var pupils []pupil
	classes := map[string]bool{}
	for i := 1; i <= students; i++ {
		id := fmt.Sprintf("eleve-%06d", i)
		var export any
		if getJSON(t, srv.URL+"/v1/students/"+id+"/export", admin, &export) != http.StatusOK {
			continue
		}
		p := pupil{ID: id, Class: findString(export, "class_id"), Token: mint(t, api.Claims{Role: api.RoleStudent}, id)}
		if p.Class == "" || getJSON(t, srv.URL+"/v1/students/"+id+"/recommendations?k=50", p.Token, nil) != http.StatusOK {
			continue
		}
		pupils = append(pupils, p)
		classes[p.Class] = true
	}
	if len(pupils) < 10 {
		t.Fatalf("only %d of %d demo pupils answer their recommendations", len(pupils), students)
	}
	var classList []string
	for c := range classes {
		classList = append(classList, c)
	}
	teacher := mint(t, api.Claims{Role: api.RoleTeacher, Classes: classList}, "enseignant-load")
	service := mint(t, api.Claims{Role: api.RoleService}, "moodle-load")
	auth := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	var rows []row
	yard := func(main loadRun, kind string) {
		b := attack(t, "bare gin, same rate", main.Rate, d, fixedTargeter(func(uint64) vegeta.Target {
			return vegeta.Target{Method: http.MethodGet, URL: bare}
		}))
		rows = append(rows, row{main, kind, b})
	}
	misses := func(kind string) float64 { return cacheCount(t, srv.URL, kind, "miss") }

	// Cached: one pupil and query, answered once before the run (a miss), hits after.
	p0 := pupils[0]
	cachedURL := srv.URL + "/v1/students/" + p0.ID + "/recommendations?k=10"
	if want("cached") {
		for range 100 {
			getJSON(t, cachedURL, p0.Token, nil)
		}
		m0 := misses("recommendations")
		run := attack(t, "recommendations, cached (one pupil, k=10)", cachedRate, d, fixedTargeter(func(uint64) vegeta.Target {
			return vegeta.Target{Method: http.MethodGet, URL: cachedURL, Header: auth(p0.Token)}
		}))
		yard(run, fmt.Sprintf("%.0f misses", misses("recommendations")-m0))
	}
	// Cached, as the pupils' teacher (the access check reads the teacher's classes from
	// the token and the pupil's class from the store of record), rotating over every
	// pupil: each answered once before the run.
	if want("cached-teacher") {
		for _, p := range pupils {
			getJSON(t, srv.URL+"/v1/students/"+p.ID+"/recommendations?k=10", teacher, nil)
		}
		m0 := misses("recommendations")
		run := attack(t, fmt.Sprintf("recommendations, cached, teacher token (%d pupils)", len(pupils)), cachedRate, d, fixedTargeter(func(i uint64) vegeta.Target {
			p := pupils[i%uint64(len(pupils))]
			return vegeta.Target{Method: http.MethodGet, URL: srv.URL + "/v1/students/" + p.ID + "/recommendations?k=10", Header: auth(teacher)}
		}))
		yard(run, fmt.Sprintf("%.0f misses", misses("recommendations")-m0))
	}

	// Uncached: request i asks pupil i mod P for k = 1 + (i div P) mod 49. Each (pupil, k)
	// pair is a distinct cache key, never asked before (the probe used k=50), so every
	// request misses as long as i < 49·P; the misses counter of /metrics checks it.
	if want("uncached") {
		m0 := misses("recommendations")
		run := attack(t, fmt.Sprintf("recommendations, uncached (%d pupils × k)", len(pupils)), uncachedRate, d, fixedTargeter(func(i uint64) vegeta.Target {
			p := pupils[i%uint64(len(pupils))]
			k := 1 + (i/uint64(len(pupils)))%49
			return vegeta.Target{Method: http.MethodGet, URL: srv.URL + "/v1/students/" + p.ID + "/recommendations?k=" + strconv.FormatUint(k, 10), Header: auth(p.Token)}
		}))
		missed := misses("recommendations") - m0
		yard(run, fmt.Sprintf("%.0f misses", missed))
		if run.N > 0 && missed < 0.9*float64(run.N) {
			t.Errorf("uncached scenario: only %.0f cache misses for %d requests", missed, run.N)
		}
	}

	// Learning paths, as the pupils' teacher: pupil i mod P, length 1 + (i div P) mod 20,
	// MATHS; distinct keys too, so mostly computed.
	if want("path") {
		m0 := misses("path")
		run := attack(t, "learning paths, teacher token, MATHS", pathRate, d, fixedTargeter(func(i uint64) vegeta.Target {
			p := pupils[i%uint64(len(pupils))]
			n := 1 + (i/uint64(len(pupils)))%20
			return vegeta.Target{Method: http.MethodGet, URL: srv.URL + "/v1/students/" + p.ID + "/path?subject=MATHS&length=" + strconv.FormatUint(n, 10), Header: auth(teacher)}
		}))
		yard(run, fmt.Sprintf("%.0f misses", misses("path")-m0))
	}

	// xAPI intake: one valid statement per request, a fresh id each time, a pupil's
	// completion of an existing resource, with the service token.
	if want("xapi") {
		stamp := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		xh := auth(service)
		xh.Set("X-Experience-API-Version", "1.0.3")
		xh.Set("Content-Type", "application/json")
		run := attack(t, "xAPI statements, one per POST", xapiRate, d, fixedTargeter(func(i uint64) vegeta.Target {
			p := pupils[i%uint64(len(pupils))]
			body := fmt.Sprintf(`{"id":%q,"actor":{"objectType":"Agent","account":{"homePage":"https://ent.example","name":%q}},`+
				`"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"res-%05d"},`+
				`"result":{"score":{"scaled":0.8},"success":true,"completion":true,"duration":"PT4M"},"timestamp":%q}`,
				statementID("serveload", i), p.ID, 1+i%50, stamp)
			return vegeta.Target{Method: http.MethodPost, URL: srv.URL + "/xapi/statements", Header: xh, Body: []byte(body)}
		}))
		yard(run, "")
	}

	for _, r := range rows {
		if r.Main.Errors > 0 || r.Bare.Errors > 0 {
			t.Errorf("%s: %d errors (codes %v); bare: %d errors", r.Main.Name, r.Main.Errors, r.Main.Codes, r.Bare.Errors)
		}
	}
	cmdLine := "PARCOURS_SERVE_LOAD=1 go test -count=1 -run TestServeLoad -v -timeout 15m ./benchmarks/"
	if extra := serveLoadEnvSet(); extra != "" {
		cmdLine = extra + " " + cmdLine
	}
	report := renderServeLoad(rows, reportInfo{
		Date: began.UTC().Format("2006-01-02 15:04 MST"), CPUs: runtime.NumCPU(), Go: runtime.Version(),
		LoadBefore: loadBefore, LoadAfter: loadAvg(), Command: cmdLine, Pupils: len(pupils),
		Classes: len(classList), Seconds: seconds, ServeEnv: serveEnv,
	})
	fmt.Println(report)
	if err := os.MkdirAll("out", 0o755); err != nil {
		t.Fatalf("creating out/: %v", err)
	}
	if err := os.WriteFile(filepath.Join("out", "serve-load.md"), []byte(report), 0o644); err != nil {
		t.Fatalf("writing out/serve-load.md: %v", err)
	}
}

// serveLoadEnvSet lists the PARCOURS_SERVE_LOAD_* settings of this run, for the command line.
func serveLoadEnvSet() string {
	var set []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PARCOURS_SERVE_LOAD_") {
			set = append(set, kv)
		}
	}
	return strings.Join(set, " ")
}
