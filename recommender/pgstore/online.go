package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pgvector/pgvector-go"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// settle finishes an ingest inside its transaction: the refit-pending mark when the
// catalogue changed, fn's profiles for the pupils it brought up to date, and a stale mark
// on every other changed pupil. Profiles are written before marks, each in id order, as
// PutProfilesIf does, so that the two never wait on each other in a cycle.
func settle(ctx context.Context, tx pgx.Tx, b *datasets.Dataset, ch recommender.Changed, fresh bool, fn recommender.ApplyFunc) error {
	if ch.Catalogue {
		if _, err := tx.Exec(ctx, `INSERT INTO refit_pending (gen) VALUES (nextval('pupil_gen'))
			ON CONFLICT (singleton) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now()`); err != nil {
			return fmt.Errorf("refit pending: %w", wrap(err))
		}
	}
	if len(ch.Students) == 0 {
		return nil
	}
	var (
		delta *recommender.Delta
		ps    []features.Profile
	)
	if fn != nil {
		batch := &pgx.Batch{}
		queueDelta(batch, ch.Students)
		br := tx.SendBatch(ctx, batch)
		d, err := scanDelta(br, b, ch, fresh)
		if err != nil {
			return err
		}
		delta, ps = d, fn(d)
	}
	batch := &pgx.Batch{} // profiles, then marks: one round trip
	if err := queueSettle(batch, ch, delta, ps); err != nil {
		return err
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("profiles and stale marks: %w", wrap(err))
	}
	return nil
}

// queueSettle queues the writes that end an ingest: the profiles fn brought up to date
// (ps, of pupils in delta; delta is nil when there was no fn) with their pupils' new
// generation, and a stale mark on every other changed pupil.
func queueSettle(batch *pgx.Batch, ch recommender.Changed, delta *recommender.Delta, ps []features.Profile) error {
	current := map[string]bool{} // pupils whose profile now holds everything committed
	slices.SortFunc(ps, func(a, b features.Profile) int { return strings.Compare(a.StudentID, b.StudentID) })
	var written []string
	for i := range ps {
		pd, ok := delta.Pupils[ps[i].StudentID]
		if !ok {
			continue // only pupils of this batch are locked
		}
		if err := queueProfile(batch, &ps[i]); err != nil {
			return err
		}
		current[ps[i].StudentID] = !pd.Stale
		written = append(written, ps[i].StudentID)
	}
	if len(written) > 0 {
		// Answers follow the profile (see Access): a new generation in this transaction.
		batch.Queue(`UPDATE students SET `+nextGeneration+` WHERE id = ANY($1)`, written)
	}
	// A current pupil had no mark when its row was locked: nothing to clear (a mark set
	// since, by MarkStale, stays and costs one needless rebuild, never a lost event).
	// Every other changed pupil is marked.
	var mark []string
	for _, id := range ch.Students {
		if !current[id] {
			mark = append(mark, id)
		}
	}
	if len(mark) > 0 {
		queueMarks(batch, mark)
	}
	return nil
}

// queueMarks marks the known pupils among ids (sorted) with fresh generations.
func queueMarks(batch *pgx.Batch, ids []string) {
	batch.Queue(`INSERT INTO stale_pupils (student_id, gen)
		SELECT u.id, nextval('pupil_gen') FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)
		WHERE EXISTS (SELECT 1 FROM students s WHERE s.id = u.id) ORDER BY u.n
		ON CONFLICT (student_id) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now()`, ids)
}

// queueDelta queues the locking of the changed pupils' rows (so that two ingests about one
// pupil fold their events in one after the other, whatever the replica), then the read of
// their rows, profiles and marks, in a snapshot taken after the locks were granted.
func queueDelta(batch *pgx.Batch, ids []string) {
	batch.Queue(`SELECT id FROM students WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	batch.Queue(`SELECT s.id, s.school_id, s.class_id, s.level, s.consent, p.data, p.body, p.embedding, coalesce(m.gen, 0)
		FROM students s LEFT JOIN profiles p ON p.student_id = s.id LEFT JOIN stale_pupils m ON m.student_id = s.id
		WHERE s.id = ANY($1)`, ids)
}

// scanDelta reads the results of queueDelta's queries, the next ones of br, and closes br.
func scanDelta(br pgx.BatchResults, b *datasets.Dataset, ch recommender.Changed, fresh bool) (*recommender.Delta, error) {
	defer br.Close()
	stored, err := readPupils(br)
	if err != nil {
		return nil, wrap(err)
	}
	d := &recommender.Delta{Batch: b, Changed: ch, Fresh: fresh, Pupils: make(map[string]recommender.PupilDelta, len(stored))}
	for id, sp := range stored {
		pd := recommender.PupilDelta{Student: sp.student, Stale: sp.markGen != 0}
		if pd.Profile, err = sp.profile(); err != nil {
			return nil, err
		}
		d.Pupils[id] = pd
	}
	return d, br.Close()
}

// storedPupil is a pupil's row as queueDelta reads it, the profile still encoded.
type storedPupil struct {
	student    datasets.Student
	data, body []byte
	emb        *pgvector.Vector
	markGen    int64 // 0: not marked stale
}

// profile decodes the stored profile; nil when the pupil has none.
func (sp *storedPupil) profile() (*features.Profile, error) {
	if sp.data == nil && sp.body == nil {
		return nil, nil
	}
	p, err := decodeProfile(sp.student.ID, sp.data, sp.body, sp.emb)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// readPupils reads the results of queueDelta's queries, the next ones of br.
func readPupils(br pgx.BatchResults) (map[string]*storedPupil, error) {
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("lock pupils: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	out := map[string]*storedPupil{}
	for rows.Next() {
		sp := &storedPupil{}
		st := &sp.student
		if err := rows.Scan(&st.ID, &st.SchoolID, &st.ClassID, &st.Level, &st.Consent, &sp.data, &sp.body, &sp.emb, &sp.markGen); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read profiles: %w", err)
		}
		out[st.ID] = sp
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	return out, nil
}

// queueProfile queues an unconditional upsert of p with a fresh generation.
func queueProfile(batch *pgx.Batch, p *features.Profile) error {
	body, emb, err := profileArgs(p)
	if err != nil {
		return err
	}
	batch.Queue(`INSERT INTO profiles (student_id, body, embedding, schema_version, updated_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (student_id) DO UPDATE SET data = NULL, body = EXCLUDED.body, embedding = EXCLUDED.embedding,
			schema_version = EXCLUDED.schema_version, updated_at = EXCLUDED.updated_at, gen = nextval('pupil_gen')`,
		p.StudentID, body, emb, p.SchemaVersion)
	return nil
}

// ProfileVersions returns each id's profile and mark generations (zero when absent).
func (s *Store) ProfileVersions(ctx context.Context, ids []string) (map[string]recommender.ProfileVersion, error) {
	out := make(map[string]recommender.ProfileVersion, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT u.id, coalesce(p.gen, 0), coalesce(m.gen, 0) FROM unnest($1::text[]) AS u(id)
		LEFT JOIN profiles p ON p.student_id = u.id LEFT JOIN stale_pupils m ON m.student_id = u.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("pgstore.ProfileVersions: %w", wrap(err))
	}
	var id string
	var v recommender.ProfileVersion
	_, err = pgx.ForEachRow(rows, []any{&id, &v.Profile, &v.Mark}, func() error { out[id] = v; return nil })
	if err != nil {
		return nil, fmt.Errorf("pgstore.ProfileVersions: %w", wrap(err))
	}
	return out, nil
}

// PutProfilesIf writes, in one transaction, each profile whose pupil is still at its
// version and clears the mark it covered; pupils whose version moved are marked.
func (s *Store) PutProfilesIf(ctx context.Context, ps []recommender.VersionedProfile) ([]string, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(ps)
	slices.SortFunc(sorted, func(a, b recommender.VersionedProfile) int {
		return strings.Compare(a.Profile.StudentID, b.Profile.StudentID)
	})
	ids := make([]string, len(sorted))
	for i := range sorted {
		ids[i] = sorted[i].Profile.StudentID
	}
	var lost []string
	err := retryDeadlock(ctx, func() error {
		return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
			lost = lost[:0]
			return putProfilesIf(ctx, tx, sorted, ids, &lost)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore.PutProfilesIf: %w", wrap(err))
	}
	slices.Sort(lost)
	return lost, nil
}

// retryDeadlock runs f again (twice at most) when PostgreSQL broke a deadlock by aborting
// it: locks are taken pupils first, then profiles, then marks, each in id order, but an
// ingest's own row upserts follow the batch's order.
func retryDeadlock(ctx context.Context, f func() error) error {
	var err error
	for range 3 {
		var pgErr *pgconn.PgError
		if err = f(); !errors.As(err, &pgErr) || pgErr.Code != "40P01" || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func putProfilesIf(ctx context.Context, tx pgx.Tx, sorted []recommender.VersionedProfile, ids []string, lost *[]string) error {
	batch := &pgx.Batch{}
	// The pupils first, as IngestApply locks them, so that the two never wait on each
	// other in a cycle.
	batch.Queue(`SELECT id FROM students WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	for i := range sorted {
		vp := &sorted[i]
		body, emb, err := profileArgs(&vp.Profile)
		if err != nil {
			return err
		}
		// The mark's generation is compared in the same statement; a mark committed
		// after it is not deleted below (other generation), so it is rebuilt again.
		const markIs = `coalesce((SELECT gen FROM stale_pupils WHERE student_id = $1), 0) = $6`
		if vp.Version.Profile == 0 {
			batch.Queue(`INSERT INTO profiles (student_id, body, embedding, schema_version, updated_at)
					SELECT $1, $2, $3, $4, now() WHERE $5::bigint = 0 AND EXISTS (SELECT 1 FROM students WHERE id = $1) AND `+markIs+`
					ON CONFLICT (student_id) DO NOTHING`,
				vp.Profile.StudentID, body, emb, vp.Profile.SchemaVersion, vp.Version.Profile, vp.Version.Mark)
		} else {
			batch.Queue(`UPDATE profiles SET data = NULL, body = $2, embedding = $3, schema_version = $4, updated_at = now(),
					gen = nextval('pupil_gen') WHERE student_id = $1 AND gen = $5 AND `+markIs,
				vp.Profile.StudentID, body, emb, vp.Profile.SchemaVersion, vp.Version.Profile, vp.Version.Mark)
		}
	}
	br := tx.SendBatch(ctx, batch)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return wrap(err)
	}
	var missed, written []string
	clear := &pgx.Batch{}
	for i := range sorted {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return wrap(err)
		}
		if tag.RowsAffected() == 0 {
			missed = append(missed, sorted[i].Profile.StudentID)
			continue
		}
		written = append(written, sorted[i].Profile.StudentID)
		if m := sorted[i].Version.Mark; m != 0 {
			clear.Queue(`DELETE FROM stale_pupils WHERE student_id = $1 AND gen = $2`, sorted[i].Profile.StudentID, m)
		}
	}
	if err := br.Close(); err != nil {
		return wrap(err)
	}
	if len(written) > 0 {
		// Answers follow the profile (see Access): a new generation in this transaction.
		clear.Queue(`UPDATE students SET `+nextGeneration+` WHERE id = ANY($1)`, written)
	}
	if len(missed) > 0 {
		clear.Queue(`INSERT INTO stale_pupils (student_id, gen)
				SELECT u.id, nextval('pupil_gen') FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)
				WHERE EXISTS (SELECT 1 FROM students s WHERE s.id = u.id) ORDER BY u.n
				ON CONFLICT (student_id) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now()
				RETURNING student_id`, missed)
	}
	if clear.Len() == 0 {
		return nil
	}
	br = tx.SendBatch(ctx, clear)
	defer br.Close()
	for range clear.Len() - min(1, len(missed)) {
		if _, err := br.Exec(); err != nil {
			return wrap(err)
		}
	}
	if len(missed) > 0 {
		rows, err := br.Query()
		if err != nil {
			return wrap(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return wrap(err)
		}
		*lost = append(*lost, got...) // the others were erased meanwhile
	}
	return br.Close()
}

// MarkStale marks the known pupils among ids with fresh generations.
func (s *Store) MarkStale(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	batch := &pgx.Batch{}
	queueMarks(batch, slices.Compact(sorted))
	if err := s.db.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("pgstore.MarkStale: %w", wrap(err))
	}
	return nil
}

// StalePupils returns up to limit marked pupils, oldest mark first.
func (s *Store) StalePupils(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.db.Query(ctx, `SELECT student_id FROM stale_pupils ORDER BY gen LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore.StalePupils: %w", wrap(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore.StalePupils: %w", wrap(err))
	}
	return ids, nil
}

// RefitPending returns the generation of the refit-pending mark, 0 when none.
func (s *Store) RefitPending(ctx context.Context) (int64, error) {
	var gen int64
	err := s.db.QueryRow(ctx, `SELECT gen FROM refit_pending`).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore.RefitPending: %w", wrap(err))
	}
	return gen, nil
}

// MarkRefitPending sets the refit-pending mark with a fresh generation.
func (s *Store) MarkRefitPending(ctx context.Context) (int64, error) {
	var gen int64
	err := s.db.QueryRow(ctx, `INSERT INTO refit_pending (gen) VALUES (nextval('pupil_gen'))
		ON CONFLICT (singleton) DO UPDATE SET gen = EXCLUDED.gen, marked_at = now() RETURNING gen`).Scan(&gen)
	if err != nil {
		return 0, fmt.Errorf("pgstore.MarkRefitPending: %w", wrap(err))
	}
	return gen, nil
}

// ClearRefitPending removes the mark if it is still at gen.
func (s *Store) ClearRefitPending(ctx context.Context, gen int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM refit_pending WHERE gen = $1`, gen); err != nil {
		return fmt.Errorf("pgstore.ClearRefitPending: %w", wrap(err))
	}
	return nil
}
