package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/datasets/oulad"
	"github.com/parcours-ent/parcours/datasets/synth"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
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

// ingestOrder is the order files load in, so that every reference is already stored.
var ingestOrder = []string{
	datasets.CompetenciesFile, datasets.ResourcesFile, datasets.StudentsFile,
	datasets.LessonsFile, datasets.GradesFile, datasets.AbsencesFile, datasets.UsageFile,
}

// batchOf returns the part of d that file holds, and its row count.
func batchOf(d *datasets.Dataset, file string) (*datasets.Dataset, int) {
	switch file {
	case datasets.CompetenciesFile:
		return &datasets.Dataset{Competencies: d.Competencies}, len(d.Competencies)
	case datasets.ResourcesFile:
		return &datasets.Dataset{Resources: d.Resources}, len(d.Resources)
	case datasets.StudentsFile:
		return &datasets.Dataset{Students: d.Students}, len(d.Students)
	case datasets.LessonsFile:
		return &datasets.Dataset{Lessons: d.Lessons}, len(d.Lessons)
	case datasets.GradesFile:
		return &datasets.Dataset{Grades: d.Grades}, len(d.Grades)
	case datasets.AbsencesFile:
		return &datasets.Dataset{Absences: d.Absences}, len(d.Absences)
	default:
		return &datasets.Dataset{Statements: d.Statements}, len(d.Statements)
	}
}

// ingestSummary is what `ingest --json` prints.
type ingestSummary struct {
	Files    map[string]int `json:"files"`   // rows read per file
	Changed  int            `json:"changed"` // pupils whose data changed
	Refitted bool           `json:"refitted"`
}

func ingestCmd() *cobra.Command {
	var (
		dir    string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "ingest --data DIR",
		Short: "Validate a data folder and load it into DATABASE_URL (idempotent, all-or-nothing per file)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				return badUsage("ingest: --data is required")
			}
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.DatabaseURL == "" {
				return badUsage("ingest: DATABASE_URL is not set")
			}
			// The whole folder is checked before anything is written: a bad row anywhere
			// loads nothing.
			d, err := datasets.LoadFolder(dir, datasets.LoadOptions{})
			if err != nil {
				return err
			}
			if err := datasets.CheckNotFuture(d, time.Now().Add(cfg.FutureTolerance)); err != nil {
				return err
			}
			ctx := c.Context()
			store, err := pgstore.Open(ctx, cfg.DatabaseURL, pgstore.Options{Migrate: true, EfSearch: cfg.EfSearch, TombstoneKey: []byte(cfg.TombstoneKey)})
			if err != nil {
				return err
			}
			defer store.Close()
			sum, err := ingestFolder(ctx, store, d, c.ErrOrStderr())
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
	return c
}

// ingestFolder loads d file by file, each in its own transaction, then refits the model
// when anything changed (or when no fitted state exists yet).
func ingestFolder(ctx context.Context, store recommender.Store, d *datasets.Dataset, stderr io.Writer) (ingestSummary, error) {
	sum := ingestSummary{Files: map[string]int{}}
	update, finish := progress(stderr, "ingest")
	changed := map[string]bool{}
	catalogue := false
	total := 0
	for _, f := range ingestOrder {
		_, n := batchOf(d, f)
		total += n
	}
	done := 0
	for _, f := range ingestOrder {
		b, n := batchOf(d, f)
		sum.Files[f] = n
		if n == 0 {
			continue
		}
		ch, err := store.Ingest(ctx, b)
		if err != nil {
			finish()
			return sum, fmt.Errorf("ingest %s: %w", f, err)
		}
		for _, id := range ch.Students {
			changed[id] = true
		}
		catalogue = catalogue || ch.Catalogue || len(ch.Classes) > 0
		done += n
		update(done, total)
	}
	finish()
	sum.Changed = len(changed)
	// Each file's commit marked its changed pupils stale and, for a catalogue change, a
	// refit pending, so an ingest killed during the refit below leaves the marks: this
	// run (even with nothing new to load) and serve at start see them and refit.
	_, stateErr := store.ModelState(ctx)
	pending, err := store.RefitPending(ctx)
	if err != nil {
		return sum, err
	}
	stale, err := store.StalePupils(ctx, 1)
	if err != nil {
		return sum, err
	}
	if sum.Changed == 0 && !catalogue && stateErr == nil && pending == 0 && len(stale) == 0 {
		return sum, nil
	}
	// New fits when there is no usable state (a first load): that fit clears the marks,
	// and a second would only repeat it.
	eng, err := recommender.New(ctx, store, recommender.Config{})
	if err != nil {
		return sum, err
	}
	if pending, err = store.RefitPending(ctx); err != nil {
		return sum, err
	}
	if stale, err = store.StalePupils(ctx, 1); err != nil {
		return sum, err
	}
	if pending != 0 || len(stale) > 0 {
		if err := eng.Refit(ctx); err != nil {
			return sum, err
		}
	}
	if _, err := eng.Repair(ctx); err != nil { // pupils whose events raced the refit
		return sum, err
	}
	sum.Refitted = true
	return sum, nil
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
