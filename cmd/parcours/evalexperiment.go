package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

func init() { evalCommands = append(evalCommands, evalExperimentCmd) }

func evalExperimentCmd() *cobra.Command {
	var (
		id     string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "experiment --id E [--json]",
		Short: "Analyse an online experiment: per arm classes, pupils, effect on the primary outcome with a cluster-bootstrap interval, guardrails, verdict",
		Long: "experiment reads the experiment, its exposures and the pupils' later grades and xAPI\n" +
			"statements from DATABASE_URL (the embedded store keeps no experiment between runs) and\n" +
			"prints the same analysis as GET /v1/experiments/{id}: aggregates only, groups under 10\n" +
			"pupils suppressed.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := experiment.CheckID("--id", id); err != nil {
				return badUsage("eval experiment: --id: %v", err)
			}
			ctx := c.Context()
			store, _, err := openDatabase(ctx, "eval experiment", "experiments live in PostgreSQL; the embedded store keeps none between runs", false)
			if err != nil {
				return err
			}
			defer store.Close()
			x, err := store.Experiment(ctx, id)
			if errors.Is(err, recommender.ErrNotFound) {
				return badUsage("eval experiment: --id: no experiment %q", id)
			}
			if err != nil {
				return fmt.Errorf("eval experiment: %w", err)
			}
			a, err := api.AnalyseExperiment(ctx, store, &x, time.Now())
			if err != nil {
				return fmt.Errorf("eval experiment: %w", err)
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(a)
			}
			return printAnalysis(c, &x, &a)
		},
	}
	c.Flags().StringVar(&id, "id", "", "experiment id (as given to POST /v1/experiments)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the analysis as one JSON object")
	return c
}

func printAnalysis(c *cobra.Command, x *experiment.Experiment, a *experiment.Analysis) error {
	out := c.OutOrStdout()
	fmt.Fprintf(out, "experiment %s (%s), %s to %s, primary outcome %s\n\n", x.ID, x.Name,
		x.Start.Format("2006-01-02"), x.End.Format("2006-01-02"), a.Outcome)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "arm\tclasses\tpupils\tmean\teffect\tci_low\tci_high\tuptake\trejections\tguardrails")
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%+.4f", *p)
	}
	for _, name := range a.ArmOrder {
		r := a.Arms[name]
		pupils := "<10"
		if r.Pupils != nil {
			pupils = fmt.Sprint(*r.Pupils)
		}
		label := name
		if r.Control {
			label += " (control)"
		}
		guard := "ok"
		if len(r.Breaches) > 0 {
			guard = fmt.Sprint(r.Breaches)
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", label, r.Classes, pupils, num(r.Mean), num(r.Effect),
			num(r.CILow), num(r.CIHigh), num(r.Uptake), num(r.RejectionRate), guard)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "\n%s\n(%d %% cluster-bootstrap intervals by class, %d resamples, seed %d; %d classes under %d pupils not shown)\n",
		a.Verdict, int(100*a.Confidence), a.Resamples, a.Seed, a.SuppressedClasses, a.MinGroup)
	return err
}
