package synth

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// TestAcademieLooksReal checks the shape of a generated académie against what a French
// school year looks like and against the hidden truth it was drawn from. Each bound is
// wide enough for any seed and tight enough to catch a broken generator.
func TestAcademieLooksReal(t *testing.T) {
	cfg := Config{Students: 300, Seed: 5}
	d, truth, err := GenerateDataset(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := float64(len(d.Students))
	cfgd, _ := cfg.withDefaults()
	weekOf := func(ts time.Time) int { return int(ts.Sub(cfgd.Start).Hours() / (24 * 7)) }

	t.Run("ConsentIsMostlyGiven", func(t *testing.T) {
		yes := 0
		for _, s := range d.Students {
			if s.Consent {
				yes++
			}
		}
		if r := float64(yes) / n; r < 0.85 || r > 0.98 {
			t.Errorf("consent rate %.3f, want 0.85..0.98", r)
		}
	})
	t.Run("EveryLevelIsTaughtInClassesOf20To40", func(t *testing.T) {
		size := map[string]int{}
		levels := map[string]bool{}
		for _, s := range d.Students {
			size[s.ClassID]++
			levels[s.Level] = true
		}
		if len(levels) != 7 {
			t.Errorf("levels %v, want all 7", levels)
		}
		for c, k := range size {
			if k < 20 || k > 40 {
				t.Errorf("class %s has %d pupils", c, k)
			}
		}
	})
	t.Run("VolumesPerPupilAreLean", func(t *testing.T) {
		g, s := float64(len(d.Grades))/n, float64(len(d.Statements))/n
		t.Logf("per pupil: %.0f grades, %.0f statements, %.1f absences", g, s, float64(len(d.Absences))/n)
		if g < 50 || g > 130 || s < 60 || s > 300 {
			t.Errorf("%.0f grades and %.0f statements per pupil", g, s)
		}
	})
	t.Run("GradesLookLikePronote", func(t *testing.T) {
		var sum float64
		status := map[string]int{}
		for _, g := range d.Grades {
			status[g.Status]++
			if g.Scored() {
				if g.Score < 0 || g.Score > g.OutOf || g.Coefficient < 0.5 || g.Coefficient > 3 {
					t.Fatalf("grade %+v", g)
				}
				sum += 20 * g.Score / g.OutOf
			}
		}
		mean := sum / float64(status[""])
		t.Logf("mean mark %.2f/20; statuses %v", mean, status)
		if mean < 9 || mean > 15 {
			t.Errorf("mean mark %.2f/20", mean)
		}
		for _, st := range []string{datasets.StatusAbsent, datasets.StatusNonRendu, datasets.StatusDispense} {
			if status[st] == 0 || float64(status[st]) > 0.08*float64(len(d.Grades)) {
				t.Errorf("status %q on %d of %d grades", st, status[st], len(d.Grades))
			}
		}
	})
	t.Run("AbsentStatusOnlyWhileAbsent", func(t *testing.T) {
		spans := map[string][]datasets.Absence{}
		for _, a := range d.Absences {
			spans[a.StudentID] = append(spans[a.StudentID], a)
		}
		for _, g := range d.Grades {
			if g.Status != datasets.StatusAbsent {
				continue
			}
			if !slices.ContainsFunc(spans[g.StudentID], func(a datasets.Absence) bool {
				return !g.Date.Before(a.Start) && !g.Date.After(a.End)
			}) {
				t.Fatalf("grade %s is 'absent' outside any absence of %s", g.ID, g.StudentID)
			}
		}
	})
	t.Run("AbsencesClusterOnAFewPupils", func(t *testing.T) {
		per := map[string]float64{}
		var total float64
		for _, a := range d.Absences {
			h := a.End.Sub(a.Start).Hours()
			per[a.StudentID] += h
			total += h
		}
		hours := make([]float64, 0, len(d.Students))
		for _, s := range d.Students {
			hours = append(hours, per[s.ID])
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(hours)))
		var top float64
		for _, h := range hours[:len(hours)/10] {
			top += h
		}
		t.Logf("absence: %.1f%% of 35 weeks × 33 h; top 10%% of pupils hold %.2f of it", 100*total/n/(35*33), top/total)
		if share := top / total; share < 0.3 {
			t.Errorf("the 10%% most absent pupils hold %.2f of absence time, want >= 0.3", share)
		}
	})
	t.Run("PupilsLearnOverTheYear", func(t *testing.T) {
		var gain float64
		var k int
		for _, l := range truth.Learners {
			for c := truth.m.c.levelLo[l.Level]; c < truth.m.c.levelLo[l.Level+1]; c++ {
				a, _ := truth.Ability(l.StudentID, truth.m.c.comps[c].ID, -1)
				b, _ := truth.Ability(l.StudentID, truth.m.c.comps[c].ID, cfgd.Weeks-1)
				gain += b - a
				k++
			}
		}
		t.Logf("mean true gain over the year: %.2f logits", gain/float64(k))
		if g := gain / float64(k); g < 0.8 || g > 3 {
			t.Errorf("mean gain over the year on the level's competencies %.2f logits", g)
		}
	})
	t.Run("MarksFollowTheHiddenAbility", func(t *testing.T) {
		var xs, ys []float64
		for _, g := range d.Grades {
			if !g.Scored() {
				continue
			}
			var th float64
			for _, c := range g.Competencies {
				v, _ := truth.Ability(g.StudentID, c, max(weekOf(g.Date)-1, 0))
				th += v - truth.Difficulty[c]
			}
			xs = append(xs, th/float64(len(g.Competencies)))
			ys = append(ys, g.Score/g.OutOf)
		}
		t.Logf("corr(mark, true ability − difficulty) = %.2f", pearson(xs, ys))
		if r := pearson(xs, ys); r < 0.4 {
			t.Errorf("corr(mark, true ability − difficulty) = %.2f, want >= 0.4", r)
		}
	})
	t.Run("AnswersFollowTheHiddenAbility", func(t *testing.T) {
		res := map[string]int{}
		for i, r := range d.Resources {
			res[r.ID] = i
		}
		var lo, hi [2]int
		for _, s := range d.Statements {
			if s.Verb != datasets.VerbAnswered {
				continue
			}
			r := d.Resources[res[s.ObjectID]]
			v, _ := truth.Ability(s.StudentID, r.Competencies[0], max(weekOf(s.Timestamp)-1, 0))
			bin := &lo
			if v-truth.Difficulty[r.ID] > 0 {
				bin = &hi
			}
			bin[1]++
			if *s.Success {
				bin[0]++
			}
		}
		pl, ph := float64(lo[0])/float64(lo[1]), float64(hi[0])/float64(hi[1])
		t.Logf("answered right: %.2f when ability > difficulty, %.2f below (%d answers)", ph, pl, lo[1]+hi[1])
		if ph < pl+0.2 {
			t.Errorf("success rate %.2f when ability > difficulty, %.2f below: want a clear gap", ph, pl)
		}
	})
	t.Run("LessonsFollowThePrerequisites", func(t *testing.T) {
		first := map[[2]string]time.Time{}
		for _, l := range d.Lessons {
			for _, c := range l.Competencies {
				k := [2]string{l.ClassID, c}
				if _, ok := first[k]; !ok {
					first[k] = l.Start
				}
			}
		}
		comps := map[string]datasets.Competency{}
		for _, c := range d.Competencies {
			comps[c.ID] = c
		}
		for k, at := range first {
			for _, p := range comps[k[1]].Prerequisites {
				if comps[p].Level != comps[k[1]].Level {
					continue // taught in an earlier year
				}
				if pa, ok := first[[2]string{k[0], p}]; !ok || pa.After(at) {
					t.Fatalf("class %s: %s taught at %v before its prerequisite %s (%v)", k[0], k[1], at, p, pa)
				}
			}
		}
	})
}

func pearson(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ys[i] - my) * (ys[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}
