package offline

// summarise turns per-pupil scores into a PolicyReport with CIs, by-k and slices.
func summarise(ps *pupilScores, es evalSet, cfg Config, catalogue int) *PolicyReport {
	pr := &PolicyReport{CI: map[string]Interval{}, ByK: map[int]map[string]float64{}, Slices: map[string][]Slice{},
		SliceGaps: map[string]map[string]Gap{}, PrereqViolations: ps.viol, Coverage: Coverage(ps.lists, catalogue)}
	for i, m := range rankingMetrics {
		pr.CI[m] = Bootstrap(ps.m[m], cfg.Resamples, 0.95, cfg.Seed+uint64(i))
	}
	pr.NDCG, pr.Recall, pr.HitRate = pr.CI[MNDCG].Mean, pr.CI[MRecall].Mean, pr.CI[MHit].Mean
	pr.MRR, pr.Novelty, pr.Diversity = pr.CI[MMRR].Mean, pr.CI[MNovelty].Mean, pr.CI[MDivers].Mean
	for k, ms := range ps.byK {
		pr.ByK[k] = map[string]float64{}
		for m, xs := range ms {
			pr.ByK[k][m] = mean(xs)
		}
	}
	for kind, labels := range es.slices {
		groups := map[string][]int{}
		var order []string
		for i, l := range labels {
			if groups[l] == nil {
				order = append(order, l)
			}
			groups[l] = append(groups[l], i)
		}
		sortLabels(order)
		gaps := map[string]Gap{}
		for _, l := range order {
			sl := Slice{Label: l, Pupils: len(groups[l]), Values: map[string]float64{}}
			for _, m := range []string{MNDCG, MRecall, MHit} {
				s := 0.0
				for _, i := range groups[l] {
					s += ps.m[m][i]
				}
				sl.Values[m] = s / float64(len(groups[l]))
			}
			pr.Slices[kind] = append(pr.Slices[kind], sl)
		}
		for _, m := range []string{MNDCG, MRecall, MHit} {
			var g Gap
			best, worst := -1.0, 2.0
			for _, sl := range pr.Slices[kind] {
				if sl.Pupils < minSlice && len(pr.Slices[kind]) > 1 {
					continue
				}
				if v := sl.Values[m]; v > best {
					best, g.Best = v, sl.Label
				}
				if v := sl.Values[m]; v < worst {
					worst, g.Worst = v, sl.Label
				}
			}
			if g.Best != "" {
				g.Gap = best - worst
			}
			gaps[m] = g
		}
		pr.SliceGaps[kind] = gaps
	}
	return pr
}

// minSlice is the smallest slice the best−worst gap considers (tiny slices are noise).
const minSlice = 20
