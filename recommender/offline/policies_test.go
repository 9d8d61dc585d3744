package offline

import (
	"context"
	"slices"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// TestBaselinesNeverListWhatThePupilAlreadySucceededOn checks every baseline on the
// leak case: W succeeded on R-OLD before the split, so no list for W may hold it, and
// once W is observed succeeding on R-NEW, that goes too.
func TestBaselinesNeverListWhatThePupilAlreadySucceededOn(t *testing.T) {
	ds := leakCase()
	sp := SplitAt(ds, splitAt)
	w := newWorld(mustCatalogue(t, ds), sp)
	ctx := context.Background()
	for _, p := range baselines(w, sp, func(string) *features.Profile { return nil }, 1) {
		t.Run(p.Name(), func(t *testing.T) {
			got, err := p.Recommend(ctx, "W", 2)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(got, "R-OLD") {
				t.Errorf("%s lists R-OLD, already succeeded on: %v", p.Name(), got)
			}
			ok := true
			obs := p.(Observer)
			if err := obs.Observe(ctx, []datasets.Statement{{ID: "N", StudentID: "W", ObjectID: "R-NEW", Verb: datasets.VerbAnswered, Success: &ok}}); err != nil {
				t.Fatal(err)
			}
			if got, _ := p.Recommend(ctx, "W", 2); len(got) != 0 {
				t.Errorf("%s lists %v after W succeeded on both resources", p.Name(), got)
			}
		})
	}
}

func TestRandomIsSeededPerPupil(t *testing.T) {
	ds := leakCase()
	for i := range 30 {
		ds.Resources = append(ds.Resources, datasets.Resource{ID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"C"}})
	}
	sp := SplitAt(ds, splitAt)
	w := newWorld(mustCatalogue(t, ds), sp)
	draw := func(seed uint64) []string {
		p := &randomPolicy{w: w, d: newDone(nil), seed: seed, calls: map[string]uint64{}}
		got, _ := p.Recommend(context.Background(), "X", 5)
		return got
	}
	if a, b := draw(1), draw(1); !slices.Equal(a, b) {
		t.Errorf("seed 1 drew %v then %v", a, b)
	}
	if a, b := draw(1), draw(2); slices.Equal(a, b) {
		t.Errorf("seeds 1 and 2 drew the same %v", a)
	}
}
