package features

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/optimize"
)

// The combination layer turns what a profile holds about the item's competencies into
// P(success): a logistic regression over
//
//	x = (1, θ_s − d_i, mean_c θ_sc, mean_c ln(1+S_sc), mean_c ln(1+F_sc), mean_c ln(1+Δdays_sc), mean_c R_sc)
//
// (global part of the Elo logit, per-competency part, PFA-style counts of weighted
// successes and failures, days since the latest evidence on the competency: forgetting,
// and R-PFA's recency-weighted success rate, R ← λ·R + (1 − λ)·(y − ½), λ = RecentDecay,
// centred so that no evidence reads ½).
// Its weights are fitted at each FitItems on the outcomes of the training pass, each
// predicted from the profile as it stood before that outcome, so the weights learn how
// far to trust the per-competency estimate (a shrinkage factor toward the global
// ability), how much practice and failures add, and how fast knowledge fades, and the
// output is calibrated. With no layer (too few outcomes, or ModelConfig.Plain) P is
// σ(θ_s + mean_c θ_sc − d_i), plain Elo.
const layerDim = 7

// RecentDecay is λ of the recency-weighted success rate (Galyardt & Goldin 2015 find
// 0.7–0.9 on tutoring logs).
const RecentDecay = 0.8

// priorLayer is the plain Elo logit: the weights the fit shrinks toward.
var priorLayer = [layerDim]float64{0, 1, 1, 0, 0, 0, 0}

// layerRidge is the L2 penalty (per outcome) pulling the weights toward priorLayer: it
// keeps them finite on separable or tiny training sets and costs nothing at 10⁴ outcomes.
const layerRidge = 1e-3

// maxLayerRows bounds the outcomes the fit keeps (a seeded reservoir sample), so that a
// refit over millions of events stays in memory and fast (the eval refits up to 100
// times).
const maxLayerRows = 20_000

type layerRow struct {
	x    [layerDim]float64
	y, w float64
}

// layerSample is a seeded reservoir of the training pass's outcomes.
type layerSample struct {
	rows []layerRow
	seen int
	rng  *rand.Rand
}

func newLayerSample() *layerSample {
	return &layerSample{rng: rand.New(rand.NewPCG(10, 10))}
}

func (s *layerSample) add(r layerRow) {
	s.seen++
	if len(s.rows) < maxLayerRows {
		s.rows = append(s.rows, r)
		return
	}
	if j := s.rng.IntN(s.seen); j < maxLayerRows {
		s.rows[j] = r
	}
}

// fitLayer fits the weights by L-BFGS (gonum) on the weighted log-loss plus the ridge
// toward priorLayer. It returns nil when the sample cannot support a fit: fewer than 50
// outcomes, or one class only.
func fitLayer(rows []layerRow) []float64 {
	pos, neg := 0.0, 0.0
	for _, r := range rows {
		pos += r.w * r.y
		neg += r.w * (1 - r.y)
	}
	if len(rows) < 50 || pos == 0 || neg == 0 {
		return nil
	}
	tw := pos + neg
	loss := func(b, grad []float64) float64 {
		clear(grad) // a nil grad (a loss-only call) is a no-op
		f := 0.0
		for i := range rows {
			r := &rows[i]
			z := 0.0
			for j := range layerDim {
				z += b[j] * r.x[j]
			}
			// log(1+e^z) − y·z and σ(z) from one exponential, stably.
			e := math.Exp(-math.Abs(z))
			sp, sg := math.Log(1+e), 1/(1+e)
			if z > 0 {
				sp += z
			} else {
				sg = e * sg
			}
			f += r.w * (sp - r.y*z)
			if grad != nil {
				g := r.w * (sg - r.y)
				for j := range layerDim {
					grad[j] += g * r.x[j]
				}
			}
		}
		f /= tw
		for j := range layerDim {
			d := b[j] - priorLayer[j]
			f += 0.5 * layerRidge * d * d
			if grad != nil {
				grad[j] = grad[j]/tw + layerRidge*d
			}
		}
		return f
	}
	// L-BFGS asks for the value and the gradient at the same point: one pass gives
	// both, cached by point.
	var lastX, lastG []float64
	var lastF float64
	both := func(b []float64) {
		if lastX != nil && slices.Equal(lastX, b) {
			return
		}
		lastX = append(lastX[:0], b...)
		lastG = make([]float64, layerDim)
		lastF = loss(b, lastG)
	}
	p := optimize.Problem{
		Func: func(b []float64) float64 { both(b); return lastF },
		Grad: func(grad, b []float64) { both(b); copy(grad, lastG) },
	}
	res, err := optimize.Minimize(p, priorLayer[:], &optimize.Settings{MajorIterations: 100, GradientThreshold: 1e-6}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil
	}
	for _, v := range res.X {
		if !finite(v) {
			return nil
		}
	}
	return res.X
}

// layerX computes the layer's inputs for one item from the profile at time t.
func (m *Model) rawLayerX(p *Profile, comps []string, d float64, t time.Time) [layerDim]float64 {
	x := [layerDim]float64{1, p.Global - d}
	if len(comps) == 0 {
		return x
	}
	inv := 1 / float64(len(comps))
	for _, c := range comps {
		cs := p.Competencies[c]
		x[2] += m.local(c, cs) * inv
		x[3] += math.Log1p(cs.Successes) * inv
		x[4] += math.Log1p(cs.Failures) * inv
		if !cs.LastEvidence.IsZero() && t.After(cs.LastEvidence) {
			x[5] += math.Log1p(t.Sub(cs.LastEvidence).Hours()/24) * inv
		}
		x[6] += cs.Recent * inv
	}
	return x
}

func layerDot(b []float64, x *[layerDim]float64) float64 {
	z := 0.0
	for j := range b {
		z += b[j] * x[j]
	}
	return z
}
