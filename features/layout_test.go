package features

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

func dot32(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestLayoutDotProductServesNeeds(t *testing.T) {
	cat := testCatalogue(t)
	l := NewLayout(cat, nil)
	if l.Dim() != 3+extraDims+Factors {
		t.Fatalf("Dim %d, want %d", l.Dim(), 3+extraDims+Factors)
	}
	p := Profile{Competencies: map[string]CompetencyState{"c1": {Need: 0.8}, "c2": {Need: 0.2}}}
	sv := l.StudentVector(&p)
	r1, _ := cat.Resource("r1")
	r2, _ := cat.Resource("r2")
	r3, _ := cat.Resource("r3")
	// No usage, no absence: engagement 0, so the low-engagement dim is 1 and meets the
	// resource's shortness: r1 (10 min) 0.15·(1 − 10/30), r2 (30 min) 0, r3 (5 min) 0.15·(5/6).
	nearTol(t, "dot r1", dot32(sv, l.ResourceVector(&r1)), 0.8+0.15*(2.0/3), 1e-6)
	nearTol(t, "dot r2", dot32(sv, l.ResourceVector(&r2)), 0.5*0.8+0.5*0.2, 1e-6)
	nearTol(t, "dot r3", dot32(sv, l.ResourceVector(&r3)), 0.15*(5.0/6), 1e-6)
}

func TestLayoutRoundTripsAndKeepsVectors(t *testing.T) {
	cat := testCatalogue(t)
	var pupils []PupilEvents
	for i := range 40 {
		var sts []datasets.Statement
		for j, r := range []string{"r1", "r2", "r3"} {
			if (i+j)%3 != 0 {
				sts = append(sts, answered(fmt.Sprint(i, j), r, at(9, j), true))
			}
		}
		pupils = append(pupils, PupilEvents{Student: datasets.Student{ID: fmt.Sprint("e", i)}, Statements: sts})
	}
	l := NewLayout(cat, pupils)
	raw, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Layout
	if err := back.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	p := Profile{Competencies: map[string]CompetencyState{"c1": {Need: 0.4}}, Usage: UsageFeatures{Seen: []string{"r1", "r2"}, Sessions: 4}}
	if !slices.Equal(l.StudentVector(&p), back.StudentVector(&p)) {
		t.Error("student vector differs after the round trip")
	}
	for i := range cat.Resources {
		if !slices.Equal(l.ResourceVector(&cat.Resources[i]), back.ResourceVector(&cat.Resources[i])) {
			t.Errorf("resource %s vector differs after the round trip", cat.Resources[i].ID)
		}
	}
	again := NewLayout(cat, pupils)
	if !slices.Equal(l.StudentVector(&p), again.StudentVector(&p)) {
		t.Error("same usage, different layout")
	}
	if err := back.UnmarshalBinary([]byte(`{"schema":0}`)); err == nil {
		t.Error("another schema version accepted")
	}
}

func TestLayoutHashesAHugeCatalogue(t *testing.T) {
	n := MaxCompetencyDims + 500
	comps := make([]datasets.Competency, n)
	for i := range comps {
		comps[i] = datasets.Competency{ID: fmt.Sprintf("k%05d", i), Subject: "MATHS", Level: "6e"}
	}
	res := []datasets.Resource{{ID: "r", Competencies: []string{"k00007"}, DurationMin: 30, Type: datasets.ResourceExercise}}
	cat, err := datasets.NewCatalogue(comps, res)
	if err != nil {
		t.Fatal(err)
	}
	l := NewLayout(cat, nil)
	if l.Dim() != MaxDim {
		t.Fatalf("Dim %d, want %d", l.Dim(), MaxDim)
	}
	p := Profile{Competencies: map[string]CompetencyState{"k00007": {Need: 0.9}}}
	nearTol(t, "dot", dot32(l.StudentVector(&p), l.ResourceVector(&res[0])), 0.9, 1e-6)
}

func TestUsageFactorsSeparateTwoCommunities(t *testing.T) {
	// Pupils of group A use r1 and r2, group B r3: A's vector must lean to r2, away from r3.
	cat := testCatalogue(t)
	var pupils []PupilEvents
	for i := range 30 {
		rs := []string{"r1", "r2"}
		if i%2 == 1 {
			rs = []string{"r3"}
		}
		var sts []datasets.Statement
		for _, r := range rs {
			sts = append(sts, datasets.Statement{ID: fmt.Sprint(i, r), Verb: datasets.VerbViewed, ObjectID: r, Timestamp: day0.Add(time.Duration(i) * time.Hour)})
		}
		pupils = append(pupils, PupilEvents{Statements: sts})
	}
	// Too few resources for the projection: no factors, zero latent block.
	l := NewLayout(cat, pupils)
	p := Profile{Usage: UsageFeatures{Seen: []string{"r1"}}}
	lat := l.StudentVector(&p)[l.Dim()-Factors:]
	if slices.ContainsFunc(lat, func(x float32) bool { return x != 0 }) {
		t.Errorf("latent block %v with 3 resources, want zeros", lat)
	}
	// With a catalogue large enough, the SVD runs.
	var comps []datasets.Competency
	var res []datasets.Resource
	for i := range 20 {
		comps = append(comps, datasets.Competency{ID: fmt.Sprint("k", i), Level: "6e"})
		res = append(res, datasets.Resource{ID: fmt.Sprint("x", i), Competencies: []string{fmt.Sprint("k", i)}})
	}
	big, err := datasets.NewCatalogue(comps, res)
	if err != nil {
		t.Fatal(err)
	}
	pupils = pupils[:0]
	for i := range 60 {
		var sts []datasets.Statement
		lo := 0
		if i%2 == 1 {
			lo = 10
		}
		for j := lo; j < lo+10; j++ {
			if (i+j)%4 != 0 {
				sts = append(sts, datasets.Statement{ID: fmt.Sprint(i, j), Verb: datasets.VerbViewed, ObjectID: fmt.Sprint("x", j), Timestamp: day0})
			}
		}
		pupils = append(pupils, PupilEvents{Statements: sts})
	}
	l = NewLayout(big, pupils)
	sv := l.StudentVector(&Profile{Usage: UsageFeatures{Seen: []string{"x1", "x2"}}})
	lat = sv[l.Dim()-Factors:]
	same := dot32(lat, l.ResourceVector(&res[5])[l.Dim()-Factors:])
	other := dot32(lat, l.ResourceVector(&res[15])[l.Dim()-Factors:])
	if !(same > other) || math.IsNaN(same) {
		t.Errorf("latent affinity: same community %.4f, other %.4f", same, other)
	}
}
