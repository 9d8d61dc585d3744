package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

var (
	_ recommender.XAPIDirectory = (*Store)(nil)
	_ recommender.ClientStore   = (*Store)(nil)
	_ recommender.HiddenStore   = (*Store)(nil)
	_ recommender.ClassLabels   = (*Store)(nil)
)

const unmappedCols = `id, student_id, actor, reason, verb, object_id, ts, scaled, success, completion, duration_ns`

// ingestExtras writes the batch's unmapped statements and class labels inside Ingest's
// transaction. Unmapped statements are immutable like statements: the same id with other
// content, or an id already stored as a mapped statement, is a conflict.
func ingestExtras(ctx context.Context, tx pgx.Tx, b *datasets.Dataset) error {
	if len(b.Unmapped) > 0 {
		if err := insertUnmapped(ctx, tx, b); err != nil {
			return err
		}
	}
	for i, c := range b.Classes {
		if c.ID == "" || c.Label == "" {
			return &datasets.Error{File: datasets.ClassesFile, Line: csvLine(i), Field: "class_id", Msg: "empty id or label"}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO classes (id, school_id, label) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET school_id = excluded.school_id, label = excluded.label
			WHERE (classes.school_id, classes.label) IS DISTINCT FROM (excluded.school_id, excluded.label)`, c.ID, c.SchoolID, c.Label); err != nil {
			return fmt.Errorf("%s: %w", datasets.ClassesFile, wrap(err))
		}
	}
	return nil
}

func insertUnmapped(ctx context.Context, tx pgx.Tx, b *datasets.Dataset) error {
	n := len(b.Unmapped)
	ids := make([]string, n)
	seen := make(map[string]bool, n)
	for i, u := range b.Unmapped {
		line := jsonlLine(len(b.Statements) + i)
		if u.ID == "" || u.Actor == "" || seen[u.ID] {
			return &datasets.Error{File: datasets.UsageFile, Line: line, Field: "id", Msg: fmt.Sprintf("empty or repeated id %q", u.ID)}
		}
		seen[u.ID] = true
		ids[i] = u.ID
	}
	var clash string
	err := tx.QueryRow(ctx, `SELECT id FROM statements WHERE id = ANY($1) LIMIT 1`, ids).Scan(&clash)
	if err == nil {
		return &datasets.Error{Code: datasets.ErrConflict, File: datasets.UsageFile, Line: lineOf(b, clash), Field: "id", Msg: fmt.Sprintf("statement %q is stored with other content", clash)}
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("usage.jsonl: %w", wrap(err))
	}
	const stage = "stage_unmapped"
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE `+stage+` ON COMMIT DROP AS SELECT * FROM unmapped_statements WITH NO DATA`); err != nil {
		return fmt.Errorf("usage.jsonl: %w", wrap(err))
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{stage}, []string{"id", "student_id", "actor", "reason", "verb", "object_id", "ts", "scaled", "success", "completion", "duration_ns"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			u := &b.Unmapped[i]
			return []any{u.ID, u.StudentID, u.Actor, u.Reason, u.Verb, u.ObjectID, u.Timestamp, u.Scaled, u.Success, u.Completion, durationNS(u.Duration)}, nil
		}))
	if err != nil {
		return fmt.Errorf("usage.jsonl: %w", wrap(err))
	}
	err = tx.QueryRow(ctx, `SELECT s.id FROM `+stage+` s JOIN unmapped_statements t ON t.id = s.id
		WHERE (t.student_id, t.actor, t.reason, t.verb, t.object_id, t.ts, t.scaled, t.success, t.completion, t.duration_ns)
		   IS DISTINCT FROM (s.student_id, s.actor, s.reason, s.verb, s.object_id, s.ts, s.scaled, s.success, s.completion, s.duration_ns)
		LIMIT 1`).Scan(&clash)
	if err == nil {
		return &datasets.Error{Code: datasets.ErrConflict, File: datasets.UsageFile, Line: lineOf(b, clash), Field: "id", Msg: fmt.Sprintf("statement %q is stored with other content", clash)}
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("usage.jsonl: %w", wrap(err))
	}
	if _, err := tx.Exec(ctx, `INSERT INTO unmapped_statements SELECT * FROM `+stage+` ON CONFLICT (id) DO NOTHING`); err != nil {
		return fmt.Errorf("usage.jsonl: %w", wrap(err))
	}
	_, err = tx.Exec(ctx, `DROP TABLE `+stage)
	return wrap(err)
}

// checkNotUnmapped refuses mapped statements whose id is stored unmapped: an id names
// one statement forever.
func checkNotUnmapped(ctx context.Context, tx pgx.Tx, b *datasets.Dataset) error {
	if len(b.Statements) == 0 {
		return nil
	}
	ids := make([]string, len(b.Statements))
	for i, st := range b.Statements {
		ids[i] = st.ID
	}
	var clash string
	err := tx.QueryRow(ctx, `SELECT id FROM unmapped_statements WHERE id = ANY($1) LIMIT 1`, ids).Scan(&clash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("usage.jsonl: %w", wrap(err))
	}
	return &datasets.Error{Code: datasets.ErrConflict, File: datasets.UsageFile, Line: lineOf(b, clash), Field: "id", Msg: fmt.Sprintf("statement %q is stored with other content", clash)}
}

// lineOf is the usage.jsonl line of a statement of the batch: its mapped statements,
// then its unmapped ones.
func lineOf(b *datasets.Dataset, id string) int {
	for i, st := range b.Statements {
		if st.ID == id {
			return jsonlLine(i)
		}
	}
	for i, u := range b.Unmapped {
		if u.ID == id {
			return jsonlLine(len(b.Statements) + i)
		}
	}
	return 0
}

// StudentsByXAPI implements recommender.XAPIDirectory.
func (s *Store) StudentsByXAPI(ctx context.Context, accountNames, mboxSHA1s []string) ([]datasets.Student, error) {
	return xapiDir{s.db}.StudentsByXAPI(ctx, accountNames, mboxSHA1s)
}

// ResourcesByXAPI implements recommender.XAPIDirectory.
func (s *Store) ResourcesByXAPI(ctx context.Context, activityIDs []string) ([]datasets.Resource, error) {
	return xapiDir{s.db}.ResourcesByXAPI(ctx, activityIDs)
}

// StatementsByID implements recommender.XAPIDirectory.
func (s *Store) StatementsByID(ctx context.Context, ids []string) ([]datasets.Statement, []datasets.UnmappedStatement, error) {
	return xapiDir{s.db}.StatementsByID(ctx, ids)
}

// xapiDir answers recommender.XAPIDirectory on a pool or inside a transaction: the
// folder ingest maps usage.jsonl against the pupils and resources its own transaction
// has merged before.
type xapiDir struct{ db querier }

// studentsQuery and resourcesQuery are the two look-ups of an xAPI batch, for n names or
// activities.
func studentsQuery(n int) string {
	if n > 64 {
		// A chunk of a folder's usage.jsonl (20,000 statements): from the sixth chunk on,
		// PostgreSQL's generic plan of the OR below took 3 s per chunk (the array against
		// every row). Joined, it is a few ms, whatever the plan.
		return `SELECT ` + studentCols + ` FROM students WHERE id IN (SELECT unnest($1::text[])
			UNION SELECT s.id FROM students s WHERE cardinality($2::text[]) > 0 AND s.mbox_sha1 && $2::text[]) ORDER BY id`
	}
	return `SELECT ` + studentCols + ` FROM students WHERE id = ANY($1) OR mbox_sha1 && $2::text[] ORDER BY id`
}

func resourcesQuery(n int) string {
	if n > 64 {
		// A chunk of a folder's usage.jsonl (thousands of activities): the OR below runs
		// the array against every row and the GIN index once per element (over 1 s per
		// chunk of 20,000 statements at 7,000 resources; 2 min for a 3,000-pupil folder).
		// The same lookup as hash joins takes about 0.1 s.
		return `SELECT ` + resourceCols + ` FROM resources WHERE id IN (
			SELECT v FROM unnest($1::text[]) q(v)
			UNION SELECT r.id FROM resources r JOIN unnest($1::text[]) q(v) ON r.url = q.v WHERE r.url <> ''
			UNION SELECT r.id FROM resources r, unnest(r.alt_ids) a(v) WHERE a.v IN (SELECT unnest($1::text[])))
			ORDER BY id`
	}
	// A POST's few activities. PostgreSQL answers it by a scan of the table (1.9 ms at
	// 7,000 resources under load): its estimate for && without element statistics
	// (about 1 % of the rows) makes the scan look cheaper than the GIN index.
	return `SELECT ` + resourceCols + ` FROM resources
		WHERE id = ANY($1) OR (url <> '' AND url = ANY($1)) OR alt_ids && $1::text[] ORDER BY id`
}

// LookUpXAPI implements recommender.XAPILookup: the pupils and the resources an xAPI
// batch names, in one round trip. Concurrent calls share it (see lookups): each gets
// the rows of every call of its round, a superset of its own, which a directory may
// hold (it maps only the statements' own actors and activities).
func (s *Store) LookUpXAPI(ctx context.Context, accountNames, mboxSHA1s, activityIDs []string) ([]datasets.Student, []datasets.Resource, error) {
	c := &lookupCall{ctx: ctx, names: accountNames, hashes: mboxSHA1s, activities: activityIDs, done: make(chan struct{})}
	if s.lookups.submit(c, 1) {
		go s.lookUpRounds()
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if s.lookups.withdraw(c) {
			return nil, nil, fmt.Errorf("pgstore.LookUpXAPI: %w", ctx.Err())
		}
		<-c.done
	}
	if c.err != nil {
		return nil, nil, fmt.Errorf("pgstore.LookUpXAPI: %w", c.err)
	}
	return c.pupils, c.res, nil
}

// lookupCall is one LookUpXAPI call waiting for, or in, a round.
type lookupCall struct {
	ctx                       context.Context
	names, hashes, activities []string
	pupils                    []datasets.Student
	res                       []datasets.Resource
	err                       error
	done                      chan struct{}
}

// maxLookupNames bounds the names and activities of one round.
const maxLookupNames = 4000

// lookups are the xAPI look-ups of concurrent POSTs waiting for a shared round, as
// groups are their ingests: one query pair and one pooled connection for all of them.
type lookups = callQueue[lookupCall]

func (c *lookupCall) size() int { return len(c.names) + len(c.hashes) + len(c.activities) }

func lookupFits(taken []*lookupCall, c *lookupCall) bool {
	n := c.size()
	for _, t := range taken {
		n += t.size()
	}
	return n <= maxLookupNames
}

func (s *Store) lookUpRounds() {
	for {
		round := s.lookups.take(lookupFits)
		if round == nil {
			return
		}
		var names, hashes, activities []string
		for _, c := range round {
			names, hashes, activities = append(names, c.names...), append(hashes, c.hashes...), append(activities, c.activities...)
		}
		ctx, stop := allDone(round, func(c *lookupCall) context.Context { return c.ctx })
		pupils, res, err := s.lookUp(ctx, names, hashes, activities)
		stop()
		for _, c := range round {
			c.pupils, c.res, c.err = pupils, res, err
			close(c.done)
		}
	}
}

func (s *Store) lookUp(ctx context.Context, accountNames, mboxSHA1s, activityIDs []string) ([]datasets.Student, []datasets.Resource, error) {
	batch := &pgx.Batch{}
	var pupils []datasets.Student
	var res []datasets.Resource
	batch.Queue(studentsQuery(len(accountNames)), nonNil(accountNames), nonNil(mboxSHA1s)).Query(func(rows pgx.Rows) (err error) {
		pupils, err = pgx.CollectRows(rows, scanStudent)
		return err
	})
	batch.Queue(resourcesQuery(len(activityIDs)), nonNil(activityIDs)).Query(func(rows pgx.Rows) (err error) {
		res, err = pgx.CollectRows(rows, scanResource)
		return err
	})
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return nil, nil, wrap(err)
	}
	return pupils, res, nil
}

func (s xapiDir) StudentsByXAPI(ctx context.Context, accountNames, mboxSHA1s []string) ([]datasets.Student, error) {
	rows, err := s.db.Query(ctx, studentsQuery(len(accountNames)), nonNil(accountNames), nonNil(mboxSHA1s))
	if err != nil {
		return nil, fmt.Errorf("pgstore.StudentsByXAPI: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, scanStudent)
	if err != nil {
		return nil, fmt.Errorf("pgstore.StudentsByXAPI: %w", wrap(err))
	}
	return out, nil
}

func (s xapiDir) ResourcesByXAPI(ctx context.Context, activityIDs []string) ([]datasets.Resource, error) {
	rows, err := s.db.Query(ctx, resourcesQuery(len(activityIDs)), nonNil(activityIDs))
	if err != nil {
		return nil, fmt.Errorf("pgstore.ResourcesByXAPI: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, scanResource)
	if err != nil {
		return nil, fmt.Errorf("pgstore.ResourcesByXAPI: %w", wrap(err))
	}
	return out, nil
}

func scanUnmapped(r pgx.CollectableRow) (datasets.UnmappedStatement, error) {
	var u datasets.UnmappedStatement
	var ns *int64
	err := r.Scan(&u.ID, &u.StudentID, &u.Actor, &u.Reason, &u.Verb, &u.ObjectID, &u.Timestamp, &u.Scaled, &u.Success, &u.Completion, &ns)
	u.Timestamp = u.Timestamp.UTC()
	if ns != nil {
		d := time.Duration(*ns)
		u.Duration = &d
	}
	return u, err
}

func (s xapiDir) StatementsByID(ctx context.Context, ids []string) ([]datasets.Statement, []datasets.UnmappedStatement, error) {
	rows, err := s.db.Query(ctx, `SELECT id, student_id, verb, object_id, ts, scaled, success, completion, duration_ns
		FROM statements WHERE id = ANY($1) ORDER BY id`, nonNil(ids))
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.StatementsByID: %w", wrap(err))
	}
	mapped, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Statement, error) {
		var st datasets.Statement
		var ns *int64
		err := r.Scan(&st.ID, &st.StudentID, &st.Verb, &st.ObjectID, &st.Timestamp, &st.Scaled, &st.Success, &st.Completion, &ns)
		st.Timestamp = st.Timestamp.UTC()
		if ns != nil {
			d := time.Duration(*ns)
			st.Duration = &d
		}
		return st, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.StatementsByID: %w", wrap(err))
	}
	rows, err = s.db.Query(ctx, `SELECT `+unmappedCols+` FROM unmapped_statements WHERE id = ANY($1) ORDER BY id`, nonNil(ids))
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.StatementsByID: %w", wrap(err))
	}
	unmapped, err := pgx.CollectRows(rows, scanUnmapped)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.StatementsByID: %w", wrap(err))
	}
	return mapped, unmapped, nil
}

// unmappedOfPupil returns the unmapped statements attached to the pupil or sent under
// their account (any home page) or mailbox.
func unmappedOfPupil(ctx context.Context, q querier, st datasets.Student) ([]datasets.UnmappedStatement, error) {
	rows, err := q.Query(ctx, `SELECT `+unmappedCols+` FROM unmapped_statements
		WHERE student_id = $1 OR (actor LIKE 'account:%' AND actor LIKE '%|' || $1) OR actor = ANY($2)
		ORDER BY ts, id`, st.ID, mboxActorKeys(st))
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, scanUnmapped)
	return nonNilSlice(out), wrap(err)
}

func mboxActorKeys(st datasets.Student) []string {
	keys := []string{}
	for _, h := range datasets.MboxSHA1s(st.Mbox) {
		keys = append(keys, "mbox_sha1sum:"+h)
	}
	return keys
}

// eraseUnmapped deletes the pupil's unmapped statements (inside DeleteStudent).
func eraseUnmapped(ctx context.Context, tx pgx.Tx, id string) error {
	st, err := student(ctx, tx, id)
	if errors.Is(err, recommender.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM unmapped_statements
		WHERE student_id = $1 OR (actor LIKE 'account:%' AND actor LIKE '%|' || $1) OR actor = ANY($2)`, st.ID, mboxActorKeys(st))
	return wrap(err)
}

// Classes implements recommender.ClassLabels.
func (s *Store) Classes(ctx context.Context, ids []string) ([]datasets.Class, error) {
	rows, err := s.db.Query(ctx, `SELECT id, school_id, label FROM classes WHERE id = ANY($1) ORDER BY id`, nonNil(ids))
	if err != nil {
		return nil, fmt.Errorf("pgstore.Classes: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (datasets.Class, error) {
		var c datasets.Class
		return c, r.Scan(&c.ID, &c.SchoolID, &c.Label)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore.Classes: %w", wrap(err))
	}
	return out, nil
}

// PutClient implements recommender.ClientStore.
func (s *Store) PutClient(ctx context.Context, c recommender.Client) error {
	_, err := s.db.Exec(ctx, `INSERT INTO lrs_clients (key, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)`,
		c.Key, c.Name, c.SecretHash, c.CreatedAt)
	if err != nil {
		return fmt.Errorf("pgstore.PutClient: %w", wrap(err))
	}
	return nil
}

// Client implements recommender.ClientStore.
func (s *Store) Client(ctx context.Context, key string) (recommender.Client, error) {
	var c recommender.Client
	err := s.db.QueryRow(ctx, `SELECT key, name, secret_hash, created_at FROM lrs_clients WHERE key = $1`, key).
		Scan(&c.Key, &c.Name, &c.SecretHash, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("pgstore.Client: client %q: %w", key, recommender.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("pgstore.Client: %w", wrap(err))
	}
	return c, nil
}

// SetHidden implements recommender.HiddenStore.
func (s *Store) SetHidden(ctx context.Context, h recommender.Hidden, hidden bool) error {
	var err error
	if hidden {
		_, err = s.db.Exec(ctx, `INSERT INTO hidden_resources (class_id, resource_id, hidden_by, at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (class_id, resource_id) DO UPDATE SET hidden_by = excluded.hidden_by, at = excluded.at`,
			h.ClassID, h.ResourceID, h.By, h.At)
	} else {
		var n int
		if err = s.db.QueryRow(ctx, `SELECT count(*) FROM resources WHERE id = $1`, h.ResourceID).Scan(&n); err == nil && n == 0 {
			return fmt.Errorf("pgstore.SetHidden: resource %q: %w", h.ResourceID, recommender.ErrNotFound)
		}
		if err == nil {
			_, err = s.db.Exec(ctx, `DELETE FROM hidden_resources WHERE class_id = $1 AND resource_id = $2`, h.ClassID, h.ResourceID)
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore.SetHidden: resource %q: %w", h.ResourceID, wrap(err))
	}
	return nil
}

// HiddenFor implements recommender.HiddenStore.
func (s *Store) HiddenFor(ctx context.Context, classID string) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT resource_id FROM hidden_resources WHERE class_id = '' OR class_id = $1 ORDER BY resource_id`, classID)
	if err != nil {
		return nil, fmt.Errorf("pgstore.HiddenFor: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore.HiddenFor: %w", wrap(err))
	}
	return out, nil
}
