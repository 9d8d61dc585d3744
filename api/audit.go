package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/parcours-ent/parcours/recommender"
)

// AuditSpool takes audit entries the store could not write, durably (the entry must
// survive a crash once Append returns). FileSpool is the implementation.
type AuditSpool interface {
	Append(e recommender.AuditEntry) error
}

// audit appends one entry per pupil (or one aggregate entry when no pupil is named)
// before the answer is sent. Fail closed: if neither the store nor the spool takes an
// entry, the request fails with 503 and nothing about the pupil is sent.
func (s *Server) audit(c *gin.Context, act action, studentIDs ...string) error {
	cl := claimsOf(c)
	if len(studentIDs) == 0 {
		studentIDs = []string{""}
	}
	now := time.Now().UTC()
	entry := func(id string) recommender.AuditEntry {
		return recommender.AuditEntry{
			At: now, ActorID: cl.Subject, ActorRole: cl.Role, StudentID: id,
			Action: string(act), Detail: c.Request.Method + " " + c.FullPath(),
		}
	}
	ctx := c.Request.Context()
	if len(studentIDs) == 1 {
		return s.auditOne(ctx, entry(studentIDs[0]))
	}
	// A class overview reads many pupils: their entries are written concurrently, so a
	// batching store groups them and any store overlaps the commits.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, id := range studentIDs {
		e := entry(id)
		g.Go(func() error { return s.auditOne(gctx, e) })
	}
	return g.Wait()
}

func (s *Server) auditOne(ctx context.Context, e recommender.AuditEntry) error {
	err := s.auditw.append(ctx, e)
	if err == nil {
		s.metrics.audit.WithLabelValues("store").Inc()
		return nil
	}
	if s.cfg.AuditSpool != nil {
		if serr := s.cfg.AuditSpool.Append(e); serr == nil {
			s.metrics.audit.WithLabelValues("spool").Inc()
			return nil
		}
	}
	s.metrics.audit.WithLabelValues("failed").Inc()
	s.log.Error("audit write failed; refusing to answer", "action", e.Action, "err", err.Error())
	return errUnavailable
}

// FileSpool is an append-only JSON Lines file of audit entries, fsynced on every append,
// for the time the store is down. Replay moves its entries into the store.
type FileSpool struct {
	path string
	mu   sync.Mutex
}

// NewFileSpool returns a spool at path (created on first append, mode 0600: it holds
// pupil ids).
func NewFileSpool(path string) *FileSpool { return &FileSpool{path: path} }

// Append implements AuditSpool.
func (f *FileSpool) Append(e recommender.AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("api.FileSpool.Append: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(f.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("api.FileSpool.Append: %w", err)
	}
	if _, err := fh.Write(append(b, '\n')); err != nil {
		fh.Close()
		return fmt.Errorf("api.FileSpool.Append: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("api.FileSpool.Append: %w", err)
	}
	return fh.Close()
}

// Replay appends the spooled entries to the store in order and empties the spool. On a
// store error it stops; entries already replayed may be written again by the next Replay
// (an audit log tolerates a duplicate, never a loss).
func (f *FileSpool) Replay(ctx context.Context, store recommender.AuditAppender) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("api.FileSpool.Replay: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		var e recommender.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // a torn last line from a crash mid-write
		}
		if err := store.AppendAudit(ctx, e); err != nil {
			return n, fmt.Errorf("api.FileSpool.Replay: %w", err)
		}
		n++
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("api.FileSpool.Replay: %w", err)
	}
	if err := os.Truncate(f.path, 0); err != nil {
		return n, fmt.Errorf("api.FileSpool.Replay: %w", err)
	}
	return n, nil
}

// ReplayEvery replays the spool into the store every period until ctx ends (cmd runs it
// beside the server when a spool is configured). Errors are logged and retried.
func (f *FileSpool) ReplayEvery(ctx context.Context, store recommender.AuditAppender, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := f.Replay(ctx, store); err != nil {
				log.Warn("audit spool replay failed; will retry", "replayed", n, "err", err.Error())
			} else if n > 0 {
				log.Info("audit spool replayed", "entries", n)
			}
		}
	}
}
