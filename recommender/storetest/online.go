package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// newStatement is a valid statement of pupil sid on R01 not in the fixture.
func newStatement(n int, sid string) datasets.Statement {
	return datasets.Statement{ID: StatementID(1000 + n), StudentID: sid, Verb: datasets.VerbCompleted,
		ObjectID: "R01", Timestamp: day(22, n%12), Success: bptr(true)}
}

// settled returns the loaded fixture with every pupil's profile written and no mark left.
func (s suite) settled(t *testing.T) recommender.Store {
	t.Helper()
	st := s.loaded(t)
	ids, err := st.StudentIDs(ctx())
	if err != nil {
		t.Fatal(err)
	}
	vers, err := st.ProfileVersions(ctx(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var ps []recommender.VersionedProfile
	for _, id := range ids {
		ps = append(ps, recommender.VersionedProfile{Profile: FixtureProfile(id, 0), Version: vers[id]})
	}
	lost, err := st.PutProfilesIf(ctx(), ps)
	if err != nil || len(lost) != 0 {
		t.Fatalf("PutProfilesIf on a quiet store: lost %v, %v", lost, err)
	}
	wantStale(t, st)
	return st
}

func wantStale(tb testing.TB, st recommender.Store, ids ...string) {
	tb.Helper()
	got, err := st.StalePupils(ctx(), 0)
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(got)
	same(tb, "stale pupils", got, ids)
}

func (s suite) ingestMarksChangedPupilsAndRefit(t *testing.T) {
	st := s.open(t)
	if g, err := st.RefitPending(ctx()); err != nil || g != 0 {
		t.Fatalf("empty store: refit pending %d, %v; want none", g, err)
	}
	ch := mustIngest(t, st, Fixture())
	wantStale(t, st, ch.Students...)
	if g, err := st.RefitPending(ctx()); err != nil || g == 0 {
		t.Fatalf("after a catalogue load: refit pending %d, %v; want a mark", g, err)
	}
}

func (s suite) ingestApplyCommitsProfilesWithEvents(t *testing.T) {
	st := s.settled(t)
	var seen *recommender.Delta
	b := &datasets.Dataset{Statements: []datasets.Statement{newStatement(1, "S1"), newStatement(2, "S2")}}
	ch, err := st.IngestApply(ctx(), b, func(d *recommender.Delta) []features.Profile {
		seen = d
		p := *d.Pupils["S1"].Profile
		p.Global = 2.5
		return []features.Profile{p} // S2 left out: must be marked
	})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "changed pupils", ch.Students, []string{"S1", "S2"})
	if seen == nil || !seen.Fresh || seen.Pupils["S1"].Profile == nil || seen.Pupils["S1"].Stale ||
		seen.Pupils["S2"].Student.ClassID != Class6A {
		t.Fatalf("delta %+v, want fresh, with S1's stored profile and S2's row", seen)
	}
	same(t, "S1's profile handed over", *seen.Pupils["S1"].Profile, FixtureProfile("S1", 0))
	p, err := st.Profile(ctx(), "S1")
	if err != nil || p.Global != 2.5 {
		t.Fatalf("S1's profile after IngestApply: global %v, %v; want 2.5", p.Global, err)
	}
	wantStale(t, st, "S2")

	// The same statements again change nothing: fn is not asked to count them twice.
	ch, err = st.IngestApply(ctx(), b, func(d *recommender.Delta) []features.Profile {
		t.Errorf("fn called for a batch already stored: %+v", d.Changed)
		return nil
	})
	if err != nil || len(ch.Students) != 0 {
		t.Fatalf("re-sent batch: %+v, %v; want nothing changed", ch, err)
	}
}

func (s suite) ingestApplyReportsRewrittenRowsNotFresh(t *testing.T) {
	st := s.settled(t)
	g := Fixture().Grades[0]
	g.Score = g.OutOf // an edited mark: its old value is folded into the profile already
	fresh := true
	_, err := st.IngestApply(ctx(), &datasets.Dataset{Grades: []datasets.Grade{g}}, func(d *recommender.Delta) []features.Profile {
		fresh = d.Fresh
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fresh {
		t.Error("an edited grade was reported fresh")
	}
	wantStale(t, st, g.StudentID)
}

func (s suite) failedIngestLeavesNoMarkNorProfile(t *testing.T) {
	st := s.settled(t)
	bad := newStatement(3, "S1")
	bad.ObjectID = "R404"
	_, err := st.IngestApply(ctx(), &datasets.Dataset{Statements: []datasets.Statement{newStatement(4, "S2"), bad}},
		func(d *recommender.Delta) []features.Profile {
			p := *d.Pupils["S2"].Profile
			p.Global = 9
			return []features.Profile{p}
		})
	if err == nil {
		t.Fatal("a statement on an unknown resource was accepted")
	}
	wantStale(t, st)
	p, err := st.Profile(ctx(), "S2")
	if err != nil || p.Global != 0 {
		t.Fatalf("S2's profile after a failed batch: global %v, %v; want 0", p.Global, err)
	}
}

func (s suite) conditionalWriteLosesToNewerEvents(t *testing.T) {
	st := s.settled(t)
	vers, err := st.ProfileVersions(ctx(), []string{"S1", "S2", "S3", "S404"})
	if err != nil {
		t.Fatal(err)
	}
	if vers["S1"].Profile == 0 || vers["S1"].Mark != 0 || vers["S404"] != (recommender.ProfileVersion{}) {
		t.Fatalf("versions %+v, want S1 with a profile and no mark, S404 zero", vers)
	}
	// Meanwhile: an event marks S1, a profile write moves S2; S3 stays quiet.
	mustIngest(t, st, &datasets.Dataset{Statements: []datasets.Statement{newStatement(5, "S1")}})
	if err := st.PutProfiles(ctx(), []features.Profile{FixtureProfile("S2", 3)}); err != nil {
		t.Fatal(err)
	}
	var ps []recommender.VersionedProfile
	for _, id := range []string{"S3", "S2", "S1", "S404"} {
		ps = append(ps, recommender.VersionedProfile{Profile: FixtureProfile(id, 7), Version: vers[id]})
	}
	lost, err := st.PutProfilesIf(ctx(), ps)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "lost", lost, []string{"S1", "S2"})
	for id, want := range map[string]float64{"S1": 0, "S2": 3, "S3": 7} {
		if p, err := st.Profile(ctx(), id); err != nil || p.Global != want {
			t.Errorf("%s: global %v, %v; want %v", id, p.Global, err, want)
		}
	}
	if _, err := st.Profile(ctx(), "S404"); err == nil {
		t.Error("a profile was written for an unknown pupil")
	}
	wantStale(t, st, "S1", "S2")

	// A rebuild that read the marks' versions wins and clears them.
	vers, err = st.ProfileVersions(ctx(), []string{"S1", "S2"})
	if err != nil {
		t.Fatal(err)
	}
	lost, err = st.PutProfilesIf(ctx(), []recommender.VersionedProfile{
		{Profile: FixtureProfile("S1", 1), Version: vers["S1"]}, {Profile: FixtureProfile("S2", 1), Version: vers["S2"]}})
	if err != nil || len(lost) != 0 {
		t.Fatalf("rebuild with current versions: lost %v, %v", lost, err)
	}
	wantStale(t, st)
}

func (s suite) staleMarksOldestFirstAndErasedWithPupil(t *testing.T) {
	st := s.settled(t)
	for _, id := range []string{"S4", "S2", "S404", "S5"} {
		if err := st.MarkStale(ctx(), []string{id}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.StalePupils(ctx(), 2)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "two oldest marks", got, []string{"S4", "S2"})
	if err := st.SetConsent(ctx(), "S1", false); err != nil {
		t.Fatal(err)
	}
	wantStale(t, st, "S1", "S2", "S4", "S5")
	if err := st.DeleteStudent(ctx(), "S4"); err != nil {
		t.Fatal(err)
	}
	wantStale(t, st, "S1", "S2", "S5")
}

func (s suite) refitPendingClearedOnlyByItsGeneration(t *testing.T) {
	st := s.open(t)
	g1, err := st.MarkRefitPending(ctx())
	if err != nil {
		t.Fatal(err)
	}
	g2, err := st.MarkRefitPending(ctx())
	if err != nil || g2 == g1 || g2 == 0 {
		t.Fatalf("second mark %d (first %d), %v; want a new generation", g2, g1, err)
	}
	if err := st.ClearRefitPending(ctx(), g1); err != nil {
		t.Fatal(err)
	}
	if g, _ := st.RefitPending(ctx()); g != g2 {
		t.Fatalf("a refit that began before the second mark cleared it: pending %d, want %d", g, g2)
	}
	if err := st.ClearRefitPending(ctx(), g2); err != nil {
		t.Fatal(err)
	}
	if g, _ := st.RefitPending(ctx()); g != 0 {
		t.Fatalf("pending %d after clearing, want 0", g)
	}
}

// Concurrent IngestApply calls about one pupil fold their events one after the other:
// each sees the profile the previous one wrote.
func (s suite) concurrentIngestApplySerialisesPerPupil(t *testing.T) {
	st := s.settled(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			b := &datasets.Dataset{Statements: []datasets.Statement{newStatement(100+i, "S3")}}
			_, err := st.IngestApply(context.Background(), b, func(d *recommender.Delta) []features.Profile {
				p := *d.Pupils["S3"].Profile
				p.GlobalN++
				return []features.Profile{p}
			})
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
	p, err := st.Profile(ctx(), "S3")
	if err != nil {
		t.Fatal(err)
	}
	if want := FixtureProfile("S3", 0).GlobalN + n; p.GlobalN != want {
		t.Errorf("GlobalN %d after %d concurrent increments, want %d: an update was lost", p.GlobalN, n, want)
	}
	wantStale(t, st)
}

// The same new statement sent twice at once (an LRS retrying) is stored once, both sends
// succeed, and the pupil's profile counts it once.
func (s suite) concurrentTwinStatementsStoredOnce(t *testing.T) {
	st := s.settled(t)
	x := newStatement(200, "S2")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := st.IngestApply(context.Background(), &datasets.Dataset{Statements: []datasets.Statement{x}},
				func(d *recommender.Delta) []features.Profile {
					p := *d.Pupils["S2"].Profile
					p.GlobalN++
					return []features.Profile{p}
				})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a twin send failed: %v", err)
		}
	}
	if p, err := st.Profile(ctx(), "S2"); err != nil || p.GlobalN != FixtureProfile("S2", 0).GlobalN+1 {
		t.Fatalf("S2's profile counted the statement %d times (%v), want once", p.GlobalN-FixtureProfile("S2", 0).GlobalN, err)
	}
}

// Many batches at once, as concurrent POSTs send them (a store may commit them together):
// each is stored whole or not at all, a bad one fails alone, and every good one is
// counted once in its pupils' profiles, in whatever order they were folded in.
func (s suite) concurrentBatchesEachAllOrNothing(t *testing.T) {
	st := s.settled(t)
	pupils := []string{"S1", "S2", "S3", "S4", "S5"}
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	bad := func(i int) bool { return i%10 == 7 }
	for i := range n {
		wg.Go(func() {
			// Two statements of two pupils; every tenth batch names an unknown resource
			// in its second statement.
			a, b := newStatement(3000+2*i, pupils[i%5]), newStatement(3001+2*i, pupils[(i+1)%5])
			if bad(i) {
				b.ObjectID = "R404"
			}
			_, errs[i] = st.IngestApply(context.Background(), &datasets.Dataset{Statements: []datasets.Statement{a, b}},
				func(d *recommender.Delta) []features.Profile {
					var out []features.Profile
					for id, pd := range d.Pupils {
						p := *pd.Profile
						p.GlobalN++
						p.StudentID = id
						out = append(out, p)
					}
					return out
				})
		})
	}
	wg.Wait()
	want := map[string]int{}
	for i := range n {
		if bad(i) {
			if errs[i] == nil {
				t.Errorf("batch %d names an unknown resource but was stored", i)
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("batch %d: %v", i, errs[i])
		}
		want[pupils[i%5]]++
		want[pupils[(i+1)%5]]++
	}
	for i := range n {
		if !bad(i) {
			continue
		}
		ex, err := st.Export(ctx(), pupils[i%5])
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ex.Statements {
			if x.ID == StatementID(1000+3000+2*i) {
				t.Fatalf("the valid statement of the refused batch %d is stored", i)
			}
		}
	}
	for _, id := range pupils {
		p, err := st.Profile(ctx(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.GlobalN - FixtureProfile(id, 0).GlobalN; got != want[id] {
			t.Errorf("%s: profile counted %d statements, want %d", id, got, want[id])
		}
	}
	wantStale(t, st)
}
