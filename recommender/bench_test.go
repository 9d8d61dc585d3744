package recommender_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// benchAcademie is a catalogue of nComps competencies (chains of prerequisites per
// subject and level) with perComp resources each, and one class of 35 pupils with
// grades and usage on them.
func benchAcademie(nComps, perComp, pupils int) *datasets.Dataset {
	rng := rand.New(rand.NewPCG(3, 5))
	ds := &datasets.Dataset{}
	subjects := []string{"MATHS", "FRANCAIS", "SVT", "HIST-GEO"}
	levels := datasets.Levels[:4]
	types := []string{datasets.ResourceVideo, datasets.ResourceExercise, datasets.ResourceQuiz, datasets.ResourceSheet}
	for i := range nComps {
		s, l := subjects[i%len(subjects)], levels[(i/len(subjects))%len(levels)]
		c := datasets.Competency{ID: fmt.Sprintf("C%04d", i), Subject: s, Level: l, Label: fmt.Sprintf("Compétence %d", i)}
		if prev := i - len(subjects)*len(levels); prev >= 0 {
			c.Prerequisites = []string{fmt.Sprintf("C%04d", prev)}
		}
		ds.Competencies = append(ds.Competencies, c)
		for j := range perComp {
			ds.Resources = append(ds.Resources, datasets.Resource{
				ID: fmt.Sprintf("R%04d-%03d", i, j), Title: fmt.Sprintf("Ressource %d-%d", i, j), Subject: s, Level: l,
				Type: types[j%4], Competencies: []string{c.ID}, Difficulty: rng.NormFloat64() * 1.5, DurationMin: 10,
			})
		}
	}
	for p := range pupils {
		id := fmt.Sprintf("B%03d", p)
		ds.Students = append(ds.Students, datasets.Student{ID: id, SchoolID: "SCH-B", ClassID: "C-BENCH", Level: "4e", Consent: true})
		for g := range 12 {
			c := ds.Competencies[rng.IntN(nComps)]
			ds.Grades = append(ds.Grades, datasets.Grade{ID: fmt.Sprintf("G%03d-%02d", p, g), StudentID: id, Subject: c.Subject,
				Competencies: []string{c.ID}, AssessmentID: fmt.Sprintf("E%02d", g), Date: now.AddDate(0, 0, -60+4*g),
				Score: math.Round(rng.Float64() * 20), OutOf: 20, Coefficient: 1})
		}
		for u := range 20 {
			r := ds.Resources[rng.IntN(len(ds.Resources))]
			ok := rng.Float64() < 0.6
			ds.Statements = append(ds.Statements, datasets.Statement{ID: fmt.Sprintf("7a1c0b2e-0000-4000-8000-%06d%06d", p, u),
				StudentID: id, Verb: datasets.VerbAnswered, ObjectID: r.ID, Timestamp: now.AddDate(0, 0, -50+2*u), Success: &ok})
		}
	}
	return ds
}

// benchEngines caches one engine per store kind for the whole test binary.
var (
	benchMu  sync.Mutex
	benchEng = map[string]*recommender.Engine{}
)

// benchEngine returns an engine on 200 competencies × 250 resources = 50,000 resources
// and one class of 35 pupils, on the memstore ("mem") or PostgreSQL ("pg").
func benchEngine(b *testing.B, kind string) *recommender.Engine {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if e, ok := benchEng[kind]; ok {
		return e
	}
	start := time.Now()
	ds := benchAcademie(200, 250, 35)
	var st recommender.Store
	switch kind {
	case "pg":
		st = newPGStore(b)
	case "pg-mirror":
		st = newPGStoreWith(b, pgstore.Options{VectorMirror: true})
	default:
		st = newMemstore()
	}
	if _, err := st.Ingest(context.Background(), ds); err != nil {
		b.Fatal(err)
	}
	e, err := recommender.New(context.Background(), st, fixedConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s setup (ingest + refit of 50,000 resources, 35 pupils): %v", kind, time.Since(start))
	if kind == "mem" { // a PostgreSQL database is dropped with the benchmark that made it
		benchEng[kind] = e
	}
	return e
}

// reportLatency adds p50 and p99 of the measured calls to the benchmark's output.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
}

func BenchmarkRecommend50k(b *testing.B) {
	for _, kind := range []string{"mem", "pg", "pg-mirror"} {
		b.Run(kind, func(b *testing.B) {
			e := benchEngine(b, kind)
			ctx := context.Background()
			var lat []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if _, err := e.Recommend(ctx, recommender.Request{StudentID: fmt.Sprintf("B%03d", i%35), K: 10}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				i++
			}
			reportLatency(b, lat)
		})
	}
}

func BenchmarkPath10Steps(b *testing.B) {
	e := benchEngine(b, "mem")
	ctx := context.Background()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := e.Path(ctx, recommender.PathRequest{StudentID: fmt.Sprintf("B%03d", i%35), Subject: "MATHS", Length: 10}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		i++
	}
	reportLatency(b, lat)
}

func BenchmarkClassOverview35(b *testing.B) {
	e := benchEngine(b, "mem")
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := e.ClassOverview(ctx, "C-BENCH", "fr"); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	reportLatency(b, lat)
}
