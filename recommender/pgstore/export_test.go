package pgstore

// ForceStaging makes Ingest stage every batch, so that tests exercise the SQL checks of
// the staged path on batches that the direct path would take.
func ForceStaging(s *Store) { s.noDirect = true }
