package experiment_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

var start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func valid() experiment.Definition {
	return experiment.Definition{ID: "E1", Name: "Cible", Arms: []experiment.Arm{{Name: "A"}, {Name: "B", TargetSuccess: 0.6}},
		Start: start, End: start.Add(60 * 24 * time.Hour)}
}

func TestNormalizeNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		edit        func(d *experiment.Definition)
	}{
		{"MissingID", "/id", func(d *experiment.Definition) { d.ID = "" }},
		{"IDWithSlash", "/id", func(d *experiment.Definition) { d.ID = "a/b" }},
		{"MissingName", "/name", func(d *experiment.Definition) { d.Name = " " }},
		{"HugeName", "/name", func(d *experiment.Definition) { d.Name = strings.Repeat("x", 300) }},
		{"OneArm", "/arms", func(d *experiment.Definition) { d.Arms = d.Arms[:1] }},
		{"NineArms", "/arms", func(d *experiment.Definition) {
			d.Arms = nil
			for i := range 9 {
				d.Arms = append(d.Arms, experiment.Arm{Name: fmt.Sprint("a", i)})
			}
		}},
		{"TwinArms", "/arms/1/name", func(d *experiment.Definition) { d.Arms[1].Name = "A" }},
		{"BadArmName", "/arms/1/name", func(d *experiment.Definition) { d.Arms[1].Name = "<script>" }},
		{"TargetOutOfRange", "/arms/1/target_success", func(d *experiment.Definition) { d.Arms[1].TargetSuccess = 1.5 }},
		{"UnknownRanker", "/arms/0/ranker", func(d *experiment.Definition) { d.Arms[0].Ranker = "magic" }},
		{"PupilUnit", "/unit", func(d *experiment.Definition) { d.Unit = "pupil" }},
		{"UnknownLevel", "/levels/1", func(d *experiment.Definition) { d.Levels = []string{"5e", "CM2"} }},
		{"BadSchool", "/schools/0", func(d *experiment.Definition) { d.Schools = []string{""} }},
		{"NoStart", "/start", func(d *experiment.Definition) { d.Start = time.Time{} }},
		{"EndBeforeStart", "/end", func(d *experiment.Definition) { d.End = d.Start.Add(-time.Hour) }},
		{"TooLong", "/end", func(d *experiment.Definition) { d.End = d.Start.Add(400 * 24 * time.Hour) }},
		{"UnknownOutcome", "/primary_outcome", func(d *experiment.Definition) { d.PrimaryOutcome = "clicks" }},
		{"NegativeFollowUp", "/followup_days", func(d *experiment.Definition) { d.FollowUpDays = -1 }},
		{"UptakeAboveOne", "/guardrails/min_uptake", func(d *experiment.Definition) { d.Guardrails.MinUptake = 2 }},
		{"RejectionBelowZero", "/guardrails/max_rejection_rate", func(d *experiment.Definition) { d.Guardrails.MaxRejectionRate = -0.5 }},
	} {
		t.Run("Rejects"+tc.name, func(t *testing.T) {
			d := valid()
			tc.edit(&d)
			err := d.Normalize()
			var de *datasets.Error
			if !errors.As(err, &de) || !errors.Is(err, datasets.ErrInvalid) {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			if de.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", de.Field, tc.field, err)
			}
		})
	}
	t.Run("FillsDefaults", func(t *testing.T) {
		d := valid()
		if err := d.Normalize(); err != nil {
			t.Fatal(err)
		}
		if d.Unit != "class" || d.PrimaryOutcome != experiment.OutcomeLaterSuccess || d.FollowUpDays != experiment.DefaultFollow || d.Seed == 0 {
			t.Errorf("defaults: %+v", d)
		}
	})
}

func classes(schools, levels, perStratum int) []experiment.Class {
	var out []experiment.Class
	for s := range schools {
		for l := range levels {
			for c := range perStratum {
				out = append(out, experiment.Class{ID: fmt.Sprintf("S%d-%s-%d", s, datasets.Levels[l], c), SchoolID: fmt.Sprint("S", s), Level: datasets.Levels[l]})
			}
		}
	}
	return out
}

func TestAssignIsBalancedStratifiedAndDeterministic(t *testing.T) {
	d := valid()
	d.Arms = append(d.Arms, experiment.Arm{Name: "C", TargetSuccess: 0.8})
	if err := d.Normalize(); err != nil {
		t.Fatal(err)
	}
	cs := classes(4, 3, 5) // 60 classes, strata of 5 over 3 arms
	as := experiment.Assign(&d, cs)
	if len(as) != len(cs) {
		t.Fatalf("%d assignments for %d classes", len(as), len(cs))
	}
	total := map[string]int{}
	strata := map[string]map[string]int{}
	for _, a := range as {
		total[a.Arm]++
		k := a.SchoolID + "/" + a.Level
		if strata[k] == nil {
			strata[k] = map[string]int{}
		}
		strata[k][a.Arm]++
	}
	for _, arm := range []string{"A", "B", "C"} {
		if total[arm] != 20 {
			t.Errorf("arm %s has %d classes, want 20: %v", arm, total[arm], total)
		}
	}
	for k, m := range strata {
		lo, hi := 99, 0
		for _, arm := range []string{"A", "B", "C"} {
			lo, hi = min(lo, m[arm]), max(hi, m[arm])
		}
		if hi-lo > 1 {
			t.Errorf("stratum %s unbalanced: %v", k, m)
		}
	}
	// Same definition, classes in another order: same assignment.
	rev := append([]experiment.Class(nil), cs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if fmt.Sprint(experiment.Assign(&d, rev)) != fmt.Sprint(as) {
		t.Error("assignment depends on the order of the classes")
	}
	// Another seed: another assignment.
	d2 := d
	d2.Seed++
	if fmt.Sprint(experiment.Assign(&d2, cs)) == fmt.Sprint(as) {
		t.Error("the seed changes nothing")
	}
	// Schools and levels filter.
	d3 := d
	d3.Schools, d3.Levels = []string{"S1"}, []string{"5e"}
	for _, a := range experiment.Assign(&d3, cs) {
		if a.SchoolID != "S1" || a.Level != "5e" {
			t.Errorf("class outside the experiment assigned: %+v", a)
		}
	}
}
