package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// profileRun starts, when asked through the environment, a CPU profile
// (PARCOURS_CPUPROFILE=file) and a heap profile taken at the largest heap seen, checked
// every 2 s (PARCOURS_PEAKHEAP=file): where a long command spends its time and memory
// (benchmarks/RESULTS.md, "Scale of the refit and of eval recommend"). The returned
// function stops them.
func profileRun() func() {
	var stops []func()
	if f := os.Getenv("PARCOURS_CPUPROFILE"); f != "" {
		if out, err := os.Create(f); err == nil {
			if pprof.StartCPUProfile(out) == nil {
				stops = append(stops, func() { pprof.StopCPUProfile(); out.Close() })
			}
		}
	}
	if f := os.Getenv("PARCOURS_PEAKHEAP"); f != "" {
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			var peak uint64
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse <= peak+peak/20 {
					continue
				}
				peak = ms.HeapInuse
				if out, err := os.Create(f); err == nil {
					_ = pprof.WriteHeapProfile(out)
					out.Close()
				}
			}
		}()
		stops = append(stops, func() { close(done); <-stopped })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
