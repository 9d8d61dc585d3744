package recommender

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// The streamed sample (a bounded heap over one pass) holds exactly the pupils
// rankerSample picks among all of them, in the same order.
func TestRankerPupilsKeepsWhatRankerSamplePicks(t *testing.T) {
	var pupils []features.PupilEvents
	for i := range 500 {
		ev := features.PupilEvents{Student: datasets.Student{ID: fmt.Sprintf("p%04d", i)}}
		if i%7 != 0 {
			ev.Statements = []datasets.Statement{{ID: fmt.Sprint("s", i), ObjectID: "r", Timestamp: time.Unix(int64(i), 0)}}
		}
		pupils = append(pupils, ev)
	}
	for _, n := range []int{1, 37, 400, 1000} {
		e := &Engine{cfg: Config{RankerPupils: n, Seed: 42}.withDefaults()}
		want := e.rankerSample(pupils)
		got := e.rankerPupils(features.SliceSource(pupils))
		if len(got) != len(want) {
			t.Fatalf("RankerPupils %d: %d kept, want %d", n, len(got), len(want))
		}
		for k, i := range want {
			if got[k].Student.ID != pupils[i].Student.ID {
				t.Fatalf("RankerPupils %d: #%d is %s, want %s", n, k, got[k].Student.ID, pupils[i].Student.ID)
			}
		}
	}
}

// A store error in any pass fails the refit, whatever pass consumed it.
func TestPupilPassesKeepsTheStoreError(t *testing.T) {
	boom := errors.New("connection reset")
	s := &pupilPasses{store: failingPupils{boom}}
	n := 0
	cat, err := datasets.NewCatalogue(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	buildCoUsageFrom(cat, s.pass, time.Time{}) // drops the error, as the ranking's fit does
	if !errors.Is(s.err, boom) {
		t.Fatalf("kept %v, want the store's error", s.err)
	}
	if err := s.pass(func(*features.PupilEvents) error { n++; return nil }); !errors.Is(err, boom) || n != 0 {
		t.Errorf("a later pass: %v after %d pupils, want the first error at once", err, n)
	}
	// An error of the consumer is returned as is and is not the store's.
	s = &pupilPasses{store: failingPupils{nil}, vers: map[string]ProfileVersion{"a": {}}}
	stop := errors.New("stop")
	if err := s.pass(func(*features.PupilEvents) error { return stop }); err != stop || s.err != nil {
		t.Errorf("consumer's error: got %v, kept %v", err, s.err)
	}
}

// failingPupils hands out one consenting pupil "a", then fails with err (when set).
type failingPupils struct{ err error }

func (f failingPupils) EachPupilEvents(_ context.Context, _ int, fn func([]features.PupilEvents) error) error {
	if err := fn([]features.PupilEvents{{Student: datasets.Student{ID: "a", Consent: true}}}); err != nil {
		return err
	}
	return f.err
}

// tee gives every consumer every pupil in order, as separate passes would, even when
// one consumer stops early; the source's error comes back.
func TestTeeFeedsEveryConsumerTheWholePass(t *testing.T) {
	var pupils []features.PupilEvents
	for i := range 300 {
		pupils = append(pupils, features.PupilEvents{Student: datasets.Student{ID: fmt.Sprintf("p%03d", i)}})
	}
	ids := func(src features.PupilSource) []string {
		var out []string
		_ = src(func(ev *features.PupilEvents) error { out = append(out, ev.Student.ID); return nil })
		return out
	}
	var a, b, c []string
	err := tee(features.SliceSource(pupils),
		func(s features.PupilSource) { a = ids(s) },
		func(s features.PupilSource) {
			_ = s(func(ev *features.PupilEvents) error {
				c = append(c, ev.Student.ID)
				if len(c) == 10 {
					return errors.New("enough")
				}
				return nil
			})
		},
		func(s features.PupilSource) { time.Sleep(time.Millisecond); b = ids(s) })
	if err != nil {
		t.Fatal(err)
	}
	want := ids(features.SliceSource(pupils))
	if fmt.Sprint(a) != fmt.Sprint(want) || fmt.Sprint(b) != fmt.Sprint(want) || fmt.Sprint(c) != fmt.Sprint(want[:10]) {
		t.Errorf("consumers saw %d, %d and %d pupils, want %d, %d and 10", len(a), len(b), len(c), len(want), len(want))
	}
	boom := errors.New("store gone")
	failing := func(yield func(*features.PupilEvents) error) error {
		_ = yield(&pupils[0])
		return boom
	}
	if err := tee(failing, func(s features.PupilSource) { ids(s) }); !errors.Is(err, boom) {
		t.Errorf("source error: got %v", err)
	}
}
