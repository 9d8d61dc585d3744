package recommender

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// apply folds a fresh batch of grades and statements into the stored profiles of the
// pupils it names (Model.Update, Model.UpdateGrade: O(1) in the pupil's history). It runs
// inside the ingest's transaction, so it does no I/O. It leaves out, for Repair to rebuild
// from the whole history: any batch that is not all new rows (a re-sent or edited row would
// be counted twice), that changes the catalogue, pupils, timetables or absences (their
// features need the whole series), or voids a statement; and any pupil without a profile of
// the current layout or whose events the model refuses.
func (e *Engine) apply(d *Delta) []features.Profile {
	s := e.snap.Load()
	b := d.Batch
	if s == nil || !d.Fresh || d.Changed.Catalogue || len(d.Changed.Classes) > 0 ||
		len(b.Students) > 0 || len(b.Lessons) > 0 || len(b.Absences) > 0 ||
		len(b.Competencies) > 0 || len(b.Resources) > 0 {
		return nil
	}
	type event struct {
		at time.Time
		g  *datasets.Grade
		st *datasets.Statement
	}
	byPupil := map[string][]event{}
	for i := range b.Grades {
		g := &b.Grades[i]
		byPupil[g.StudentID] = append(byPupil[g.StudentID], event{at: g.Date, g: g})
	}
	for i := range b.Statements {
		st := &b.Statements[i]
		if st.Verb == datasets.VerbVoided {
			return nil
		}
		byPupil[st.StudentID] = append(byPupil[st.StudentID], event{at: st.Timestamp, st: st})
	}
	out := make([]features.Profile, 0, len(d.Pupils))
	for id, pd := range d.Pupils {
		evs := byPupil[id]
		if pd.Profile == nil || len(evs) == 0 || pd.Profile.SchemaVersion != features.SchemaVersion ||
			len(pd.Profile.Vector) != s.layout.Dim() {
			continue
		}
		p := *pd.Profile // a copy the store made for this call
		if !pd.Student.Consent {
			// Nothing personal is derived without consent: the blank profile stays.
			out = append(out, p)
			continue
		}
		slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
		ok := true
		for _, ev := range evs {
			var err error
			if ev.g != nil {
				err = s.model.UpdateGrade(s.cat, &p, *ev.g)
			} else {
				err = s.model.Update(s.cat, &p, *ev.st)
			}
			if err != nil {
				ok = false // Repair rebuilds it and reports the bad row
				break
			}
		}
		if !ok {
			continue
		}
		p.Vector = s.layout.StudentVector(&p)
		out = append(out, p)
	}
	return out
}

// rebuild recomputes the profiles of ids from their whole history with the current model,
// and writes each only if no event or profile write about the pupil came in meanwhile
// (PutProfilesIf; the store marks the losers stale again). It returns how many it wrote.
func (e *Engine) rebuild(ctx context.Context, ids []string) (int, error) {
	s := e.snap.Load()
	if s == nil {
		return 0, nil
	}
	vers, err := e.store.ProfileVersions(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("profile versions: %w", err)
	}
	out := make([]VersionedProfile, 0, len(ids))
	var bad []error
	for _, id := range ids {
		st, err := e.store.Student(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // erased meanwhile; its mark went with it
		}
		if err != nil {
			return 0, fmt.Errorf("student %s: %w", id, err)
		}
		if !st.Consent {
			// No consent: nothing personal is derived, and what was derived before
			// consent was withdrawn is overwritten by an empty profile.
			out = append(out, VersionedProfile{Profile: e.blankProfile(s, st), Version: vers[id]})
			continue
		}
		ev, err := e.store.PupilEvents(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("events of %s: %w", id, err)
		}
		asOf := laterOf(s.agg.Clock, latestEvent(&ev, e.cfg.Now()))
		if asOf.IsZero() {
			asOf = e.cfg.Now()
		}
		p, err := s.model.BuildProfile(s.cat, ev, asOf)
		if err != nil {
			bad = append(bad, fmt.Errorf("profile of %s: %w", id, err))
			continue
		}
		p.Vector = s.layout.StudentVector(&p)
		out = append(out, VersionedProfile{Profile: p, Version: vers[id]})
	}
	if len(out) == 0 {
		return 0, errors.Join(bad...)
	}
	lost, err := e.store.PutProfilesIf(ctx, out)
	if err != nil {
		return 0, fmt.Errorf("put profiles: %w", err)
	}
	return len(out) - len(lost), errors.Join(bad...)
}

// repairBatch is how many stale pupils Repair rebuilds per store round.
const repairBatch = 64

// Repair rebuilds the profiles of the pupils marked stale (events committed that their
// profile does not hold yet: a crash after a commit, an event the online update cannot
// fold in, a refit that lost a race), oldest mark first, until none is left or a round
// makes no progress (a pupil whose events the model refuses stays marked, and is
// reported). It returns the number of profiles written.
func (e *Engine) Repair(ctx context.Context) (int, error) {
	done := 0
	for {
		ids, err := e.store.StalePupils(ctx, repairBatch)
		if err != nil {
			return done, fmt.Errorf("recommender.Repair: %w", err)
		}
		if len(ids) == 0 {
			return done, nil
		}
		n, err := e.rebuild(ctx, ids)
		done += n
		e.repairs.Add(int64(n))
		if err != nil {
			return done, fmt.Errorf("recommender.Repair: %w", err)
		}
		if n == 0 {
			return done, nil // every one lost again to newer events: the next kick retries
		}
	}
}

// Repaired is the number of profiles Repair has rebuilt since the engine started.
func (e *Engine) Repaired() int64 { return e.repairs.Load() }

// RefitIfPending runs a refit when the store holds a "refit pending" mark (a catalogue
// change, or a refit that did not finish) and reports whether it ran one.
func (e *Engine) RefitIfPending(ctx context.Context) (bool, error) {
	gen, err := e.store.RefitPending(ctx)
	if err != nil {
		return false, fmt.Errorf("recommender.RefitIfPending: %w", err)
	}
	if gen == 0 {
		return false, nil
	}
	if err := e.Refit(ctx); err != nil {
		return false, err
	}
	return true, nil
}

func (e *Engine) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // a kick is already waiting: the worker will see this work too
	}
}

// RunOptions tune the background workers of Run.
type RunOptions struct {
	// Poll is how often the workers look for marks left by other processes (another
	// replica, `parcours ingest`) without being kicked (default 30 s).
	Poll time.Duration
	// Logger receives failures and what was repaired (no pupil ids); nil discards.
	Logger *slog.Logger
}

// Run keeps the stored profiles and the fitted model current until ctx ends: one worker
// repairs stale pupils (at once, then whenever an ingest leaves a mark, and every Poll),
// another runs pending refits (at once when one is pending, then whenever a catalogue
// change is ingested, and every Poll). Refits never block ingests, and ingests never wait
// for them. It returns when both workers have stopped.
func (e *Engine) Run(ctx context.Context, o RunOptions) {
	o.Poll = cmp.Or(o.Poll, 30*time.Second)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	work := func(kick chan struct{}, step func() error) {
		t := time.NewTicker(o.Poll)
		defer t.Stop()
		for {
			if err := step(); err != nil && ctx.Err() == nil {
				log.Error("background profile work failed", "err", err.Error())
			}
			select {
			case <-ctx.Done():
				return
			case <-kick:
			case <-t.C:
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(e.refitKick, func() error {
			began := time.Now()
			ran, err := e.RefitIfPending(ctx)
			if ran {
				log.Info("pending refit done", "model_version", e.ModelVersion(), "ms", time.Since(began).Milliseconds())
			}
			return err
		})
	}()
	work(e.repairKick, func() error {
		n, err := e.Repair(ctx)
		if n > 0 {
			log.Info("stale profiles rebuilt", "profiles", n)
		}
		return err
	})
	<-done
}
