package recommender

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// rankerFormat versions the re-ranker's feature list: a stored ranker of another format
// is not used (the engine refits).
const rankerFormat = 1

// Features of a candidate, in the order of the re-ranker's weights. Each is 0..1 or a
// small count, so that one L2 penalty suits all of them.
const (
	fBias       = iota
	fFit        // closeness of the predicted success to the target band
	fPSuccess   // the predicted success itself
	fNeed       // need on the driving competency
	fSylCurrent // a competency of the chapter the pupil's class is on
	fSylPrev    // of one of the two chapters before it
	fSylNext    // of one of the two chapters the class usually does next
	fCoUsage    // log(1 + summed co-usage with what the pupil used)
	fNeighbours // share of the pupil's nearest profiles who succeeded on it
	fSeen       // used before, not completed
	fCompleted  // completed before
	fStudy      // a video or a sheet (teaching, not practice)
	fMissed     // covers a lesson the pupil missed recently
	fBelow      // of the level below the pupil's
	fUnblocks   // a prerequisite of a competency the pupil needs
	nFeatures
)

var featureNames = [nFeatures]string{"bias", "fit", "p_success", "need", "syllabus_current", "syllabus_previous",
	"syllabus_next", "co_usage", "neighbours", "seen", "completed", "study", "missed_lesson", "level_below", "unblocks"}

// ranker is the fitted re-ranker: a logistic regression of "the pupil then succeeds on
// the resource" on the candidate's features, fitted at Refit on a temporal validation
// split of the logged data (see fitRanker). It is stored in the model state.
type ranker struct {
	Format   int       `json:"format"`
	Features []string  `json:"features"`
	Weights  []float64 `json:"weights"`
	// What the fit saw: rows (candidates), positives, pupils, and the mean log loss of
	// the fitted model and of the base rate on those rows (the fit must beat it).
	Rows        int     `json:"rows"`
	Positives   int     `json:"positives"`
	Pupils      int     `json:"pupils"`
	LogLoss     float64 `json:"log_loss"`
	BaseLogLoss float64 `json:"base_log_loss"`
}

// usable tells whether the ranker was fitted with this build's features.
func (r *ranker) usable() bool {
	return r != nil && r.Format == rankerFormat && len(r.Weights) == nFeatures
}

// logit is w·x: the ranking score before the logistic link (monotone in it).
func (r *ranker) logit(x *[nFeatures]float64) float64 {
	s := 0.0
	for i, w := range r.Weights {
		s += w * x[i]
	}
	return s
}

// errTooFewRows means the logged data hold too little to fit the re-ranker.
var errTooFewRows = errors.New("too few rows to fit the re-ranker")

// minPositives is the fewest positive rows a fit needs.
const minPositives = 30

// fitLogistic fits an L2-penalised logistic regression of y (0/1) on rows by L-BFGS
// (gonum/optimize). The bias is not penalised.
func fitLogistic(rows [][nFeatures]float64, y []bool, l2 float64) (*ranker, error) {
	pos := 0
	for _, v := range y {
		if v {
			pos++
		}
	}
	if pos < minPositives || len(rows)-pos < minPositives {
		return nil, fmt.Errorf("%w: %d rows, %d positive", errTooFewRows, len(rows), pos)
	}
	n := float64(len(rows))
	base := float64(pos) / n
	p := optimize.Problem{
		Func: func(w []float64) float64 {
			loss := 0.0
			for i := range rows {
				loss += logLoss(dot(w, &rows[i]), y[i])
			}
			return loss/n + penalty(w, l2)
		},
		Grad: func(g, w []float64) {
			for j := range g {
				g[j] = 0
			}
			for i := range rows {
				r := sigmoid(dot(w, &rows[i]))
				if y[i] {
					r--
				}
				for j := range g {
					g[j] += r * rows[i][j]
				}
			}
			for j := range g {
				g[j] /= n
				if j != fBias {
					g[j] += 2 * l2 * w[j]
				}
			}
		},
	}
	init := make([]float64, nFeatures)
	init[fBias] = math.Log(base / (1 - base))
	res, err := optimize.Minimize(p, init, &optimize.Settings{GradientThreshold: 1e-7, MajorIterations: 200}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("fit re-ranker: %w", err)
	}
	rk := &ranker{Format: rankerFormat, Features: featureNames[:], Weights: res.X, Rows: len(rows), Positives: pos}
	for i := range rows {
		rk.LogLoss += logLoss(dot(res.X, &rows[i]), y[i])
		rk.BaseLogLoss += logLoss(init[fBias], y[i])
	}
	rk.LogLoss /= n
	rk.BaseLogLoss /= n
	return rk, nil
}

func dot(w []float64, x *[nFeatures]float64) float64 {
	s := 0.0
	for j, v := range w {
		s += v * x[j]
	}
	return s
}

func penalty(w []float64, l2 float64) float64 {
	s := 0.0
	for j, v := range w {
		if j != fBias {
			s += v * v
		}
	}
	return l2 * s
}

// logLoss is −log P(y) under the logistic model with logit z, computed stably.
func logLoss(z float64, y bool) float64 {
	if !y {
		z = -z
	}
	if z > 0 {
		return math.Log1p(math.Exp(-z))
	}
	return -z + math.Log1p(math.Exp(z))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
