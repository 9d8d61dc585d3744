package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours-ent/parcours/datasets"
)

// ingestDirect is the fast path for rows that are all new, the common case of a bulk load
// or of a day's grades: it checks references with one lookup per referenced table (of the
// distinct ids the batch names), then copies the rows straight into the table. COPY
// inserts heap rows page by page (one WAL record per page rather than per row) and skips
// the staging table, which together more than halve the cost of a large batch.
//
// It reports ok=false, having written nothing, when any id of the batch is already
// stored: then the caller stages the batch and upserts it. That is found by the COPY
// itself failing on the primary key, under a savepoint, because asking first (id = ANY of
// the batch's ids) cost a third of the load time on 100,000 rows.
func ingestDirect(ctx context.Context, tx pgx.Tx, k kind) (changed []string, ok bool, err error) {
	inBatch := make(map[string]bool, k.n)
	for i := range k.n {
		inBatch[k.id(i)] = true
	}
	var first *datasets.Error
	for _, r := range k.refs {
		re, err := checkRefDirect(ctx, tx, k, r, inBatch)
		if err != nil {
			return nil, true, err
		}
		if re != nil && (first == nil || re.Line < first.Line) {
			first = re
		}
	}
	if first != nil {
		return nil, true, first
	}
	seen := map[string]bool{}
	for i := range k.n {
		seen[k.ret(i)] = true
	}
	if k.table == "statements" {
		// A new voiding statement changes the features of the pupil whose statement it
		// voids; voided statements of the batch are counted above already.
		var targets []string
		for i := range k.n {
			for _, t := range k.refs[2].vals(i) {
				if !inBatch[t] {
					targets = append(targets, t)
				}
			}
		}
		if len(targets) > 0 {
			rows, err := tx.Query(ctx, `SELECT DISTINCT student_id FROM statements WHERE id = ANY($1)`, targets)
			if err != nil {
				return nil, true, fmt.Errorf("%s: %w", k.file, wrap(err))
			}
			var v string
			if _, err := pgx.ForEachRow(rows, []any{&v}, func() error { seen[v] = true; return nil }); err != nil {
				return nil, true, fmt.Errorf("%s: %w", k.file, wrap(err))
			}
		}
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT direct"); err != nil {
		return nil, true, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{k.table}, k.cols, pgx.CopyFromSlice(k.n, func(i int) ([]any, error) {
		return k.row(i), nil
	}))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.TableName == k.table {
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT direct"); err != nil {
			return nil, true, fmt.Errorf("%s: %w", k.file, wrap(err))
		}
		return nil, false, nil // some id is stored: stage and upsert instead
	}
	if err != nil {
		return nil, true, fmt.Errorf("%s: copy: %w", k.file, wrap(err))
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT direct"); err != nil {
		return nil, true, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	return sortedKeys(seen), true, nil
}

// checkRefDirect looks up the distinct ids the batch refers to under r and returns the
// first line that names a missing one. Ids of the batch's own kind (a prerequisite, a
// voided statement) may also be in the batch.
func checkRefDirect(ctx context.Context, tx pgx.Tx, k kind, r refCheck, inBatch map[string]bool) (*datasets.Error, error) {
	firstLine := map[string]int{}
	var want []string
	for i := range k.n {
		for _, v := range r.vals(i) {
			if _, dup := firstLine[v]; dup || (r.table == k.table && inBatch[v]) {
				continue
			}
			firstLine[v] = k.lineOf(i)
			want = append(want, v)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM `+r.table+` WHERE id = ANY($1)`, want)
	if err != nil {
		return nil, fmt.Errorf("%s: check %s: %w", k.file, r.field, wrap(err))
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("%s: check %s: %w", k.file, r.field, wrap(err))
	}
	for _, f := range found {
		delete(firstLine, f)
	}
	var bad *datasets.Error
	for v, line := range firstLine {
		if bad == nil || line < bad.Line || (line == bad.Line && v < bad.Msg) {
			bad = &datasets.Error{File: k.file, Line: line, Field: r.field, Msg: v}
		}
	}
	if bad != nil {
		bad.Msg = fmt.Sprintf("%s %q", r.msg, bad.Msg)
	}
	return bad, nil
}
