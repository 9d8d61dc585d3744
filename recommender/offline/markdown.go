package offline

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

func ci(iv Interval) string { return fmt.Sprintf("%.4f [%.4f, %.4f]", iv.Mean, iv.Lo, iv.Hi) }

func pct(iv *Interval) string {
	if iv == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f %% [%.0f, %.0f]", 100*iv.Mean, 100*iv.Lo, 100*iv.Hi)
}

// outcome says in words what a Holm-corrected paired effect shows.
func outcome(e Effect) string {
	switch {
	case e.Holds && e.Mean > 0:
		return "**wins**"
	case e.Holds && e.Mean < 0:
		return "**loses**"
	default:
		return "not shown"
	}
}

// tally groups the B sides of effects by outcome.
func tally(es []Effect) (wins, losses, unclear []string) {
	for _, e := range es {
		switch outcome(e) {
		case "**wins**":
			wins = append(wins, e.B)
		case "**loses**":
			losses = append(losses, e.B)
		default:
			unclear = append(unclear, e.B)
		}
	}
	return
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "`" + x + "`"
	}
	return strings.Join(q, ", ")
}

// verdictParagraph is the report's first paragraph: where Parcours wins and loses,
// plainly, from the Holm-corrected paired effects.
func verdictParagraph(rep *Report) string {
	var b strings.Builder
	if rep.HasTruth && len(rep.VariantOrder) > 0 {
		def := rep.Variants[rep.VariantOrder[0]]
		w, l, u := tally(without(def.Paired, "oracle", "no_recommendation"))
		fmt.Fprintf(&b, "**Learning (simulated, %s variant, %d pupils, %d weeks).** Parcours captures %s of the oracle's headroom over no recommendation. ",
			rep.VariantOrder[0], rep.SimulatedPupils, rep.SimWeeks, pct(def.HeadroomCaptured))
		fmt.Fprintf(&b, "On learning gain it beats %s; it loses to %s; the difference is not shown (Holm-corrected 95 %% paired CI contains 0) against %s. ", list(w), list(l), list(u))
		if e, ok := find(def.Paired, "no_recommendation"); ok {
			fmt.Fprintf(&b, "Against no recommendation at all it %s (Δ %+.4f [%.4f, %.4f] logits). ", strings.Trim(outcome(e), "*"), e.Mean, e.Lo, e.Hi)
		}
		var all, some []string
		for _, name := range rep.VariantOrder {
			vw, _, _ := tally(without(rep.Variants[name].Paired, "oracle"))
			if len(vw) == len(without(rep.Variants[name].Paired, "oracle")) {
				all = append(all, name)
			} else {
				some = append(some, fmt.Sprintf("%s (%d of %d, headroom %s)", name, len(vw), len(without(rep.Variants[name].Paired, "oracle")), pct(rep.Variants[name].HeadroomCaptured)))
			}
		}
		fmt.Fprintf(&b, "Across the %d simulator variants, it beats every reference under %s", len(rep.VariantOrder), list(all))
		if len(some) > 0 {
			fmt.Fprintf(&b, ", and only some under %s", strings.Join(some, "; "))
		}
		b.WriteString(". ")
	} else {
		b.WriteString("**No truth/ folder: learning gain cannot be measured here**, only the lists. ")
	}
	if rep.RankingEvaluable {
		w, l, u := tally(rep.PairedRanking)
		fmt.Fprintf(&b, "**Ranking on logged usage (NDCG@%d, eligible items only).** Parcours beats %s; loses to %s; not shown against %s. ", rep.K, list(w), list(l), list(u))
	} else {
		b.WriteString("**Ranking metrics cannot be evaluated** (no successful usage after the split). ")
	}
	if !rep.RankingEvaluable && !rep.HasTruth {
		b.WriteString("**Ablations cannot be judged here**: with neither a ground truth nor a simulator, no outcome can tell a component's effect (only the lists' coverage, diversity and the engine's own prerequisite checks differ).")
	} else if dead := deadComponents(rep); len(dead) > 0 {
		fmt.Fprintf(&b, "**Components whose removal changes nothing** (every paired CI contains 0): %s.", list(dead))
	} else {
		b.WriteString("Every ablated component has a measurable effect on at least one outcome.")
	}
	return b.String()
}

func without(es []Effect, names ...string) []Effect {
	var out []Effect
	for _, e := range es {
		if !slices.Contains(names, e.B) {
			out = append(out, e)
		}
	}
	return out
}

func find(es []Effect, b string) (Effect, bool) {
	for _, e := range es {
		if e.B == b {
			return e, true
		}
	}
	return Effect{}, false
}

// deadComponents are the ablations whose paired effect CI contains 0 on NDCG and on the
// learning gain of the default variant.
func deadComponents(rep *Report) []string {
	// Without ranking truth (a folder without usage, as the OULAD import) every NDCG
	// difference is zero by construction: that says nothing about a component. Without
	// a simulation either, nothing can be said at all.
	if !rep.RankingEvaluable && !rep.HasTruth {
		return nil
	}
	var out []string
	for _, e := range rep.AblationsRanking {
		dead := !rep.RankingEvaluable || (e.Lo <= 0 && e.Hi >= 0)
		if rep.HasTruth && len(rep.VariantOrder) > 0 {
			if g, ok := find(rep.Variants[rep.VariantOrder[0]].Ablations, e.B); ok {
				dead = dead && g.Lo <= 0 && g.Hi >= 0
			}
		}
		if dead {
			out = append(out, e.B)
		}
	}
	return out
}

func effectRow(e Effect) string {
	return fmt.Sprintf("| %s − %s | %+.4f [%+.4f, %+.4f] | %.3g | %.3g | %s |", e.A, e.B, e.Mean, e.Lo, e.Hi, e.P, e.PHolm, outcome(e))
}

func markdown(rep *Report, plots []plotFile) string {
	var b strings.Builder
	p := func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) }
	p("# Offline evaluation of Parcours recommendations")
	p("")
	p("%s", verdictParagraph(rep))
	p("")
	p("Data: `%s` — %d pupils, %d resources; seed %d; k = %d; engine target success %.2f; run time %s.", rep.DataDir, rep.Pupils, rep.Resources, rep.Seed, rep.K, rep.TargetSuccess, rep.Elapsed)
	p("")
	p("## The yardstick")
	p("")
	p("- **One eligibility filter for every policy.** A listed item counts only if it is an exercise or a quiz (the only types whose outcome can be a ground truth and that give practice), of the pupil's level or the one below, and not already succeeded (in training or earlier in the simulated run). Every policy is asked for 2×k items and its first k eligible ones are kept; `filled` is the share of the k slots a policy filled so.")
	p("- **Consent.** No policy learns from or personalises for a pupil who refused consent: popularity and co-usage count consenting pupils only, co-usage and content fall back to the non-personalised order for the others, policies observe consenting pupils' events only, and the engine handles consent itself. Only the yardstick (ground truth, eligibility) and the oracle read every pupil.")
	p("- **Split.** Everything dated before **%s** (the Monday on or before the %.0fth percentile of %s times) trains; the rest is test. Train statements %d, test statements %d. Ground truth of a pupil: the resources first succeeded on after the split (%d pairs); %d pupils scored%s.",
		rep.SplitAt.Format(time.DateOnly), rep.SplitQuantile*100, strings.TrimSuffix(rep.SplitOn, "s"), rep.TrainStatements, rep.TestStatements, rep.TruthItems, rep.EvaluatedPupils, sampled(rep))
	p("- **Paired comparisons.** All policies are scored on the same pupils (and, in simulation, the same random draws), so every comparison is the per-pupil difference, with a 95 %% percentile bootstrap CI that resamples whole **%s** (pupils of a school are not independent), a two-sided bootstrap p-value, and **Holm's correction** over each family of comparisons (Parcours against the references; Parcours against its ablations). \"wins\"/\"loses\" means the Holm-adjusted p < 0.05.", plural(rep.Resampled))
	if rep.HasTruth {
		p("- **Simulation.** The %d pupils whose true state truth/ keeps are restored at the split and follow each policy for %d weeks under each simulator variant (docs/simulator.md): each week the policy lists k eligible items (Monday), the class's lessons are replayed (missed when absent), the pupil answers one item of each listed resource, the policy observes the week (Parcours ingests it as in service), the week ends (forgetting). **Learning gain** = change of the pupil's mean true ability (logits) over the competencies of their level and the one below. The **oracle** lists the eligible items with the largest exact expected gain under the variant (a one-week-ahead best, not a bound). **Headroom captured** = (policy − no recommendation) / (oracle − no recommendation), CI from the same resampled %s.", rep.SimulatedPupils, rep.SimWeeks, plural(simUnit(rep)))
		p("- **Prerequisite violations are judged against the truth**: a listed item violates when one of its competencies has a prerequisite on which the pupil's true P(success) at that prerequisite's difficulty is below %.1f.", trueMastery)
	}
	p("")
	if rep.HasTruth {
		markdownVariants(rep, p)
	}
	markdownRanking(rep, p)
	p("## Plots")
	p("")
	for _, f := range plots {
		p("![%s](%s)", f.title, f.name)
		p("")
	}
	return b.String()
}

func markdownVariants(rep *Report, p func(string, ...any)) {
	p("## Learning gain under each simulator variant")
	p("")
	head, sep := "| policy |", "|---|"
	for _, v := range rep.VariantOrder {
		head += " " + v + " |"
		sep += "---|"
	}
	p("Mean learning gain after %d weeks (logits) [95 %% CI], then the share of the oracle's headroom captured.", rep.SimWeeks)
	p("")
	p("%s", head)
	p("%s", sep)
	for _, name := range rep.Variants[rep.VariantOrder[0]].Order {
		row := "| " + name + " |"
		for _, v := range rep.VariantOrder {
			g := rep.Variants[v].Policies[name]
			if g == nil {
				row += " |"
				continue
			}
			row += fmt.Sprintf(" %s; %s |", ci(g.Gain), pct(g.Headroom))
		}
		p("%s", row)
	}
	p("")
	for _, v := range rep.VariantOrder {
		vr := rep.Variants[v]
		p("### %s — %s", v, vr.Description)
		p("")
		p("| policy | success rate | items/week | truly in band (peak ± %.2f) | truly unready (prereq.) |", Band)
		p("|---|---|---|---|---|")
		for _, name := range vr.Order {
			g := vr.Policies[name]
			p("| %s | %.3f | %.1f | %.3f | %.3f |", name, g.SuccessRate, g.ItemsPerWeek, g.InBand, g.PrereqShare)
		}
		p("")
		p("| paired difference | Δ gain [95 %% CI] | p | p (Holm) | Parcours |")
		p("|---|---|---|---|---|")
		for _, e := range vr.Paired {
			p("%s", effectRow(e))
		}
		p("")
	}
}

func markdownRanking(rep *Report, p func(string, ...any)) {
	p("## Ablations: what each component of Parcours does")
	p("")
	p("Each row removes one component (a variant of recommender.Config); Δ is Parcours minus the ablation, paired. A component whose removal changes nothing on any outcome is flagged.")
	p("")
	var gains []Effect
	if rep.HasTruth && len(rep.VariantOrder) > 0 {
		gains = rep.Variants[rep.VariantOrder[0]].Ablations
	}
	dead := deadComponents(rep)
	p("| ablation | Δ NDCG@%d [95 %% CI] | Δ learning gain [95 %% CI] | flag |", rep.K)
	p("|---|---|---|---|")
	for _, e := range rep.AblationsRanking {
		g := "—"
		if x, ok := find(gains, e.B); ok {
			g = fmt.Sprintf("%+.4f [%+.4f, %+.4f] (%s)", x.Mean, x.Lo, x.Hi, outcome(x))
		}
		flag := ""
		if slices.Contains(dead, e.B) {
			flag = "**changes nothing**"
		}
		p("| %s | %+.4f [%+.4f, %+.4f] (%s) | %s | %s |", e.B, e.Mean, e.Lo, e.Hi, outcome(e), g, flag)
	}
	p("")
	p("## Ranking on logged usage (at the split)")
	p("")
	if !rep.RankingEvaluable {
		p("**Ranking metrics cannot be evaluated on this folder**: no pupil has a ground truth. NDCG, recall, hit rate and MRR are 0 over no truth and mean nothing; coverage, diversity and violations are over the lists of all %d pupils.", rep.ListPupils)
		p("")
	}
	p("| policy | NDCG@k [95 %% CI] | recall@k | hit rate | MRR | coverage | novelty | diversity | filled | truly in band | prereq. violations (%s) |", judged(rep))
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range rep.Order {
		pr := rep.Policies[n]
		band := "—"
		if pr.InBand != nil {
			band = fmt.Sprintf("%.3f", *pr.InBand)
		}
		p("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.2f | %.3f | %.2f | %s | %.3f (%d) |", n, ci(pr.CI[MNDCG]), pr.Recall, pr.HitRate, pr.MRR, pr.Coverage, pr.Novelty, pr.Diversity, pr.Filled, band, pr.PrereqShare, pr.PrereqViolations)
	}
	p("")
	if o := rep.Policies["oracle"]; o != nil {
		p("The oracle's ranking row is over the %d pupils the truth restores.", o.RankingPupils)
		p("")
	}
	p("| paired difference | Δ NDCG@%d [95 %% CI] | p | p (Holm) | Parcours |", rep.K)
	p("|---|---|---|---|---|")
	for _, e := range rep.PairedRanking {
		p("%s", effectRow(e))
	}
	p("")
	p("### Metrics per k")
	p("")
	p("| policy | " + kHeader("NDCG") + " | " + kHeader("recall") + " |")
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
	p("### Slices (NDCG@k) and the best − worst gap (slices under %d pupils ignored)", minSlice)
	for _, kind := range []string{"level", "absence_quartile", "consent", "school"} {
		p("")
		p("#### by %s", kind)
		p("")
		pr0 := rep.Policies["parcours"]
		labels := pr0.Slices[kind]
		if kind == "school" && len(labels) > 15 {
			p("(%d schools: first 15 shown; the gap covers all.)", len(labels))
			p("")
			labels = labels[:15]
		}
		head, sep := "| policy |", "|---|"
		for _, s := range labels {
			head += fmt.Sprintf(" %s (n=%d) |", s.Label, s.Pupils)
			sep += "---|"
		}
		p("%s gap NDCG (best/worst) |", head)
		p("%s---|", sep)
		for _, n := range rep.Order {
			pr := rep.Policies[n]
			if n == "oracle" || len(pr.Slices[kind]) < len(labels) {
				continue
			}
			row := "| " + n + " |"
			for i := range labels {
				row += fmt.Sprintf(" %.4f |", pr.Slices[kind][i].Values[MNDCG])
			}
			g := pr.SliceGaps[kind][MNDCG]
			p("%s %.4f (%s/%s) |", row, g.Gap, g.Best, g.Worst)
		}
	}
	p("")
}

// simUnit is the cluster the simulation's bootstrap resampled.
func simUnit(rep *Report) string {
	for _, v := range rep.Variants {
		for _, e := range v.Paired {
			return e.Clusters
		}
	}
	return rep.Resampled
}

func sampled(rep *Report) string {
	if rep.RankedPupils > 0 && rep.RankedPupils < rep.EvaluatedPupils {
		return fmt.Sprintf(" (lists ranked for a seeded sample of %d of them, to bound the run time)", rep.RankedPupils)
	}
	return ""
}

func plural(unit string) string {
	if unit == "class" {
		return "classes"
	}
	return unit + "s"
}

func judged(rep *Report) string {
	if pr := rep.Policies["parcours"]; pr != nil {
		return "share, by " + pr.PrereqJudgedBy
	}
	return "share"
}

func kHeader(name string) string {
	var hs []string
	for _, k := range Ks {
		hs = append(hs, fmt.Sprintf("%s@%d", name, k))
	}
	return strings.Join(hs, " | ")
}
