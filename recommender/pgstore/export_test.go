package pgstore

import (
	"context"
	"fmt"
)

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

// LookUpXAPIBoth looks the statements' pupils and activities up twice, once with the
// queries of a few statements (the API) and once with those of a folder's chunk, by
// padding the arrays with ids that match nothing, and returns both answers.
func LookUpXAPIBoth(ctx context.Context, s *Store, names, hashes, activities []string) (small, big [2][]string, err error) {
	d := xapiDir{s.db}
	pad := func(a []string) []string {
		out := append([]string(nil), a...)
		for i := len(out); i <= 100; i++ {
			out = append(out, fmt.Sprintf("nothing-%d", i))
		}
		return out
	}
	for i, args := range [2][3][]string{{names, hashes, activities}, {pad(names), hashes, pad(activities)}} {
		st, err := d.StudentsByXAPI(ctx, args[0], args[1])
		if err != nil {
			return small, big, err
		}
		rs, err := d.ResourcesByXAPI(ctx, args[2])
		if err != nil {
			return small, big, err
		}
		var ids [2][]string
		for _, x := range st {
			ids[0] = append(ids[0], x.ID)
		}
		for _, x := range rs {
			ids[1] = append(ids[1], x.ID)
		}
		if i == 0 {
			small = ids
		} else {
			big = ids
		}
	}
	return small, big, nil
}
