package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/internal/killtest"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/pgstore"
	"github.com/parcours-ent/parcours/recommender/pgstore/pgtest"
)

// stallRefit is the store of a `parcours ingest` whose refit stops, announced on stdout,
// at its first profile write: the moment a kill -9 finds it in the middle of the refit.
type stallRefit struct {
	*pgstore.Store
	once sync.Once
}

func (s *stallRefit) PutProfilesIf(ctx context.Context, ps []recommender.VersionedProfile) ([]string, error) {
	s.once.Do(func() {
		fmt.Println("REFITTING")
		select {} // until killed
	})
	return s.Store.PutProfilesIf(ctx, ps)
}

// TestKilledIngestChild is the child process of TestKillDuringIngestRefitIsResumed.
func TestKilledIngestChild(t *testing.T) {
	dir, url := os.Getenv("PARCOURS_KILL_DIR"), os.Getenv("PARCOURS_KILL_DB")
	if dir == "" {
		t.Skip("child process of TestKillDuringIngestRefitIsResumed")
	}
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ingestFolder(ctx, &stallRefit{Store: st}, dir, true, time.Now().Add(24*time.Hour), os.Stderr)
	t.Fatalf("the ingest finished (%v) instead of stalling in its refit", err)
}

// killDuringRefit runs `parcours ingest` of dir in a child process and kills it with
// SIGKILL in the middle of its refit.
func killDuringRefit(t *testing.T, dir, url string) {
	t.Helper()
	killtest.AtMarker(t, "TestKilledIngestChild", []string{"PARCOURS_KILL_DIR=" + dir, "PARCOURS_KILL_DB=" + url}, "REFITTING", 3*time.Minute)
}

// Issue 13.8: a kill -9 during ingest's refit left the new pupil without a profile, and
// the re-run reported {"changed":0,"refitted":false}.
func TestKillDuringIngestRefitIsResumed(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	dir := filepath.Join(t.TempDir(), "a")
	if code, _, stderr := runCLI(t, "generate", "--out", dir, "--students", "40", "--seed", "5"); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	// The folder of a later night: one pupil more and a new resource.
	d, err := datasets.LoadFolder(dir, datasets.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newcomer := d.Students[0]
	newcomer.ID = "eleve-arrivee"
	r := d.Resources[0]
	r.ID, r.Title = "ressource-nouvelle", "Nouvelle ressource"
	ctx := context.Background()
	st, err := pgstore.Open(ctx, url, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := ingestFolder(ctx, st, dir, true, time.Now().Add(24*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	d.Students = append(d.Students, newcomer)
	d.Resources = append(d.Resources, r)
	later := filepath.Join(t.TempDir(), "b")
	if err := datasets.WriteFolder(later, d); err != nil {
		t.Fatal(err)
	}

	killDuringRefit(t, later, url)
	if g, err := st.RefitPending(ctx); err != nil || g == 0 {
		t.Fatalf("after the kill: refit pending %d, %v; want the mark left by the killed run", g, err)
	}
	if _, err := st.Profile(ctx, newcomer.ID); err == nil {
		t.Fatal("the newcomer has a profile: the kill came too late to test anything")
	}

	code, stdout, stderr := runCLI(t, "ingest", "--data", later, "--json")
	if code != 0 {
		t.Fatalf("re-run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"changed":0`) || !strings.Contains(stdout, `"refitted":true`) {
		t.Fatalf("re-run printed %s, want nothing changed and the interrupted refit resumed", stdout)
	}
	if g, err := st.RefitPending(ctx); err != nil || g != 0 {
		t.Fatalf("after the re-run: refit pending %d, %v; want none", g, err)
	}
	if ids, err := st.StalePupils(ctx, 0); err != nil || len(ids) != 0 {
		t.Fatalf("after the re-run: stale pupils %v, %v; want none", ids, err)
	}
	if _, err := st.Profile(ctx, newcomer.ID); err != nil {
		t.Fatalf("the newcomer still has no profile: %v", err)
	}

	// Killed again, this time serve resumes it at start.
	newcomer2 := newcomer
	newcomer2.ID = "eleve-arrivee-2"
	d.Students = append(d.Students, newcomer2)
	r.ID = "ressource-nouvelle-2"
	d.Resources = append(d.Resources, r)
	again := filepath.Join(t.TempDir(), "c")
	if err := datasets.WriteFolder(again, d); err != nil {
		t.Fatal(err)
	}
	killDuringRefit(t, again, url)
	cfg := testConfig(t, 40)
	cfg.DatabaseURL = url
	cfg.JWTSecret = "killed-test-secret-0123456789abcdef"
	cfg.RefitInterval = 0
	m := &Main{Config: cfg}
	startMain(t, m)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		g, err1 := st.RefitPending(ctx)
		_, err2 := st.Profile(ctx, newcomer2.ID)
		if err1 == nil && g == 0 && err2 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not resume the refit: pending %d (%v), newcomer's profile: %v", g, err1, err2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
