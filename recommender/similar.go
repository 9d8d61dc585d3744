package recommender

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
)

// Similar is the answer to GET /v1/resources/{id}/similar: resources of the same
// subject that train the same competencies at a close difficulty, or that pupils used
// together with it. It reads nothing about any pupil.
type Similar struct {
	ResourceID string        `json:"resource_id"`
	Items      []SimilarItem `json:"items"`
}

// SimilarItem is one similar resource, with why it is similar.
type SimilarItem struct {
	ResourceID   string   `json:"resource_id"`
	Title        string   `json:"title"`
	Subject      string   `json:"subject"`
	Type         string   `json:"type"`
	Competencies []string `json:"competencies"`
	Difficulty   float64  `json:"difficulty"`
	URL          string   `json:"url,omitempty"`
	Score        float64  `json:"score"`
	Reasons      []Reason `json:"reasons"`
}

// Similar returns up to k resources most like id: the share of competencies they have in
// common (Jaccard), plus how often pupils used both (co-usage, scaled to the strongest
// pair of id), minus a small penalty per logit of difficulty apart. hidden resources are
// left out. Ties go by resource id, so the answer is deterministic.
func (e *Engine) Similar(ctx context.Context, id string, k int, lang string, hidden []string) (Similar, error) {
	s := e.snap.Load()
	if k < 1 || k > MaxK {
		return Similar{}, datasets.Errorf(ErrInvalid, "k", "k=%d outside 1..%d", k, MaxK)
	}
	i, ok := s.cat.ResourceIndex(id)
	if !ok {
		return Similar{}, fmt.Errorf("recommender.Similar: resource %q: %w", id, ErrNotFound)
	}
	r := &s.cat.Resources[i]
	co := map[int32]float32{}
	var maxCo float32
	if i < len(s.co) {
		for _, edge := range s.co[i] {
			co[edge.to] += edge.s
			maxCo = max(maxCo, co[edge.to])
		}
	}
	type cand struct {
		idx            int
		score, jac, cu float64
		shared         []string
	}
	var cands []cand
	d0 := s.model.Difficulty(r)
	for j := range s.cat.Resources {
		o := &s.cat.Resources[j]
		if j == i || o.Subject != r.Subject || slices.Contains(hidden, o.ID) {
			continue
		}
		var shared []string
		for _, c := range o.Competencies {
			if slices.Contains(r.Competencies, c) {
				shared = append(shared, c)
			}
		}
		jac := float64(len(shared)) / float64(len(r.Competencies)+len(o.Competencies)-len(shared))
		cu := 0.0
		if maxCo > 0 {
			cu = float64(co[int32(j)] / maxCo)
		}
		if jac == 0 && cu == 0 {
			continue
		}
		score := jac + 0.5*cu - 0.1*math.Abs(s.model.Difficulty(o)-d0)
		cands = append(cands, cand{j, score, jac, cu, shared})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(s.cat.Resources[a.idx].ID, s.cat.Resources[b.idx].ID)
	})
	out := Similar{ResourceID: id, Items: make([]SimilarItem, 0, min(k, len(cands)))}
	en := isEN(lang)
	for _, c := range cands[:min(k, len(cands))] {
		o := &s.cat.Resources[c.idx]
		var reasons []Reason
		if len(c.shared) > 0 {
			labels := make([]string, len(c.shared))
			for n, cid := range c.shared {
				labels[n] = cid
				if comp, ok := s.cat.Competency(cid); ok {
					labels[n] = comp.Label
				}
			}
			msg := "Travaille les mêmes compétences : " + strings.Join(labels, ", ")
			if en {
				msg = "Trains the same competencies: " + strings.Join(labels, ", ")
			}
			reasons = append(reasons, Reason{Code: "same_competencies", Message: msg})
		}
		if c.cu > 0 {
			msg := "Souvent utilisée avec cette ressource"
			if en {
				msg = "Often used together with this resource"
			}
			reasons = append(reasons, Reason{Code: "used_together", Message: msg})
		}
		out.Items = append(out.Items, SimilarItem{ResourceID: o.ID, Title: o.Title, Subject: o.Subject, Type: o.Type,
			Competencies: slices.Clone(o.Competencies), Difficulty: round(s.model.Difficulty(o), 4), URL: o.URL,
			Score: round(c.score, 6), Reasons: reasons})
	}
	return out, nil
}
