package recommender_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/recommender"
)

// TestPolicyOverrideMovesTheList: an experiment arm's target success changes what is
// served (easier items for a higher target), an empty override changes nothing, and an
// override the engine cannot honour is refused with its field named.
func TestPolicyOverrideMovesTheList(t *testing.T) {
	ds := academie(20, 12)
	e, _ := newEngine(t, ds)
	ctx := context.Background()
	meanP := func(rec recommender.Recommendations) float64 {
		var s float64
		for _, it := range rec.Items {
			s += it.PSuccess
		}
		return s / float64(len(rec.Items))
	}
	var easier, changed int
	for i := range 20 {
		id := fmt.Sprintf("P-%03d", i)
		base, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: 5, Prefetch: true})
		if err != nil {
			t.Fatal(err)
		}
		same, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: 5, Prefetch: true, Policy: &recommender.PolicyOverride{Name: "E/A"}})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(base)) != fmt.Sprint(ids(same)) {
			t.Errorf("%s: an empty override changed the list: %v vs %v", id, ids(base), ids(same))
		}
		lo, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: 5, Prefetch: true, Policy: &recommender.PolicyOverride{Name: "E/lo", TargetSuccess: 0.2}})
		if err != nil {
			t.Fatal(err)
		}
		hi, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: 5, Prefetch: true, Policy: &recommender.PolicyOverride{Name: "E/hi", TargetSuccess: 0.95}})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(lo)) != fmt.Sprint(ids(hi)) {
			changed++
		}
		if meanP(hi) > meanP(lo) {
			easier++
		}
	}
	if changed < 10 || easier < 10 {
		t.Errorf("target 0.95 vs 0.2: lists differ for %d of 20 pupils, easier for %d; want most", changed, easier)
	}
	for _, tc := range []struct {
		name, field string
		pol         recommender.PolicyOverride
	}{
		{"RejectsTargetOfOne", "policy.target_success", recommender.PolicyOverride{TargetSuccess: 1}},
		{"RejectsNegativeTarget", "policy.target_success", recommender.PolicyOverride{TargetSuccess: -0.1}},
		{"RejectsUnknownRanker", "policy.ranker", recommender.PolicyOverride{Ranker: "magic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Recommend(ctx, recommender.Request{StudentID: "P-000", Policy: &tc.pol})
			if !errors.Is(err, recommender.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err.Error(), tc.field)
			}
		})
	}
}

func ids(rec recommender.Recommendations) []string {
	out := make([]string, len(rec.Items))
	for i, it := range rec.Items {
		out[i] = it.ResourceID
	}
	return out
}
