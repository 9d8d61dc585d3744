package recommender_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/internal/killtest"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// stallInApply announces, then blocks, inside the ingest's transaction once the engine has
// computed the profiles: a process killed between its event rows and its profile write.
type stallInApply struct{ recommender.Store }

func (s stallInApply) IngestApply(ctx context.Context, b *datasets.Dataset, fn recommender.ApplyFunc) (recommender.Changed, error) {
	return s.Store.IngestApply(ctx, b, func(d *recommender.Delta) []features.Profile {
		_ = fn(d)
		fmt.Println("STALLED")
		select {} // until killed
	})
}

// TestKilledEngineChild is the child process of TestKilledProcessLosesNoEvent.
func TestKilledEngineChild(t *testing.T) {
	scenario, url := os.Getenv("PARCOURS_KILL_SCENARIO"), os.Getenv("PARCOURS_KILL_DB")
	if scenario == "" {
		t.Skip("child process of TestKilledProcessLosesNoEvent")
	}
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	switch scenario {
	case "in-transaction":
		e, err := recommender.New(ctx, stallInApply{st}, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{completed(pupilGap, "R-M-NUM-003", 7)}})
		t.Fatalf("ingest returned (%v) instead of stalling", err)
	case "after-commit":
		e, err := recommender.New(ctx, st, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		a := datasets.Absence{ID: "A-KILL", StudentID: pupilFrac, Start: now.Add(-30 * time.Hour), End: now.Add(-26 * time.Hour)}
		if _, err := e.Ingest(ctx, &datasets.Dataset{Absences: []datasets.Absence{a}}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("STALLED") // committed; the profile is rebuilt by Repair, which never runs here
		select {}
	}
}

func killChild(t *testing.T, url, scenario string) {
	t.Helper()
	killtest.AtMarker(t, "TestKilledEngineChild", []string{"PARCOURS_KILL_SCENARIO=" + scenario, "PARCOURS_KILL_DB=" + url}, "STALLED", 2*time.Minute)
}

// A process killed with SIGKILL between an event's commit and its profile write loses
// nothing: either nothing was committed (same transaction) and a retry reports the event
// as new, or the pupil was marked in the committing transaction and the next engine
// repairs it.
func TestKilledProcessLosesNoEvent(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Ingest(ctx, academie(6, 4)); err != nil {
		t.Fatal(err)
	}
	e, err := recommender.New(ctx, st, fixedConfig())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("InsideTheTransaction", func(t *testing.T) {
		killChild(t, url, "in-transaction")
		x := completed(pupilGap, "R-M-NUM-003", 7)
		ex, err := st.Export(ctx, pupilGap)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(ex.Statements, func(s datasets.Statement) bool { return s.ID == x.ID }) {
			t.Fatal("the killed process's statement is stored")
		}
		noStale(t, st)
		// The LRS retries: the event is new to the store and lands in the profile.
		ch, err := e.Ingest(ctx, &datasets.Dataset{Statements: []datasets.Statement{x}})
		if err != nil || !slices.Equal(ch.Students, []string{pupilGap}) {
			t.Fatalf("retry: %+v, %v; want the pupil changed", ch, err)
		}
		if p := profileOf(t, st, pupilGap); !slices.Contains(p.Usage.Seen, x.ObjectID) {
			t.Fatalf("the retried event is not in the profile: %v", p.Usage.Seen)
		}
		noStale(t, st)
	})

	t.Run("AfterTheCommit", func(t *testing.T) {
		before := profileOf(t, st, pupilFrac)
		killChild(t, url, "after-commit")
		stale, err := st.StalePupils(ctx, 0)
		if err != nil || !slices.Equal(stale, []string{pupilFrac}) {
			t.Fatalf("stale %v, %v; want the pupil marked by the killed process's commit", stale, err)
		}
		restarted, err := recommender.New(ctx, st, fixedConfig())
		if err != nil {
			t.Fatal(err)
		}
		if n, err := restarted.Repair(ctx); err != nil || n != 1 {
			t.Fatalf("repair at start: %d, %v; want 1", n, err)
		}
		noStale(t, st)
		if after := profileOf(t, st, pupilFrac); after.Absence == before.Absence {
			t.Errorf("absence features unchanged after the repair: %+v", after.Absence)
		}
	})
}
