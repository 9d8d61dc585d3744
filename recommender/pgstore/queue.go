package pgstore

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// callQueue holds calls that share a round trip (group commits, xAPI look-ups): calls
// arriving while up to max rounds are in flight wait, and the next round takes them all.
type callQueue[C any] struct {
	mu      sync.Mutex
	pending []*C
	runners int
}

// submit queues c and reports whether the caller must start a runner (fewer than max run).
func (q *callQueue[C]) submit(c *C, max int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, c)
	if q.runners >= max {
		return false
	}
	q.runners++
	return true
}

// withdraw removes c from the queue; false when a round has taken it already.
func (q *callQueue[C]) withdraw(c *C) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.Index(q.pending, c)
	if i < 0 {
		return false
	}
	q.pending = slices.Delete(q.pending, i, i+1)
	return true
}

// take removes the next round: the oldest calls, in order, as long as fits accepts the
// next one given those taken (the first is always taken). With none left, the runner
// retires and take returns nil.
func (q *callQueue[C]) take(fits func(taken []*C, next *C) bool) []*C {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := 0
	for k < len(q.pending) && (k == 0 || fits(q.pending[:k], q.pending[k])) {
		k++
	}
	if k == 0 {
		q.runners--
		return nil
	}
	round := slices.Clone(q.pending[:k])
	q.pending = slices.Delete(q.pending, 0, k)
	return round
}

// allDone returns a context (with the values of the first call's) that ends once every
// call's context has ended: a shared round goes on while anyone still waits for it. And
// its stop function.
func allDone[C any](calls []*C, ctxOf func(*C) context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctxOf(calls[0])))
	var left atomic.Int64
	left.Store(int64(len(calls)))
	stops := make([]func() bool, len(calls))
	for i, c := range calls {
		stops[i] = context.AfterFunc(ctxOf(c), func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
