package recommender

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/parcours-ent/parcours/features"
)

// Exploration strategies (Config.Explore).
const (
	ExploreNone     = ""
	ExploreThompson = "thompson"
)

// thompson draws the predicted success of a resource from the posterior of the pupil's
// ability on its competency instead of taking the point estimate: Thompson sampling.
// The posterior is the student model's estimate with the Laplace variance of a Rasch
// ability under a N(0, 1) prior after n outcomes of information p(1−p) ≈ 0.2 each,
// 1/(1 + 0.2·n): wide
// where Parcours has seen little, so items off the apparent target get tried there and
// their outcomes, ingested, correct the estimate; narrow where it has seen much. The
// draw is seeded by the pupil, the competency and the profile's clock, so an answer is
// reproducible (and cacheable) until the pupil's data move.
func (e *Engine) thompson(prof *features.Profile, comp string, p float64) float64 {
	cs := prof.Competencies[comp]
	n := float64(cs.N + cs.GradeN)
	sd := 1 / math.Sqrt(1+0.2*n)
	z := drawNormal(e.cfg.Seed, prof.StudentID, comp, prof.AsOf)
	p = min(max(p, 1e-6), 1-1e-6)
	return sigmoid(math.Log(p/(1-p)) + sd*z)
}

func drawNormal(seed uint64, pupil, comp string, at time.Time) float64 {
	h := fnv.New64a()
	h.Write([]byte(pupil))
	h.Write([]byte{0})
	h.Write([]byte(comp))
	rng := rand.New(rand.NewPCG(seed^h.Sum64(), uint64(at.UnixNano())))
	return rng.NormFloat64()
}
