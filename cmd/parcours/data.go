package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/oulad"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

func init() {
	commands = append(commands, generateCmd, ingestCmd, migrateCmd, datasetsCmd, evalCmd)
}

func generateCmd() *cobra.Command {
	var (
		out      string
		students int
		seed     uint64
	)
	c := &cobra.Command{
		Use:   "generate --out DIR [--students N] [--seed S]",
		Short: "Write a synthetic académie (and its hidden truth under truth/) to a data folder",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return badUsage("generate: --out is required")
			}
			if students < 1 || students > 5_000_000 {
				return badUsage("generate: --students must be within 1..5000000, got %d", students)
			}
			update, finish := progress(c.ErrOrStderr(), "generate")
			defer finish()
			return synth.Generate(synth.Config{Students: students, Seed: seed}, out, update)
		},
	}
	c.Flags().StringVar(&out, "out", "", "folder to write (created if needed)")
	c.Flags().IntVar(&students, "students", 2000, "number of pupils")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed: same seed, same bytes")
	return c
}

func migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the schema migrations to DATABASE_URL",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.DatabaseURL == "" {
				return badUsage("migrate: DATABASE_URL is not set")
			}
			return pgstore.Migrate(c.Context(), cfg.DatabaseURL)
		},
	}
}

func ingestCmd() *cobra.Command {
	var (
		dir     string
		asJSON  bool
		noRefit bool
	)
	c := &cobra.Command{
		Use:   "ingest --data DIR [--no-refit]",
		Short: "Validate a data folder and load it into DATABASE_URL (idempotent, all-or-nothing for the whole folder)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				return badUsage("ingest: --data is required")
			}
			ctx := c.Context()
			store, cfg, err := openDatabase(ctx, "ingest", "", true)
			if err != nil {
				return err
			}
			defer store.Close()
			sum, err := ingestFolder(ctx, store, dir, !noRefit, time.Now().Add(cfg.FutureTolerance), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(sum)
			}
			fmt.Fprintf(c.OutOrStdout(), "ingested %s: %d pupils changed, model refitted: %t\n", dir, sum.Changed, sum.Refitted)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", "", "data folder to load")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	c.Flags().BoolVar(&noRefit, "no-refit", false, "load only, without refitting the model (e.g. before loading more folders)")
	return c
}

func datasetsCmd() *cobra.Command {
	c := &cobra.Command{Use: "datasets", Short: "Public data sets", Args: noArgs}
	imp := &cobra.Command{Use: "import", Short: "Turn a public data set into a data folder", Args: noArgs}
	var in, out, interactions string
	var asJSON bool
	ou := &cobra.Command{
		Use:   "oulad --in DIR --out DIR",
		Short: "Turn the Open University Learning Analytics Dataset CSVs into a data folder",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if in == "" || out == "" {
				return badUsage("datasets import oulad: --in and --out are required")
			}
			if st, err := os.Stat(in); err != nil || !st.IsDir() {
				return badUsage("datasets import oulad: --in %s is not a folder", in)
			}
			update, finish := progress(c.ErrOrStderr(), "import")
			sum, err := oulad.Import(in, out, update)
			finish()
			if err != nil {
				return err
			}
			if interactions != "" {
				if _, err := oulad.ExportInteractions(in, interactions); err != nil {
					return err
				}
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(sum)
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d students, %d resources, %d competencies, %d grades, %d absences, %d statements\n",
				out, sum.Students, sum.Resources, sum.Competencies, sum.Grades, sum.Absences, sum.Statements)
			return nil
		},
	}
	ou.Flags().StringVar(&in, "in", "", "folder holding the OULAD CSVs")
	ou.Flags().StringVar(&out, "out", "", "data folder to write")
	ou.Flags().StringVar(&interactions, "interactions", "", "also write train.csv (2013B) and test.csv (2013J) interaction logs for eval mastery into this folder")
	ou.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	imp.AddCommand(ou)
	c.AddCommand(imp)
	return c
}

func evalCmd() *cobra.Command {
	c := &cobra.Command{Use: "eval", Short: "Offline evaluations", Args: noArgs}
	var train, test string
	var asJSON, plain, noTune bool
	m := &cobra.Command{
		Use:   "mastery --train F --test F [--json]",
		Short: "Next-answer prediction of the student model on interaction logs",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if train == "" || test == "" {
				return badUsage("eval mastery: --train and --test are required")
			}
			tr, err := datasets.ReadInteractionsFile(train)
			if err != nil {
				return err
			}
			te, err := datasets.ReadInteractionsFile(test)
			if err != nil {
				return err
			}
			cfg := features.DefaultModelConfig()
			cfg.Plain = plain
			if !noTune {
				// Hyper-parameters from a temporal split of the training log only.
				if cfg, _, err = features.Tune(tr, cfg); err != nil {
					return err
				}
			}
			res, err := features.EvalMastery(tr, te, features.EvalOptions{Model: cfg})
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(c.OutOrStdout(), "AUC %.4f  RMSE %.4f  log-loss %.4f  n %d\n", res.AUC, res.RMSE, res.LogLoss, res.N)
			return nil
		},
	}
	m.Flags().StringVar(&train, "train", "", "interaction log to fit on")
	m.Flags().StringVar(&test, "test", "", "interaction log to predict, answer by answer")
	m.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	m.Flags().BoolVar(&plain, "plain", false, "the baseline: plain item-level Elo, tuned the same way")
	m.Flags().BoolVar(&noTune, "no-tune", false, "keep the default hyper-parameters instead of tuning them on a temporal split of --train")
	c.AddCommand(m)
	for _, add := range evalCommands {
		c.AddCommand(add())
	}
	return c
}

// evalCommands holds further evaluations registered by other files.
var evalCommands []func() *cobra.Command
