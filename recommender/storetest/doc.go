// Package storetest is the conformance suite that every recommender.Store passes: the
// same behaviour whatever the storage (ingest validation and upserts, xAPI statement
// rules, exact or near-exact vector search, RGPD export and erasure, audit, retention).
//
// It only ever talks to a store through the recommender.Store interface, and it must
// never depend on a store's internals: a store that needs a special case gets an Options
// field, documented here, not a branch on its type.
//
// Where recommender.Store leaves a choice open, the suite pins it down:
//
//   - Ingest errors. A bad value or reference is a wrapped *datasets.Error, so
//     errors.Is finds datasets.ErrInvalid (not recommender.ErrInvalid: api/ maps both to
//     400, as it must for the data-folder readers' errors anyway). File is the
//     entity's data-folder file ("grades.csv", "usage.jsonl", ...); Line is index+2 for
//     CSV kinds (line 1 is the header) and index+1 for statements (JSON Lines); Field is
//     the column, or for statements the xAPI path ("actor.account.name", "object.id",
//     "verb.id", "result.score.scaled", "timestamp", "id"). Kinds are checked in the order
//     competencies, resources, students, lessons, grades, absences, statements. A repeated
//     id inside one batch is a *datasets.Error on the id column, statements included.
//   - Conflicts. A grade or absence id stored for another pupil, or a statement id stored
//     with other content, wraps recommender.ErrConflict and names "file:line".
//   - Voiding. The voided statement must exist (stored or in the batch, in any order) and
//     may not itself be voiding; PupilEvents omits both, Export keeps both.
//   - Changed lists only real changes: identical rows (times compared as instants) report
//     nothing. Classes lists classes whose lessons changed; their pupils are in Students.
//   - Orders. Catalogue, StudentIDs, ClassStudents and SchoolStudents sort by id; events
//     (PupilEvents and Export) by time then id; Decisions and Served oldest first; Audit
//     by ID, and AuditQuery.Limit keeps the first Limit entries.
//   - Unknown pupil: ErrNotFound from Student, PupilEvents, SetConsent, Export,
//     DeleteStudent, PutProfiles (which then stores none of the batch), AddDecision and
//     LogServed. Unknown resource in AddDecision or PutResourceVectors, mixed dimensions,
//     a repeated id, or a search query of the wrong dimension: ErrInvalid.
//   - Search returns true inner products, best first, ties by resource id (skipped with
//     Options.ApproximateSearch); no vectors, k <= 0, or no matching row: no hits, no error.
//   - Purge. Grades by date, statements by timestamp, absences and lessons by end, served
//     log entries by time, all strictly before dataBefore; audit entries strictly before
//     auditBefore. Audit IDs never go back after a purge.
//   - Uptake counts distinct (pupil, resource) pairs served; a pair is used when a
//     non-voided statement of that pupil on that resource falls within [served, served+window]
//     for one of the times it was served.
//   - DeleteStudent leaves no row behind: re-sending the erased rows reports them changed.
package storetest
