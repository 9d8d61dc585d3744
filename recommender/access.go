package recommender

// Access is what deciding access to a pupil and keying the pupil's cached answers needs,
// read from the store of record on every request (one primary-key read), never from a
// cache: a cache can be stale, the store cannot.
//
// Generation changes, within the write's own transaction, whenever anything an answer
// about the pupil depends on changes: their row (class, school, level, consent), their
// profile, a teacher's decision. It is drawn from one counter for all pupils, so a pupil
// erased and created again never gets back a generation they had before. Every cached
// answer carries the generation it was computed under, and a read only takes an answer
// of the generation it has just read: whoever changed the store (the API, `parcours
// ingest`, another replica), and whether or not a cache could be cleared, a stale answer
// is never served.
type Access struct {
	StudentID  string
	SchoolID   string
	ClassID    string
	Consent    bool
	Generation int64
}
