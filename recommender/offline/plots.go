package offline

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotFile is one PNG and the title it carries.
type plotFile struct{ name, title string }

// style gives policy i a colour, a dash pattern and a marker shape of its own, so that
// lines stay apart in grey print too.
func style(i int) (color.Color, []vg.Length, draw.GlyphDrawer) {
	return plotutil.Color(i), plotutil.Dashes(i), plotutil.Shape(i)
}

// legendOff widens the x range so that the legend, drawn at the top right, sits over
// empty space instead of the data.
func legendOff(p *plot.Plot, xmax float64, room float64) {
	p.X.Max = xmax + room
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.Padding = vg.Points(2)
}

// writePlots draws the report's figures; it returns the files written.
func writePlots(rep *Report, dir string) ([]plotFile, error) {
	var out []plotFile
	save := func(p *plot.Plot, name string, w, h vg.Length) error {
		if err := p.Save(w, h, filepath.Join(dir, name)); err != nil {
			return err
		}
		out = append(out, plotFile{name: name, title: p.Title.Text})
		return nil
	}
	if rep.HasTruth && len(rep.VariantOrder) > 0 {
		if err := headroomPlot(rep, save); err != nil {
			return nil, err
		}
		if err := gainPerWeekPlot(rep, save); err != nil {
			return nil, err
		}
		def := rep.Variants[rep.VariantOrder[0]]
		if err := effectPlot(def.Paired, "Learning gain: Parcours minus each reference (paired, 95 % CI)", "Δ learning gain (logits)", "paired_gain.png", save); err != nil {
			return nil, err
		}
		if err := effectPlot(def.Ablations, "Learning gain: Parcours minus each ablation (paired, 95 % CI)", "Δ learning gain (logits)", "ablations_gain.png", save); err != nil {
			return nil, err
		}
	}
	if err := effectPlot(rep.PairedRanking, fmt.Sprintf("Ranking quality: Parcours minus each reference, NDCG@%d (paired, 95 %% CI)", rep.K), "Δ NDCG", "paired_ndcg.png", save); err != nil {
		return nil, err
	}
	if err := effectPlot(rep.AblationsRanking, fmt.Sprintf("Ranking quality: Parcours minus each ablation, NDCG@%d (paired, 95 %% CI)", rep.K), "Δ NDCG", "ablations_ndcg.png", save); err != nil {
		return nil, err
	}
	for _, m := range []string{MNDCG, MRecall} {
		word := map[string]string{MNDCG: "Ranking quality (NDCG)", MRecall: "Share of later successes found (recall)"}[m]
		p := plot.New()
		p.Title.Text = word + " by list length k, on logged usage"
		p.X.Label.Text = "list length k"
		p.Y.Label.Text = word
		for i, name := range mainPolicies(rep) {
			pr := rep.Policies[name]
			xys := make(plotter.XYs, 0, len(Ks))
			for _, k := range Ks {
				xys = append(xys, plotter.XY{X: float64(k), Y: pr.ByK[k][m]})
			}
			l, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, err
			}
			c, dash, shape := style(i)
			l.Color, l.Dashes, pts.Color, pts.Shape = c, dash, c, shape
			p.Add(l, pts)
			p.Legend.Add(name, l, pts)
		}
		legendOff(p, float64(slices.Max(Ks)), 12)
		if err := save(p, m+"_per_k.png", 9*vg.Inch, 6*vg.Inch); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// headroomPlot draws each policy's share of the oracle's headroom under each variant.
func headroomPlot(rep *Report, save func(*plot.Plot, string, vg.Length, vg.Length) error) error {
	p := plot.New()
	p.Title.Text = "Share of the oracle's headroom captured, by simulator variant (95 % CI)"
	p.Y.Label.Text = "(gain − no recommendation) / (oracle − no recommendation)"
	names := without2(rep.Variants[rep.VariantOrder[0]].Order, "no_recommendation", "oracle")
	names = slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(n, "parcours-") })
	width := 0.8 / float64(len(names))
	for i, name := range names {
		var xys plotter.XYs
		var errs plotter.YErrors
		for vi, v := range rep.VariantOrder {
			g := rep.Variants[v].Policies[name]
			if g == nil || g.Headroom == nil {
				continue
			}
			x := float64(vi) - 0.4 + width*(float64(i)+0.5)
			xys = append(xys, plotter.XY{X: x, Y: g.Headroom.Mean})
			errs = append(errs, struct{ Low, High float64 }{g.Headroom.Mean - g.Headroom.Lo, g.Headroom.Hi - g.Headroom.Mean})
		}
		if err := addPointsWithErrors(p, i, name, xys, errs); err != nil {
			return err
		}
	}
	p.NominalX(rep.VariantOrder...)
	p.Add(zeroLine(-0.5, float64(len(rep.VariantOrder))-0.5, 0), zeroLine(-0.5, float64(len(rep.VariantOrder))-0.5, 1))
	legendOff(p, float64(len(rep.VariantOrder))-0.5, 1.6)
	return save(p, "headroom_by_variant.png", 11*vg.Inch, 6*vg.Inch)
}

// gainPerWeekPlot draws the mean gain after each week, default variant, with CIs.
func gainPerWeekPlot(rep *Report, save func(*plot.Plot, string, vg.Length, vg.Length) error) error {
	def := rep.Variants[rep.VariantOrder[0]]
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Learning gain week by week after the split (%s simulator variant, 95 %% CI)", rep.VariantOrder[0])
	p.X.Label.Text = "weeks after the split"
	p.Y.Label.Text = "mean gain of true ability (logits)"
	names := slices.DeleteFunc(slices.Clone(def.Order), func(n string) bool { return strings.HasPrefix(n, "parcours-") })
	for i, name := range names {
		g := def.Policies[name]
		xys := plotter.XYs{{X: 0, Y: 0}}
		errs := plotter.YErrors{{Low: 0, High: 0}}
		for w, iv := range g.ByWeek {
			xys = append(xys, plotter.XY{X: float64(w+1) + 0.03*float64(i), Y: iv.Mean})
			errs = append(errs, struct{ Low, High float64 }{iv.Mean - iv.Lo, iv.Hi - iv.Mean})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		c, dash, _ := style(i)
		l.Color, l.Dashes = c, dash
		p.Add(l)
		if err := addPointsWithErrors(p, i, name, xys, errs); err != nil {
			return err
		}
	}
	p.Add(plotter.NewGrid())
	legendOff(p, float64(rep.SimWeeks), 3)
	return save(p, "learning_gain_per_week.png", 10*vg.Inch, 6*vg.Inch)
}

// effectPlot draws paired effects A − B with their CIs around a zero line.
func effectPlot(es []Effect, title, ylabel, name string, save func(*plot.Plot, string, vg.Length, vg.Length) error) error {
	if len(es) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	var labels []string
	for i, e := range es {
		xys := plotter.XYs{{X: float64(i), Y: e.Mean}}
		errs := plotter.YErrors{{Low: e.Mean - e.Lo, High: e.Hi - e.Mean}}
		if err := addPointsWithErrors(p, i, "", xys, errs); err != nil {
			return err
		}
		labels = append(labels, fmt.Sprintf("%s\n%s", e.B, strings.Trim(outcome(e), "*")))
	}
	p.NominalX(labels...)
	p.Add(zeroLine(-0.5, float64(len(es))-0.5, 0))
	return save(p, name, vg.Length(max(6, 1.3*float64(len(es))))*vg.Inch, 5*vg.Inch)
}

func addPointsWithErrors(p *plot.Plot, i int, name string, xys plotter.XYs, errs plotter.YErrors) error {
	if len(xys) == 0 {
		return nil
	}
	pts, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	c, _, shape := style(i)
	pts.Color, pts.Shape, pts.Radius = c, shape, vg.Points(3.5)
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYer
		plotter.YErrorer
	}{xys, errs})
	if err != nil {
		return err
	}
	eb.Color = c
	p.Add(eb, pts)
	if name != "" {
		p.Legend.Add(name, pts)
	}
	return nil
}

func zeroLine(x0, x1, y float64) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	l.Color = color.Gray{Y: 120}
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	return l
}

func without2(xs []string, drop ...string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

// mainPolicies are the references and the full engine (ablations left out of crowded plots).
func mainPolicies(rep *Report) []string {
	var out []string
	for _, n := range rep.Order {
		if !strings.HasPrefix(n, "parcours-") && n != "oracle" {
			out = append(out, n)
		}
	}
	return out
}
