package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// EachPupilEvents calls fn with every pupil in id order, batchSize at a time: their
// events when they consent, the Student only otherwise. Each batch is one read-only
// repeatable-read transaction of five set-based queries (students by keyset, then the
// batch's grades, absences, statements and its classes' lessons); fn runs after the
// transaction ends.
func (s *Store) EachPupilEvents(ctx context.Context, batchSize int, fn func([]features.PupilEvents) error) error {
	if batchSize < 1 {
		return fmt.Errorf("pgstore.EachPupilEvents: batch size %d: %w", batchSize, recommender.ErrInvalid)
	}
	after := ""
	for first := true; ; first = false {
		var batch []features.PupilEvents
		err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			var err error
			batch, err = pupilBatch(ctx, tx, after, first, batchSize)
			return err
		})
		if err != nil {
			return fmt.Errorf("pgstore.EachPupilEvents: %w", wrap(err))
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1].Student.ID
		if err := fn(batch); err != nil {
			return err
		}
		if len(batch) < batchSize {
			return nil
		}
	}
}

func pupilBatch(ctx context.Context, tx pgx.Tx, after string, first bool, n int) ([]features.PupilEvents, error) {
	var rows pgx.Rows
	var err error
	if first {
		rows, err = tx.Query(ctx, `SELECT `+studentCols+` FROM students ORDER BY id LIMIT $1`, n)
	} else {
		rows, err = tx.Query(ctx, `SELECT `+studentCols+` FROM students WHERE id > $1 ORDER BY id LIMIT $2`, after, n)
	}
	if err != nil {
		return nil, err
	}
	sts, err := pgx.CollectRows(rows, scanStudent)
	if err != nil {
		return nil, err
	}
	out := make([]features.PupilEvents, len(sts))
	at := map[string]int{}
	var ids, classes []string
	seenClass := map[string]bool{}
	for i, st := range sts {
		out[i].Student = st
		if !st.Consent {
			continue
		}
		at[st.ID] = i
		ids = append(ids, st.ID)
		out[i].Grades, out[i].Absences, out[i].Statements = []datasets.Grade{}, []datasets.Absence{}, []datasets.Statement{}
		if !seenClass[st.ClassID] {
			seenClass[st.ClassID] = true
			classes = append(classes, st.ClassID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err = tx.Query(ctx, `SELECT id, student_id, subject, competencies, assessment_id, date, score, out_of, coefficient, status
		FROM grades WHERE student_id = ANY($1) ORDER BY student_id, date, id`, ids)
	if err != nil {
		return nil, err
	}
	var g datasets.Grade
	_, err = pgx.ForEachRow(rows, []any{&g.ID, &g.StudentID, &g.Subject, &g.Competencies, &g.AssessmentID, &g.Date, &g.Score, &g.OutOf, &g.Coefficient, &g.Status}, func() error {
		g.Date = g.Date.UTC()
		ev := &out[at[g.StudentID]]
		ev.Grades = append(ev.Grades, g)
		g.Competencies = nil // scanned afresh: the next row gets its own slice
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT id, student_id, start_at, end_at, justified FROM absences
		WHERE student_id = ANY($1) ORDER BY student_id, start_at, id`, ids)
	if err != nil {
		return nil, err
	}
	var a datasets.Absence
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.StudentID, &a.Start, &a.End, &a.Justified}, func() error {
		a.Start, a.End = a.Start.UTC(), a.End.UTC()
		ev := &out[at[a.StudentID]]
		ev.Absences = append(ev.Absences, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT s.id, s.student_id, s.verb, s.object_id, s.ts, s.scaled, s.success, s.completion, s.duration_ns
		FROM statements s WHERE s.student_id = ANY($1) AND s.verb <> '`+datasets.VerbVoided+`' AND NOT EXISTS (
			SELECT 1 FROM statements v WHERE v.object_id = s.id AND v.verb = '`+datasets.VerbVoided+`')
		ORDER BY s.student_id, s.ts, s.id`, ids)
	if err != nil {
		return nil, err
	}
	var (
		x  datasets.Statement
		ns *int64
	)
	_, err = pgx.ForEachRow(rows, []any{&x.ID, &x.StudentID, &x.Verb, &x.ObjectID, &x.Timestamp, &x.Scaled, &x.Success, &x.Completion, &ns}, func() error {
		x.Timestamp = x.Timestamp.UTC()
		x.Duration = nil
		if ns != nil {
			d := time.Duration(*ns)
			x.Duration = &d
		}
		ev := &out[at[x.StudentID]]
		ev.Statements = append(ev.Statements, x)
		x.Scaled, x.Success, x.Completion, ns = nil, nil, nil, nil // pointers scanned afresh
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT id, class_id, subject, competencies, start_at, end_at FROM lessons
		WHERE class_id = ANY($1) ORDER BY class_id, start_at, id`, classes)
	if err != nil {
		return nil, err
	}
	tt := make(map[string][]datasets.Lesson, len(classes))
	var l datasets.Lesson
	_, err = pgx.ForEachRow(rows, []any{&l.ID, &l.ClassID, &l.Subject, &l.Competencies, &l.Start, &l.End}, func() error {
		l.Start, l.End = l.Start.UTC(), l.End.UTC()
		tt[l.ClassID] = append(tt[l.ClassID], l)
		l.Competencies = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, i := range at {
		ls := tt[out[i].Student.ClassID]
		if ls == nil {
			ls = []datasets.Lesson{}
		}
		out[i].Lessons = ls
	}
	return out, nil
}
