package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/parcours-ent/parcours/datasets"
)

// graphSeed fixes the shape of the competency graph: like a national programme, the
// prerequisites are the same for every académie the generator builds. The seed of a
// Config changes difficulties, the catalogue and the pupils, never the programme.
const graphSeed = 0x5eed_c0de_2025

// Resource type codes, in the order the simulator switches on them.
const (
	typeExercise uint8 = iota
	typeQuiz
	typeVideo
	typeSheet
)

var typeNames = [...]string{datasets.ResourceExercise, datasets.ResourceQuiz, datasets.ResourceVideo, datasets.ResourceSheet}

// curriculum is the read-only world every pupil lives in: the competency graph with
// true difficulties, and the resource catalogue with true difficulties.
type curriculum struct {
	comps    []datasets.Competency
	compDiff []float64 // true difficulty of each competency
	compLvl  []int
	compSubj []int
	compHash []uint64 // hash of the id: pupil-specific draws follow ids, not positions
	prereq   [][]int32
	levelLo  [8]int        // competencies of level L are [levelLo[L], levelLo[L+1])
	plan     [6][7][]int32 // subject × level: competencies in the programme's order
	compIdx  map[string]int

	res      []datasets.Resource // Difficulty: the editor's estimate, as published
	resDiff  []float64           // true difficulty
	resComps [][]int32
	resType  []uint8
	byComp   [][]int32
	byLevel  [7][]int32
	resIdx   map[string]int
}

func newCurriculum(seed uint64, perComp int) *curriculum {
	c := &curriculum{compIdx: map[string]int{}, resIdx: map[string]int{}}
	graph := rand.New(rand.NewPCG(graphSeed, 1))
	diff := rand.New(rand.NewPCG(seed, 0xd1ff))
	for lvl, level := range datasets.Levels {
		c.levelLo[lvl] = len(c.comps)
		for si, subj := range subjects {
			labels := programme[subj][level]
			prev := c.plan[si][max(lvl-1, 0)]
			if lvl == 0 {
				prev = nil
			}
			for i, label := range labels {
				k := len(c.comps)
				id := fmt.Sprintf("%s-%s-%02d", subj, level, i+1)
				var pre []int32
				if i > 0 && (i%3 != 0 || graph.Float64() < 0.5) {
					pre = append(pre, int32(k-1))
				}
				if i > 1 && graph.Float64() < 0.3 {
					if j := graph.IntN(i - 1); j != i-1 {
						pre = append(pre, int32(k-i+j))
					}
				}
				if len(prev) > 0 && graph.Float64() < 0.7 {
					pos := min(int(math.Round(float64(i)*float64(len(prev))/float64(len(labels)))), len(prev)-1)
					pre = append(pre, prev[pos])
				}
				ids := make([]string, len(pre))
				for n, p := range pre {
					ids[n] = c.comps[p].ID
				}
				c.comps = append(c.comps, datasets.Competency{ID: id, Subject: subj, Level: level, Label: label, Prerequisites: ids})
				c.compDiff = append(c.compDiff, round2(0.5*diff.NormFloat64()+0.04*float64(i-len(labels)/2)))
				c.compLvl = append(c.compLvl, lvl)
				c.compHash = append(c.compHash, hashID(id))
				c.compSubj = append(c.compSubj, si)
				c.prereq = append(c.prereq, pre)
				c.compIdx[id] = k
				c.plan[si][lvl] = append(c.plan[si][lvl], int32(k))
			}
		}
	}
	c.levelLo[7] = len(c.comps)
	c.buildResources(rand.New(rand.NewPCG(seed, 0x7e5)), perComp)
	return c
}

var (
	typeWeights = [...]float64{0.40, 0.25, 0.20, 0.15}
	typeTitle   = [...]string{"Exercices", "Quiz", "Vidéo", "Fiche de cours"}
	tierTitle   = [...]string{"découverte", "entraînement", "approfondissement"}
)

// buildResources makes about perComp resources per competency. Exercises and quizzes
// spread widely around the competency's difficulty so that every pupil has something in
// reach; videos and lesson sheets sit a little below it. The published difficulty is the
// editor's estimate: the true one plus noise, as a real catalogue's would be.
func (c *curriculum) buildResources(rng *rand.Rand, perComp int) {
	c.byComp = make([][]int32, len(c.comps))
	for k := range c.comps {
		n := max(4, int(math.Round(float64(perComp)*(0.7+0.6*rng.Float64()))))
		for v := 0; v < n; v++ {
			t := pickWeighted(rng, typeWeights[:])
			var b float64
			if uint8(t) <= typeQuiz {
				b = c.compDiff[k] + 0.9*rng.NormFloat64()
			} else {
				b = c.compDiff[k] - 0.5 + 0.6*rng.NormFloat64()
			}
			comps := []int32{int32(k)}
			if rng.Float64() < 0.3 {
				if pre := c.prereq[k]; len(pre) > 0 && c.compLvl[pre[0]] == c.compLvl[k] {
					comps = append(comps, pre[0])
				}
			}
			tier := 1
			if b < c.compDiff[k]-0.5 {
				tier = 0
			} else if b > c.compDiff[k]+0.5 {
				tier = 2
			}
			dur := [...]int{10 + rng.IntN(21), 5 + rng.IntN(11), 3 + rng.IntN(10), 5 + rng.IntN(11)}[t]
			ids := make([]string, len(comps))
			for i, x := range comps {
				ids[i] = c.comps[x].ID
			}
			r := datasets.Resource{
				ID:           fmt.Sprintf("res-%05d", len(c.res)+1),
				Title:        fmt.Sprintf("%s : %s (%s %d)", typeTitle[t], c.comps[k].Label, tierTitle[tier], v+1),
				Subject:      c.comps[k].Subject,
				Level:        c.comps[k].Level,
				Type:         typeNames[t],
				Competencies: ids,
				Difficulty:   round1(b + 0.35*rng.NormFloat64()),
				DurationMin:  dur,
			}
			i := int32(len(c.res))
			c.resIdx[r.ID] = len(c.res)
			c.res = append(c.res, r)
			c.resDiff = append(c.resDiff, round2(b))
			c.resComps = append(c.resComps, comps)
			c.resType = append(c.resType, uint8(t))
			for _, x := range comps {
				c.byComp[x] = append(c.byComp[x], i)
			}
			c.byLevel[c.compLvl[k]] = append(c.byLevel[c.compLvl[k]], i)
		}
	}
}

func pickWeighted(rng *rand.Rand, w []float64) int {
	u := rng.Float64()
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

// roundTo rounds x to a multiple of 1/scale, with no negative zero in the output.
func roundTo(x, scale float64) float64 {
	r := math.Round(x*scale) / scale
	if r == 0 {
		return 0
	}
	return r
}

func round1(x float64) float64 { return roundTo(x, 10) }
func round2(x float64) float64 { return roundTo(x, 100) }
func round4(x float64) float64 { return roundTo(x, 1e4) }
