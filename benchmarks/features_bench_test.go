package benchmarks

// Feature computation at scale:
//
//	go test -run '^$' -bench 'BenchmarkFeatures' -benchtime 1x -timeout 30m ./benchmarks/
//	go test -run '^$' -bench 'BenchmarkProfileUpdate' ./benchmarks/
//
// The 100,000 pupils are the 1,000 of a synthetic académie (about 230 events each:
// statements and grades, with their class timetable and absences), each repeated 100
// times under a new id: the work per pupil is the real one, while memory holds one copy
// of the events (a real refit streams pupils from the store).

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
)

var academie = sync.OnceValues(func() (*datasets.Dataset, *synth.Truth) {
	d, truth, err := synth.GenerateDataset(synth.Config{Students: 1000, Seed: 7, TruthStudents: 10})
	if err != nil {
		panic(err)
	}
	return d, truth
})

func BenchmarkFeatures100k(b *testing.B) {
	d, truth := academie()
	cat, err := datasets.NewCatalogue(d.Competencies, d.Resources)
	if err != nil {
		b.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339, truth.Info.Start)
	end := start.AddDate(0, 0, 7*truth.Info.Weeks)
	base := pupilsOf(b, d, end)
	events := 0
	for _, p := range base {
		events += len(p.Grades) + len(p.Statements)
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PARCOURS_FEATURES_PUPILS")); err == nil && v > 0 {
		n = v // for profiling
	}
	pupils := make([]features.PupilEvents, 0, n)
	for i := 0; len(pupils) < n; i++ {
		p := base[i%len(base)]
		p.Student.ID = fmt.Sprintf("%s-%03d", p.Student.ID, i/len(base))
		pupils = append(pupils, p)
	}
	b.Logf("%d pupils, %.0f events (grades + statements) per pupil on average", n, float64(events)/float64(len(base)))
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		t0, c0 := time.Now(), cpuTime()
		m := features.NewModel(features.DefaultModelConfig())
		profs, err := m.Fit(cat, pupils, end)
		if err != nil {
			b.Fatal(err)
		}
		tFit := time.Since(t0)
		l := features.NewLayout(cat, pupils)
		tLayout := time.Since(t0) - tFit
		for i := range profs {
			profs[i].Vector = l.StudentVector(&profs[i])
		}
		total, cpu := time.Since(t0), cpuTime()-c0
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(total.Seconds(), "s/run")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/pupil")
		b.ReportMetric(cpu.Seconds(), "cpu-s/run")
		b.Logf("fit+profiles %v, layout (SVD) %v, vectors %v, total %v wall, %v CPU (user+sys, whole process); retained heap %.1f KiB/pupil (profile + %d-dim vector); GOMAXPROCS %d",
			tFit.Round(time.Millisecond), tLayout.Round(time.Millisecond), (total - tFit - tLayout).Round(time.Millisecond), total.Round(time.Millisecond), cpu.Round(time.Millisecond),
			float64(after.HeapAlloc-before.HeapAlloc)/float64(n)/1024, l.Dim(), runtime.GOMAXPROCS(0))
		runtime.KeepAlive(profs)
	}
}

// cpuTime is the process's user + system CPU time: on a shared machine, wall time
// says more about the neighbours than about the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// seenResource picks one of the resources the pupil already used: the realistic next
// answer (a random catalogue resource would grow the profile to every competency).
func seenResource(cat *datasets.Catalogue, p *features.Profile, i int) *datasets.Resource {
	id := p.Usage.Seen[i%len(p.Usage.Seen)]
	j, _ := cat.ResourceIndex(id)
	return &cat.Resources[j]
}

// BenchmarkProfileUpdate applies one answered statement to a stored year-long profile
// and recomputes its vector: what the service does when one xAPI statement arrives.
func BenchmarkProfileUpdate(b *testing.B) {
	d, truth := academie()
	cat, err := datasets.NewCatalogue(d.Competencies, d.Resources)
	if err != nil {
		b.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339, truth.Info.Start)
	end := start.AddDate(0, 0, 7*truth.Info.Weeks)
	pupils := slices.DeleteFunc(pupilsOf(b, d, end)[:300], func(p features.PupilEvents) bool { return len(p.Statements) == 0 })
	m := features.NewModel(features.DefaultModelConfig())
	profs, err := m.Fit(cat, pupils, end)
	if err != nil {
		b.Fatal(err)
	}
	l := features.NewLayout(cat, pupils)
	comps := 0
	for _, p := range profs {
		comps += len(p.Competencies)
	}
	b.Logf("profiles hold %.0f competencies on average", float64(comps)/float64(len(profs)))
	ok := true
	b.Run("Update", func(b *testing.B) {
		i := 0
		for b.Loop() {
			p := &profs[i%len(profs)]
			r := seenResource(cat, p, i)
			ok = !ok
			s := datasets.Statement{ID: "x", StudentID: p.StudentID, Verb: datasets.VerbAnswered, ObjectID: r.ID,
				Timestamp: end.Add(time.Duration(i) * time.Second), Success: &ok}
			if err := m.Update(cat, p, s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("UpdateAndVector", func(b *testing.B) {
		i := 0
		for b.Loop() {
			p := &profs[i%len(profs)]
			r := seenResource(cat, p, i)
			ok = !ok
			s := datasets.Statement{ID: "x", StudentID: p.StudentID, Verb: datasets.VerbAnswered, ObjectID: r.ID,
				Timestamp: end.Add(time.Duration(i) * time.Second), Success: &ok}
			if err := m.Update(cat, p, s); err != nil {
				b.Fatal(err)
			}
			p.Vector = l.StudentVector(p)
			i++
		}
	})
}
