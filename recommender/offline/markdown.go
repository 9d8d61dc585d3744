package offline

import (
	"fmt"
	"strings"
	"time"
)

func ci(iv Interval) string { return fmt.Sprintf("%.4f [%.4f, %.4f]", iv.Mean, iv.Lo, iv.Hi) }

// verdict compares Parcours with every other policy on a metric, CIs included.
func verdict(rep *Report, metric string, get func(*PolicyReport) (Interval, bool)) []string {
	base, ok := get(rep.Policies["parcours"])
	if !ok || (metric == "NDCG@k" && !rep.RankingEvaluable) {
		return nil
	}
	var out []string
	for _, n := range rep.Order {
		if n == "parcours" {
			continue
		}
		o, ok := get(rep.Policies[n])
		if !ok {
			continue
		}
		var v string
		switch {
		case base.Lo > o.Hi:
			v = "Parcours **beats** it (95% CIs do not overlap)"
		case base.Hi < o.Lo:
			v = "Parcours **loses** to it (95% CIs do not overlap)"
		case base.Mean > o.Mean:
			v = "Parcours is ahead but the CIs overlap: **not shown**"
		default:
			v = "Parcours is behind or equal, CIs overlap: **not shown**"
		}
		out = append(out, fmt.Sprintf("- %s vs `%s`: %s vs %s — %s", metric, n, ci(base), ci(o), v))
	}
	return out
}

func markdown(rep *Report, plots []string) string {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	p("# Offline evaluation of Parcours recommendations")
	p("")
	p("Data: `%s` — %d pupils, %d resources; seed %d; k = %d; run time %s.", rep.DataDir, rep.Pupils, rep.Resources, rep.Seed, rep.K, rep.Elapsed)
	p("")
	if !rep.RankingEvaluable {
		p("**Ranking metrics cannot be evaluated on this folder**: no pupil has a ground truth (no successful usage statement after the split). NDCG, recall, hit rate and MRR below are 0 over no truth and mean nothing; coverage, diversity, novelty and prerequisite violations are measured on the lists of all %d pupils.", rep.ListPupils)
		p("")
	}
	p("## Split and ground truth")
	p("")
	p("- One global timeline: everything dated before **%s** (the Monday 00:00 UTC on or before the %.0fth percentile of %s times) trains — grades by date, absences and lessons by start, usage statements by timestamp; everything from it on is test. No pupil's later events reach any policy (a test in `split_test.go` builds a case where a leak would change the ranking).",
		rep.SplitAt.Format(time.DateOnly), rep.SplitQuantile*100, strings.TrimSuffix(rep.SplitOn, "s"))
	p("- Train statements %d, test statements %d.", rep.TrainStatements, rep.TestStatements)
	p("- Ground truth of a pupil: the resources with a **successful** statement in the test period (result.success true, else score.scaled ≥ 0.5, else verb passed; voided statements excluded) that the pupil had **not** succeeded on before the split. %d such (pupil, resource) pairs; the %d pupils with at least one are scored (consenting or not).", rep.TruthItems, rep.EvaluatedPupils)
	p("- Every policy leaves out what the pupil already succeeded on in training. Lists are scored at k = %d; CIs are 95%% percentile bootstraps over pupils (seeded).", rep.K)
	if rep.HasTruth {
		p("- In-band share: the share of listed items whose **true** P(success) (from truth/) lies in [%.2f, %.2f], over the %d scored pupils the simulator restores at the split.", TargetSuccess-Band, TargetSuccess+Band, rep.InBandPupils)
		p("- Learning gain: the %d pupils whose true trajectory truth/ keeps are restored at the split week and follow each policy for %d weeks: each week they work on the k recommended resources (one item each; videos and sheets studied), the policy observes the outcomes (Parcours ingests them and rebuilds the profiles), then the week ends (forgetting). Lessons are not replayed. Gain = change of true ability in logits, mean over the competencies of the pupil's level. Same simulator seed for every policy.", rep.SimulatedPupils, rep.SimWeeks)
	} else {
		p("- No truth/ folder: no in-band share and no simulated learning gain.")
	}
	p("")
	p("## Results at k = %d", rep.K)
	p("")
	p("| policy | NDCG@k [95%% CI] | recall@k | hit rate | MRR | coverage | novelty | diversity | in band | prereq. violations | learning gain [95%% CI] |")
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range rep.Order {
		pr := rep.Policies[n]
		band, gain := "—", "—"
		if pr.InBand != nil {
			band = fmt.Sprintf("%.3f", *pr.InBand)
		}
		if pr.Simulation != nil {
			gain = ci(pr.Simulation.Gain)
		}
		p("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.2f | %.3f | %s | %d | %s |", n, ci(pr.CI[MNDCG]), pr.Recall, pr.HitRate, pr.MRR, pr.Coverage, pr.Novelty, pr.Diversity, band, pr.PrereqViolations, gain)
	}
	p("")
	p("Coverage: share of the catalogue in at least one list. Novelty: mean −log2 of the share of training pupils who used an item. Diversity: mean pairwise Jaccard distance of the items' competencies. Prerequisite violations: listed items with a competency whose prerequisite the pupil has evidence on and P(mastery) < 0.6 in the engine's own profile.")
	p("")
	p("## Does Parcours beat every baseline?")
	p("")
	if !rep.RankingEvaluable {
		p("Not on ranking: there is no ground truth here.")
	}
	for _, l := range verdict(rep, "NDCG@k", func(pr *PolicyReport) (Interval, bool) { return pr.CI[MNDCG], true }) {
		p("%s", l)
	}
	if rep.HasTruth {
		p("")
		for _, l := range verdict(rep, "learning gain", func(pr *PolicyReport) (Interval, bool) {
			if pr.Simulation == nil {
				return Interval{}, false
			}
			return pr.Simulation.Gain, true
		}) {
			p("%s", l)
		}
	}
	p("")
	p("## Metrics per k")
	p("")
	p("| policy | " + strings.Repeat("NDCG@%d | ", len(Ks))[:0] + kHeader("NDCG") + " | " + kHeader("recall") + " |")
	p("|---|" + strings.Repeat("---|", 2*len(Ks)))
	for _, n := range rep.Order {
		pr := rep.Policies[n]
		var cells []string
		for _, m := range []string{MNDCG, MRecall} {
			for _, k := range Ks {
				cells = append(cells, fmt.Sprintf("%.4f", pr.ByK[k][m]))
			}
		}
		p("| %s | %s |", n, strings.Join(cells, " | "))
	}
	p("")
	p("## Slices (NDCG@k), and the best − worst gap")
	p("")
	p("Gaps ignore slices of fewer than %d pupils.", minSlice)
	for _, kind := range []string{"level", "absence_quartile", "consent", "school"} {
		p("")
		p("### by %s", kind)
		p("")
		pr0 := rep.Policies[rep.Order[0]]
		labels := pr0.Slices[kind]
		if kind == "school" && len(labels) > 15 {
			p("(%d schools: first 15 shown; the gap covers all.)", len(labels))
			p("")
			labels = labels[:15]
		}
		head := "| policy |"
		sep := "|---|"
		for _, s := range labels {
			head += fmt.Sprintf(" %s (n=%d) |", s.Label, s.Pupils)
			sep += "---|"
		}
		p("%s gap NDCG (best/worst) | gap recall |", head)
		p("%s---|---|", sep)
		for _, n := range rep.Order {
			pr := rep.Policies[n]
			row := "| " + n + " |"
			for i := range labels {
				row += fmt.Sprintf(" %.4f |", pr.Slices[kind][i].Values[MNDCG])
			}
			g, gr := pr.SliceGaps[kind][MNDCG], pr.SliceGaps[kind][MRecall]
			p("%s %.4f (%s/%s) | %.4f |", row, g.Gap, g.Best, g.Worst, gr.Gap)
		}
	}
	if rep.HasTruth {
		p("")
		p("## Learning gain per week (simulated)")
		p("")
		head := "| policy | success rate |"
		sep := "|---|---|"
		for w := range rep.SimWeeks {
			head += fmt.Sprintf(" week %d |", w+1)
			sep += "---|"
		}
		p("%s", head)
		p("%s", sep)
		for _, n := range rep.Order {
			s := rep.Policies[n].Simulation
			if s == nil {
				continue
			}
			row := fmt.Sprintf("| %s | %.3f |", n, s.SuccessRate)
			for _, iv := range s.ByWeek {
				row += " " + ci(iv) + " |"
			}
			p("%s", row)
		}
	}
	p("")
	p("## Plots")
	p("")
	for _, f := range plots {
		p("![%s](%s)", f, f)
	}
	return b.String()
}

func kHeader(name string) string {
	var hs []string
	for _, k := range Ks {
		hs = append(hs, fmt.Sprintf("%s@%d", name, k))
	}
	return strings.Join(hs, " | ")
}
