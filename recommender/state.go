package recommender

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// stateFormat versions the envelope written with Store.PutModelState.
const stateFormat = 2

// state is the envelope persisted as the store's opaque model state: what New needs to
// serve without refitting.
type state struct {
	Format        int        `json:"format"`
	CatalogueHash string     `json:"catalogue_hash"`
	Model         []byte     `json:"model"`
	Layout        []byte     `json:"layout,omitempty"`
	Aggregates    aggregates `json:"aggregates"`
}

// aggregates are computed at Refit over consenting pupils and hold no pupil id: they back
// the non-personalised suggestions and the similar_pupils evidence.
type aggregates struct {
	// Usage counts, per resource, the consenting pupils who used it and their outcomes.
	Usage map[string]usageStat `json:"usage"`
	// Progress counts, per resource, pupils weak on one of its competencies before first
	// using it, and how many of them then progressed on it.
	Progress map[string]progressStat `json:"progress"`
	// Clock is the latest event time (not after the wall clock) at Refit: the "now" of
	// the data that profiles are computed as of.
	Clock time.Time `json:"clock"`
	// Syllabus, CoUsage and Ranker back the personalised ranking (rankfit.go).
	Syllabus syllabus           `json:"syllabus"`
	CoUsage  map[string][]coHit `json:"co_usage,omitempty"`
	Ranker   *ranker            `json:"ranker,omitempty"`
	Target   *targetChoice      `json:"target,omitempty"`
}

type usageStat struct {
	Users     int `json:"users"`
	Attempts  int `json:"attempts"` // statements with an outcome
	Successes int `json:"successes"`
}

type progressStat struct {
	Weak       int `json:"weak"`
	Progressed int `json:"progressed"`
}

func encodeState(cat *datasets.Catalogue, m *features.Model, l *features.Layout, agg aggregates) ([]byte, error) {
	mb, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	st := state{Format: stateFormat, CatalogueHash: catalogueHash(cat), Model: mb, Aggregates: agg}
	if bm, ok := any(l).(encoding.BinaryMarshaler); ok {
		if st.Layout, err = bm.MarshalBinary(); err != nil {
			return nil, fmt.Errorf("marshal layout: %w", err)
		}
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("marshal state: %w", err)
	}
	return raw, nil
}

func decodeState(raw []byte) (state, error) {
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return state{}, fmt.Errorf("decode state: %w", err)
	}
	if st.Format != stateFormat {
		return state{}, fmt.Errorf("decode state: format %d, want %d", st.Format, stateFormat)
	}
	return st, nil
}

// unmarshalLayout restores a persisted layout. It reports false when the layout cannot
// be persisted (then New refits instead of guessing a layout the vectors were not made with).
func unmarshalLayout(raw []byte) (*features.Layout, bool) {
	l := new(features.Layout)
	bu, ok := any(l).(encoding.BinaryUnmarshaler)
	if !ok || len(raw) == 0 {
		return nil, false
	}
	if err := bu.UnmarshalBinary(raw); err != nil {
		return nil, false
	}
	return l, true
}

// catalogueHash identifies a catalogue's content, so a state fitted on another catalogue
// is never served.
func catalogueHash(cat *datasets.Catalogue) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(cat.Competencies) // hashing never fails
	_ = enc.Encode(cat.Resources)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// computeAggregates derives the usage and progress counts from the consenting pupils'
// events. Counts only: no pupil id survives.
func computeAggregates(cat *datasets.Catalogue, pupils []features.PupilEvents) aggregates {
	a := newAggregator(cat)
	for i := range pupils {
		a.add(&pupils[i])
	}
	return a.result()
}

// aggregator is computeAggregates pupil by pupil, for a refit that streams pupils: its
// memory is bounded by the catalogue.
type aggregator struct {
	cat   *datasets.Catalogue
	agg   aggregates
	first map[string]time.Time
}

func newAggregator(cat *datasets.Catalogue) *aggregator {
	return &aggregator{cat: cat, agg: aggregates{Usage: map[string]usageStat{}, Progress: map[string]progressStat{}},
		first: map[string]time.Time{}}
}

func (a *aggregator) add(ev *features.PupilEvents) {
	cat, agg, first := a.cat, &a.agg, a.first
	clear(first)
	for _, s := range ev.Statements {
		if _, ok := cat.ResourceIndex(s.ObjectID); !ok {
			continue
		}
		u := agg.Usage[s.ObjectID]
		if _, seen := first[s.ObjectID]; !seen {
			first[s.ObjectID] = s.Timestamp
			u.Users++
		}
		if ok, has := s.Outcome(); has {
			u.Attempts++
			if ok {
				u.Successes++
			}
		}
		agg.Usage[s.ObjectID] = u
	}
	for rid, t := range first {
		r, _ := cat.Resource(rid)
		weak, progressed := progressAround(ev.Grades, r.Competencies, t)
		if !weak {
			continue
		}
		p := agg.Progress[rid]
		p.Weak++
		if progressed {
			p.Progressed++
		}
		agg.Progress[rid] = p
	}
}

func (a *aggregator) result() aggregates { return a.agg }

// progressAround tells whether the pupil was weak (grade mean under half marks) on one
// of comps before t, and whether their grades on it after t rose by at least a tenth of
// the scale.
func progressAround(grades []datasets.Grade, comps []string, t time.Time) (weak, progressed bool) {
	for _, c := range comps {
		var bs, bw, as, aw float64
		for _, g := range grades {
			if !g.Scored() || g.OutOf <= 0 || !contains(g.Competencies, c) {
				continue
			}
			w := g.Coefficient
			if w <= 0 {
				w = 1
			}
			if g.Date.Before(t) {
				bs += w * g.Score / g.OutOf
				bw += w
			} else {
				as += w * g.Score / g.OutOf
				aw += w
			}
		}
		if bw == 0 || bs/bw >= 0.5 {
			continue
		}
		weak = true
		if aw > 0 && as/aw >= bs/bw+0.1 {
			return true, true
		}
	}
	return weak, false
}

// popular is a resource ranked for non-personalised suggestions.
type popular struct {
	idx   int // into the catalogue's resources
	score float64
}

// rankPopular orders, for every "level|subject" and "level|" key, the catalogue's
// resources from most to least suggested without personal data: smoothed success among
// users weighted by how many used it, then closeness of an average pupil's predicted
// success to the target, then id.
func rankPopular(cat *datasets.Catalogue, m *features.Model, agg aggregates, target float64) map[string][]popular {
	out := map[string][]popular{}
	avg := features.Profile{}
	closeness := make([]float64, len(cat.Resources))
	for i := range cat.Resources {
		r := &cat.Resources[i]
		u := agg.Usage[r.ID]
		s := 0.0
		if u.Users > 0 {
			rate := (float64(u.Successes) + 1) / (float64(u.Attempts) + 2)
			s = rate * float64(u.Users) / float64(u.Users+3)
		}
		closeness[i] = math.Abs(m.Predict(&avg, r) - target)
		p := popular{idx: i, score: s}
		out[r.Level+"|"+r.Subject] = append(out[r.Level+"|"+r.Subject], p)
		out[r.Level+"|"] = append(out[r.Level+"|"], p)
	}
	for _, list := range out {
		sort.Slice(list, func(a, b int) bool {
			pa, pb := list[a], list[b]
			if pa.score != pb.score {
				return pa.score > pb.score
			}
			if closeness[pa.idx] != closeness[pb.idx] {
				return closeness[pa.idx] < closeness[pb.idx]
			}
			return cat.Resources[pa.idx].ID < cat.Resources[pb.idx].ID
		})
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
