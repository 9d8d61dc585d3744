package offline

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
)

// TestSampleClassesKeepsWholeClassesUnderTheBound checks the simulated cohort's sample:
// everyone below the bound; beyond it whole classes, at most the bound, same seed same
// sample, in the input order.
func TestSampleClassesKeepsWholeClassesUnderTheBound(t *testing.T) {
	students := map[string]datasets.Student{}
	var ids []string
	for c := range 40 {
		for p := range 20 + c%7 {
			id := fmt.Sprintf("p%02d-%02d", c, p)
			ids = append(ids, id)
			students[id] = datasets.Student{ID: id, ClassID: fmt.Sprintf("c%02d", c)}
		}
	}
	if got := sampleClasses(ids, students, len(ids), 1); !slices.Equal(got, ids) {
		t.Fatal("below the bound the sample must be everyone")
	}
	got := sampleClasses(ids, students, 300, 1)
	if len(got) > 300 || len(got) < 250 {
		t.Fatalf("%d pupils kept, want at most 300 and close to it", len(got))
	}
	if !slices.IsSorted(got) {
		t.Error("the sample is not in the input order")
	}
	per := map[string]int{}
	for _, id := range got {
		per[students[id].ClassID]++
	}
	for c, n := range per {
		var want int
		for _, id := range ids {
			if students[id].ClassID == c {
				want++
			}
		}
		if n != want {
			t.Errorf("class %s: %d of %d pupils kept", c, n, want)
		}
	}
	if again := sampleClasses(ids, students, 300, 1); !slices.Equal(again, got) {
		t.Error("same seed, another sample")
	}
	if other := sampleClasses(ids, students, 300, 2); slices.Equal(other, got) {
		t.Error("another seed, the same sample")
	}
}
