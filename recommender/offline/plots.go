package offline

import (
	"fmt"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlots draws NDCG per k, NDCG per level slice and learning gain per week; it
// returns the file names written.
func writePlots(rep *Report, dir string) ([]string, error) {
	var out []string
	// NDCG and recall per k.
	for _, m := range []string{MNDCG, MRecall} {
		p := plot.New()
		p.Title.Text = m + " per k"
		p.X.Label.Text = "k"
		p.Y.Label.Text = m
		var args []any
		for _, name := range rep.Order {
			pr := rep.Policies[name]
			xys := make(plotter.XYs, 0, len(Ks))
			for _, k := range Ks {
				xys = append(xys, plotter.XY{X: float64(k), Y: pr.ByK[k][m]})
			}
			args = append(args, name, xys)
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return nil, err
		}
		p.Legend.Top = true
		p.Legend.Left = true
		name := fmt.Sprintf("%s_per_k.png", m)
		if err := p.Save(8*vg.Inch, 6*vg.Inch, filepath.Join(dir, name)); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	// NDCG@k per slice, for each slice kind, grouped bars per policy (main ones only).
	main := mainPolicies(rep)
	for _, kind := range []string{"level", "absence_quartile", "consent", "school"} {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("NDCG@%d by %s", rep.K, kind)
		p.Y.Label.Text = MNDCG
		var labels []string
		w := vg.Points(8)
		for i, name := range main {
			sl := rep.Policies[name].Slices[kind]
			if kind == "school" && len(sl) > 12 {
				sl = sl[:12]
			}
			vals := make(plotter.Values, len(sl))
			if labels == nil {
				for _, s := range sl {
					labels = append(labels, s.Label)
				}
			}
			for j, s := range sl {
				vals[j] = s.Values[MNDCG]
			}
			if len(vals) == 0 {
				continue
			}
			b, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, err
			}
			b.Color = plotutil.Color(i)
			b.LineStyle.Width = 0
			b.Offset = w * vg.Length(float64(i)-float64(len(main))/2)
			p.Add(b)
			p.Legend.Add(name, b)
		}
		p.NominalX(labels...)
		p.Legend.Top = true
		name := fmt.Sprintf("ndcg_by_%s.png", kind)
		if err := p.Save(10*vg.Inch, 5*vg.Inch, filepath.Join(dir, name)); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	if !rep.HasTruth {
		return out, nil
	}
	p := plot.New()
	p.Title.Text = "simulated learning gain per week (true ability, logits)"
	p.X.Label.Text = "week after the split"
	p.Y.Label.Text = "mean gain"
	var args []any
	for _, name := range rep.Order {
		s := rep.Policies[name].Simulation
		if s == nil {
			continue
		}
		xys := plotter.XYs{{X: 0, Y: 0}}
		for w, iv := range s.ByWeek {
			xys = append(xys, plotter.XY{X: float64(w + 1), Y: iv.Mean})
		}
		args = append(args, name, xys)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, err
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	if err := p.Save(8*vg.Inch, 6*vg.Inch, filepath.Join(dir, "learning_gain_per_week.png")); err != nil {
		return nil, err
	}
	return append(out, "learning_gain_per_week.png"), nil
}

// mainPolicies are the baselines and the full engine (ablations left out of crowded plots).
func mainPolicies(rep *Report) []string {
	var out []string
	for _, n := range rep.Order {
		if n == "parcours" || !slices.Contains(variantNames(), n) {
			out = append(out, n)
		}
	}
	return out
}

func variantNames() []string {
	var out []string
	for _, v := range Variants() {
		out = append(out, v.Name)
	}
	return out
}
