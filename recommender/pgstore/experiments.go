package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

var _ experiment.Store = (*Store)(nil)

// CreateExperiment stores the experiment and its assignment in one transaction;
// ErrConflict when its id is taken.
func (s *Store) CreateExperiment(ctx context.Context, x experiment.Experiment) error {
	def, err := json.Marshal(x.Definition)
	if err != nil {
		return fmt.Errorf("pgstore.CreateExperiment: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO experiments (id, definition, start_at, end_at, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`, x.ID, def, x.Start, x.End, x.CreatedBy, x.CreatedAt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return datasets.Errorf(recommender.ErrConflict, "/id", "experiment %q exists already", x.ID)
		}
		rows := make([][]any, len(x.Assignments))
		for i, a := range x.Assignments {
			rows[i] = []any{x.ID, a.ClassID, a.SchoolID, a.Level, a.Arm, a.OptedOut, a.OptedOutAt}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"experiment_classes"},
			[]string{"experiment_id", "class_id", "school_id", "level", "arm", "opted_out", "opted_out_at"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore.CreateExperiment: %w", wrap(err))
	}
	return nil
}

// Experiment returns the experiment with its assignment; ErrNotFound when unknown.
func (s *Store) Experiment(ctx context.Context, id string) (experiment.Experiment, error) {
	xs, err := s.experiments(ctx, `WHERE id = $1`, id)
	if err != nil {
		return experiment.Experiment{}, fmt.Errorf("pgstore.Experiment: %w", err)
	}
	if len(xs) == 0 {
		return experiment.Experiment{}, fmt.Errorf("pgstore.Experiment: experiment %q: %w", id, recommender.ErrNotFound)
	}
	return xs[0], nil
}

// Experiments lists every experiment by start, then id.
func (s *Store) Experiments(ctx context.Context) ([]experiment.Experiment, error) {
	xs, err := s.experiments(ctx, ``)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Experiments: %w", err)
	}
	return xs, nil
}

func (s *Store) experiments(ctx context.Context, where string, args ...any) ([]experiment.Experiment, error) {
	rows, err := s.db.Query(ctx, `SELECT id, definition, created_by, created_at FROM experiments `+where+` ORDER BY start_at, id`, args...)
	if err != nil {
		return nil, wrap(err)
	}
	xs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (experiment.Experiment, error) {
		var x experiment.Experiment
		var id string
		var def []byte
		if err := r.Scan(&id, &def, &x.CreatedBy, &x.CreatedAt); err != nil {
			return x, err
		}
		if err := json.Unmarshal(def, &x.Definition); err != nil {
			return x, fmt.Errorf("experiment %q: stored definition: %w", id, err)
		}
		x.CreatedAt = x.CreatedAt.UTC()
		x.Assignments = []experiment.Assignment{}
		return x, nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	if len(xs) == 0 {
		return []experiment.Experiment{}, nil
	}
	idx := map[string]int{}
	ids := make([]string, len(xs))
	for i, x := range xs {
		idx[x.ID], ids[i] = i, x.ID
	}
	rows, err = s.db.Query(ctx, `SELECT experiment_id, class_id, school_id, level, arm, opted_out, opted_out_at
		FROM experiment_classes WHERE experiment_id = ANY($1) ORDER BY experiment_id, class_id`, ids)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var xid string
		var a experiment.Assignment
		if err := rows.Scan(&xid, &a.ClassID, &a.SchoolID, &a.Level, &a.Arm, &a.OptedOut, &a.OptedOutAt); err != nil {
			return nil, wrap(err)
		}
		if a.OptedOutAt != nil {
			t := a.OptedOutAt.UTC()
			a.OptedOutAt = &t
		}
		x := &xs[idx[xid]]
		x.Assignments = append(x.Assignments, a)
	}
	return xs, wrap(rows.Err())
}

// ClassExperiments lists the experiments the class was assigned in, by start.
func (s *Store) ClassExperiments(ctx context.Context, classID string) ([]experiment.ClassExperiment, error) {
	rows, err := s.db.Query(ctx, `SELECT e.id, e.definition, c.arm, c.opted_out
		FROM experiment_classes c JOIN experiments e ON e.id = c.experiment_id
		WHERE c.class_id = $1 ORDER BY e.start_at, e.id`, classID)
	if err != nil {
		return nil, fmt.Errorf("pgstore.ClassExperiments: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (experiment.ClassExperiment, error) {
		var id, arm string
		var def []byte
		var out bool
		if err := r.Scan(&id, &def, &arm, &out); err != nil {
			return experiment.ClassExperiment{}, err
		}
		x := experiment.Experiment{Assignments: []experiment.Assignment{{ClassID: classID, Arm: arm, OptedOut: out}}}
		if err := json.Unmarshal(def, &x.Definition); err != nil {
			return experiment.ClassExperiment{}, err
		}
		c, _ := experiment.ClassesOf(&x, classID)
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore.ClassExperiments: %w", wrap(err))
	}
	return out, nil
}

// SetOptOut takes the class out of the experiment, or back in.
func (s *Store) SetOptOut(ctx context.Context, experimentID, classID string, out bool, at time.Time) error {
	var when *time.Time
	if out {
		t := at.UTC()
		when = &t
	}
	tag, err := s.db.Exec(ctx, `UPDATE experiment_classes SET opted_out = $3, opted_out_at = $4
		WHERE experiment_id = $1 AND class_id = $2`, experimentID, classID, out, when)
	if err != nil {
		return fmt.Errorf("pgstore.SetOptOut: %w", wrap(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore.SetOptOut: class %q in experiment %q: %w", classID, experimentID, recommender.ErrNotFound)
	}
	return nil
}

// LogExposure records a served list (asynchronous commit, as LogServed: analytics, not
// an access record); ErrNotFound for an unknown pupil or experiment.
func (s *Store) LogExposure(ctx context.Context, e experiment.Exposure) error {
	ids := e.ResourceIDs
	if ids == nil {
		ids = []string{}
	}
	_, err := s.db.Exec(ctx, `WITH async AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))
		INSERT INTO experiment_exposures (experiment_id, arm, class_id, student_id, list_id, resource_ids, source, at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM async`,
		e.ExperimentID, e.Arm, e.ClassID, e.StudentID, e.ListID, ids, e.Source, e.At.UTC())
	if err != nil {
		return fmt.Errorf("pgstore.LogExposure: %w", wrap(err))
	}
	return nil
}

const exposureCols = `experiment_id, arm, class_id, student_id, list_id, resource_ids, source, at`

func scanExposure(r pgx.CollectableRow) (experiment.Exposure, error) {
	var e experiment.Exposure
	err := r.Scan(&e.ExperimentID, &e.Arm, &e.ClassID, &e.StudentID, &e.ListID, &e.ResourceIDs, &e.Source, &e.At)
	e.At = e.At.UTC()
	return e, err
}

// ExposureByList returns the list's first exposure.
func (s *Store) ExposureByList(ctx context.Context, listID string) (experiment.Exposure, error) {
	rows, err := s.db.Query(ctx, `SELECT `+exposureCols+` FROM experiment_exposures WHERE list_id = $1 ORDER BY id LIMIT 1`, listID)
	if err != nil {
		return experiment.Exposure{}, fmt.Errorf("pgstore.ExposureByList: %w", wrap(err))
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanExposure)
	if err == pgx.ErrNoRows {
		return experiment.Exposure{}, fmt.Errorf("pgstore.ExposureByList: list %q: %w", listID, recommender.ErrNotFound)
	}
	if err != nil {
		return experiment.Exposure{}, fmt.Errorf("pgstore.ExposureByList: %w", wrap(err))
	}
	return e, nil
}

// Exposures lists the experiment's exposures in time order.
func (s *Store) Exposures(ctx context.Context, experimentID string) ([]experiment.Exposure, error) {
	rows, err := s.db.Query(ctx, `SELECT `+exposureCols+` FROM experiment_exposures WHERE experiment_id = $1 ORDER BY at, id`, experimentID)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Exposures: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, scanExposure)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Exposures: %w", wrap(err))
	}
	return out, nil
}

// LogFeedback records a report from the ENT page.
func (s *Store) LogFeedback(ctx context.Context, f experiment.Feedback) error {
	_, err := s.db.Exec(ctx, `INSERT INTO experiment_feedback (experiment_id, arm, student_id, list_id, kind, resource_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, f.ExperimentID, f.Arm, f.StudentID, f.ListID, f.Kind, f.ResourceID, f.At.UTC())
	if err != nil {
		return fmt.Errorf("pgstore.LogFeedback: %w", wrap(err))
	}
	return nil
}

// Feedback lists the experiment's feedback in time order.
func (s *Store) Feedback(ctx context.Context, experimentID string) ([]experiment.Feedback, error) {
	rows, err := s.db.Query(ctx, `SELECT experiment_id, arm, student_id, list_id, kind, resource_id, at
		FROM experiment_feedback WHERE experiment_id = $1 ORDER BY at, id`, experimentID)
	if err != nil {
		return nil, fmt.Errorf("pgstore.Feedback: %w", wrap(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (experiment.Feedback, error) {
		var f experiment.Feedback
		err := r.Scan(&f.ExperimentID, &f.Arm, &f.StudentID, &f.ListID, &f.Kind, &f.ResourceID, &f.At)
		f.At = f.At.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore.Feedback: %w", wrap(err))
	}
	return out, nil
}

// PupilRows lists the pupil's exposures and feedback, each in time order, read in one
// snapshot.
func (s *Store) PupilRows(ctx context.Context, studentID string) ([]experiment.Exposure, []experiment.Feedback, error) {
	es, fs := []experiment.Exposure{}, []experiment.Feedback{}
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+exposureCols+` FROM experiment_exposures WHERE student_id = $1 ORDER BY at, id`, studentID)
		if err != nil {
			return err
		}
		if es, err = pgx.AppendRows(es, rows, scanExposure); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT experiment_id, arm, student_id, list_id, kind, resource_id, at
			FROM experiment_feedback WHERE student_id = $1 ORDER BY at, id`, studentID)
		if err != nil {
			return err
		}
		fs, err = pgx.AppendRows(fs, rows, func(r pgx.CollectableRow) (experiment.Feedback, error) {
			var f experiment.Feedback
			err := r.Scan(&f.ExperimentID, &f.Arm, &f.StudentID, &f.ListID, &f.Kind, &f.ResourceID, &f.At)
			f.At = f.At.UTC()
			return f, err
		})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore.PupilRows: %w", wrap(err))
	}
	return es, fs, nil
}
