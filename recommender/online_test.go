package recommender_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// stores runs f on a fresh engine over each store: the embedded one and PostgreSQL.
func stores(t *testing.T, f func(t *testing.T, open func(wrap func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store))) {
	for _, kind := range []string{"memstore", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			f(t, func(wrap func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store) {
				t.Helper()
				var st recommender.Store
				if kind == "memstore" {
					st = newMemstore()
				} else {
					st = newPGStore(t)
				}
				if _, err := st.Ingest(context.Background(), academie(6, 4)); err != nil {
					t.Fatal(err)
				}
				if wrap != nil {
					st = wrap(st)
				}
				e, err := recommender.New(context.Background(), st, fixedConfig())
				if err != nil {
					t.Fatal(err)
				}
				return e, st
			})
		})
	}
}

// completed is a successful completion of resource rid by pupil sid, i minutes before the
// tests' clock: a new event, after every event of the académie.
func completed(sid, rid string, i int) datasets.Statement {
	return datasets.Statement{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", 500000+i), StudentID: sid,
		Verb: datasets.VerbCompleted, ObjectID: rid, Timestamp: now.Add(-time.Hour + time.Duration(i)*time.Second),
		Success: new(true)}
}

func profileOf(tb testing.TB, st recommender.Store, id string) features.Profile {
	tb.Helper()
	p, err := st.Profile(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func noStale(tb testing.TB, st recommender.Store) {
	tb.Helper()
	ids, err := st.StalePupils(context.Background(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	if len(ids) != 0 {
		tb.Fatalf("stale pupils left: %v", ids)
	}
}

// rebuilt is the profile the engine rebuilds from the pupil's whole history, for
// comparison with the one kept online.
func rebuilt(tb testing.TB, e *recommender.Engine, st recommender.Store, id string) features.Profile {
	tb.Helper()
	ctx := context.Background()
	if err := st.MarkStale(ctx, []string{id}); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.Repair(ctx); err != nil {
		tb.Fatal(err)
	}
	return profileOf(tb, st, id)
}

// sameAbilities compares what the online update must keep equal to a rebuild.
func sameAbilities(tb testing.TB, got, want features.Profile) {
	tb.Helper()
	if got.GlobalN != want.GlobalN || abs(got.Global-want.Global) > 1e-9 {
		tb.Errorf("global %v (n %d), rebuilt %v (n %d)", got.Global, got.GlobalN, want.Global, want.GlobalN)
	}
	for c, w := range want.Competencies {
		if g := got.Competencies[c]; g.N != w.N || abs(g.Theta-w.Theta) > 1e-9 {
			tb.Errorf("%s: theta %v (n %d), rebuilt %v (n %d)", c, g.Theta, g.N, w.Theta, w.N)
		}
	}
	if !slices.Equal(got.Usage.Seen, want.Usage.Seen) || got.Usage.Attempts != want.Usage.Attempts {
		tb.Errorf("usage %+v, rebuilt %+v", got.Usage, want.Usage)
	}
}

func abs(x float64) float64 { return max(x, -x) }

func TestOnlineUpdateIsTheRebuildsProfile(t *testing.T) {
	stores(t, func(t *testing.T, open func(func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store)) {
		e, st := open(nil)
		ctx := context.Background()
		ch, err := e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{completed(pupilFrac, "R-M-FRAC-000", 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ch.Students, []string{pupilFrac}) {
			t.Fatalf("touched %v, want the pupil", ch.Students)
		}
		noStale(t, st) // folded in within the ingest's transaction: nothing left to repair
		online := profileOf(t, st, pupilFrac)
		if !slices.Contains(online.Usage.Seen, "R-M-FRAC-000") {
			t.Fatalf("the statement is not in the profile: seen %v", online.Usage.Seen)
		}
		sameAbilities(t, online, rebuilt(t, e, st, pupilFrac))
	})
}

// refitGate holds, once armed, a refit at its first profile write until released.
type refitGate struct {
	recommender.Store
	armed             atomic.Bool
	once              sync.Once
	blocked, released chan struct{}
}

func (g *refitGate) PutProfilesIf(ctx context.Context, ps []recommender.VersionedProfile) ([]string, error) {
	if g.armed.Load() {
		g.once.Do(func() {
			close(g.blocked)
			<-g.released
		})
	}
	return g.Store.PutProfilesIf(ctx, ps)
}

// The bug of issue 10: an ingest arriving while a refit ran committed its rows, then timed
// out waiting for the refit, and its event stayed outside the profile.
func TestEventDuringRefitIsKept(t *testing.T) {
	stores(t, func(t *testing.T, open func(func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store)) {
		var gate *refitGate
		e, st := open(func(s recommender.Store) recommender.Store {
			gate = &refitGate{Store: s, blocked: make(chan struct{}), released: make(chan struct{})}
			return gate
		})
		ctx := context.Background()
		gate.armed.Store(true)
		refit := make(chan error, 1)
		go func() { refit <- e.Refit(ctx) }()
		<-gate.blocked // the refit has read every pupil's events and holds its profiles

		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ch, err := e.Ingest(ictx, &datasets.Dataset{Statements: []datasets.Statement{completed(pupilFrac, "R-M-FRAC-001", 2)}})
		if err != nil {
			t.Fatalf("ingest during a refit: %v", err)
		}
		if !slices.Equal(ch.Students, []string{pupilFrac}) {
			t.Fatalf("touched %v, want the pupil", ch.Students)
		}
		close(gate.released)
		if err := <-refit; err != nil {
			t.Fatal(err)
		}
		// The refit's profile was computed without the event: it lost, and marked the
		// pupil for a rebuild with the new model.
		if n, err := e.Repair(ctx); err != nil || n == 0 {
			t.Fatalf("repair after the refit: %d, %v; want the pupil rebuilt", n, err)
		}
		noStale(t, st)
		p := profileOf(t, st, pupilFrac)
		if !slices.Contains(p.Usage.Seen, "R-M-FRAC-001") {
			t.Fatalf("the event ingested during the refit is not in the profile: seen %v", p.Usage.Seen)
		}
		// A retry of the same statement changes nothing, and the profile keeps it.
		ch, err = e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{completed(pupilFrac, "R-M-FRAC-001", 2)}})
		if err != nil || len(ch.Students) != 0 {
			t.Fatalf("retry: %+v, %v; want nothing changed", ch, err)
		}
	})
}

// cancelAfterApply cancels the ingest's context once the engine has computed the profiles,
// before the store writes them: a process dying between the two.
type cancelAfterApply struct{ recommender.Store }

func (c cancelAfterApply) IngestApply(ctx context.Context, b *datasets.Dataset, fn recommender.ApplyFunc) (recommender.Changed, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return c.Store.IngestApply(ctx, b, func(d *recommender.Delta) []features.Profile {
		ps := fn(d)
		cancel()
		return ps
	})
}

// cancelAfterConsent cancels the context once the consent is committed, before the engine
// rebuilds the profile.
type cancelAfterConsent struct {
	recommender.Store
	cancel context.CancelFunc
}

func (c cancelAfterConsent) SetConsent(ctx context.Context, id string, consent bool) error {
	err := c.Store.SetConsent(ctx, id, consent)
	c.cancel()
	return err
}

func TestCrashBetweenCommitAndProfileWriteLosesNothing(t *testing.T) {
	stores(t, func(t *testing.T, open func(func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store)) {
		_, base := open(nil)
		ctx := context.Background()
		e, err := recommender.New(ctx, cancelAfterApply{base}, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		x := completed(pupilGap, "R-M-NUM-002", 3)
		_, ingestErr := e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{x}})
		// Whatever the store did with the cancelled transaction, the event is either not
		// stored, or in the profile, or marked.
		ex, err := base.Export(ctx, pupilGap)
		if err != nil {
			t.Fatal(err)
		}
		stored := slices.ContainsFunc(ex.Statements, func(s datasets.Statement) bool { return s.ID == x.ID })
		inProfile := slices.Contains(profileOf(t, base, pupilGap).Usage.Seen, x.ObjectID)
		stale, _ := base.StalePupils(ctx, 0)
		if stored && !inProfile && !slices.Contains(stale, pupilGap) {
			t.Fatalf("the event is committed (ingest err %v) but neither in the profile nor marked", ingestErr)
		}
		if !stored && ingestErr == nil {
			t.Fatal("the ingest reported success without storing the event")
		}
		// The client retries (it got an error) and the event lands once.
		plain, err := recommender.New(ctx, base, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{x}}); err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Repair(ctx); err != nil {
			t.Fatal(err)
		}
		noStale(t, base)
		if p := profileOf(t, base, pupilGap); !slices.Contains(p.Usage.Seen, x.ObjectID) {
			t.Fatalf("after the retry the event is not in the profile: %v", p.Usage.Seen)
		}

		// A consent withdrawal committed, then the process dies before emptying the
		// profile: the mark makes the next Repair (a restart's) empty it.
		cctx, cancel := context.WithCancel(ctx)
		dying, err := recommender.New(ctx, cancelAfterConsent{base, cancel}, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := dying.SetConsent(cctx, pupilFrac, false); err == nil {
			t.Log("the rebuild survived the cancellation (the store ignores contexts)")
		}
		if _, err := plain.Repair(ctx); err != nil {
			t.Fatal(err)
		}
		noStale(t, base)
		if p := profileOf(t, base, pupilFrac); len(p.Competencies) != 0 || p.GlobalN != 0 {
			t.Fatalf("profile kept after a withdrawal and a crash: %+v", p)
		}
	})
}

func TestConcurrentEventsForOnePupilAreAllCounted(t *testing.T) {
	stores(t, func(t *testing.T, open func(func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store)) {
		e, st := open(nil)
		ctx := context.Background()
		before := profileOf(t, st, pupilAbsent)
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				x := completed(pupilAbsent, fmt.Sprintf("R-M-GEO-%03d", i%4), 100+i)
				_, err := e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{x}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		noStale(t, st)
		after := profileOf(t, st, pupilAbsent)
		if after.GlobalN != before.GlobalN+n || after.Usage.Attempts != before.Usage.Attempts+n {
			t.Fatalf("after %d concurrent events: %d observations (was %d), %d attempts (was %d)",
				n, after.GlobalN, before.GlobalN, after.Usage.Attempts, before.Usage.Attempts)
		}
	})
}

func TestEventsTheOnlineUpdateCannotFoldAreRepaired(t *testing.T) {
	stores(t, func(t *testing.T, open func(func(recommender.Store) recommender.Store) (*recommender.Engine, recommender.Store)) {
		e, st := open(nil)
		ctx := context.Background()
		before := profileOf(t, st, pupilFrac)
		a := datasets.Absence{ID: "A-NEW", StudentID: pupilFrac, Start: now.Add(-30 * time.Hour), End: now.Add(-26 * time.Hour)}
		ch, err := e.Ingest(ctx, &datasets.Dataset{Absences: []datasets.Absence{a}})
		if err != nil || !slices.Equal(ch.Students, []string{pupilFrac}) {
			t.Fatalf("absence: %+v, %v", ch, err)
		}
		stale, err := st.StalePupils(ctx, 0)
		if err != nil || !slices.Equal(stale, []string{pupilFrac}) {
			t.Fatalf("stale %v, %v; want the pupil marked in the ingest's transaction", stale, err)
		}
		// A restarted engine repairs at start what the previous one left.
		again, err := recommender.New(ctx, st, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		if n, err := again.Repair(ctx); err != nil || n != 1 {
			t.Fatalf("repair: %d, %v; want 1", n, err)
		}
		noStale(t, st)
		if after := profileOf(t, st, pupilFrac); after.Absence == before.Absence {
			t.Errorf("absence features unchanged after the repair: %+v", after.Absence)
		}
	})
}
