package features

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
)

// Metrics are the next-answer prediction figures of `parcours eval mastery`.
type Metrics struct {
	AUC     float64 `json:"auc"`
	RMSE    float64 `json:"rmse"`
	LogLoss float64 `json:"log_loss"`
	N       int     `json:"n"`
}

// KTConfig configures the knowledge-tracing model of EvalMastery: the same Elo rule as
// the student model, K = Alpha / (1 + Beta·n), for students, student-skill pairs, items
// and skills.
type KTConfig struct {
	Alpha float64
	Beta  float64
	// GlobalOnly drops the per-skill abilities: plain item-level Elo, for ablations.
	GlobalOnly bool
}

// DefaultKTConfig is not tuned to any one data set: the student model's defaults.
func DefaultKTConfig() KTConfig { return KTConfig{Alpha: 1, Beta: 0.05} }

type ktParam struct {
	v float64
	n int
}

// ktModel is item-level Elo with a global and a per-skill ability per student:
// P(correct) = σ(θ_s + mean over the item's skills of θ_sk − d_i). An unseen item starts
// at the mean current difficulty of the items of its skills (averaged over skills), else
// at 0. An item without skills is its own skill.
type ktModel struct {
	cfg     KTConfig
	items   map[string]*ktParam
	skills  map[string]*ktParam // v: sum of the current difficulties of the skill's items, n: their number
	student map[string]*ktParam
	local   map[[2]string]*ktParam
	skbuf   []string
}

func newKT(cfg KTConfig) *ktModel {
	if cfg.Alpha <= 0 || math.IsNaN(cfg.Alpha) {
		cfg.Alpha = 1
	}
	if cfg.Beta < 0 || math.IsNaN(cfg.Beta) {
		cfg.Beta = 0.05
	}
	return &ktModel{cfg: cfg, items: map[string]*ktParam{}, skills: map[string]*ktParam{},
		student: map[string]*ktParam{}, local: map[[2]string]*ktParam{}}
}

func (m *ktModel) k(n int) float64 { return m.cfg.Alpha / (1 + m.cfg.Beta*float64(n)) }

func get[K comparable](mp map[K]*ktParam, k K) *ktParam {
	p := mp[k]
	if p == nil {
		p = &ktParam{}
		mp[k] = p
	}
	return p
}

func (m *ktModel) skillsOf(it *datasets.Interaction) []string {
	if len(it.Skills) > 0 {
		return it.Skills
	}
	m.skbuf = append(m.skbuf[:0], "item:"+it.ItemID)
	return m.skbuf
}

// skillDifficulty is the mean over the skills of the mean difficulty of their items, or
// 0 when none of them has an item yet.
func (m *ktModel) skillDifficulty(sk []string) float64 {
	d, n := 0.0, 0
	for _, s := range sk {
		if sp := m.skills[s]; sp != nil && sp.n > 0 {
			d += sp.v / float64(sp.n)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return d / float64(n)
}

func (m *ktModel) item(it *datasets.Interaction, sk []string) *ktParam {
	if p := m.items[it.ItemID]; p != nil {
		return p
	}
	p := &ktParam{v: m.skillDifficulty(sk)}
	m.items[it.ItemID] = p
	for _, s := range sk {
		sp := get(m.skills, s)
		sp.v += p.v
		sp.n++
	}
	return p
}

func (m *ktModel) predict(it *datasets.Interaction) float64 {
	sk := m.skillsOf(it)
	z := 0.0
	if s := m.student[it.StudentID]; s != nil {
		z = s.v
	}
	if !m.cfg.GlobalOnly {
		l := 0.0
		for _, k := range sk {
			if p := m.local[[2]string{it.StudentID, k}]; p != nil {
				l += p.v
			}
		}
		z += l / float64(len(sk))
	}
	var d float64
	if p := m.items[it.ItemID]; p != nil {
		d = p.v
	} else {
		d = m.skillDifficulty(sk)
	}
	return sigmoid(z - d)
}

func (m *ktModel) update(it *datasets.Interaction, p float64) {
	sk := m.skillsOf(it)
	y := 0.0
	if it.Correct {
		y = 1
	}
	err := y - p
	s := get(m.student, it.StudentID)
	s.v += m.k(s.n) * err
	s.n++
	if !m.cfg.GlobalOnly {
		for _, k := range sk {
			l := get(m.local, [2]string{it.StudentID, k})
			l.v += m.k(l.n) * err
			l.n++
		}
	}
	ip := m.item(it, sk)
	delta := -m.k(ip.n) * err
	ip.v += delta
	ip.n++
	for _, k := range sk {
		get(m.skills, k).v += delta // keeps each skill's sum of item difficulties current
	}
}

// ordered returns the interactions in the order the model sees them: by time when every
// row carries an RFC 3339 time (students interleaved as they happened), else student by
// student in order of first appearance, each student's rows by their order. Stable.
func ordered(its []datasets.Interaction) []datasets.Interaction {
	out := append([]datasets.Interaction(nil), its...)
	timed := true
	for i := range out {
		timed = timed && out[i].Timed()
	}
	if timed {
		sort.SliceStable(out, func(a, b int) bool { return out[a].Time.Before(out[b].Time) })
		return out
	}
	first := map[string]int{}
	for i := range out {
		if _, ok := first[out[i].StudentID]; !ok {
			first[out[i].StudentID] = len(first)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		fa, fb := first[out[a].StudentID], first[out[b].StudentID]
		if fa != fb {
			return fa < fb
		}
		return out[a].Before(out[b])
	})
	return out
}

// ErrNoTestRows is returned by EvalMastery when the test log is empty.
var ErrNoTestRows = errors.New("no test interactions")

// EvalMastery fits the knowledge-tracing model on train, then walks test in time order:
// each answer is predicted before the model (student, skill and item parameters alike)
// is updated on it. Empty ids are an error wrapping datasets.ErrInvalid.
func EvalMastery(train, test []datasets.Interaction, cfg KTConfig) (Metrics, error) {
	for name, its := range map[string][]datasets.Interaction{"train": train, "test": test} {
		for i := range its {
			if its[i].StudentID == "" || its[i].ItemID == "" {
				return Metrics{}, fmt.Errorf("features.EvalMastery: %s row %d: %w", name, i+1, datasets.ErrInvalid)
			}
		}
	}
	if len(test) == 0 {
		return Metrics{}, fmt.Errorf("features.EvalMastery: %w", ErrNoTestRows)
	}
	m := newKT(cfg)
	for _, it := range ordered(train) {
		m.update(&it, m.predict(&it))
	}
	ts := ordered(test)
	ps := make([]float64, len(ts))
	ys := make([]bool, len(ts))
	for i := range ts {
		ps[i] = m.predict(&ts[i])
		ys[i] = ts[i].Correct
		m.update(&ts[i], ps[i])
	}
	return Score(ps, ys), nil
}

// Score computes the metrics of predictions ps against outcomes ys: AUC by ranks (ties
// share their average rank, so it equals the Mann–Whitney statistic; 0.5 when one class
// is absent), RMSE, and log-loss with p clipped to [1e-15, 1 − 1e-15].
func Score(ps []float64, ys []bool) Metrics {
	if len(ps) != len(ys) {
		panic("features.Score: length mismatch")
	}
	n := len(ps)
	mt := Metrics{N: n}
	if n == 0 {
		return mt
	}
	se, ll := 0.0, 0.0
	for i, p := range ps {
		y := 0.0
		if ys[i] {
			y = 1
		}
		se += (p - y) * (p - y)
		q := min(max(p, 1e-15), 1-1e-15)
		ll -= y*math.Log(q) + (1-y)*math.Log(1-q)
	}
	mt.RMSE = math.Sqrt(se / float64(n))
	mt.LogLoss = ll / float64(n)
	mt.AUC = auc(ps, ys)
	return mt
}

func auc(ps []float64, ys []bool) float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	var rankSum float64
	pos := 0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && ps[idx[j]] == ps[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for t := i; t < j; t++ {
			if ys[idx[t]] {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := len(ps) - pos
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}
