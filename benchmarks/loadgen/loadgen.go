// Package loadgen is Parcours's one load generator: vegeta's attacker at a constant rate
// (open loop), with latencies counted from each request's intended send time so that a
// server that falls behind is charged for the queue it causes. The in-process API load
// test (api/load_test.go) and the benchmarks against a running parcours serve
// (benchmarks/) both use it. It is for tests and benchmarks only, and must only ever
// target 127.0.0.1.
package loadgen

import (
	"bytes"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Run is one open-loop scenario measured with vegeta.
type Run struct {
	Name      string
	Rate      int
	N         int
	Errors    int // transport errors and non-2xx answers
	Codes     map[uint16]int
	Lat       []time.Duration // from each request's intended send time, sorted
	VegetaP99 time.Duration   // vegeta's own p99 (from when a worker picked the request up)
	Note      string
}

// Q is the p-quantile of the latencies (p = 1: the maximum).
func (r Run) Q(p float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	i := int(p * float64(len(r.Lat)))
	return r.Lat[min(i, len(r.Lat)-1)]
}

// Attack runs vegeta's attacker at a constant rate for d against targets produced by tr.
//
// vegeta stamps each result when a worker picks the tick up (Result.Timestamp), not when
// the pacer meant to send it; when the attacker falls behind, that hides queueing. So the
// latency kept here is Latency + (Timestamp - intended), intended = start + (Seq+1)/rate:
// the constant pacer schedules hit number Seq (from 0) at (Seq+1)/rate after the attack
// began. start is taken just before Attack, a few µs before vegeta's own, which can only
// overstate.
func Attack(tb testing.TB, name string, rate int, d time.Duration, tr vegeta.Targeter) Run {
	tb.Helper()
	atk := vegeta.NewAttacker(
		vegeta.Timeout(10*time.Second),
		vegeta.KeepAlive(true),
		vegeta.Workers(64),
		vegeta.MaxWorkers(4096),
		vegeta.Connections(1024),
		vegeta.MaxBody(512),
	)
	pacer := vegeta.ConstantPacer{Freq: rate, Per: time.Second}
	interval := time.Second / time.Duration(rate)
	run := Run{Name: name, Rate: rate, Codes: map[uint16]int{}}
	var m vegeta.Metrics
	var firstErr string
	start := time.Now()
	for r := range atk.Attack(tr, pacer, d, name) {
		m.Add(r)
		intended := start.Add(time.Duration(r.Seq+1) * interval)
		lat := r.Latency + max(0, r.Timestamp.Sub(intended))
		run.Lat = append(run.Lat, lat)
		run.Codes[r.Code]++
		if r.Error != "" || r.Code < 200 || r.Code > 299 {
			run.Errors++
			if firstErr == "" {
				firstErr = fmt.Sprintf("code %d %s %s", r.Code, r.Error, bytes.TrimSpace(r.Body))
			}
		}
	}
	m.Close()
	run.N = len(run.Lat)
	run.VegetaP99 = m.Latencies.P99
	slices.Sort(run.Lat)
	if firstErr != "" {
		tb.Logf("%s: %d errors, first: %s", name, run.Errors, firstErr)
	}
	return run
}

// Targets returns a targeter whose i-th target (counting from 0) is mk(i).
func Targets(mk func(i uint64) vegeta.Target) vegeta.Targeter {
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		*t = mk(next.Add(1) - 1)
		return nil
	}
}
