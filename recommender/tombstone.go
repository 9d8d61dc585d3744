package recommender

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"

	"github.com/parcours-ent/parcours/datasets"
)

// Tombstones keep an erased pupil erased. DeleteStudent leaves a tombstone, and Ingest
// refuses any row about a tombstoned id (ErrConflict naming the field) until the
// tombstone is lifted, so that the next nightly feed of the school, which still lists the
// pupil, does not bring them back with all their grades.
//
// A tombstone is TombstoneHash(key, id), an HMAC under a key the store is given, never
// the id itself: the erased id is not kept, and without the key the hashes cannot be
// checked against candidate ids.
type Tombstones interface {
	// RemoveTombstone lifts the tombstone of id (an admin's decision); ErrNotFound when
	// there is none.
	RemoveTombstone(ctx context.Context, id string) error
}

// TombstoneHash is the keyed hash stores keep for an erased id.
func TombstoneHash(key []byte, id string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return m.Sum(nil)
}

// PupilRow is a batch row that names a pupil: where it is, and the id.
type PupilRow struct {
	File      string
	Line      int
	StudentID string
}

// PupilRows lists the batch's rows that name a pupil, in the order Ingest applies them
// (students, grades, absences, statements), with the lines of the data files.
func PupilRows(b *datasets.Dataset) []PupilRow {
	var out []PupilRow
	for i, x := range b.Students {
		out = append(out, PupilRow{"students.csv", i + 2, x.ID})
	}
	for i, x := range b.Grades {
		out = append(out, PupilRow{"grades.csv", i + 2, x.StudentID})
	}
	for i, x := range b.Absences {
		out = append(out, PupilRow{"absences.csv", i + 2, x.StudentID})
	}
	for i, x := range b.Statements {
		if x.StudentID != "" {
			out = append(out, PupilRow{"usage.jsonl", i + 1, x.StudentID})
		}
	}
	return out
}

// ErrTombstoned is the error of Ingest (and SetConsent) for a row about an erased pupil.
func ErrTombstoned(r PupilRow) error {
	field := "student_id"
	switch r.File {
	case "usage.jsonl":
		field = "actor"
	case "": // not a batch: the pupil named by the request's path
		field = "id"
	}
	return &datasets.Error{Code: datasets.ErrConflict, File: r.File, Line: r.Line, Field: field,
		Msg: "this pupil was erased; an admin must lift the tombstone (DELETE /v1/tombstones/{id}) before the id is taken in again"}
}
