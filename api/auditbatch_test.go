package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/recommender"
)

// batchingStore adds AppendAudits to a store, with a slow commit, and counts writes.
type batchingStore struct {
	recommender.Store
	writes atomic.Int64
	fail   atomic.Bool
}

func (b *batchingStore) AppendAudits(ctx context.Context, es []recommender.AuditEntry) error {
	b.writes.Add(1)
	time.Sleep(5 * time.Millisecond) // a commit
	if b.fail.Load() {
		return fmt.Errorf("batch: %w", recommender.ErrUnavailable)
	}
	for _, e := range es {
		if err := b.Store.AppendAudit(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func TestAuditGroupCommit(t *testing.T) {
	t.Run("ConcurrentEntriesShareWritesAndAllLand", func(t *testing.T) {
		base := newEnv(t)
		bs := &batchingStore{Store: base.store.Store}
		w := newAuditWriter(bs)
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if err := w.append(context.Background(), recommender.AuditEntry{ActorID: "T1", StudentID: "S2", Action: fmt.Sprint("a", i)}); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		if n := len(auditActions(t, base.store, "S2")); n != 100 {
			t.Fatalf("%d entries stored, want 100", n)
		}
		if n := bs.writes.Load(); n >= 100 || n < 1 {
			t.Fatalf("%d writes for 100 concurrent entries: no grouping", n)
		}
	})
	t.Run("BatchFailureFailsEveryWaiter", func(t *testing.T) {
		base := newEnv(t)
		bs := &batchingStore{Store: base.store.Store}
		bs.fail.Store(true)
		w := newAuditWriter(bs)
		err := w.append(context.Background(), recommender.AuditEntry{ActorID: "T1", StudentID: "S2"})
		if !errors.Is(err, recommender.ErrUnavailable) {
			t.Fatalf("err %v, want ErrUnavailable", err)
		}
	})
	t.Run("StoreWithoutBatchesWritesDirectly", func(t *testing.T) {
		base := newEnv(t)
		if w := newAuditWriter(base.store); w.batch != nil {
			t.Fatal("memstore treated as batching")
		}
	})
}
