package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/internal/faultproxy"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// The fault-injection test of issue 13: `parcours serve` (Main, the same wiring) on
// PostgreSQL and Redis, each behind a TCP proxy the test controls; each is killed and
// restored under a short open-loop load on 127.0.0.1. It asserts that with Redis away the
// p99 stays within 2× of the p99 with Redis up (a circuit breaker, not go-redis's retries
// on every request), that with PostgreSQL away every error is a 503 with Retry-After, that
// no write acknowledged before or during the faults is lost, and that no grant outlives
// its withdrawal.

// shot is one request of an open-loop run: its latency from the intended send time, its
// status (0: transport error) and whether a 503 carried Retry-After.
type shot struct {
	lat        time.Duration
	status     int
	retryAfter bool
}

type loadRun []shot

func (r loadRun) p99() time.Duration {
	lat := make([]time.Duration, len(r))
	for i, s := range r {
		lat[i] = s.lat
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

func (r loadRun) statuses() map[int]int {
	m := map[int]int{}
	for _, s := range r {
		m[s.status]++
	}
	return m
}

// openLoop sends rate requests a second for d, each at its intended time whatever the
// server does (so a stalled server is charged for the queue it causes). Bounded: at most
// rate×d requests, each with a 10 s timeout, to 127.0.0.1 only.
func openLoop(tb testing.TB, rate int, d time.Duration, mk func(i int) *http.Request) loadRun {
	tb.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	n := int(float64(rate) * d.Seconds())
	out := make(loadRun, n)
	interval := time.Second / time.Duration(rate)
	start := time.Now().Add(5 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range n {
		intended := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(intended))
		wg.Go(func() {
			req := mk(i)
			if !strings.HasPrefix(req.URL.Host, "127.0.0.1:") {
				panic("load test off loopback: " + req.URL.Host)
			}
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				out[i].status = resp.StatusCode
				out[i].retryAfter = resp.Header.Get("Retry-After") != ""
			}
			out[i].lat = time.Since(intended)
		})
	}
	wg.Wait()
	return out
}

// faultEnv is serve on proxied PostgreSQL and Redis, with tokens for any pupil.
type faultEnv struct {
	base        string
	secret      []byte
	pupils      []string
	pg, redis   *faultproxy.Proxy
	dbURL       string
	redisPrefix string
}

func startFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	redisURL := redistest.URL(t)
	dbURL, _ := seedDatabase(t, 60, time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC))
	e := &faultEnv{dbURL: dbURL, secret: []byte("fault-test-secret-0123456789abcdef")}
	e.pg = faultproxy.New(t, faultproxy.Target(t, dbURL))
	e.redis = faultproxy.New(t, faultproxy.Target(t, redisURL))
	cfg := testConfig(t, 60)
	cfg.DatabaseURL = faultproxy.Rehost(t, dbURL, e.pg.Addr())
	cfg.RedisURL = faultproxy.Rehost(t, redisURL, e.redis.Addr())
	cfg.JWTSecret = string(e.secret)
	cfg.RedisPrefix = fmt.Sprintf("parcours-faulttest:%d:", time.Now().UnixNano())
	cfg.AuditSpool = t.TempDir() + "/audit.jsonl"
	e.redisPrefix = cfg.RedisPrefix
	t.Cleanup(func() {
		c, _ := cache.OpenRedis(redisURL)
		defer c.Close()
		ctx := context.Background()
		keys, _ := c.Keys(ctx, cfg.RedisPrefix+"*").Result()
		for _, k := range keys {
			c.Del(ctx, k)
		}
	})
	m := &Main{Config: cfg}
	e.base = "http://" + startMain(t, m)
	s, err := pgstore.Open(context.Background(), dbURL, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; len(e.pupils) < 20 && i < 60; i++ {
		id := fmt.Sprintf("eleve-%06d", i)
		if a, err := s.Access(context.Background(), id); err == nil && a.Consent {
			e.pupils = append(e.pupils, id)
		}
	}
	if len(e.pupils) < 10 {
		t.Fatalf("only %d consenting pupils in the seeded académie", len(e.pupils))
	}
	return e
}

func (e *faultEnv) token(t testing.TB, role, sub string, mod func(*api.Claims)) string {
	t.Helper()
	c := api.Claims{Role: role}
	c.Subject = sub
	if mod != nil {
		mod(&c)
	}
	tok, err := api.MintToken(e.secret, c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *faultEnv) request(method, path, tok, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.base+path, r)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (e *faultEnv) do(t testing.TB, method, path, tok, body string) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(e.request(method, path, tok, body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// readLoad is cached reads of the pupils' recommendations, each by the pupil's own token.
func (e *faultEnv) readLoad(t testing.TB) func(int) *http.Request {
	toks := make([]string, len(e.pupils))
	for i, id := range e.pupils {
		toks[i] = e.token(t, api.RoleStudent, id, nil)
	}
	rng := rand.New(rand.NewPCG(13, 13))
	picks := make([]int, 100_000)
	for i := range picks {
		picks[i] = rng.IntN(len(e.pupils))
	}
	return func(i int) *http.Request {
		p := picks[i%len(picks)]
		return e.request("GET", "/v1/students/"+e.pupils[p]+"/recommendations?k=5", toks[p], "")
	}
}

func TestFaultInjectionRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection")
	}
	e := startFaultEnv(t)
	load := e.readLoad(t)
	warm := openLoop(t, 100, time.Second, load) // every pupil's answer cached
	if st := warm.statuses(); st[200] != len(warm) {
		t.Fatalf("warm-up: statuses %v", st)
	}
	const rate, dur = 100, 3 * time.Second
	// 2x, with a floor of 25 ms: a p99 of a few milliseconds on a shared 2-core machine
	// moves by that, while the failure this guards against (a dial and its retries on every
	// request) costs 250 ms to 1.5 s. A round measured while another process held the CPUs
	// is measured once more; both rounds must exceed the limit to fail.
	for round := 1; ; round++ {
		up := openLoop(t, rate, dur, load)
		e.redis.Kill()
		away := openLoop(t, rate, dur, load)
		e.redis.Restore()
		t.Logf("round %d: p99 with Redis up %v, away %v (%d requests each at %d/s)", round, up.p99(), away.p99(), len(up), rate)
		for name, r := range map[string]loadRun{"up": up, "away": away} {
			if st := r.statuses(); st[200] != len(r) {
				t.Errorf("Redis %s: statuses %v, want only 200", name, st)
			}
		}
		limit := max(2*up.p99(), 25*time.Millisecond)
		if away.p99() <= limit {
			break
		}
		if round == 2 {
			t.Errorf("p99 with Redis away %v > %v (2× the p99 with Redis up, %v), in two rounds", away.p99(), limit, up.p99())
			break
		}
		time.Sleep(2500 * time.Millisecond) // the breaker's cooldown: Redis is used again
	}
	noStaleGrantWithRedisAway(t, e)
}

// noStaleGrantWithRedisAway: with Redis away, a class change made behind the service's
// back (as `parcours ingest` does) revokes the old teacher at once, and still does once
// Redis, holding the old answers, is back.
func noStaleGrantWithRedisAway(t *testing.T, e *faultEnv) {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, e.dbURL, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := e.pupils[0]
	st, err := s.Student(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	teacher := e.token(t, api.RoleTeacher, "prof-fault", func(c *api.Claims) { c.Classes = []string{st.ClassID} })
	path := "/v1/students/" + id + "/recommendations?k=5"
	for range 2 { // computed, then cached in Redis
		if code, body := e.do(t, "GET", path, teacher, ""); code != 200 {
			t.Fatalf("teacher before the move: %d %s", code, body)
		}
	}
	e.redis.Kill()
	if code, _ := e.do(t, "GET", path, teacher, ""); code != 200 {
		t.Fatalf("teacher with Redis away, before the move: %d", code)
	}
	moved := st
	moved.ClassID = st.ClassID + "-other"
	if _, err := s.Ingest(ctx, &datasets.Dataset{Students: []datasets.Student{moved}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do(t, "GET", path, teacher, ""); code != http.StatusForbidden {
		t.Errorf("old teacher with Redis away after the move: %d, want 403", code)
	}
	e.redis.Restore()
	time.Sleep(2500 * time.Millisecond) // the breaker's cooldown: Redis is used again
	for range 3 {
		if code, _ := e.do(t, "GET", path, teacher, ""); code != http.StatusForbidden {
			t.Errorf("old teacher once Redis (holding the old answer) is back: %d, want 403", code)
		}
	}
}

// TestFaultInjectionPostgres: PostgreSQL killed and restored under a mixed open-loop load
// of reads and teachers' decisions. While it is away every error is a 503 with
// Retry-After; every decision acknowledged (201) is in the store afterwards.
func TestFaultInjectionPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection")
	}
	e := startFaultEnv(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, e.dbURL, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, res, err := s.Catalogue(ctx)
	if err != nil || len(res) == 0 {
		t.Fatalf("catalogue: %d resources, %v", len(res), err)
	}
	var classes []string
	for _, id := range e.pupils {
		a, err := s.Access(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		classes = append(classes, a.ClassID)
	}
	teacher := e.token(t, api.RoleTeacher, "prof-fault", func(c *api.Claims) { c.Classes = classes })
	reads := e.readLoad(t)
	// mixed is three reads then one decision; sent remembers each decision's comment.
	type decision struct{ pupil, comment string }
	mixed := func(tag string) (func(int) *http.Request, func() map[int]decision) {
		var mu sync.Mutex
		sent := map[int]decision{}
		return func(i int) *http.Request {
				if i%4 != 0 {
					return reads(i)
				}
				d := decision{pupil: e.pupils[(i/4)%len(e.pupils)], comment: fmt.Sprintf("fault-%s-%d", tag, i)}
				mu.Lock()
				sent[i] = d
				mu.Unlock()
				body := fmt.Sprintf(`{"resource_id":%q,"decision":"approve","comment":%q}`, res[i%len(res)].ID, d.comment)
				return e.request("POST", "/v1/students/"+d.pupil+"/path/decisions", teacher, body)
			}, func() map[int]decision {
				mu.Lock()
				defer mu.Unlock()
				return sent
			}
	}
	const rate, dur = 80, 2 * time.Second
	acked := map[string]string{} // comment -> pupil of every decision answered 201
	phase := func(tag string) loadRun {
		mk, sent := mixed(tag)
		r := openLoop(t, rate, dur, mk)
		for i, d := range sent() {
			if r[i].status == http.StatusCreated {
				acked[d.comment] = d.pupil
			}
		}
		return r
	}
	before := phase("before")
	e.pg.Kill()
	away := phase("away")
	e.pg.Restore()
	time.Sleep(time.Second) // the pool reconnects
	after := phase("after")

	for name, r := range map[string]loadRun{"before": before, "after": after} {
		if st := r.statuses(); st[200]+st[201] != len(r) {
			t.Errorf("PostgreSQL %s the outage: statuses %v, want only 200 and 201", name, st)
		}
	}
	t.Logf("with PostgreSQL away: statuses %v", away.statuses())
	for i, sh := range away {
		if sh.status != 200 && sh.status != 201 && (sh.status != http.StatusServiceUnavailable || !sh.retryAfter) {
			t.Errorf("PostgreSQL away: request %d answered %d (Retry-After %t), want 503 with Retry-After", i, sh.status, sh.retryAfter)
		}
	}
	stored := map[string]bool{}
	for _, id := range e.pupils {
		ds, err := s.Decisions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			stored[d.Comment] = true
		}
	}
	if len(acked) == 0 {
		t.Fatal("no decision acknowledged: the test tested nothing")
	}
	for c, id := range acked {
		if !stored[c] {
			t.Errorf("decision %s on %s was acknowledged (201) but is not stored", c, id)
		}
	}
}
