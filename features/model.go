package features

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// ModelConfig holds the student model's hyper-parameters.
type ModelConfig struct {
	Alpha float64 // K = Alpha / (1 + Beta·n), for pupils and items alike
	Beta  float64
	// GradeHalfLife is the age at which a grade weighs half in the grade features
	// (GradeMean, GradeWeight). Zero means DefaultGradeHalfLife.
	GradeHalfLife time.Duration
	// MinItemN is the number of attempts from which Difficulty trusts the learned
	// difficulty of a resource over the catalogue's. Zero means 5.
	MinItemN int
}

// DefaultGradeHalfLife is 60 days: a grade from the previous term weighs about a quarter.
const DefaultGradeHalfLife = 60 * 24 * time.Hour

// DefaultModelConfig returns the defaults: α = 1, β = 0.05, so the first observation
// moves an ability by up to 0.5 logit (|y − p| ≤ 1 times K ≈ 1) and the fiftieth by 0.29.
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Alpha: 1, Beta: 0.05, GradeHalfLife: DefaultGradeHalfLife, MinItemN: 5}
}

func (c ModelConfig) normalised() ModelConfig {
	if c.Alpha <= 0 || math.IsNaN(c.Alpha) {
		c.Alpha = 1
	}
	if c.Beta < 0 || math.IsNaN(c.Beta) {
		c.Beta = 0.05
	}
	if c.GradeHalfLife <= 0 {
		c.GradeHalfLife = DefaultGradeHalfLife
	}
	if c.MinItemN <= 0 {
		c.MinItemN = 5
	}
	return c
}

// k is the uncertainty-scaled step after n observations.
func (c ModelConfig) k(n int) float64 { return c.Alpha / (1 + c.Beta*float64(n)) }

// itemParam is the learned difficulty of one item and the attempts behind it.
type itemParam struct {
	D float64 `json:"d"`
	N int     `json:"n"`
}

// Model is the Elo/IRT student model: global item parameters (resource and assessment
// difficulties learned from all pupils) plus the rules that update one pupil.
// It is safe for concurrent reads; Fit and UnmarshalBinary need exclusive access.
// BuildProfile and Update never change the item parameters.
type Model struct {
	cfg       ModelConfig
	resources map[string]itemParam // by resource id; absent: its prior (see prior)
	assess    map[string]itemParam // by assessment id; absent: 0
	// offsets holds, per competency, the mean of (learned − catalogue) difficulty over
	// its learned resources (D) and their number (N); the key "" holds it over every
	// learned resource. An unseen resource starts at its catalogue difficulty plus the
	// mean offset of its competencies: on logs without a catalogue difficulty, the mean
	// difficulty of its skills' items.
	offsets map[string]itemParam
	// fitting holds the running sums of offsets while Fit learns items.
	fitting map[string]*offsetSum
	version string
	ref     atomic.Pointer[refTable] // derived from the parameters for one catalogue
}

// NewModel returns an empty model: every resource at its catalogue difficulty, every
// assessment at 0.
func NewModel(cfg ModelConfig) *Model {
	m := &Model{cfg: cfg.normalised(), resources: map[string]itemParam{}, assess: map[string]itemParam{}, offsets: map[string]itemParam{}}
	m.version = m.hash()
	return m
}

// Config returns the hyper-parameters in use.
func (m *Model) Config() ModelConfig { return m.cfg }

// Difficulty returns the learned difficulty of a resource, or its prior (catalogue
// difficulty plus its competencies' learned offset) when the model has seen fewer than
// MinItemN attempts: the prior is an expert's estimate corrected by what the model
// learned on similar items, better than a handful of answers.
func (m *Model) Difficulty(r *datasets.Resource) float64 {
	if ip, ok := m.resources[r.ID]; ok && ip.N >= m.cfg.MinItemN {
		return ip.D
	}
	return r.Difficulty + m.offset(r.Competencies)
}

// offsetSum accumulates the offsets of one competency's learned items during Fit.
type offsetSum struct {
	sum float64
	n   int
}

// offset is the mean over comps of their items' mean offset (learned − catalogue
// difficulty), skipping competencies without learned items; with none, the offset over
// every learned item; with no learned item at all, 0.
func (m *Model) offset(comps []string) float64 {
	mean := func(c string) (float64, bool) {
		if m.fitting != nil {
			if a := m.fitting[c]; a != nil && a.n > 0 {
				return a.sum / float64(a.n), true
			}
			return 0, false
		}
		ip, ok := m.offsets[c]
		return ip.D, ok && ip.N > 0
	}
	s, n := 0.0, 0
	for _, c := range comps {
		if v, ok := mean(c); ok {
			s += v
			n++
		}
	}
	if n > 0 {
		return s / float64(n)
	}
	v, _ := mean("")
	return v
}

// itemD is the difficulty used inside updates: the running estimate from the first
// attempt on, so that items learn; before that, the prior.
func (m *Model) itemD(o *obs) float64 {
	if o.assessment {
		return m.assess[o.item].D
	}
	if ip, ok := m.resources[o.item]; ok {
		return ip.D
	}
	return o.d0 + m.offset(o.comps)
}

// Predict returns P(success) of the pupil on the resource:
// σ(mean over the resource's competencies of Theta − Difficulty(r)), where a competency
// the profile does not hold counts at the pupil's global ability. A resource without
// competencies uses the global ability alone.
func (m *Model) Predict(p *Profile, r *datasets.Resource) float64 {
	return sigmoid(abilityOn(p, r.Competencies) - m.Difficulty(r))
}

func abilityOn(p *Profile, comps []string) float64 {
	if len(comps) == 0 {
		return p.Global
	}
	s := 0.0
	for _, c := range comps {
		s += p.Global + p.Competencies[c].Local
	}
	return s / float64(len(comps))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Version identifies the fitted parameters; it changes whenever they do.
func (m *Model) Version() string { return m.version }

type modelState struct {
	Format    int                  `json:"format"`
	Alpha     float64              `json:"alpha"`
	Beta      float64              `json:"beta"`
	HalfLifeS float64              `json:"grade_half_life_s"`
	MinItemN  int                  `json:"min_item_n"`
	Resources map[string]itemParam `json:"resources"`
	Assess    map[string]itemParam `json:"assessments"`
	Offsets   map[string]itemParam `json:"offsets"`
}

const modelFormat = 2

// MarshalBinary persists the fitted parameters (JSON, keys sorted, so the same
// parameters give the same bytes).
func (m *Model) MarshalBinary() ([]byte, error) {
	b, err := json.Marshal(modelState{Format: modelFormat, Alpha: m.cfg.Alpha, Beta: m.cfg.Beta,
		HalfLifeS: m.cfg.GradeHalfLife.Seconds(), MinItemN: m.cfg.MinItemN, Resources: m.resources, Assess: m.assess, Offsets: m.offsets})
	if err != nil {
		return nil, fmt.Errorf("features.Model.MarshalBinary: %w", err)
	}
	return b, nil
}

// UnmarshalBinary restores parameters written by MarshalBinary, configuration included.
func (m *Model) UnmarshalBinary(data []byte) error {
	var st modelState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("features.Model.UnmarshalBinary: %w", err)
	}
	if st.Format != modelFormat {
		return fmt.Errorf("features.Model.UnmarshalBinary: format %d, want %d", st.Format, modelFormat)
	}
	for _, ps := range []map[string]itemParam{st.Resources, st.Assess, st.Offsets} {
		for id, ip := range ps {
			if math.IsNaN(ip.D) || math.IsInf(ip.D, 0) || ip.N < 0 {
				return fmt.Errorf("features.Model.UnmarshalBinary: item %q: bad parameter", id)
			}
		}
	}
	m.cfg = ModelConfig{Alpha: st.Alpha, Beta: st.Beta, GradeHalfLife: time.Duration(st.HalfLifeS * float64(time.Second)), MinItemN: st.MinItemN}.normalised()
	m.resources, m.assess, m.offsets = st.Resources, st.Assess, st.Offsets
	if m.offsets == nil {
		m.offsets = map[string]itemParam{}
	}
	if m.resources == nil {
		m.resources = map[string]itemParam{}
	}
	if m.assess == nil {
		m.assess = map[string]itemParam{}
	}
	m.version = m.hash()
	m.ref.Store(nil)
	return nil
}

func (m *Model) hash() string {
	b, _ := json.Marshal(modelState{Format: modelFormat, Alpha: m.cfg.Alpha, Beta: m.cfg.Beta,
		HalfLifeS: m.cfg.GradeHalfLife.Seconds(), MinItemN: m.cfg.MinItemN, Resources: m.resources, Assess: m.assess, Offsets: m.offsets})
	h := sha256.Sum256(b)
	return "elo1-" + hex.EncodeToString(h[:6])
}

// step applies one observation to the pupil's abilities: the global and each
// per-competency ability move by w·K(n)·(y − p), each with its own count n; when
// learnItems, the item's difficulty moves the other way by w·K(n_item)·(y − p).
func (m *Model) step(p *Profile, o *obs, learnItems bool) {
	z := p.Global
	if len(o.comps) > 0 {
		s := 0.0
		for _, c := range o.comps {
			s += p.Competencies[c].Local
		}
		z += s / float64(len(o.comps))
	}
	err := o.y - sigmoid(z-m.itemD(o))
	p.Global += o.w * m.cfg.k(p.GlobalN) * err
	p.GlobalN++
	for _, c := range o.comps {
		cs := p.Competencies[c]
		cs.Local += o.w * m.cfg.k(cs.N) * err
		cs.N++
		if o.t.After(cs.LastEvidence) {
			cs.LastEvidence = o.t
		}
		p.Competencies[c] = cs
	}
	if !learnItems {
		return
	}
	if o.assessment {
		ip := m.assess[o.item]
		ip.D -= o.w * m.cfg.k(ip.N) * err
		ip.N++
		m.assess[o.item] = ip
		return
	}
	ip, ok := m.resources[o.item]
	if !ok {
		ip.D = o.d0 + m.offset(o.comps)
		m.addOffset(o.comps, ip.D-o.d0, 1)
	}
	delta := -o.w * m.cfg.k(ip.N) * err
	ip.D += delta
	ip.N++
	m.resources[o.item] = ip
	m.addOffset(o.comps, delta, 0)
}

// addOffset keeps the running offset sums of Fit current: an item's offset enters its
// competencies' sums (and the global one) when first seen and follows its updates.
func (m *Model) addOffset(comps []string, d float64, n int) {
	add := func(c string) {
		a := m.fitting[c]
		if a == nil {
			a = &offsetSum{}
			m.fitting[c] = a
		}
		a.sum += d
		a.n += n
	}
	for _, c := range comps {
		add(c)
	}
	add("")
}
