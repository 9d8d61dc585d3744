package synth

import (
	"errors"
	"math"
	"testing"
)

func smallTruth(tb testing.TB) (*Truth, Config) {
	tb.Helper()
	cfg := Config{Students: 90, Seed: 11, Weeks: 10}
	_, truth, err := GenerateDataset(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return truth, cfg
}

func TestTruthSimulator(t *testing.T) {
	truth, cfg := smallTruth(t)
	t.Run("RestoresTheAbilitiesOfTheGeneratedWeek", func(t *testing.T) {
		sim, err := truth.Simulator(7, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(sim.Pupils()) != cfg.Students || sim.Week() != 7 {
			t.Fatalf("%d pupils at week %d", len(sim.Pupils()), sim.Week())
		}
		for _, id := range sim.Pupils()[:10] {
			for _, k := range truth.m.c.comps {
				want, ok := truth.Ability(id, k.ID, 7)
				got, err := sim.TrueAbility(id, k.ID)
				if !ok || err != nil || math.Abs(got-want) > 1e-4 {
					t.Fatalf("%s %s: simulator %v (%v), truth %v (%v)", id, k.ID, got, err, want, ok)
				}
			}
		}
	})
	t.Run("ReadTruthGivesTheSameTruthAsMemory", func(t *testing.T) {
		dir := generate(t, cfg)
		read, err := ReadTruth(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(read.Learners) != len(truth.Learners) || read.Info.Weeks != cfg.Weeks {
			t.Fatalf("%d learners, %d weeks", len(read.Learners), read.Info.Weeks)
		}
		for i, l := range truth.Learners {
			if read.Learners[i] != l {
				t.Fatalf("learner %d: %+v, want %+v", i, read.Learners[i], l)
			}
			for _, k := range truth.m.c.comps[:60] {
				for _, w := range []int{-1, 0, 9} {
					a, okA := truth.Ability(l.StudentID, k.ID, w)
					b, okB := read.Ability(l.StudentID, k.ID, w)
					if okA != okB || math.Abs(a-b) > 1e-4 {
						t.Fatalf("%s %s week %d: memory %v %v, folder %v %v", l.StudentID, k.ID, w, a, okA, b, okB)
					}
				}
			}
		}
	})
	t.Run("RejectsUnknownIDs", func(t *testing.T) {
		sim, _ := truth.Simulator(-1, 1)
		if _, err := sim.Practice("nobody", "res-00001"); !errors.Is(err, ErrUnknown) {
			t.Errorf("unknown pupil: %v", err)
		}
		if _, err := sim.Practice(sim.Pupils()[0], "res-x"); !errors.Is(err, ErrUnknown) {
			t.Errorf("unknown resource: %v", err)
		}
		if _, err := truth.Simulator(cfg.Weeks, 1); err == nil {
			t.Errorf("week past the year accepted")
		}
	})
}

// TestPracticeGain checks the learning-science heart of the model: practice teaches most
// when the pupil succeeds about LearnPeak of the time, little when items are far too easy
// or far too hard.
func TestPracticeGain(t *testing.T) {
	truth, _ := smallTruth(t)
	base, _ := truth.Simulator(-1, 1)
	pupil := base.Pupils()[0]
	c := truth.m.c
	comp := c.plan[0][truth.Learners[truth.learner[pupil]].Level][0]
	gainAt := func(target float64) (gain, p float64) {
		sim, _ := truth.Simulator(-1, 1)
		theta0, _ := sim.TrueAbility(pupil, c.comps[comp].ID)
		// A single-competency exercise with the wanted P(success): true difficulty
		// θ − logit(target), patched into a copy so that the test controls it exactly.
		r := c.byComp[comp][0]
		saved := c.resDiff[r]
		c.resDiff[r] = theta0 - math.Log(target/(1-target))
		defer func() { c.resDiff[r] = saved }()
		savedComps, savedType := c.resComps[r], c.resType[r]
		c.resComps[r], c.resType[r] = []int32{comp}, typeExercise
		defer func() { c.resComps[r], c.resType[r] = savedComps, savedType }()
		p, _ = sim.PSuccess(pupil, c.res[r].ID)
		for i := 0; i < 5; i++ {
			if _, err := sim.Practice(pupil, c.res[r].ID); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := sim.TrueAbility(pupil, c.comps[comp].ID)
		return after - theta0, p
	}
	tests := []struct {
		name   string
		target float64
	}{
		{name: "TooHardTeachesLessThanTheTargetBand", target: 0.15},
		{name: "TooEasyTeachesLessThanTheTargetBand", target: 0.98},
	}
	best, p := gainAt(truth.Info.Params.LearnPeak)
	if math.Abs(p-truth.Info.Params.LearnPeak) > 1e-9 || best <= 0 {
		t.Fatalf("at the target: P=%v gain=%v", p, best)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := gainAt(tt.target)
			if g <= 0 || g > best/2 {
				t.Errorf("gain at P=%v is %v, want in (0, %v]", tt.target, g, best/2)
			}
		})
	}
}

func TestSimulatorForgetsSlowly(t *testing.T) {
	truth, _ := smallTruth(t)
	sim, _ := truth.Simulator(9, 1)
	pupil := sim.Pupils()[3]
	comp := truth.m.c.plan[0][truth.Learners[truth.learner[pupil]].Level][0]
	id := truth.m.c.comps[comp].ID
	before, _ := sim.TrueAbility(pupil, id)
	for i := 0; i < 10; i++ {
		sim.AdvanceWeek()
	}
	after, _ := sim.TrueAbility(pupil, id)
	if !(after < before && before-after < 0.5) {
		t.Fatalf("after 10 weeks without practice: %v -> %v, want a small loss", before, after)
	}
}
