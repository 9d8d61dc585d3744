package teacher

import (
	"bytes"
	"image/color"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plots of the analyst's page, drawn from the analysis the API returns: arms the analysis
// suppressed (under its minimum group) are left out of the plots as of the table.

// visibleArms lists the arms in the analysis' order, but those suppressed.
func visibleArms(v analystView) []string {
	var out []string
	for _, name := range v.Analysis.ArmOrder {
		if !v.Analysis.Arms[name].Suppressed {
			out = append(out, name)
		}
	}
	return out
}

func armIndex(v analystView, arm string) int { return slices.Index(v.Analysis.ArmOrder, arm) }

func pngOf(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// uptakePlot: each arm's weekly uptake (resources opened among those listed), one line
// per arm with its own colour, dash and marker; the legend sits in headroom above the
// data.
func uptakePlot(v analystView) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "Part des ressources proposées qui ont été ouvertes, par semaine"
	p.X.Label.Text = "Semaine (points au lundi)"
	p.Y.Label.Text = "Ressources ouvertes / proposées"
	p.X.Tick.Marker = plot.TimeTicks{Format: "02/01"}
	p.Add(plotter.NewGrid())
	top := 0.0
	for _, arm := range visibleArms(v) {
		var xys plotter.XYs
		for _, w := range v.Analysis.Weekly {
			if w.Arm != arm || w.ItemsShown == 0 {
				continue
			}
			y := float64(w.Launches) / float64(w.ItemsShown)
			xys = append(xys, plotter.XY{X: float64(w.Week.Unix()), Y: y})
			top = max(top, y)
		}
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		i := armIndex(v, arm)
		l.Color, l.Dashes = plotutil.Color(i), plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		pts.Color, pts.Shape, pts.Radius = plotutil.Color(i), plotutil.Shape(i), vg.Points(3)
		p.Add(l, pts)
		p.Legend.Add("variante "+arm, l, pts)
	}
	p.Y.Min = 0
	p.Y.Max = max(0.1, top*1.35) // headroom: the legend stays off the lines
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.Padding = vg.Points(2)
	if len(v.Analysis.Weekly) == 0 {
		now := float64(time.Now().Unix())
		p.X.Min, p.X.Max = now-7*86400, now
	}
	return pngOf(p, 8*vg.Inch, 4*vg.Inch)
}

// effectPlot: each arm's effect on the primary outcome against the control, in
// percentage points, with its confidence interval as error bars around a zero line; arms
// are named on the axis (no legend).
func effectPlot(v analystView) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "Effet sur la réussite ultérieure face au témoin, avec son intervalle de confiance"
	p.Y.Label.Text = "Écart de réussite (points de %)"
	var labels []string
	x := 0.0
	for _, arm := range visibleArms(v) {
		r := v.Analysis.Arms[arm]
		if r.Control || r.Effect == nil || r.CILow == nil || r.CIHigh == nil {
			continue
		}
		e, lo, hi := *r.Effect*100, *r.CILow*100, *r.CIHigh*100
		xys := plotter.XYs{{X: x, Y: e}}
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		i := armIndex(v, arm)
		pts.Color, pts.Shape, pts.Radius = plotutil.Color(i), plotutil.Shape(i), vg.Points(4)
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{xys, plotter.YErrors{{Low: e - lo, High: hi - e}}})
		if err != nil {
			return nil, err
		}
		eb.Color, eb.LineStyle.Width, eb.CapWidth = plotutil.Color(i), vg.Points(1.5), vg.Points(10)
		p.Add(eb, pts)
		labels = append(labels, "variante "+arm+" − "+v.Analysis.ControlArm)
		x++
	}
	if len(labels) == 0 {
		labels = []string{"aucune variante publiable"}
		x = 1
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, x-0.4
	zero, _ := plotter.NewLine(plotter.XYs{{X: -0.6, Y: 0}, {X: x - 0.4, Y: 0}})
	zero.Color = color.Gray{Y: 110}
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(zero, plotter.NewGrid())
	return pngOf(p, vg.Length(max(8, 2*x))*vg.Inch, 4*vg.Inch)
}
