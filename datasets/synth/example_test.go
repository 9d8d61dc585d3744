package synth_test

import (
	"fmt"
	"math"

	"github.com/parcours-ent/parcours/datasets/synth"
)

// A policy that gives each pupil the resources they succeed on about 70% of the time
// teaches more than one that picks at random: the comparison an offline evaluation
// makes with Truth.Simulator. (An evaluation only knows the published difficulties; the
// oracle here reads the true P(success) to show the simulator can tell policies apart.)
func ExampleTruth_Simulator() {
	d, truth, err := synth.GenerateDataset(synth.Config{Students: 60, Seed: 2, Weeks: 12})
	if err != nil {
		panic(err)
	}
	level := map[string]string{}
	for _, s := range d.Students {
		level[s.ID] = s.Level
	}
	gain := func(pick func(sim *synth.Simulator, pupil string, week int) string) float64 {
		sim, _ := truth.Simulator(11, 1) // the pupils as they stand at the end of week 11
		before := map[string]float64{}
		for _, p := range sim.Pupils() {
			for _, c := range d.Competencies {
				if c.Level == level[p] {
					before[p+c.ID], _ = sim.TrueAbility(p, c.ID)
				}
			}
		}
		for week := 0; week < 4; week++ {
			for _, p := range sim.Pupils() {
				for k := 0; k < 10; k++ {
					sim.Practice(p, pick(sim, p, week*10+k))
				}
			}
			sim.AdvanceWeek()
		}
		var sum float64
		for _, p := range sim.Pupils() {
			for _, c := range d.Competencies {
				if c.Level == level[p] {
					after, _ := sim.TrueAbility(p, c.ID)
					sum += after - before[p+c.ID]
				}
			}
		}
		return sum / float64(len(sim.Pupils()))
	}
	var ofLevel = map[string][]string{}
	for _, r := range d.Resources {
		if r.Type == "exercise" || r.Type == "quiz" {
			ofLevel[r.Level] = append(ofLevel[r.Level], r.ID)
		}
	}
	random := gain(func(sim *synth.Simulator, p string, i int) string {
		pool := ofLevel[level[p]]
		return pool[(i*7919+len(p))%len(pool)]
	})
	targeted := gain(func(sim *synth.Simulator, p string, i int) string {
		pool, best, gap := ofLevel[level[p]], "", math.Inf(1)
		for j := i % 5; j < len(pool); j += 5 { // a fifth of the pool, varying with i
			if ps, _ := sim.PSuccess(p, pool[j]); math.Abs(ps-0.7) < gap {
				best, gap = pool[j], math.Abs(ps-0.7)
			}
		}
		return best
	})
	// Gains are summed over the competencies of the pupil's level: without practice
	// they slowly fade, so random practice can leave a pupil below where they started.
	fmt.Printf("targeted beats random by over 0.5 logit a pupil: %v\n", targeted-random > 0.5)
	// Output: targeted beats random by over 0.5 logit a pupil: true
}
