package recommender

import (
	"context"
	"fmt"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// fallback answers non-personalised suggestions for the pupil's level (then the level
// below) and the subject: popular, well-rated resources from the Refit aggregates. It
// reads nothing about the pupil but st. decisions is nil without consent (teacher
// decisions are personal data); with consent and no data they are honoured.
func (e *Engine) fallback(ctx context.Context, s *snapshot, st datasets.Student, decisions map[string]Decision, r Request) (Recommendations, error) {
	out := Recommendations{
		StudentID:    st.ID,
		ModelVersion: s.version,
		GeneratedAt:  e.cfg.Now(),
		Source:       SourceFallback,
	}
	ranked := e.fallbackRanked(s, st.Level, r.Subject, decisions)
	chosen := mmr(s.cat, ranked, r.K, e.cfg.Diversity, max(1, r.K/5))
	out.Items = make([]Item, 0, len(chosen))
	var avg features.Profile // an average pupil: no personal data
	for _, c := range chosen {
		res := &s.cat.Resources[c.idx]
		out.Items = append(out.Items, Item{
			ResourceID:   res.ID,
			Title:        res.Title,
			Subject:      res.Subject,
			Type:         res.Type,
			Competencies: append([]string(nil), res.Competencies...),
			Difficulty:   s.model.Difficulty(res),
			PSuccess:     round(s.model.Predict(&avg, res), 4),
			Score:        round(c.score, 6),
			Reasons:      explainFallback(s, res, c.pinned, r.Lang),
			URL:          res.URL,
		})
	}
	if decisions != nil && !r.Prefetch { // consenting pupil shown the list: the served log is theirs
		if err := e.logServed(ctx, out); err != nil {
			return Recommendations{}, fmt.Errorf("recommender.Recommend: %w", err)
		}
	}
	return out, nil
}

// fallbackRanked lists up to MaxCandidates resources of the level (then the level below)
// in popularity order, pinned ones first, rejected ones left out.
func (e *Engine) fallbackRanked(s *snapshot, level, subject string, decisions map[string]Decision) []scored {
	var out []scored
	seen := map[int]bool{}
	for _, id := range sortedKeys(decisions) {
		if decisions[id].Decision != DecisionPin {
			continue
		}
		if i, ok := s.cat.ResourceIndex(id); ok && (subject == "" || s.cat.Resources[i].Subject == subject) {
			seen[i] = true
			out = append(out, scored{idx: i, pinned: true, score: 10})
		}
	}
	for _, lv := range levelsFor(level) {
		for _, p := range s.popular[lv+"|"+subject] {
			if len(out) >= e.cfg.MaxCandidates {
				return out
			}
			if seen[p.idx] {
				continue
			}
			if d, ok := decisions[s.cat.Resources[p.idx].ID]; ok && d.Decision == DecisionReject {
				continue
			}
			seen[p.idx] = true
			// A tiny rank term keeps resources nobody used yet in popularity order.
			out = append(out, scored{idx: p.idx, score: p.score + 1e-6/float64(len(out)+1)})
		}
	}
	return out
}
