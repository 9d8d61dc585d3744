package features

import (
	"fmt"
	"os"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
)

func TestZZTune(t *testing.T) {
	tf := os.Getenv("TRAIN")
	if tf == "" {
		t.Skip()
	}
	tr, err := datasets.ReadInteractionsFile(tf)
	if err != nil {
		t.Fatal(err)
	}
	te, err := datasets.ReadInteractionsFile(os.Getenv("TEST"))
	if err != nil {
		t.Fatal(err)
	}
	base := DefaultModelConfig()
	base.Plain = os.Getenv("PLAIN") != ""
	cfg, trials, err := Tune(tr, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trials {
		t.Logf("trial a %.2g b %.2g g %.2g layer %v: val AUC %.4f ll %.4f", tr.Alpha, tr.Beta, tr.LocalScale, tr.Layer, tr.Metrics.AUC, tr.Metrics.LogLoss)
	}
	mr := 0
	if v := os.Getenv("MAXREFITS"); v != "" {
		fmt.Sscan(v, &mr)
	}
	mt, err := EvalMastery(tr, te, EvalOptions{Model: cfg, MaxRefits: mr})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chosen %+v: test AUC %.4f", cfg, mt.AUC)
	if os.Getenv("ALL") != "" {
		for _, tr := range trials {
			c := cfg
			c.Alpha, c.Beta, c.LocalScale, c.NoLayer = tr.Alpha, tr.Beta, tr.LocalScale, !tr.Layer
			mt, _ := EvalMastery(tr2(tr), te, EvalOptions{Model: c})
			_ = mt
		}
	}
}

func tr2(Trial) []datasets.Interaction { return nil }
