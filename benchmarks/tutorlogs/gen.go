// Package tutorlogs generates tutoring-style interaction logs from learner models that
// are NOT the student model of features/ (BKT with slip and guess, PFA, conjunctive
// multi-skill BKT), to check that `eval mastery` holds against a tuned plain Elo on
// data it was not built from. Seeded: same Spec, same logs.
package tutorlogs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// Kind is the generating model.
type Kind string

const (
	// BKT: each skill known or not; learning with probability learn at each practice;
	// P(correct) = 1 − slip when known, guess otherwise (per skill parameters).
	BKT Kind = "bkt"
	// PFA: logit P = ability + ease(skill) + easeItem + γ(skill)·successes + ρ(skill)·failures.
	PFA Kind = "pfa"
	// Conjunctive: items need two or three skills, each BKT; correct needs all known
	// (else guess), less slip.
	Conjunctive Kind = "conjunctive"
)

// Spec describes one log pair.
type Spec struct {
	Kind     Kind
	Students int // split 70/30 into train and test by student
	Skills   int
	Items    int // items per skill (BKT, PFA) or in all (conjunctive)
	Length   int // answers per student
	// ItemLevel writes the item id (several items per skill); otherwise the item id is
	// the skill id (skill-level log).
	ItemLevel bool
	Timed     bool // RFC 3339 times (minutes apart, day gaps) instead of integer orders
	Seed      uint64
}

// Generate returns the train and test logs.
func Generate(sp Spec) (train, test []datasets.Interaction) {
	rng := rand.New(rand.NewPCG(sp.Seed, 0x7075))
	type skill struct{ init, learn, slip, guess, ease, gamma, rho float64 }
	sk := make([]skill, sp.Skills)
	for i := range sk {
		sk[i] = skill{init: 0.1 + 0.5*rng.Float64(), learn: 0.05 + 0.25*rng.Float64(), slip: 0.05 + 0.15*rng.Float64(),
			guess: 0.1 + 0.25*rng.Float64(), ease: rng.NormFloat64(), gamma: 0.1 + 0.3*rng.Float64(), rho: -0.1 + 0.2*rng.Float64()}
	}
	type item struct {
		skills []int
		ease   float64
	}
	var items []item
	if sp.Kind == Conjunctive {
		for range sp.Items {
			k := 1 + rng.IntN(3)
			perm := rng.Perm(sp.Skills)[:k]
			items = append(items, item{skills: perm, ease: 0.5 * rng.NormFloat64()})
		}
	} else {
		for s := range sp.Skills {
			for range sp.Items {
				items = append(items, item{skills: []int{s}, ease: 0.7 * rng.NormFloat64()})
			}
		}
	}
	start := time.Date(2024, 9, 2, 8, 0, 0, 0, time.UTC)
	for st := range sp.Students {
		id := fmt.Sprintf("st%05d", st)
		ability := rng.NormFloat64()
		known := make([]bool, sp.Skills)
		for s := range known {
			// Stronger pupils know more at the start (BKT prior shifted by ability).
			known[s] = rng.Float64() < sigmoid(logit(sk[s].init)+0.8*ability)
		}
		succ, fail := make([]float64, sp.Skills), make([]float64, sp.Skills)
		t := start.Add(time.Duration(rng.IntN(14*24)) * time.Hour)
		// Pupils work skill by skill in short runs, as in a tutor's problem sets.
		cur := rng.IntN(len(items))
		for n := range sp.Length {
			if n%5 == 0 || rng.Float64() < 0.3 {
				cur = rng.IntN(len(items))
			}
			it := items[cur]
			var p float64
			switch sp.Kind {
			case PFA:
				s := it.skills[0]
				p = sigmoid(ability + sk[s].ease + it.ease + sk[s].gamma*succ[s] + sk[s].rho*fail[s] - 0.5)
			default:
				all := true
				slip, guess := 0.0, 1.0
				for _, s := range it.skills {
					all = all && known[s]
					slip = max(slip, sk[s].slip)
					guess = min(guess, sk[s].guess)
				}
				if all {
					p = 1 - slip
				} else {
					p = guess
				}
				if sp.ItemLevel {
					p = sigmoid(logit(p) + it.ease)
				}
			}
			ok := rng.Float64() < p
			for _, s := range it.skills {
				if ok {
					succ[s]++
				} else {
					fail[s]++
				}
				if !known[s] && rng.Float64() < sk[s].learn {
					known[s] = true
				}
			}
			row := datasets.Interaction{StudentID: id, Correct: ok}
			for _, s := range it.skills {
				row.Skills = append(row.Skills, fmt.Sprintf("sk%03d", s))
			}
			if sp.ItemLevel || sp.Kind == Conjunctive {
				row.ItemID = fmt.Sprintf("it%05d", cur)
			} else {
				row.ItemID = row.Skills[0]
			}
			if sp.Timed {
				t = t.Add(time.Duration(1+rng.IntN(5)) * time.Minute)
				if rng.Float64() < 0.1 {
					t = t.Add(time.Duration(1+rng.IntN(7)) * 24 * time.Hour)
				}
				row.Time = t
			} else {
				row.Order = int64(n + 1)
			}
			if st%10 < 7 {
				train = append(train, row)
			} else {
				test = append(test, row)
			}
		}
	}
	return train, test
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func logit(p float64) float64 {
	p = min(max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}
