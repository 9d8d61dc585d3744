package benchmarks

// The online update on the served path with PostgreSQL (issue 10, part 2), and the
// freshness of the recomputed lists (issue 12, item 3):
//
//	PARCOURS_ONLINE_BENCH=1 PARCOURS_ONLINE_CONC=1,8,32 go test -count=1 -run '^$' \
//	    -bench 'BenchmarkOnlineUpdatePostgres/EngineIngest' -benchtime 800x -v ./benchmarks/
//	PARCOURS_XAPI_LOAD=1 PARCOURS_XAPI_LOAD_RATE=100 PARCOURS_XAPI_LOAD_BATCH=10 \
//	    PARCOURS_XAPI_LOAD_PREFETCH=1 PARCOURS_XAPI_LOAD_SECONDS=15 \
//	    go test -count=1 -run TestXAPILoadPostgres -v -timeout 20m ./benchmarks/
//
// The first times recommender.(*Engine).Ingest of one xAPI statement, the function
// `POST /xapi/statements` calls in `serve`, store write included (its group transaction
// commits the statement and the pupil's updated profile), from C goroutines at once (C in
// PARCOURS_ONLINE_CONC), each event timed from the call to its return. The second drives
// a running `parcours serve` on PostgreSQL with vegeta and reads every profile back. Both
// need PostgreSQL (skipped without it) and print their figures; they enforce nothing
// about time.

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// onlineFixture loads a generated académie of n pupils into a fresh PostgreSQL database
// and fits it, as `parcours ingest` does; it returns the URL, the store and the engine.
func onlineFixture(tb testing.TB, n int) (string, *pgstore.Store, *recommender.Engine) {
	tb.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(tb)
	st, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	d, _, err := synth.GenerateDataset(synth.Config{Students: n, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := st.Ingest(ctx, d); err != nil {
		tb.Fatal(err)
	}
	e, err := recommender.New(ctx, st, recommender.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return url, st, e
}

// activePupils returns the consenting pupils with a profile that used resources, with
// their profiles, and the latest event time of the data.
func activePupils(tb testing.TB, st *pgstore.Store) ([]features.Profile, time.Time) {
	tb.Helper()
	ctx := context.Background()
	ids, err := st.StudentIDs(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ps, err := st.Profiles(ctx, ids)
	if err != nil {
		tb.Fatal(err)
	}
	var clock time.Time
	ps = slices.DeleteFunc(ps, func(p features.Profile) bool {
		if p.AsOf.After(clock) {
			clock = p.AsOf
		}
		return len(p.Usage.Seen) == 0
	})
	if len(ps) == 0 {
		tb.Fatal("no pupil with usage in the generated académie")
	}
	return ps, clock
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// onlineSeq numbers the benchmark's statements (ids and timestamps) across runs.
var onlineSeq atomic.Int64

// benchConcurrency is the list of concurrencies in PARCOURS_ONLINE_CONC (default 1,8,32).
func benchConcurrency(tb testing.TB) []int {
	var out []int
	for f := range strings.SplitSeq(cmp.Or(os.Getenv("PARCOURS_ONLINE_CONC"), "1,8,32"), ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 || c > 256 {
			tb.Fatalf("PARCOURS_ONLINE_CONC: %q is not a concurrency from 1 to 256", f)
		}
		out = append(out, c)
	}
	return out
}

func BenchmarkOnlineUpdatePostgres(b *testing.B) {
	if os.Getenv("PARCOURS_ONLINE_BENCH") == "" {
		b.Skip("set PARCOURS_ONLINE_BENCH=1 (needs PostgreSQL)")
	}
	ctx := context.Background()
	_, st, e := onlineFixture(b, 300)
	ps, clock := activePupils(b, st)
	var hist [3]int
	for _, p := range ps[:min(20, len(ps))] {
		ev, err := st.PupilEvents(ctx, p.StudentID)
		if err != nil {
			b.Fatal(err)
		}
		hist[0] += len(ev.Grades)
		hist[1] += len(ev.Statements)
		hist[2] += len(ev.Lessons)
	}
	n := min(20, len(ps))
	b.Logf("load average %s; pupils' history: %d grades, %d statements, %d lessons on average",
		loadAvg(), hist[0]/n, hist[1]/n, hist[2]/n)

	// Concurrency C: C goroutines each send one event at a time (each about its own
	// pupils), as C concurrent POSTs do; every event is timed from the call to its
	// return, so the figures are per event, group commit included.
	for _, c := range benchConcurrency(b) {
		b.Run(fmt.Sprintf("EngineIngest/conc=%d", c), func(b *testing.B) {
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, c)
			began := time.Now()
			for g := range c {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						// Pupils g, g+c, g+2c...: two goroutines never wait on one pupil.
						p := &ps[(g+(i/c)*c)%len(ps)]
						ok := i%2 == 0
						s := datasets.Statement{ID: statementID("online", uint64(onlineSeq.Add(1))), StudentID: p.StudentID, Verb: datasets.VerbAnswered,
							ObjectID: p.Usage.Seen[i%len(p.Usage.Seen)], Timestamp: clock.Add(time.Duration(onlineSeq.Load()) * time.Second), Success: &ok}
						t0 := time.Now()
						ch, err := e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{s}})
						lat[i] = time.Since(t0)
						if err == nil && len(ch.Students) != 1 {
							err = fmt.Errorf("ingest touched %v", ch.Students)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(began)
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(quantile(lat, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(quantile(lat, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			stale, err := st.StalePupils(ctx, 0)
			if err != nil || len(stale) != 0 {
				b.Fatalf("%d pupils left stale (%v): the online update did not fold the events in", len(stale), err)
			}
		})
	}
	b.Logf("load average after %s", loadAvg())

	// The path this replaced: the pupil's profile rebuilt from their whole history.
	b.Run("RebuildFromHistory", func(b *testing.B) {
		var lat []time.Duration
		i := 0
		for b.Loop() {
			id := ps[i%len(ps)].StudentID
			t0 := time.Now()
			if err := st.MarkStale(ctx, []string{id}); err != nil {
				b.Fatal(err)
			}
			if n, err := e.Repair(ctx); err != nil || n != 1 {
				b.Fatalf("repair: %d, %v", n, err)
			}
			lat = append(lat, time.Since(t0))
			i++
		}
		b.ReportMetric(float64(quantile(lat, 0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(quantile(lat, 0.99).Microseconds())/1000, "p99-ms")
	})
}

// histQuantile estimates quantile q of a Prometheus histogram from /metrics, by linear
// interpolation inside the bucket (as histogram_quantile does).
func histQuantile(tb testing.TB, base, name string, q float64) (float64, float64) {
	tb.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	type bucket struct{ le, n float64 }
	var bs []bucket
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"_bucket{") {
			continue
		}
		le := line[strings.Index(line, `le="`)+4:]
		le = le[:strings.Index(le, `"`)]
		f := strings.Fields(line)
		n, _ := strconv.ParseFloat(f[len(f)-1], 64)
		x := math.Inf(1)
		if le != "+Inf" {
			x, _ = strconv.ParseFloat(le, 64)
		}
		bs = append(bs, bucket{x, n})
	}
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return math.NaN(), 0
	}
	total := bs[len(bs)-1].n
	rank := q * total
	lo, prev := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return lo, total
			}
			return lo + (b.le-lo)*(rank-prev)/math.Max(b.n-prev, 1), total
		}
		lo, prev = b.le, b.n
	}
	return lo, total
}

func TestXAPILoadPostgres(t *testing.T) {
	if os.Getenv("PARCOURS_XAPI_LOAD") == "" {
		t.Skip("set PARCOURS_XAPI_LOAD=1 to drive parcours serve on PostgreSQL with xAPI statements")
	}
	seconds := envInt(t, "PARCOURS_XAPI_LOAD_SECONDS", 20, 1, 120)
	rate := envInt(t, "PARCOURS_XAPI_LOAD_RATE", 200, 1, 5000) // POSTs per second
	batch := envInt(t, "PARCOURS_XAPI_LOAD_BATCH", 10, 1, 100) // statements per POST
	students := envInt(t, "PARCOURS_XAPI_LOAD_STUDENTS", 300, 10, 5000)
	ctx := context.Background()
	url, st, _ := onlineFixture(t, students)
	ps, clock := activePupils(t, st)
	before := map[string]features.Profile{}
	for _, p := range ps {
		before[p.StudentID] = p
	}
	loadBefore := loadAvg()
	prefetch := envInt(t, "PARCOURS_XAPI_LOAD_PREFETCH", 1, 0, 8)
	srv := startServe(t, map[string]string{
		"DATABASE_URL":              url,
		"PARCOURS_PREFETCH_WORKERS": strconv.Itoa(prefetch),
		"PARCOURS_JWT_SECRET":       serveLoadSecret,
		"PARCOURS_RATE_LIMIT":       "1000000",
		"PARCOURS_RATE_BURST":       "1000000",
		"PARCOURS_REFIT_INTERVAL":   "0",
	})
	service := mint(t, api.Claims{Role: api.RoleService}, "moodle-load")
	h := http.Header{"Authorization": {"Bearer " + service}, "X-Experience-API-Version": {"1.0.3"}, "Content-Type": {"application/json"}}
	sent := make([]atomic.Int64, len(ps))
	stamp := clock.Add(time.Minute)
	began := time.Now()
	run := attack(t, fmt.Sprintf("xAPI statements into PostgreSQL, %d per POST", batch), rate, time.Duration(seconds)*time.Second,
		fixedTargeter(func(i uint64) vegeta.Target {
			var sb strings.Builder
			sb.WriteByte('[')
			for j := range uint64(batch) {
				k := i*uint64(batch) + j
				pi := int(k % uint64(len(ps)))
				p := &ps[pi]
				sent[pi].Add(1)
				if j > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, `{"id":%q,"actor":{"objectType":"Agent","account":{"homePage":"https://ent.example","name":%q}},`+
					`"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":%q},`+
					`"result":{"success":%t},"timestamp":%q}`,
					statementID("xapiload", k), p.StudentID, p.Usage.Seen[int(k/uint64(len(ps)))%len(p.Usage.Seen)], k%2 == 0,
					stamp.Add(time.Duration(k)*time.Millisecond).Format(time.RFC3339Nano))
			}
			sb.WriteByte(']')
			return vegeta.Target{Method: http.MethodPost, URL: srv.URL + "/xapi/statements", Header: h, Body: []byte(sb.String())}
		}))
	elapsed := time.Since(began) // to the last answer: what the server sustained
	loadAfter := loadAvg()
	if run.Errors > 0 {
		t.Errorf("%d of %d POSTs failed (codes %v)", run.Errors, run.N, run.Codes)
	}
	// Every profile current: no pupil left marked, and each pupil's profile holds
	// exactly one more observation per statement sent about them.
	deadline := time.Now().Add(time.Minute)
	for {
		stale, err := st.StalePupils(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(stale) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pupils still stale a minute after the load", len(stale))
		}
		time.Sleep(200 * time.Millisecond)
	}
	total, behind := 0, 0
	for i, p := range ps {
		after, err := st.Profile(ctx, p.StudentID)
		if err != nil {
			t.Fatal(err)
		}
		n := int(sent[i].Load())
		if run.Errors > 0 {
			n = after.GlobalN - before[p.StudentID].GlobalN // which POSTs failed is not tracked
		}
		total += n
		if after.GlobalN-before[p.StudentID].GlobalN != n || after.Usage.Attempts-before[p.StudentID].Usage.Attempts != n {
			behind++
			if behind <= 3 {
				t.Errorf("%s: %d statements sent, profile gained %d observations and %d attempts", p.StudentID, n,
					after.GlobalN-before[p.StudentID].GlobalN, after.Usage.Attempts-before[p.StudentID].Usage.Attempts)
			}
		}
	}
	p50, nFresh := histQuantile(t, srv.URL, "parcours_prefetch_freshness_seconds", 0.5)
	p99, _ := histQuantile(t, srv.URL, "parcours_prefetch_freshness_seconds", 0.99)
	fmt.Printf("## xAPI into PostgreSQL (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	ok := run.N - run.Errors
	fmt.Printf("- %d POSTs/s × %d statements for %d s = %d statements/s offered, prefetch workers %d; %d POSTs, %d errors (codes %v); %d statements stored in %.1f s from the first send to the last answer: %.0f statements/s sustained\n",
		rate, batch, seconds, rate*batch, prefetch, run.N, run.Errors, run.Codes, ok*batch, elapsed.Seconds(), float64(ok*batch)/elapsed.Seconds())
	fmt.Printf("- POST latency from intended send time: p50 %s ms, p99 %s ms, max %s ms\n", msStr(run.Q(0.5)), msStr(run.Q(0.99)), msStr(run.Q(1)))
	fmt.Printf("- profiles read back: %d pupils, %d behind (each must hold one observation per statement sent)\n", len(ps), behind)
	fmt.Printf("- freshness (event committed → recomputed list in the cache), %0.f lists: p50 ≈ %.1f ms, p99 ≈ %.1f ms\n", nFresh, 1000*p50, 1000*p99)
	fmt.Printf("- load average before %s, after %s\n", loadBefore, loadAfter)
}
