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
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/errgroup"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// AuditSpool takes audit entries the store could not write, durably (the entry must
// survive a crash once Append returns). FileSpool is the implementation.
type AuditSpool interface {
	Append(e recommender.AuditEntry) error
}

// Outcomes recorded in the audit log (recommender.AuditEntry.Outcome).
const (
	outcomeOK       = "ok"
	outcomeDenied   = "denied"
	outcomeNotFound = "not_found"
	outcomeConflict = "conflict"
	outcomeInvalid  = "invalid"
	outcomeFailed   = "failed"
)

// outcomeOf names what became of an action that ended with err.
func outcomeOf(err error) string {
	if err == nil {
		return outcomeOK
	}
	var p *Problem
	if errors.As(err, &p) {
		switch p.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return outcomeDenied
		case http.StatusNotFound:
			return outcomeNotFound
		case http.StatusConflict:
			return outcomeConflict
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			return outcomeInvalid
		}
		return outcomeFailed
	}
	switch {
	case errors.Is(err, recommender.ErrNotFound):
		return outcomeNotFound
	case errors.Is(err, recommender.ErrConflict):
		return outcomeConflict
	case errors.Is(err, recommender.ErrInvalid), errors.Is(err, datasets.ErrInvalid):
		return outcomeInvalid
	}
	return outcomeFailed
}

// audit records a read of the pupils' data (one entry per pupil, or one aggregate entry
// when no pupil is named) before the answer is sent. Fail closed: if neither the store
// nor the spool takes an entry, the request fails with 503 and nothing about the pupil is
// sent.
func (s *Server) audit(c *gin.Context, act action, studentIDs ...string) error {
	return s.auditAs(c, act, outcomeOK, studentIDs...)
}

// auditResult records a write once its outcome (result, nil when it succeeded) is known,
// so that no entry, in the store or replayed from the spool, says that an erasure or a
// consent change was done when it was not. It returns the audit's own failure: a write
// that succeeded but could not be audited is answered 503 (and retried: the writes are
// idempotent), one that failed keeps its own error.
func (s *Server) auditResult(c *gin.Context, act action, result error, studentID string) error {
	return s.auditAs(c, act, outcomeOf(result), studentID)
}

// auditDenied records a refused request (who tried, on whom, what) best effort: nothing
// was read, so the refusal is answered whether or not the entry could be written.
func (s *Server) auditDenied(c *gin.Context, act action, studentID string) {
	if err := s.auditAs(c, act, outcomeDenied, studentID); err != nil {
		s.metrics.audit.WithLabelValues("denied_lost").Inc()
	}
}

// auditAsync writes the entry of a successful act on one pupil in the background; the
// channel yields auditOne's result. The entry is built from c before it returns.
func (s *Server) auditAsync(c *gin.Context, act action, studentID string) <-chan error {
	e := s.auditEntry(c, act, outcomeOK)(studentID)
	ctx := c.Request.Context()
	done := make(chan error, 1)
	go func() { done <- s.auditOne(ctx, e) }()
	return done
}

// auditEntry returns a function making the entry of act about one pupil.
func (s *Server) auditEntry(c *gin.Context, act action, outcome string) func(id string) recommender.AuditEntry {
	actorID, actorRole := "", "anonymous"
	if cl := claimsOf(c); cl != nil {
		actorID, actorRole = cl.Subject, cl.Role
	} else {
		// No valid token: the caller is known by their address only.
		actorID = "addr:" + s.clientAddr(c)
	}
	now := time.Now().UTC()
	detail := c.Request.Method + " " + c.FullPath()
	return func(id string) recommender.AuditEntry {
		return recommender.AuditEntry{
			At: now, ActorID: actorID, ActorRole: actorRole, StudentID: id,
			Action: string(act), Detail: detail, Outcome: outcome,
		}
	}
}

func (s *Server) auditAs(c *gin.Context, act action, outcome string, studentIDs ...string) error {
	if len(studentIDs) == 0 {
		studentIDs = []string{""}
	}
	entry := s.auditEntry(c, act, outcome)
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
