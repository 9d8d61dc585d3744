package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/parcours-ent/parcours/recommender/vecindex"
)

// vectorsChannel is the NOTIFY channel of changes to resource_vectors (PutResourceVectors,
// or an ingest that moves a resource to another subject or level).
const vectorsChannel = "parcours_resource_vectors"

// notifyVectors is queued in every transaction that changes resource_vectors: the
// notification is delivered at commit, and only then.
const notifyVectors = `SELECT pg_notify('` + vectorsChannel + `', '')`

// mirror is this replica's copy of resource_vectors, searched exactly in memory: on the
// 50,661-resource catalogue a subject's scan takes well under a millisecond where a
// filtered HNSW search in PostgreSQL took tens (benchmarks/RESULTS.md, "Uncached
// recommendations on PostgreSQL"). PostgreSQL stays the store of record: the mirror is
// loaded from it at Open and reloaded whenever a committed transaction NOTIFYs
// vectorsChannel, on a connection of its own that LISTENs before it loads, so no change
// slips between the two. When that connection is lost the mirror reconnects and reloads
// (notifications sent meanwhile are lost, the reload makes up for them); a search that
// the mirror cannot serve (no vectors yet, another dimension) goes to PostgreSQL.
type mirror struct {
	url    string
	loadMu sync.Mutex // one load at a time, so an older snapshot never replaces a newer
	idx    atomic.Pointer[vecindex.Index]
	reload chan struct{} // a reload asked for by this process (after its own write)
	loads  atomic.Int64  // completed loads, for tests
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    *slog.Logger
}

// startMirror loads the vectors and keeps them in step until stop. It fails when the
// first load fails.
func startMirror(ctx context.Context, url string) (*mirror, error) {
	m := &mirror{url: url, reload: make(chan struct{}, 1), log: slog.Default().With("component", "pgstore.mirror")}
	conn, err := m.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := m.load(ctx, conn); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.wg.Add(1)
	go m.run(runCtx, conn)
	return m, nil
}

func (m *mirror) stop() {
	m.cancel()
	m.wg.Wait()
}

// connect opens the mirror's own connection and LISTENs on it.
func (m *mirror) connect(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, m.url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: vector mirror: %w", wrap(err))
	}
	if err := pgxvec.RegisterTypes(cctx, conn); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("pgstore: vector mirror: %w", wrap(err))
	}
	if _, err := conn.Exec(cctx, "LISTEN "+vectorsChannel); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("pgstore: vector mirror: %w", wrap(err))
	}
	return conn, nil
}

// load reads every resource vector with its subject and level and swaps the index in.
func (m *mirror) load(ctx context.Context, q querier) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	rows, err := q.Query(ctx, `SELECT resource_id, embedding, schema_version, subject, level FROM resource_vectors ORDER BY resource_id`)
	if err != nil {
		return fmt.Errorf("pgstore: vector mirror: %w", wrap(err))
	}
	var ids []string
	var meta []vecindex.Meta
	var data []float32
	dim, schema := 0, 0
	var id, subject, level string
	var emb pgvector.Vector
	var sv int
	_, err = pgx.ForEachRow(rows, []any{&id, &emb, &sv, &subject, &level}, func() error {
		v := emb.Slice()
		if dim == 0 {
			dim, schema = len(v), sv
		}
		if len(v) != dim {
			return fmt.Errorf("resource %q has dimension %d, others %d", id, len(v), dim)
		}
		ids = append(ids, id)
		meta = append(meta, vecindex.Meta{Subject: subject, Level: level})
		data = append(data, v...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: vector mirror: %w", wrap(err))
	}
	idx := vecindex.Build(schema, dim, ids, func(i int) vecindex.Meta { return meta[i] },
		func(i int) []float32 { return data[i*dim : (i+1)*dim] })
	m.idx.Store(idx)
	m.loads.Add(1)
	return nil
}

// run waits for notifications (or this process's own writes) and reloads, coalescing a
// burst into one load; it reconnects with backoff when the connection is lost.
func (m *mirror) run(ctx context.Context, conn *pgx.Conn) {
	defer m.wg.Done()
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if conn == nil {
			c, err := m.connect(ctx)
			if err == nil {
				err = m.load(ctx, c)
			}
			if err != nil {
				if c != nil {
					c.Close(context.Background())
				}
				m.log.Warn("vector mirror: reconnect failed; searches go to PostgreSQL meanwhile", "err", err, "retry_in", backoff)
				m.idx.Store(nil)
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 10*time.Second)
				continue
			}
			conn, backoff = c, 100*time.Millisecond
		}
		if err := m.wait(ctx, conn); err != nil {
			if ctx.Err() == nil {
				m.log.Warn("vector mirror: connection lost", "err", err)
			}
			conn.Close(context.Background())
			conn = nil
			continue
		}
		if err := m.load(ctx, conn); err != nil && ctx.Err() == nil {
			m.log.Warn("vector mirror: reload failed", "err", err)
			conn.Close(context.Background())
			conn = nil
		}
	}
}

// wait returns once a notification (or a local reload request) has come. A burst of
// notifications costs a reload or two, not one each: those that arrive while a load runs
// are taken by the next wait at once. Reloads follow refits and catalogue changes: rare.
func (m *mirror) wait(ctx context.Context, conn *pgx.Conn) error {
	got := make(chan error, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _, err := conn.WaitForNotification(wctx); got <- err }()
	select {
	case err := <-got:
		return err
	case <-m.reload:
		cancel()
		// A canceled wait leaves the connection usable (pgconn only closes it on errors
		// other than its own deadline).
		if err := <-got; err != nil && wctx.Err() == nil {
			return err
		}
		if conn.IsClosed() {
			return errors.New("listen connection closed")
		}
		return nil
	}
}

// requestReload asks for a reload without waiting for the notification round trip (this
// process has just committed a change).
func (m *mirror) requestReload() {
	select {
	case m.reload <- struct{}{}:
	default:
	}
}

// reloadMirror reloads this process's mirror at once after it committed a change to the
// vectors or the catalogue, so that its own next search sees the change; other replicas
// reload on the notification. A failed reload leaves it to the listener.
func (s *Store) reloadMirror(ctx context.Context) {
	if s.mirror == nil {
		return
	}
	if err := s.mirror.load(ctx, s.db); err != nil {
		s.mirror.log.Warn("vector mirror: reload after a write failed", "err", err)
		s.mirror.requestReload()
	}
}

// syncVectorMeta keeps the search's denormalised filter columns (subject, level) in step
// with the catalogue, inside the transaction that changed resources, and tells the
// mirrors when it changed any.
func syncVectorMeta(ctx context.Context, tx pgx.Tx) error {
	tag, err := tx.Exec(ctx, `UPDATE resource_vectors v SET subject = r.subject, level = r.level
		FROM resources r WHERE r.id = v.resource_id AND (v.subject, v.level) IS DISTINCT FROM (r.subject, r.level)`)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() > 0 {
		_, err = tx.Exec(ctx, notifyVectors)
	}
	return wrap(err)
}
