package recommender

import (
	"context"
	"maps"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// The online lifecycle of a pupil's profile, as the stores keep it (see ProfileStore):
//
//   - Every committed change to a pupil's data either reaches the pupil's stored profile in
//     the same transaction (IngestApply, when the engine can fold the new events in), or
//     leaves a durable stale mark on the pupil in that transaction. A crash can therefore
//     lose no event: what is not in a profile is marked, and the marks are repaired by
//     Engine.Repair (a background worker in serve, and at start).
//   - Every profile write bumps the profile's generation and every mark carries a fresh
//     generation; a rebuild reads the pupil's ProfileVersion before their events and writes
//     with PutProfilesIf, which refuses (and marks the pupil) when either moved: a rebuild
//     computed from data read before a concurrent event never overwrites that event.
//   - A catalogue change leaves a durable "refit pending" mark in the same transaction,
//     cleared by the refit that saw it (ClearRefitPending with its generation), so a refit
//     killed midway is resumed by the next ingest or by serve at start.

// PupilDelta is one pupil an ingest changed, as IngestApply shows it to the engine inside
// the ingest's transaction.
type PupilDelta struct {
	Student datasets.Student
	// Profile is the stored profile (locked until the transaction ends); nil when none.
	Profile *features.Profile
	// Stale is set when the stored profile already misses committed events (the pupil is
	// marked): folding this batch in does not make it current, so the mark stays.
	Stale bool
}

// Delta is what an ingest changed, handed to an ApplyFunc before the commit.
type Delta struct {
	Batch   *datasets.Dataset
	Changed Changed
	// Fresh reports that every row of the batch was inserted: none updated a stored row and
	// none was stored already. Only then is each event of the batch new to the profiles,
	// so that folding them in counts each once.
	Fresh bool
	// Pupils holds every pupil of Changed.Students that exists.
	Pupils map[string]PupilDelta
}

// ApplyFunc folds a delta into the pupils' profiles. It returns the profiles it brought up
// to date; the store writes them in the ingest's transaction and marks every other changed
// pupil stale. It must not block nor do I/O: it runs while the transaction holds locks.
type ApplyFunc func(d *Delta) []features.Profile

// ProfileVersion is what a conditional profile write checks: the generation of the stored
// profile (0: none) and of the pupil's stale mark (0: not marked).
type ProfileVersion struct {
	Profile int64
	Mark    int64
}

// VersionedProfile is a profile to write only if the pupil's version is still Version.
type VersionedProfile struct {
	Profile features.Profile
	Version ProfileVersion
}

// ProfileStore is the part of a store that keeps profiles current under concurrent events,
// refits and crashes. memstore and pgstore implement it; storetest checks it.
type ProfileStore interface {
	// IngestApply is Ingest with fn run inside the same transaction (see ApplyFunc). With a
	// nil fn it is Ingest: every changed pupil is marked stale.
	IngestApply(ctx context.Context, b *datasets.Dataset, fn ApplyFunc) (Changed, error)
	// ProfileVersions returns the version of each id (zero values for unknown pupils).
	ProfileVersions(ctx context.Context, ids []string) (map[string]ProfileVersion, error)
	// PutProfilesIf writes each profile whose pupil is still at its Version, clears that
	// pupil's mark, and marks stale every pupil whose version moved; it returns those
	// (sorted). Pupils erased meanwhile are skipped.
	PutProfilesIf(ctx context.Context, ps []VersionedProfile) (lost []string, err error)
	// MarkStale marks pupils whose profile misses something (unknown ids are skipped).
	MarkStale(ctx context.Context, ids []string) error
	// StalePupils returns up to limit marked pupils, oldest mark first.
	StalePupils(ctx context.Context, limit int) ([]string, error)
	// RefitPending returns the generation of the "refit pending" mark, 0 when none.
	RefitPending(ctx context.Context) (int64, error)
	// MarkRefitPending sets the mark with a fresh generation and returns it.
	MarkRefitPending(ctx context.Context) (int64, error)
	// ClearRefitPending removes the mark if its generation is still gen.
	ClearRefitPending(ctx context.Context, gen int64) error
}

// CloneProfile returns a deep copy of p: nothing of it aliases p. A store hands each
// ApplyFunc call its own copy, since the online update changes the profile in place.
func CloneProfile(p features.Profile) features.Profile {
	p.Competencies = maps.Clone(p.Competencies)
	p.Subjects = maps.Clone(p.Subjects)
	p.Missed = slices.Clone(p.Missed)
	for i := range p.Missed {
		p.Missed[i].Competencies = slices.Clone(p.Missed[i].Competencies)
	}
	p.Usage.Seen = slices.Clone(p.Usage.Seen)
	p.Usage.Completed = slices.Clone(p.Usage.Completed)
	p.OpenAttempts = slices.Clone(p.OpenAttempts)
	p.Vector = slices.Clone(p.Vector)
	return p
}
