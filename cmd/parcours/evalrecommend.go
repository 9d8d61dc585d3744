package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/recommender/offline"
)

func init() { evalCommands = append(evalCommands, evalRecommendCmd) }

// evalMemoryLimit is the Go runtime's soft memory limit for `eval recommend` when
// GOMEMLIMIT is not set.
const evalMemoryLimit = 1800 << 20

func evalRecommendCmd() *cobra.Command {
	var (
		data, out string
		k         int
		seed      uint64
		weeks     int
		simPupils int
		variants  []string
		arms      []string
		asJSON    bool
	)
	c := &cobra.Command{
		Use:   "recommend --data DIR --out DIR [--k 10]",
		Short: "Offline evaluation of the recommender against baselines (report.md, report.json, PNG plots)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if data == "" || out == "" {
				return badUsage("eval recommend: --data and --out are required")
			}
			if k < 1 || k > 100 {
				return badUsage("eval recommend: --k must be within 1..100, got %d", k)
			}
			if weeks < 1 || weeks > 20 {
				return badUsage("eval recommend: --weeks must be within 1..20, got %d", weeks)
			}
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				// The run holds the training rows once in the store: a soft limit makes the
				// collector return the loaded files' memory before the heap doubles, so
				// that a 20,000-pupil académie stays near 2 GiB (benchmarks/RESULTS.md).
				debug.SetMemoryLimit(evalMemoryLimit)
			}
			defer profileRun()()
			update, finish := progress(c.ErrOrStderr(), "evaluate")
			rep, err := offline.Run(c.Context(), offline.Config{
				DataDir: data, OutDir: out, K: k, Seed: seed, SimWeeks: weeks, SimPupils: simPupils, SimVariants: variants, Arms: arms,
				Engine: cfg.engineConfig(), Progress: update,
			})
			finish()
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(rep)
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s/report.md, report.json and plots\n", out)
			return nil
		},
	}
	c.Flags().StringVar(&data, "data", "", "data folder to evaluate on (its truth/, when present, enables the simulated learning gain)")
	c.Flags().StringVar(&out, "out", "", "folder for report.md, report.json and the plots")
	c.Flags().IntVar(&k, "k", 10, "list length the metrics are taken at")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the random baseline, the bootstrap and the simulation")
	c.Flags().IntVar(&weeks, "weeks", 8, "weeks pupils follow each policy in the simulator")
	c.Flags().IntVar(&simPupils, "sim-pupils", 2000, "at most this many pupils follow the policies in the simulator (a seeded sample of whole classes beyond it)")
	c.Flags().StringSliceVar(&variants, "variants", nil, "simulator variants to run (default: all; see docs/simulator.md)")
	c.Flags().StringSliceVar(&arms, "arms", nil, "Parcours variants (ablations, exploration) to evaluate beside the full engine, e.g. no_gating,thompson (default: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return c
}
