package features

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// PupilSource calls yield for each pupil's events in a stable order; it may be called
// several times (one pass per use). The *PupilEvents is only valid during the call, but
// the slices it refers to are never modified by the source afterwards: a consumer may
// keep a copy of the struct (and so keep those events alive) for as long as it needs.
// An error from yield stops the pass and is returned as is.
type PupilSource func(yield func(*PupilEvents) error) error

// SliceSource is the PupilSource over pupils held in memory, in slice order.
func SliceSource(p []PupilEvents) PupilSource {
	return func(yield func(*PupilEvents) error) error {
		for i := range p {
			if err := yield(&p[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// fitChunk is how many pupils are held at once while a pass over a source is worked on
// in parallel (their events, observations or profiles).
const fitChunk = 256

// chunks calls fn with consecutive chunks of at most n pupils of src, in source order.
// The chunk's slice is reused between calls.
func chunks(src PupilSource, n int, fn func([]PupilEvents) error) error {
	buf := make([]PupilEvents, 0, n)
	err := src(func(ev *PupilEvents) error {
		buf = append(buf, *ev)
		if len(buf) < n {
			return nil
		}
		err := fn(buf)
		clear(buf)
		buf = buf[:0]
		return err
	})
	if err != nil {
		return err
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}

// parallel runs f(i) for i in 0..n-1 on GOMAXPROCS goroutines and returns the error of
// the lowest i that failed.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	workers := max(1, min(n, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				errs[i] = f(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// FitItemsFrom is FitItems over a source: one pass, holding at most a chunk of pupils.
func (m *Model) FitItemsFrom(cat *datasets.Catalogue, src PupilSource, asOf time.Time) error {
	if err := m.fitItems(cat, src, asOf); err != nil {
		return fmt.Errorf("features.FitItems: %w", err)
	}
	return nil
}

// FitFrom is Fit over a source without holding every profile: it learns the items in one
// pass (FitItemsFrom), then makes a second pass building the profiles in parallel a
// chunk at a time and calls emit with each chunk, in source order (the slice is reused
// after emit returns). An error from emit stops the fit and is returned as is.
func (m *Model) FitFrom(cat *datasets.Catalogue, src PupilSource, asOf time.Time, emit func([]Profile) error) error {
	if err := m.fitItems(cat, src, asOf); err != nil {
		return fmt.Errorf("features.Fit: %w", err)
	}
	return m.profilesFrom(cat, src, asOf, emit)
}

// BuildProfiles is BuildProfile for every pupil of src with the current item parameters,
// built in parallel a chunk at a time, each chunk handed to emit in source order (the
// slice is reused after emit returns).
func (m *Model) BuildProfiles(cat *datasets.Catalogue, src PupilSource, asOf time.Time, emit func([]Profile) error) error {
	return m.profilesFrom(cat, src, asOf, emit)
}

func (m *Model) profilesFrom(cat *datasets.Catalogue, src PupilSource, asOf time.Time, emit func([]Profile) error) error {
	rt := m.refs(cat)
	out := make([]Profile, fitChunk)
	return chunks(src, fitChunk, func(ps []PupilEvents) error {
		clear(out)
		err := parallel(len(ps), func(i int) error {
			p, err := m.buildProfile(cat, &ps[i], asOf, rt)
			if err != nil {
				return fmt.Errorf("features.Fit: student %q: %w", ps[i].Student.ID, err)
			}
			out[i] = p
			return nil
		})
		if err != nil {
			return err
		}
		return emit(out[:len(ps)])
	})
}
