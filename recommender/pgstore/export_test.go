package pgstore

import "context"

// ForceStaging makes Ingest stage every batch, so that tests exercise the SQL checks of
// the staged path on batches that the direct path would take.
func ForceStaging(s *Store) { s.noDirect = true }

// SynchronousCommit returns the synchronous_commit setting of a pooled session.
func SynchronousCommit(ctx context.Context, s *Store) (string, error) {
	return Setting(ctx, s, "synchronous_commit")
}

// Setting returns a setting of a pooled session.
func Setting(ctx context.Context, s *Store, name string) (string, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	return v, err
}

// BulkKeepIndexes makes bulk loads insert into every index instead of rebuilding the
// secondary ones, to measure one strategy against the other.
func BulkKeepIndexes(s *Store, keep bool) { s.bulkKeepIndexes = keep }
