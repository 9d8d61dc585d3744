package offline

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// Variant is Parcours with some of its parts switched off.
type Variant struct {
	Name  string
	Apply func(*recommender.Config)
}

// Variants are the full engine and each ablation, one part off at a time.
func Variants() []Variant {
	return []Variant{
		{"parcours", func(*recommender.Config) {}},
		{"parcours-no_gating", func(c *recommender.Config) { c.NoGating = true }},
		{"parcours-no_fit", func(c *recommender.Config) { c.NoFit = true }},
		{"parcours-no_novelty", func(c *recommender.Config) { c.NoNovelty = true }},
		{"parcours-no_diversity", func(c *recommender.Config) { c.NoDiversity = true }},
		{"parcours-no_catchup", func(c *recommender.Config) { c.NoCatchUp = true }},
		{"parcours-no_vector_search", func(c *recommender.Config) { c.NoVectorSearch = true }},
		{"parcours-no_syllabus", func(c *recommender.Config) { c.NoSyllabus = true }},
		{"parcours-no_co_usage", func(c *recommender.Config) { c.NoCoUsage = true }},
		{"parcours-no_type_rule", func(c *recommender.Config) { c.NoTypeRule = true }},
		{"parcours-no_reranker", func(c *recommender.Config) { c.NoReRanker = true }},
		{"parcours-neighbours", func(c *recommender.Config) { c.Neighbours = true }},
		{"parcours-auto_target", func(c *recommender.Config) { c.AutoTarget = true }},
		{"parcours-thompson", func(c *recommender.Config) { c.Explore = recommender.ExploreThompson }},
	}
}

// clock is an engine clock the simulation moves week by week.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time) { c.t.Store(t.UnixNano()) }
func (c *clock) now() time.Time  { return time.Unix(0, c.t.Load()).UTC() }

// enginePolicy is the real engine behind the Policy interface.
type enginePolicy struct {
	name  string
	e     *recommender.Engine
	clock *clock
}

func (p *enginePolicy) Name() string { return p.name }
func (p *enginePolicy) Recommend(ctx context.Context, id string, k int) ([]string, error) {
	rec, err := p.e.Recommend(ctx, recommender.Request{StudentID: id, K: k})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	out := make([]string, len(rec.Items))
	for i, it := range rec.Items {
		out[i] = it.ResourceID
	}
	return out, nil
}

// Observe ingests the statements, so the engine rebuilds the pupils' profiles as it
// does in service, and moves the engine's clock to the latest of them.
func (p *enginePolicy) Observe(ctx context.Context, stmts []datasets.Statement) error {
	if len(stmts) == 0 {
		return nil
	}
	latest := p.clock.now()
	for _, s := range stmts {
		if s.Timestamp.After(latest) {
			latest = s.Timestamp
		}
	}
	p.clock.set(latest)
	if _, err := p.e.Ingest(ctx, &datasets.Dataset{Statements: stmts}); err != nil {
		return fmt.Errorf("%s: observe: %w", p.name, err)
	}
	return nil
}

// trainedStore is a memstore loaded with the training part and fitted once; engines of
// every variant share its fitted state (New loads it instead of refitting).
type trainedStore struct {
	st *memstore.Store
	at time.Time
}

func newTrainedStore(ctx context.Context, train *datasets.Dataset, at time.Time, seed uint64) (*trainedStore, *recommender.Engine, error) {
	st := memstore.New()
	if _, err := st.Ingest(ctx, train); err != nil {
		return nil, nil, fmt.Errorf("ingest training part: %w", err)
	}
	ts := &trainedStore{st: st, at: at}
	e, err := ts.engine(ctx, Variants()[0], seed, newClock(at))
	if err != nil {
		return nil, nil, err
	}
	return ts, e, nil
}

func (ts *trainedStore) engine(ctx context.Context, v Variant, seed uint64, c *clock) (*recommender.Engine, error) {
	cfg := recommender.Config{Seed: seed, Now: c.now, Location: time.UTC}
	v.Apply(&cfg)
	e, err := recommender.New(ctx, ts.st, cfg)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", v.Name, err)
	}
	return e, nil
}

// profile reads a pupil's stored profile, nil when there is none (no consent, no data).
func (ts *trainedStore) profile(ctx context.Context, id string) *features.Profile {
	p, err := ts.st.Profile(ctx, id)
	if err != nil { // ErrNotFound: no profile; any other error: treat as none
		return nil
	}
	return &p
}
