package recommender_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/recommender"
)

// TestBeatsPopularityAndRandomOnSyntheticAcademie is a sanity check of the ranking on a
// global temporal split of a synthetic académie (the full evaluation with confidence
// intervals and learning gain is `parcours eval recommend`): NDCG@10 of the resources each
// pupil then succeeded on must beat popularity per level and random.
func TestBeatsPopularityAndRandomOnSyntheticAcademie(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and fits a 600-pupil académie")
	}
	ds, _, err := synth.GenerateDataset(synth.Config{Students: 600, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	train, split, truth := temporalSplit(ds)
	st := newMemstore()
	ctx := context.Background()
	if _, err := st.Ingest(ctx, train); err != nil {
		t.Fatal(err)
	}
	e, err := recommender.New(ctx, st, recommender.Config{Now: func() time.Time { return split }})
	if err != nil {
		t.Fatal(err)
	}
	pop := map[string]int{}
	for _, s := range train.Statements {
		pop[s.ObjectID]++
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var engine, popular, random float64
	n := 0
	for _, s := range ds.Students {
		tr := truth[s.ID]
		if len(tr) == 0 || !s.Consent {
			continue
		}
		rec, err := e.Recommend(ctx, recommender.Request{StudentID: s.ID, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range rec.Items {
			ids = append(ids, it.ResourceID)
		}
		engine += ndcgAt10(ids, tr)
		var cands []string
		for _, r := range ds.Resources {
			if r.Level == s.Level {
				cands = append(cands, r.ID)
			}
		}
		sort.SliceStable(cands, func(a, b int) bool { return pop[cands[a]] > pop[cands[b]] })
		popular += ndcgAt10(cands[:min(10, len(cands))], tr)
		rng.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
		random += ndcgAt10(cands[:min(10, len(cands))], tr)
		n++
	}
	if n == 0 {
		t.Fatal("no pupil to evaluate")
	}
	engine, popular, random = engine/float64(n), popular/float64(n), random/float64(n)
	t.Logf("NDCG@10 over %d pupils: parcours %.4f, popularity per level %.4f, random %.4f", n, engine, popular, random)
	if engine <= popular || engine <= random {
		t.Errorf("parcours %.4f does not beat popularity %.4f and random %.4f", engine, popular, random)
	}
}

// temporalSplit keeps the events before the 75th percentile of statement times for
// training; the truth is, per pupil, the resources succeeded on after it.
func temporalSplit(ds *datasets.Dataset) (*datasets.Dataset, time.Time, map[string]map[string]bool) {
	ts := make([]time.Time, 0, len(ds.Statements))
	for _, s := range ds.Statements {
		ts = append(ts, s.Timestamp)
	}
	sort.Slice(ts, func(a, b int) bool { return ts[a].Before(ts[b]) })
	split := ts[len(ts)*3/4]
	train := &datasets.Dataset{Competencies: ds.Competencies, Resources: ds.Resources, Students: ds.Students}
	truth := map[string]map[string]bool{}
	for _, s := range ds.Statements {
		switch {
		case s.Timestamp.Before(split):
			train.Statements = append(train.Statements, s)
		case s.Success != nil && *s.Success:
			if truth[s.StudentID] == nil {
				truth[s.StudentID] = map[string]bool{}
			}
			truth[s.StudentID][s.ObjectID] = true
		}
	}
	for _, g := range ds.Grades {
		if g.Date.Before(split) {
			train.Grades = append(train.Grades, g)
		}
	}
	for _, a := range ds.Absences {
		if a.Start.Before(split) {
			train.Absences = append(train.Absences, a)
		}
	}
	for _, l := range ds.Lessons {
		if l.Start.Before(split) {
			train.Lessons = append(train.Lessons, l)
		}
	}
	return train, split, truth
}

func ndcgAt10(ids []string, truth map[string]bool) float64 {
	dcg, idcg := 0.0, 0.0
	for i, id := range ids[:min(10, len(ids))] {
		if truth[id] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(len(truth), 10) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}
