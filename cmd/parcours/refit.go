package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/recommender"
)

func init() { commands = append(commands, refitCmd) }

// refitCmd refits the model on DATABASE_URL now, as serve does every
// PARCOURS_REFIT_INTERVAL: after `ingest --no-refit` of several folders, or to measure
// the refit alone (benchmarks/RESULTS.md, "Scale of the refit").
func refitCmd() *cobra.Command {
	var (
		asJSON     bool
		cpuProfile string
	)
	c := &cobra.Command{
		Use:   "refit",
		Short: "Refit the student model, vectors and aggregates on DATABASE_URL (streams pupils in batches), then rebuild stale profiles",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			store, cfg, err := openDatabase(ctx, "refit", "", true)
			if err != nil {
				return err
			}
			defer store.Close()
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			begin := time.Now()
			_, stateErr := store.ModelState(ctx)
			eng, err := recommender.New(ctx, store, cfg.engineConfig()) // fits when there is no usable state
			if err != nil {
				return err
			}
			if stateErr == nil {
				if err := eng.Refit(ctx); err != nil {
					return err
				}
			}
			repaired, err := eng.Repair(ctx) // pupils whose events raced the refit
			if err != nil {
				return err
			}
			took := time.Since(begin)
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(map[string]any{"seconds": took.Seconds(), "repaired": repaired})
			}
			fmt.Fprintf(c.OutOrStdout(), "refitted in %s (%d stale profiles rebuilt)\n", took.Round(time.Millisecond), repaired)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the refit to this file (go tool pprof)")
	return c
}
