package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/recommender"
)

// AuditBatcher is an optional capability of a store: appending several audit entries in
// one durable write. When the store has it, concurrent requests share commits (group
// commit): while one batch is being written the next entries queue, and go together in
// the following write, so throughput grows with load without adding latency at low load.
type AuditBatcher interface {
	AppendAudits(ctx context.Context, es []recommender.AuditEntry) error
}

const maxAuditBatch = 512

type auditReq struct {
	e    recommender.AuditEntry
	done chan error
}

// auditWriter writes audit entries durably, batching them when the store can.
type auditWriter struct {
	store recommender.AuditAppender
	batch AuditBatcher // nil: one AppendAudit per entry

	mu      sync.Mutex
	pending []auditReq
	running bool
}

func newAuditWriter(store recommender.AuditAppender) *auditWriter {
	w := &auditWriter{store: store}
	if b, ok := store.(AuditBatcher); ok {
		w.batch = b
	}
	return w
}

// append returns once e is durable, or with the store's error.
func (w *auditWriter) append(ctx context.Context, e recommender.AuditEntry) error {
	if w.batch == nil {
		return w.store.AppendAudit(ctx, e)
	}
	r := auditReq{e: e, done: make(chan error, 1)}
	w.mu.Lock()
	w.pending = append(w.pending, r)
	if !w.running {
		w.running = true
		go w.drain()
	}
	w.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The entry may still be written: an audit log may hold a read that was then
		// abandoned, never miss one that was answered.
		return fmt.Errorf("audit: %w", ctx.Err())
	}
}

// drain writes what is pending, batch after batch, and stops when nothing is left.
func (w *auditWriter) drain() {
	for {
		w.mu.Lock()
		n := min(len(w.pending), maxAuditBatch)
		if n == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		batch := w.pending[:n:n]
		w.pending = w.pending[n:]
		w.mu.Unlock()

		es := make([]recommender.AuditEntry, len(batch))
		for i, r := range batch {
			es[i] = r.e
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := w.batch.AppendAudits(ctx, es)
		cancel()
		for _, r := range batch {
			r.done <- err
		}
	}
}
