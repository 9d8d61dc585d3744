package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Bulk loads a whole data folder in one transaction, file after file in reference order
// (datasets.FolderFiles), in bounded memory: each file is streamed in chunks into an
// unlogged staging table (COPY: no WAL), then checked and merged into the stored tables by
// set-based SQL. Nothing is visible to others before Commit, and a failure anywhere, in
// the last file as in the first, leaves the database as it was: the staging tables were
// created inside the transaction and go with it.
//
// What changed is collected in the database too (temporary tables of pupil, class and
// catalogue ids), so that neither the folder nor the list of touched pupils is ever held
// in this process.
//
// Use: BeginBulk, then for each file Stage every chunk and Merge once; then Commit (or
// Rollback, which is safe to defer).
type Bulk struct {
	s        *Store
	tx       pgx.Tx
	staged   map[string]int // rows staged per file
	merged   map[string]bool
	done     bool
	trace    func(file, step string, ms float64)
	future   time.Time // rows dated after it are refused (zero: no check)
	unmapped int       // valid statements kept as unmapped (unknown pupil or activity)
	// stageSpent sums, per step, the time Stage spends on the current file's chunks
	// (reported through trace once the file is read).
	stageSpent map[string]time.Duration
}

// stageLap adds the time since *t0 to step and restarts *t0.
func (b *Bulk) stageLap(step string, t0 *time.Time) {
	if b.trace == nil {
		return
	}
	if b.stageSpent == nil {
		b.stageSpent = map[string]time.Duration{}
	}
	now := time.Now()
	b.stageSpent[step] += now.Sub(*t0)
	*t0 = now
}

// traceStage reports the summed steps of Stage for file, and forgets them.
func (b *Bulk) traceStage(file string) {
	if b.trace == nil {
		return
	}
	for _, step := range []string{"stage:map", "stage:map:lookup", "stage:map:go", "stage:map:unmapped", "stage:check", "stage:tombstones", "stage:copy"} {
		if d, ok := b.stageSpent[step]; ok {
			b.trace(file, step, float64(d.Microseconds())/1000)
		}
	}
	clear(b.stageSpent)
}

// BulkResult says what a committed Bulk changed.
type BulkResult struct {
	Rows      map[string]int // rows read per file
	Pupils    int            // pupils whose data changed (their events, or their class's timetable)
	Classes   int            // classes whose timetable changed
	Catalogue bool           // competencies or resources changed
	Unmapped  int            // valid statements kept unmapped: unknown pupil or activity
}

// bulkStage is the prefix of the staging tables. One Bulk runs at a time (writeLock), so
// fixed names cannot clash; they are created inside the transaction and never committed.
const bulkStage = "bulk_stage_"

// BeginBulk opens the transaction of a bulk load and takes the write lock that also
// serialises Ingest and DeleteStudent.
func (s *Store) BeginBulk(ctx context.Context) (*Bulk, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore.BeginBulk: %w", wrap(err))
	}
	b := &Bulk{s: s, tx: tx, staged: map[string]int{}, merged: map[string]bool{}}
	stmts := []string{
		"SELECT pg_advisory_xact_lock(" + fmt.Sprint(writeLock) + ")",
		// The checks and the merge join staging tables of millions of rows: hash tables
		// that fit in memory instead of spilling in 4 MB batches. Per transaction only.
		"SET LOCAL work_mem = '64MB'",
		"SET LOCAL maintenance_work_mem = '256MB'",
		`CREATE TEMP TABLE bulk_changed_pupils (id text COLLATE "C" PRIMARY KEY) ON COMMIT DROP`,
		`CREATE TEMP TABLE bulk_changed_classes (id text COLLATE "C" PRIMARY KEY) ON COMMIT DROP`,
		`CREATE TEMP TABLE bulk_changed_catalogue (id text COLLATE "C" PRIMARY KEY) ON COMMIT DROP`,
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("pgstore.BeginBulk: %w", wrap(err))
		}
	}
	return b, nil
}

// Rollback abandons the load; after Commit it does nothing.
func (b *Bulk) Rollback(ctx context.Context) error {
	if b.done {
		return nil
	}
	b.done = true
	return b.tx.Rollback(context.WithoutCancel(ctx))
}

// kindOf returns the descriptor of file's kind over the dataset d.
func kindOf(d *datasets.Dataset, file string) (kind, bool) {
	for _, k := range kinds(d) {
		if k.file == file {
			return k, true
		}
	}
	return kind{}, false
}

// Stage copies one chunk of file (a Dataset holding only that file's kind, lines[i] the
// line of row i) into the file's staging table, after the checks that need no stored
// data. Ids repeated across chunks are found by Merge.
func (b *Bulk) Stage(ctx context.Context, file string, chunk *datasets.Dataset, lines []int) error {
	t0 := time.Now()
	if file == datasets.UsageFile && len(chunk.Statements) > 0 {
		var err error
		if lines, err = b.mapStatements(ctx, chunk, lines); err != nil {
			return err
		}
		b.stageLap("stage:map", &t0)
	}
	k, ok := kindOf(chunk, file)
	if !ok {
		return &datasets.Error{File: file, Msg: "not a data-folder file"}
	}
	if b.merged[file] {
		panic("pgstore.Bulk.Stage: " + file + " was already merged")
	}
	if k.n != len(lines) {
		panic(fmt.Sprintf("pgstore.Bulk.Stage: %d rows, %d lines", k.n, len(lines)))
	}
	k.lineOf = func(i int) int { return lines[i] }
	for i := range k.n {
		if k.id(i) == "" {
			return &datasets.Error{File: k.file, Line: k.lineOf(i), Field: k.idField, Msg: "empty id"}
		}
		if field, msg := k.check(i); field != "" {
			return &datasets.Error{File: k.file, Line: k.lineOf(i), Field: field, Msg: msg}
		}
	}
	// Checks written for a whole batch, run on the chunk: their line is the row's index in
	// the chunk, turned back into the file's line.
	if !b.future.IsZero() {
		if err := datasets.CheckNotFuture(chunk, b.future); err != nil {
			return reline(err, lines)
		}
	}
	b.stageLap("stage:check", &t0)
	// Erased pupils stay erased (d13's tombstones): one lookup per chunk.
	if err := b.s.checkTombstones(ctx, b.tx, chunk); err != nil {
		return reline(err, lines)
	}
	b.stageLap("stage:tombstones", &t0)
	stage := bulkStage + k.table
	if _, seen := b.staged[file]; !seen {
		if _, err := b.tx.Exec(ctx, fmt.Sprintf(
			`CREATE UNLOGGED TABLE %s AS SELECT 0::int AS line, * FROM %s WITH NO DATA`, stage, k.table)); err != nil {
			return fmt.Errorf("pgstore.Bulk: %s: stage: %w", file, wrap(err))
		}
		b.staged[file] = 0
	}
	cols := append([]string{"line"}, k.cols...)
	row := make([]any, 0, len(cols))
	_, err := b.tx.CopyFrom(ctx, pgx.Identifier{stage}, cols, pgx.CopyFromSlice(k.n, func(i int) ([]any, error) {
		row = append(append(row[:0], k.lineOf(i)), k.row(i)...)
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("pgstore.Bulk: %s: copy: %w", file, wrap(err))
	}
	b.stageLap("stage:copy", &t0)
	b.staged[file] += k.n
	return nil
}

// Merge checks the staged rows of file against what is stored (including the files
// merged before it in this load) and writes them: changed rows updated, new rows
// inserted, unchanged rows left alone. The first bad row is a *datasets.Error naming
// file, line and field, a conflict with a stored row included.
func (b *Bulk) Merge(ctx context.Context, file string) error {
	k, ok := kindOf(&datasets.Dataset{}, file)
	if !ok {
		return &datasets.Error{File: file, Msg: "not a data-folder file"}
	}
	b.merged[file] = true
	n, seen := b.staged[file]
	if !seen {
		return nil
	}
	stage := bulkStage + k.table
	if err := b.merge(ctx, k, stage, n); err != nil {
		var re *datasets.Error
		if errors.As(err, &re) {
			return err
		}
		return fmt.Errorf("pgstore.Bulk: %w", err)
	}
	if _, err := b.tx.Exec(ctx, "DROP TABLE "+stage); err != nil {
		return fmt.Errorf("pgstore.Bulk: %s: %w", file, wrap(err))
	}
	return nil
}

func (b *Bulk) merge(ctx context.Context, k kind, stage string, n int) error {
	tx := b.tx
	t0 := time.Now()
	lap := func(what string) {
		if b.trace != nil {
			b.trace(k.file, what, float64(time.Since(t0).Microseconds())/1000)
			t0 = time.Now()
		}
	}
	// Statistics let the planner choose hash joins for the checks and the merge.
	// A sample of 3,000 rows (statistics target 10, for this load's transaction only)
	// is enough to choose hash joins, and takes a fraction of the default 30,000's time
	// (0.7-1 s for 270,000 grades under load).
	if _, err := tx.Exec(ctx, "SET LOCAL default_statistics_target = 10; ANALYZE "+stage); err != nil {
		return fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	checks := []func(context.Context, pgx.Tx, kind, string) (*datasets.Error, error){
		checkStoredDuplicates, checkStagedOwner, checkStagedStatements,
	}
	lap("analyze")
	for _, c := range checks {
		if re, err := c(ctx, tx, k, stage); err != nil || re != nil {
			return rowErr(re, err)
		}
	}
	lap("check")
	if err := mergeStaged(ctx, tx, k, stage, n, b.s.bulkKeepIndexes); err != nil {
		return err
	}
	lap("merge")
	defer lap("references")
	// References are checked after the rows are in, so that a file may refer to its own
	// rows (a prerequisite, a voided statement): stored ∪ folder.
	var first *datasets.Error
	refs := k.refs
	if k.table == "lessons" {
		refs = append(refs, refCheck{col: "class_id", field: "class_id", table: "students", key: "class_id",
			msg: "no student is in class"})
	}
	for _, r := range refs {
		re, err := checkRef(ctx, tx, k, stage, r)
		if err != nil {
			return err
		}
		if re != nil && (first == nil || re.Line < first.Line) {
			first = re
		}
	}
	if k.table == "statements" {
		re, err := checkVoidingVoids(ctx, tx, stage)
		if err != nil {
			return err
		}
		if re != nil && (first == nil || re.Line < first.Line) {
			first = re
		}
	}
	if first != nil {
		return first
	}
	switch k.table {
	case "competencies":
		return checkStagedAcyclic(ctx, tx, stage)
	case "resources":
		return syncVectorMeta(ctx, tx)
	}
	return nil
}

func rowErr(re *datasets.Error, err error) error {
	if err != nil {
		return err
	}
	return re
}

// Commit makes the whole load visible at once and reports what it changed.
func (b *Bulk) Commit(ctx context.Context) (BulkResult, error) {
	res := BulkResult{Rows: b.staged, Unmapped: b.unmapped}
	for f := range b.staged {
		if !b.merged[f] {
			return res, fmt.Errorf("pgstore.Bulk.Commit: %s staged but not merged", f)
		}
	}
	tx := b.tx
	// A timetable change changes what its pupils missed.
	if _, err := tx.Exec(ctx, `INSERT INTO bulk_changed_pupils SELECT s.id FROM students s
		WHERE s.class_id IN (SELECT id FROM bulk_changed_classes) ON CONFLICT DO NOTHING`); err != nil {
		return res, fmt.Errorf("pgstore.Bulk.Commit: %w", wrap(err))
	}
	var catalogue int
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM bulk_changed_pupils), (SELECT count(*) FROM bulk_changed_classes),
		(SELECT count(*) FROM bulk_changed_catalogue)`).Scan(&res.Pupils, &res.Classes, &catalogue)
	if err != nil {
		return res, fmt.Errorf("pgstore.Bulk.Commit: %w", wrap(err))
	}
	res.Catalogue = catalogue > 0
	// The engine's durable marks (see settle): a refit pending when the catalogue changed,
	// and every changed pupil stale until the refit (or serve's repair) rebuilds its
	// profile, so that a process killed after this commit leaves them for the next run.
	if res.Catalogue {
		if _, err := tx.Exec(ctx, `INSERT INTO refit_pending (gen) VALUES (nextval('pupil_gen'))
			ON CONFLICT (singleton) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now()`); err != nil {
			return res, fmt.Errorf("pgstore.Bulk.Commit: refit pending: %w", wrap(err))
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO stale_pupils (student_id, gen)
		SELECT id, nextval('pupil_gen') FROM (SELECT id FROM bulk_changed_pupils ORDER BY id) c
		ON CONFLICT (student_id) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now()`); err != nil {
		return res, fmt.Errorf("pgstore.Bulk.Commit: stale marks: %w", wrap(err))
	}
	b.done = true
	if err := tx.Commit(ctx); err != nil {
		return BulkResult{}, fmt.Errorf("pgstore.Bulk.Commit: %w", wrap(err))
	}
	if res.Catalogue {
		b.s.reloadMirror(ctx)
	}
	return res, nil
}

// changeSink is the table that collects the ids of what a kind's rows change.
func changeSink(k kind) string {
	switch k.table {
	case "competencies", "resources":
		return "bulk_changed_catalogue"
	case "lessons":
		return "bulk_changed_classes"
	}
	return "bulk_changed_pupils"
}

// mergeStaged is upsert's set-based twin for a bulk load: the ids of what changed go to a
// temporary table in the database instead of to this process.
func mergeStaged(ctx context.Context, tx pgx.Tx, k kind, stage string, n int, keepIndexes bool) error {
	sink := changeSink(k)
	into := func(dml string) error {
		q := fmt.Sprintf(`WITH up AS (%s) INSERT INTO %s SELECT DISTINCT v FROM up WHERE v IS NOT NULL ON CONFLICT DO NOTHING`, dml, sink)
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: merge: %w", k.file, wrap(err))
		}
		return nil
	}
	if k.table == "lessons" {
		// A lesson moved to another class changes the old class's timetable too.
		if err := into(`SELECT t.class_id AS v FROM lessons t JOIN ` + stage + ` s ON s.id = t.id WHERE t.class_id <> s.class_id`); err != nil {
			return err
		}
	}
	if k.table != "statements" { // statements are immutable: checkStagedStatements
		if err := into(k.updateChanged(stage) + " AS v"); err != nil {
			return err
		}
	}
	cols := strings.Join(k.cols, ", ")
	insert := fmt.Sprintf(`INSERT INTO %[1]s (%[2]s) SELECT %[2]s FROM %[3]s s WHERE NOT EXISTS (SELECT 1 FROM %[1]s x WHERE x.id = s.id)`,
		k.table, cols, stage)
	var dml string
	if k.table != "statements" {
		dml = fmt.Sprintf(`WITH up AS (%s RETURNING %s AS v) INSERT INTO %s SELECT DISTINCT v FROM up WHERE v IS NOT NULL ON CONFLICT DO NOTHING`,
			insert, k.returns, sink)
	} else {
		// A new voiding statement changes the features of the pupil whose statement it
		// voids.
		dml = fmt.Sprintf(`WITH ins AS (%s RETURNING student_id, verb, object_id),
			up AS (SELECT student_id AS v FROM ins
				UNION ALL SELECT t.student_id FROM ins JOIN statements t ON t.id = ins.object_id WHERE ins.verb = '%s')
			INSERT INTO %s SELECT DISTINCT v FROM up ON CONFLICT DO NOTHING`, insert, datasets.VerbVoided, sink)
	}
	return insertNew(ctx, tx, k, stage, n, keepIndexes, dml)
}

// checkStagedDuplicates finds the first line whose id was already on an earlier line of
// the file (the readers' in-memory check is off for a bulk load: it grows with the file).
func checkStagedDuplicates(ctx context.Context, tx pgx.Tx, k kind, stage string) (*datasets.Error, error) {
	var line int
	var id string
	err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT s.line, s.id FROM %[1]s s
		JOIN (SELECT id, min(line) AS first FROM %[1]s GROUP BY id HAVING count(*) > 1) d ON d.id = s.id AND s.line > d.first
		ORDER BY s.line LIMIT 1`, stage)).Scan(&line, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: duplicates: %w", k.file, wrap(err))
	}
	return &datasets.Error{File: k.file, Line: line, Field: k.idField,
		Msg: fmt.Sprintf("duplicate id %q (already earlier in the file)", id)}, nil
}

// checkStagedOwner refuses to move a stored row to another owner (a grade to another
// pupil): two sources disagree on what the id means, a conflict named like bad input.
func checkStagedOwner(ctx context.Context, tx pgx.Tx, k kind, stage string) (*datasets.Error, error) {
	if k.owner == "" {
		return nil, nil
	}
	var line int
	var id, was string
	err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT s.line, s.id, t.%[1]s FROM %[2]s s JOIN %[3]s t ON t.id = s.id
		WHERE t.%[1]s <> s.%[1]s ORDER BY s.line LIMIT 1`, k.owner, stage, k.table)).Scan(&line, &id, &was)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	return &datasets.Error{Code: datasets.ErrConflict, File: k.file, Line: line, Field: k.owner,
		Msg: fmt.Sprintf("%s %q is already stored for %s %q", k.idField, id, k.owner, was)}, nil
}

// checkStagedStatements enforces xAPI's immutability: a statement id, once stored, names
// that statement forever.
func checkStagedStatements(ctx context.Context, tx pgx.Tx, k kind, stage string) (*datasets.Error, error) {
	if k.table != "statements" {
		return nil, nil
	}
	var line int
	var id string
	err := tx.QueryRow(ctx, `SELECT s.line, s.id FROM `+stage+` s JOIN statements t ON t.id = s.id
		WHERE (t.student_id, t.verb, t.object_id, t.ts, t.scaled, t.success, t.completion, t.duration_ns)
		   IS DISTINCT FROM (s.student_id, s.verb, s.object_id, s.ts, s.scaled, s.success, s.completion, s.duration_ns)
		ORDER BY s.line LIMIT 1`).Scan(&line, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	return &datasets.Error{Code: datasets.ErrConflict, File: k.file, Line: line, Field: "id",
		Msg: fmt.Sprintf("statement %q is already stored with other content", id)}, nil
}

// checkVoidingVoids refuses a voiding statement whose target is itself a voiding
// statement (xAPI forbids it).
func checkVoidingVoids(ctx context.Context, tx pgx.Tx, stage string) (*datasets.Error, error) {
	var line int
	var target string
	const voided = "'" + datasets.VerbVoided + "'"
	err := tx.QueryRow(ctx, `SELECT s.line, s.object_id FROM `+stage+` s JOIN statements t ON t.id = s.object_id
		WHERE s.verb = `+voided+` AND t.verb = `+voided+` ORDER BY s.line LIMIT 1`).Scan(&line, &target)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", datasets.UsageFile, wrap(err))
	}
	return &datasets.Error{File: datasets.UsageFile, Line: line, Field: "object.id",
		Msg: fmt.Sprintf("voids statement %q, itself a voiding statement (xAPI forbids it)", target)}, nil
}

// checkStagedAcyclic runs the cycle check from the staged competencies over the whole
// stored graph (a catalogue's few thousand competencies, merged already) and names the
// staged line of a competency on the cycle.
func checkStagedAcyclic(ctx context.Context, tx pgx.Tx, stage string) error {
	rows, err := tx.Query(ctx, `SELECT s.line, s.id, s.prerequisites FROM `+stage+` s ORDER BY s.line`)
	if err != nil {
		return fmt.Errorf("%s: %w", datasets.CompetenciesFile, wrap(err))
	}
	var staged []datasets.Competency
	var lines []int
	var line int
	var id string
	var pre []string
	if _, err := pgx.ForEachRow(rows, []any{&line, &id, &pre}, func() error {
		staged = append(staged, datasets.Competency{ID: id, Prerequisites: slices.Clone(pre)})
		lines = append(lines, line)
		return nil
	}); err != nil {
		return fmt.Errorf("%s: %w", datasets.CompetenciesFile, wrap(err))
	}
	rows, err = tx.Query(ctx, `SELECT id, prerequisites FROM competencies`)
	if err != nil {
		return fmt.Errorf("%s: %w", datasets.CompetenciesFile, wrap(err))
	}
	stored := map[string][]string{}
	if _, err := pgx.ForEachRow(rows, []any{&id, &pre}, func() error {
		stored[id] = slices.Clone(pre)
		return nil
	}); err != nil {
		return fmt.Errorf("%s: %w", datasets.CompetenciesFile, wrap(err))
	}
	return datasets.CheckAcyclic(datasets.CompetenciesFile, staged, func(i int) int { return lines[i] },
		func(id string) []string { return stored[id] })
}

// reline turns the line of a batch check's error (its row's index in the chunk, as a
// batch's line: index + 2 in a CSV file, + 1 in JSON Lines) into the file's line.
func reline(err error, lines []int) error {
	var e *datasets.Error
	if !errors.As(err, &e) || e.Line <= 0 {
		return err
	}
	i := e.Line - 2
	if e.File == datasets.UsageFile {
		i = e.Line - 1
	}
	if i >= 0 && i < len(lines) {
		e.Line = lines[i]
	}
	return err
}

// mapStatements attaches the chunk's xAPI statements to pupils and resources as the API
// does (by account, mailbox hash, resource id, URL or alternative id), against what the
// load's own transaction holds: the folder's pupils and resources are merged before
// usage.jsonl. Valid statements it cannot attach are kept as unmapped, not refused; a
// voiding statement may name one staged from an earlier chunk of the file. It returns the
// file lines of the statements left in the chunk.
func (b *Bulk) mapStatements(ctx context.Context, chunk *datasets.Dataset, lines []int) ([]int, error) {
	lineOf := make(map[string]int, len(chunk.Statements))
	var targets []string
	for i, st := range chunk.Statements {
		if _, ok := lineOf[st.ID]; !ok {
			lineOf[st.ID] = lines[i]
		}
		if st.Ref != nil && st.Verb == datasets.VerbVoided {
			targets = append(targets, st.ObjectID)
		}
	}
	t0 := time.Now()
	dir, err := recommender.LookUpXAPI(ctx, xapiDir{b.tx}, chunk.Statements)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Bulk: %s: %w", datasets.UsageFile, wrap(err))
	}
	b.stageLap("stage:map:lookup", &t0)
	if _, staged := b.staged[datasets.UsageFile]; staged && len(targets) > 0 {
		rows, err := b.tx.Query(ctx, `SELECT id FROM `+bulkStage+`statements WHERE id = ANY($1)`, targets)
		if err != nil {
			return nil, fmt.Errorf("pgstore.Bulk: %s: %w", datasets.UsageFile, wrap(err))
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("pgstore.Bulk: %s: %w", datasets.UsageFile, wrap(err))
		}
		dir.AddStatements(ids...)
	}
	datasets.MapStatements(chunk, dir)
	kept := make([]int, len(chunk.Statements))
	for i, st := range chunk.Statements {
		kept[i] = lineOf[st.ID]
	}
	b.stageLap("stage:map:go", &t0)
	if len(chunk.Unmapped) > 0 {
		defer b.stageLap("stage:map:unmapped", &t0)
		if err := insertUnmapped(ctx, b.tx, &datasets.Dataset{Unmapped: chunk.Unmapped}); err != nil {
			return nil, fmt.Errorf("pgstore.Bulk: %s: %w", datasets.UsageFile, err)
		}
		b.unmapped += len(chunk.Unmapped)
		chunk.Unmapped = nil
	}
	return kept, nil
}
