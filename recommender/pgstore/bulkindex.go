package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours-ent/parcours/datasets"
)

// minRebuildRows is the smallest load for which rebuilding a table's indexes can pay:
// below it, per-row index inserts are cheap enough.
const minRebuildRows = 50_000

// insertNew inserts the staged rows whose id is not stored (dml is that INSERT, wrapped as
// it needs). Ids repeated within the file are found here, by the primary key refusing
// them, and then located by checkStagedDuplicates: grouping millions of staged ids on
// every load to find a rare duplicate cost as much as the insert itself.
//
// When the load at least doubles the table, its indexes, the primary key included, are
// dropped before the insert and rebuilt after it: building a btree once from sorted keys
// costs far less than inserting millions of random keys (statement ids are UUIDs) one
// page split at a time; measured on 678,446 statements: 25.8 s with the primary key in
// place, 4.7 s + 1.4 s to rebuild it (benchmarks/RESULTS.md, "Streaming ingest"). Being DDL
// inside the load's transaction, a failure restores the indexes with everything else; the
// price is that readers of the table wait until the load commits, which only a first load
// (the only kind that doubles a table) makes them do. A table that others reference by
// foreign key (students) keeps its primary key.
func insertNew(ctx context.Context, tx pgx.Tx, k kind, stage string, n int, keepIndexes bool, dml string) error {
	rebuild, err := shouldRebuild(ctx, tx, k, n, keepIndexes)
	if err != nil {
		return err
	}
	var restore []string
	if rebuild {
		if restore, err = dropIndexes(ctx, tx, k); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT bulk_insert"); err != nil {
		return fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	_, err = tx.Exec(ctx, dml)
	for _, q := range restore {
		if err != nil {
			break
		}
		_, err = tx.Exec(ctx, q)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT bulk_insert"); rerr != nil {
			return fmt.Errorf("%s: %w", k.file, wrap(rerr))
		}
		re, derr := checkStagedDuplicates(ctx, tx, k, stage)
		if derr != nil {
			return derr
		}
		if re != nil {
			return re
		}
	}
	if err != nil {
		return fmt.Errorf("%s: merge: %w", k.file, wrap(err))
	}
	return nil
}

// shouldRebuild reports whether n new rows at least double k's table.
func shouldRebuild(ctx context.Context, tx pgx.Tx, k kind, n int, keep bool) (bool, error) {
	if n < minRebuildRows || keep {
		return false, nil
	}
	// Counting at most n rows is cheap, and exact where reltuples may be stale.
	var stored int
	if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %d) t`, k.table, n)).Scan(&stored); err != nil {
		return false, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	return stored < n, nil
}

// dropIndexes drops k's table's indexes (but a primary key that a foreign key needs) and
// returns the statements that re-create them, the primary key first.
func dropIndexes(ctx context.Context, tx pgx.Tx, k kind) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
		WHERE x.indrelid = $1::regclass
		  AND NOT (x.indisprimary AND EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = x.indrelid AND f.contype = 'f'))
		ORDER BY x.indisprimary DESC, i.relname`, k.table)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	var drops, creates []string
	var index, indexDef string
	var con, conDef *string
	if _, err := pgx.ForEachRow(rows, []any{&index, &indexDef, &con, &conDef}, func() error {
		if con != nil {
			drops = append(drops, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", k.table, pgx.Identifier{*con}.Sanitize()))
			creates = append(creates, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", k.table, pgx.Identifier{*con}.Sanitize(), *conDef))
		} else {
			drops = append(drops, "DROP INDEX "+pgx.Identifier{index}.Sanitize())
			creates = append(creates, indexDef)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("%s: %w", k.file, wrap(err))
	}
	for _, q := range drops {
		if _, err := tx.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", k.file, wrap(err))
		}
	}
	return creates, nil
}

// checkStoredDuplicates finds a stored id that the file names twice: the primary key
// cannot see it (the rows are updated, not inserted), and an update from two rows would
// keep either.
func checkStoredDuplicates(ctx context.Context, tx pgx.Tx, k kind, stage string) (*datasets.Error, error) {
	var line int
	var id string
	err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT s.line, s.id FROM %[1]s s
		JOIN (SELECT s.id, min(s.line) AS first FROM %[1]s s JOIN %[2]s t ON t.id = s.id GROUP BY s.id HAVING count(*) > 1) d
		  ON d.id = s.id AND s.line > d.first
		ORDER BY s.line LIMIT 1`, stage, k.table)).Scan(&line, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: duplicates: %w", k.file, wrap(err))
	}
	return &datasets.Error{File: k.file, Line: line, Field: k.idField,
		Msg: fmt.Sprintf("duplicate id %q (already earlier in the file)", id)}, nil
}
