package benchmarks

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// row is one scenario against parcours serve and the bare handler run right after it at
// the same rate.
type row struct {
	Main  loadRun
	Cache string // what /metrics counted during the run
	Bare  loadRun
}

type reportInfo struct {
	Date, Go, Command     string
	CPUs                  int
	LoadBefore, LoadAfter string
	Pupils, Classes       int
	Seconds               int
	ServeEnv              map[string]string
}

// loadAvg is the first three fields of /proc/loadavg ("?" when unreadable).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func renderServeLoad(rows []row, in reportInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## parcours serve under open-loop load (vegeta)\n\n")
	fmt.Fprintf(&b, "    %s\n\n", in.Command)
	fmt.Fprintf(&b, "%s; %d CPUs (nproc), load average %s before, %s after; %s.\n", in.Date, in.CPUs, in.LoadBefore, in.LoadAfter, in.Go)
	var env []string
	for k, v := range in.ServeEnv {
		if k == "PARCOURS_JWT_SECRET" {
			v = "(a test secret)"
		}
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	store := "embedded store, in-process cache, generated demo académie"
	if in.ServeEnv["DATABASE_URL"] != "" {
		store = "PostgreSQL loaded by pgstore.IngestFolder and refitted, in-process cache"
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "DATABASE_URL=") })
	}
	fmt.Fprintf(&b, "A `parcours serve --addr 127.0.0.1:<free port>` child process (%s; %d pupils usable in %d classes) with %s. "+
		"The per-token rate limit is raised so that the service, not the limiter, is measured. "+
		"%d s per scenario at a constant rate; each is followed by a bare gin handler returning a constant, "+
		"served by the test process on another loopback port, at the same rate.\n\n",
		store, in.Pupils, in.Classes, strings.Join(env, ", "), in.Seconds)
	b.WriteString("Latencies in ms from each request's intended send time (vegeta's own p99 counts from when a worker " +
		"picked the request up; it hides queueing in the generator).\n\n")
	b.WriteString("| scenario | req/s | requests | errors | p50 | p90 | p99 | p99.9 | max | vegeta p99 | bare p99 | p99 / bare p99 | cache |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		m, y := r.Main, r.Bare
		ratio := "–"
		if y.Q(0.99) > 0 {
			ratio = fmt.Sprintf("%.1f", float64(m.Q(0.99))/float64(y.Q(0.99)))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			m.Name, m.Rate, m.N, m.Errors, msStr(m.Q(0.50)), msStr(m.Q(0.90)), msStr(m.Q(0.99)), msStr(m.Q(0.999)),
			msStr(m.Q(1)), msStr(m.VegetaP99), msStr(y.Q(0.99)), ratio, r.Cache)
	}
	b.WriteString("\nBare gin handler runs (the yardstick):\n\n")
	b.WriteString("| after | req/s | requests | errors | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		y := r.Bare
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %s |\n", r.Main.Name, y.Rate, y.N, y.Errors,
			msStr(y.Q(0.50)), msStr(y.Q(0.90)), msStr(y.Q(0.99)), msStr(y.Q(0.999)), msStr(y.Q(1)))
	}
	return b.String()
}
