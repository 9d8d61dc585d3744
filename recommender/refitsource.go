package recommender

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// refitBatch is how many pupils a refit reads from the store at once. With the events of
// one batch, the usage rows (a few int32 per pupil), the profile versions and the
// aggregates (bounded by the catalogue), it is what bounds the refit's memory.
const refitBatch = 256

// pupilPasses streams the consenting pupils known when the refit started (vers) from the
// store, one pass per call of pass. The first store error is kept in err: functions that
// consume a features.PupilSource without returning its error (the ranking's fit) stop
// early, and the refit then fails on err instead of storing what they made.
type pupilPasses struct {
	ctx   context.Context
	store interface {
		EachPupilEvents(ctx context.Context, batchSize int, fn func([]features.PupilEvents) error) error
	}
	vers map[string]ProfileVersion
	err  error
}

func (e *Engine) consenting(ctx context.Context, vers map[string]ProfileVersion) *pupilPasses {
	return &pupilPasses{ctx: ctx, store: e.store, vers: vers}
}

// pass is a features.PupilSource.
func (s *pupilPasses) pass(yield func(*features.PupilEvents) error) error {
	if s.err != nil {
		return s.err
	}
	var yieldErr error
	err := s.store.EachPupilEvents(s.ctx, refitBatch, func(b []features.PupilEvents) error {
		for i := range b {
			if !b[i].Student.Consent {
				continue
			}
			if _, known := s.vers[b[i].Student.ID]; !known {
				continue // came after the refit started: the ingest that brought it built it
			}
			if err := yield(&b[i]); err != nil {
				yieldErr = err
				return err
			}
		}
		return nil
	})
	if err != nil && (yieldErr == nil || err != yieldErr) {
		s.err = fmt.Errorf("read pupils: %w", err)
		return s.err
	}
	return err
}

// writeProfiles is the refit's last pass: every pupil's profile with the new model and
// layout (an empty one without consent), built in parallel a batch at a time and written
// with the versions read before any event (PutProfilesIf). It returns how many writes lost
// to a concurrent ingest.
func (e *Engine) writeProfiles(ctx context.Context, cat *datasets.Catalogue, model *features.Model, layout *features.Layout,
	vers map[string]ProfileVersion, asOf time.Time) (int, error) {
	blankSnap := &snapshot{layout: layout}
	lost := 0
	var cons []features.PupilEvents
	vps := make([]VersionedProfile, 0, refitBatch)
	err := e.store.EachPupilEvents(ctx, refitBatch, func(b []features.PupilEvents) error {
		cons, vps = cons[:0], vps[:0]
		for i := range b {
			v, known := vers[b[i].Student.ID]
			switch {
			case !known:
			case b[i].Student.Consent:
				cons = append(cons, b[i])
			default:
				vps = append(vps, VersionedProfile{Profile: e.blankProfile(blankSnap, b[i].Student), Version: v})
			}
		}
		err := model.BuildProfiles(cat, features.SliceSource(cons), asOf, func(ps []features.Profile) error {
			for i := range ps {
				ps[i].Vector = layout.StudentVector(&ps[i])
				vps = append(vps, VersionedProfile{Profile: ps[i], Version: vers[ps[i].StudentID]})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fit: %w", err)
		}
		if len(vps) == 0 {
			return nil
		}
		l, err := e.store.PutProfilesIf(ctx, vps)
		if err != nil {
			return fmt.Errorf("put profiles: %w", err)
		}
		lost += len(l)
		clear(vps)
		return nil
	})
	return lost, err
}

// tee runs the consumers over one pass of src, each in its own goroutine, and returns
// src's error once every consumer has returned. Each consumer must call the source it is
// given once (a second call sees no pupil); every consumer sees every pupil in src's
// order, whatever the others do, so the results are those of separate passes. At most
// teeBuffer pupils wait for a slow consumer (their events are the store's, not copies).
func tee(src features.PupilSource, consumers ...func(features.PupilSource)) error {
	const teeBuffer = 64
	chans := make([]chan *features.PupilEvents, len(consumers))
	var wg sync.WaitGroup
	for i, consume := range consumers {
		ch := make(chan *features.PupilEvents, teeBuffer)
		chans[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			consume(func(yield func(*features.PupilEvents) error) error {
				var err error
				for ev := range ch {
					if err == nil {
						err = yield(ev)
					}
				}
				return err
			})
			for range ch { // the consumer stopped early or never read: let the pass go on
			}
		}()
	}
	err := src(func(ev *features.PupilEvents) error {
		cp := *ev // the pointer is the pass's; the events it refers to stay valid
		for _, ch := range chans {
			ch <- &cp
		}
		return nil
	})
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	return err
}
