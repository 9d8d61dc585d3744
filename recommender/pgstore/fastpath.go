package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// maxFastStatements bounds the batches ingestFast takes: what an LRS sends per POST.
const maxFastStatements = 200

// maxGroupStatements bounds the statements of one group transaction.
const maxGroupStatements = 2000

// groupWriters is how many group transactions run at once: while one waits for its WAL
// flush, the next gathers and sends the calls that came in meanwhile.
const groupWriters = 2

// ingestFast is IngestApply's path for what the service receives all day: a small batch
// of new xAPI statements about known pupils and resources.
//
// Group commit: the calls that arrive while a transaction is in flight wait in a queue,
// and the next transaction takes all of them (in arrival order, up to
// maxGroupStatements): it inserts their statements, locks their pupils and reads their
// profiles in one round trip, folds each call's statements into the profiles with the
// call's fn (in arrival order, each call seeing the profiles as the calls before it left
// them), and writes the profiles, generations, marks and COMMIT in a second. Each call
// returns only once that commit is done, so an acknowledged event is durable and in its
// pupil's profile (or its pupil is marked), as on the single path; but one WAL flush and
// two round trips serve every call of the group. A call on its own is a group of one.
//
// Each call stays all-or-nothing: the insert takes all of a call's statements or none
// (one already stored, or naming an unknown pupil or resource), and a call whose rows
// were taken only in part (a twin committed by another transaction meanwhile) has them
// deleted again in the same transaction. Such a call reports ok=false, having written
// nothing, as does any call that is not of that kind; IngestApply then runs the general
// path for it, which validates, names the bad row, and upserts.
func (s *Store) ingestFast(ctx context.Context, b *datasets.Dataset, fn recommender.ApplyFunc) (recommender.Changed, bool, error) {
	r := newFastCall(ctx, b, fn)
	if r == nil {
		return recommender.Changed{}, false, nil
	}
	if s.groups.submit(r, groupWriters) {
		go s.writeGroups()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if s.groups.withdraw(r) {
			return recommender.Changed{}, true, fmt.Errorf("pgstore.Ingest: %w", ctx.Err())
		}
		<-r.done // in a transaction already: its outcome is the answer
	}
	switch {
	case r.err != nil:
		return r.ch, true, fmt.Errorf("pgstore.Ingest: %w", r.err)
	case !r.ok:
		return recommender.Changed{}, false, nil
	}
	return r.ch, true, nil
}

// fastCall is one ingestFast call waiting for, or in, a group transaction.
type fastCall struct {
	ctx context.Context
	b   *datasets.Dataset
	fn  recommender.ApplyFunc
	ch  recommender.Changed // Students: the batch's pupils, sorted

	// The outcome, set by the group before done is closed: err, or ok when the call's
	// statements are committed with its profiles (else nothing of it was written).
	ok   bool
	err  error
	done chan struct{}
}

// newFastCall returns the call for b, or nil when b is not for the fast path.
func newFastCall(ctx context.Context, b *datasets.Dataset, fn recommender.ApplyFunc) *fastCall {
	n := len(b.Statements)
	if fn == nil || n == 0 || n > maxFastStatements || len(b.Competencies)+len(b.Resources)+len(b.Students)+
		len(b.Lessons)+len(b.Grades)+len(b.Absences)+len(b.Unmapped)+len(b.Classes) > 0 {
		return nil
	}
	seen := make(map[string]bool, n)
	pupils := map[string]bool{}
	for i := range b.Statements {
		st := &b.Statements[i]
		if st.Verb == datasets.VerbVoided || st.ID == "" || seen[st.ID] {
			return nil
		}
		if field, _ := checkStatement(st); field != "" {
			return nil
		}
		seen[st.ID] = true
		pupils[st.StudentID] = true
	}
	return &fastCall{ctx: ctx, b: b, fn: fn, ch: recommender.Changed{Students: sortedKeys(pupils)}, done: make(chan struct{})}
}

// groups are the fast calls waiting for a group transaction.
type groups = callQueue[fastCall]

// groupFits reports whether r may join the group taken: within maxGroupStatements, and
// no statement id already in it (the insert could not tell the two apart).
func groupFits(taken []*fastCall, r *fastCall) bool {
	n := len(r.b.Statements)
	ids := map[string]bool{}
	for _, t := range taken {
		n += len(t.b.Statements)
		for _, st := range t.b.Statements {
			ids[st.ID] = true
		}
	}
	return n <= maxGroupStatements && !slices.ContainsFunc(r.b.Statements, func(st datasets.Statement) bool { return ids[st.ID] })
}

// writeGroups runs group transactions until the queue is empty.
func (s *Store) writeGroups() {
	for {
		grp := s.groups.take(groupFits)
		if grp == nil {
			return
		}
		s.writeGroup(grp)
	}
}

// writeGroup runs one group transaction and hands each call its outcome.
func (s *Store) writeGroup(grp []*fastCall) {
	// The transaction goes on while anyone still waits for its outcome.
	ctx, stop := allDone(grp, func(r *fastCall) context.Context { return r.ctx })
	defer stop()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil { // from an fn: the transaction is rolled back
				err = fmt.Errorf("online update panicked: %v", p)
			}
		}()
		return s.runGroup(ctx, grp)
	}()
	var pgErr *pgconn.PgError
	retry := errors.As(err, &pgErr) && pgErr.Code[:2] == "40" // deadlock, serialization
	for _, r := range grp {
		switch {
		case retry:
			r.ok = false // each on its own through the general path
		case err != nil:
			r.ok, r.err = false, wrap(err)
		}
		close(r.done)
	}
}

// statementRows are a group's statements as the insert's column arrays.
type statementRows struct {
	ids, students, verbs, objects []string
	ts                            []time.Time
	scaled                        []*float64
	success, completion           []*bool
	durations                     []*int64
	call                          []int32 // index of the statement's call in the group
}

func (c *statementRows) add(call int, st *datasets.Statement) {
	c.ids, c.students, c.verbs, c.objects = append(c.ids, st.ID), append(c.students, st.StudentID), append(c.verbs, st.Verb), append(c.objects, st.ObjectID)
	c.ts = append(c.ts, st.Timestamp)
	c.scaled, c.success, c.completion = append(c.scaled, st.Scaled), append(c.success, st.Success), append(c.completion, st.Completion)
	c.durations = append(c.durations, durationNS(st.Duration))
	c.call = append(c.call, int32(call))
}

// insertWhole inserts the statements of every call all of whose statements are new and
// name known pupils and resources (checked in the transaction's snapshot), and returns
// the ids inserted. A twin committed by another transaction after the snapshot is
// skipped (ON CONFLICT), so a call may be inserted in part: the caller undoes it.
const insertWhole = `WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
		$6::float8[], $7::bool[], $8::bool[], $9::bigint[], $10::int[])
		AS u(id, student_id, verb, object_id, ts, scaled, success, completion, duration_ns, call)),
	whole AS (SELECT call FROM u GROUP BY call HAVING bool_and(
		EXISTS (SELECT 1 FROM students x WHERE x.id = u.student_id) AND
		EXISTS (SELECT 1 FROM resources x WHERE x.id = u.object_id) AND
		NOT EXISTS (SELECT 1 FROM statements x WHERE x.id = u.id)))
	INSERT INTO statements (id, student_id, verb, object_id, ts, scaled, success, completion, duration_ns)
	SELECT u.id, u.student_id, u.verb, u.object_id, u.ts, u.scaled, u.success, u.completion, u.duration_ns
	FROM u JOIN whole USING (call)
	ON CONFLICT (id) DO NOTHING RETURNING id`

// runGroup is the group transaction: two round trips, one COMMIT. On success it sets ok
// on the calls it stored; on error nothing of the group was written.
func (s *Store) runGroup(ctx context.Context, grp []*fastCall) error {
	var rows statementRows
	pupils := map[string]bool{}
	for i, r := range grp {
		for j := range r.b.Statements {
			rows.add(i, &r.b.Statements[j])
		}
		for _, id := range r.ch.Students {
			pupils[id] = true
		}
	}
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	open := false
	defer func() {
		if open { // failed midway: nothing of it may stay
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	// Shared: groups run side by side, while an erasure or a general ingest, which take
	// the lock exclusively, waits for them and they for it.
	batch.Queue("SELECT pg_advisory_xact_lock_shared($1)", writeLock)
	batch.Queue(insertWhole, rows.ids, rows.students, rows.verbs, rows.objects, rows.ts,
		rows.scaled, rows.success, rows.completion, rows.durations, rows.call)
	queueDelta(batch, sortedKeys(pupils))
	open = true
	br := conn.SendBatch(ctx, batch)
	inserted, stored, err := readGroup(br)
	if err != nil {
		return err
	}
	// Which calls are whole; the rows of a call taken in part are deleted again.
	callOf := make(map[string]int32, len(rows.ids))
	for i, id := range rows.ids {
		callOf[id] = rows.call[i]
	}
	got := make([]int, len(grp))
	for _, id := range inserted {
		got[callOf[id]]++
	}
	var undo []string
	for _, id := range inserted {
		if c := callOf[id]; got[c] != len(grp[c].b.Statements) {
			undo = append(undo, id)
		}
	}
	whole := func(i int) bool { return got[i] == len(grp[i].b.Statements) }
	delta, ps, err := foldGroup(grp, whole, stored)
	if err != nil {
		return err
	}
	batch = &pgx.Batch{}
	if len(undo) > 0 {
		batch.Queue(`DELETE FROM statements WHERE id = ANY($1)`, undo)
	}
	if err := queueSettle(batch, delta.Changed, delta, ps); err != nil {
		return err
	}
	batch.Queue("COMMIT")
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	open = false
	for i, r := range grp {
		r.ok = whole(i)
	}
	return nil
}

// readGroup reads the results of the group's first round trip and closes br.
func readGroup(br pgx.BatchResults) (inserted []string, stored map[string]*storedPupil, err error) {
	defer br.Close()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, nil, err
		}
	}
	rs, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	if inserted, err = pgx.CollectRows(rs, pgx.RowTo[string]); err != nil {
		return nil, nil, fmt.Errorf("insert statements: %w", err)
	}
	if stored, err = readPupils(br); err != nil {
		return nil, nil, err
	}
	return inserted, stored, br.Close()
}

// foldGroup runs the fn of every whole call in arrival order, each on the profiles as
// the calls before it left them. It returns what queueSettle writes: a delta of every
// pupil of the whole calls (Stale when their profile misses an event: marked before, or
// a call's fn did not bring it up to date) and the profiles to write.
func foldGroup(grp []*fastCall, whole func(int) bool, stored map[string]*storedPupil) (*recommender.Delta, []features.Profile, error) {
	uses := map[string]int{}
	for i, r := range grp {
		if whole(i) {
			for _, id := range r.ch.Students {
				uses[id]++
			}
		}
	}
	type state struct {
		p       *features.Profile
		stale   bool
		written bool
	}
	states := make(map[string]*state, len(uses))
	for id := range uses {
		sp, ok := stored[id]
		if !ok {
			continue // erased: cannot be, the insert found the pupil under the shared lock
		}
		p, err := sp.profile()
		if err != nil {
			return nil, nil, err
		}
		states[id] = &state{p: p, stale: sp.markGen != 0}
	}
	for i, r := range grp {
		if !whole(i) {
			continue
		}
		d := &recommender.Delta{Batch: r.b, Changed: r.ch, Fresh: true, Pupils: make(map[string]recommender.PupilDelta, len(r.ch.Students))}
		for _, id := range r.ch.Students {
			st, ok := states[id]
			if !ok {
				continue
			}
			pd := recommender.PupilDelta{Student: stored[id].student, Stale: st.stale}
			if st.p != nil {
				pd.Profile = st.p
				if uses[id] > 1 {
					// fn changes it in place: a later call must not see what an fn
					// that then gave up on the pupil half did.
					cp := recommender.CloneProfile(*st.p)
					pd.Profile = &cp
				}
			}
			d.Pupils[id] = pd
		}
		folded := map[string]bool{}
		for _, p := range r.fn(d) {
			if _, ok := d.Pupils[p.StudentID]; !ok {
				continue // only pupils of this call are locked for it
			}
			states[p.StudentID].p, states[p.StudentID].written = &p, true
			folded[p.StudentID] = true
		}
		for id := range d.Pupils {
			states[id].stale = states[id].stale || !folded[id]
		}
	}
	delta := &recommender.Delta{Changed: recommender.Changed{Students: make([]string, 0, len(states))},
		Pupils: make(map[string]recommender.PupilDelta, len(states))}
	var ps []features.Profile
	for id, st := range states {
		delta.Changed.Students = append(delta.Changed.Students, id)
		delta.Pupils[id] = recommender.PupilDelta{Student: stored[id].student, Stale: st.stale}
		if st.written {
			ps = append(ps, *st.p)
		}
	}
	slices.Sort(delta.Changed.Students)
	return delta, ps, nil
}
