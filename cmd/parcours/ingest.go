package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// ingestSummary is what `ingest --json` prints.
type ingestSummary struct {
	Files    map[string]int `json:"files"`              // rows read per file
	Unmapped int            `json:"unmapped,omitempty"` // valid statements kept unmapped (unknown pupil or activity)
	Changed  int            `json:"changed"`            // pupils whose data changed
	Refitted bool           `json:"refitted"`
}

// folderStore is what `parcours ingest` needs: pgstore's bulk load, the engine's store and
// its durable refit marks (an interface so that a test can stall the refit).
type folderStore interface {
	recommender.EngineStore
	IngestFolder(ctx context.Context, dir string, opts pgstore.FolderOptions) (pgstore.BulkResult, error)
	RefitPending(ctx context.Context) (int64, error)
	StalePupils(ctx context.Context, limit int) ([]string, error)
}

// ingestFolder loads the data folder dir into store in one transaction
// (pgstore.IngestFolder: streamed in chunks, a bad row in any file loads nothing). Then,
// when refit is set, it refits the model when anything changed (or when no fitted state
// exists yet). Rows dated after future are refused.
func ingestFolder(ctx context.Context, store folderStore, dir string, refit bool, future time.Time, stderr io.Writer) (ingestSummary, error) {
	if stderr == nil {
		stderr = io.Discard
	}
	update, finish := progress(stderr, "ingest (KiB)")
	opts := pgstore.FolderOptions{Progress: func(done, total int64) { update(int(done>>10), int(total>>10)) }, Future: future}
	if os.Getenv("PARCOURS_INGEST_TRACE") != "" {
		// Where a slow load spends its time, per file and step, for benchmarks.
		opts.Trace = func(file, step string, ms float64) { fmt.Fprintf(stderr, "ingest %s %s %.0f ms\n", file, step, ms) }
	}
	res, err := store.IngestFolder(ctx, dir, opts)
	finish()
	sum := ingestSummary{Files: res.Rows, Changed: res.Pupils, Unmapped: res.Unmapped}
	if err != nil {
		return sum, err
	}
	// The load's commit marked its changed pupils stale and, for a catalogue change, a
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
	if !refit || (sum.Changed == 0 && !res.Catalogue && res.Classes == 0 && stateErr == nil && pending == 0 && len(stale) == 0) {
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
