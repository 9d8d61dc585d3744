package offline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/memstore"
)

// Variant is Parcours with its configuration changed: an ablation (one part switched
// off) or an arm evaluated beside the default (e.g. exploration). Its name starts with
// "parcours-".
type Variant struct {
	Name  string
	Apply func(*recommender.Config)
}

// Variants are the full engine and each ablation, one part off at a time. To evaluate a
// new switch of recommender.Config, add a line here.
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
		{"parcours-learning_score", func(c *recommender.Config) { c.Ranker = recommender.RankerLearning }},
		{"parcours-blend", func(c *recommender.Config) { c.Ranker = recommender.RankerBlend }},
		{"parcours-thompson", func(c *recommender.Config) { c.Explore = recommender.ExploreThompson }},
	}
}

// arms is the full engine followed by the variants cfg.Arms names (all when empty).
func (c Config) arms() []Variant {
	all := Variants()
	if len(c.Arms) == 0 {
		return all
	}
	out := all[:1:1]
	for _, v := range all[1:] {
		if slices.Contains(c.Arms, v.Name) || slices.Contains(c.Arms, strings.TrimPrefix(v.Name, "parcours-")) {
			out = append(out, v)
		}
	}
	return out
}

// checkArms refuses a name in cfg.Arms that is no variant.
func (c Config) checkArms() error {
	for _, a := range c.Arms {
		if !slices.ContainsFunc(Variants(), func(v Variant) bool { return v.Name == a || v.Name == "parcours-"+a }) {
			return fmt.Errorf("unknown Parcours variant %q (known: no_gating, no_fit, ..., see offline.Variants): %w", a, datasets.ErrInvalid)
		}
	}
	return nil
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

// enginePolicy is the served engine behind the Policy interface: recommender.Engine
// with the configuration serve builds, its Recommend and its Ingest.
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

// Observe ingests the week's batch as the service would, so the engine rebuilds the
// pupils' profiles, and moves the engine's clock to the latest statement.
func (p *enginePolicy) Observe(ctx context.Context, b *datasets.Dataset) error {
	latest := p.clock.now()
	for _, s := range b.Statements {
		if s.Timestamp.After(latest) {
			latest = s.Timestamp
		}
	}
	p.clock.set(latest)
	if len(b.Statements)+len(b.Lessons)+len(b.Absences) == 0 {
		return nil
	}
	if _, err := p.e.Ingest(ctx, b); err != nil {
		return fmt.Errorf("%s: observe: %w", p.name, err)
	}
	return nil
}

// trainedStore is a memstore loaded with the training part and fitted once; engines of
// every variant share its fitted state (New loads it instead of refitting).
type trainedStore struct {
	st  *memstore.Store
	at  time.Time
	cfg recommender.Config
}

// loadTrainedStore ingests the training part; fit fits on it, once the caller has let
// the training rows go.
func loadTrainedStore(ctx context.Context, train *datasets.Dataset, at time.Time, cfg recommender.Config) (*trainedStore, error) {
	st := memstore.New()
	if _, err := st.Ingest(ctx, train); err != nil {
		return nil, fmt.Errorf("ingest training part: %w", err)
	}
	return &trainedStore{st: st, at: at, cfg: cfg}, nil
}

// fit fits the engine's state on the store (every variant's engine then loads it).
func (ts *trainedStore) fit(ctx context.Context) error {
	_, err := ts.engine(ctx, ts.st, Variants()[0], newClock(ts.at))
	return err
}

// engine builds the variant's engine on st with serve's configuration, the simulated
// clock and UTC (explanations are not scored).
func (ts *trainedStore) engine(ctx context.Context, st *memstore.Store, v Variant, c *clock) (*recommender.Engine, error) {
	cfg := ts.cfg
	cfg.Now, cfg.Location = c.now, time.UTC
	v.Apply(&cfg)
	e, err := recommender.New(ctx, st, cfg)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", v.Name, err)
	}
	return e, nil
}

// simStore is a store of the simulated pupils only, holding the fitted state of the
// full training store (model, aggregates, resource vectors) and those pupils' training
// rows and profiles: an engine on it answers them exactly as one on the full store
// would, and the weekly ingest rebuilds only them.
func (ts *trainedStore) simStore(ctx context.Context, sub *datasets.Dataset, ids []string) (*memstore.Store, error) {
	st := memstore.New()
	if _, err := st.Ingest(ctx, sub); err != nil {
		return nil, fmt.Errorf("simulation store: %w", err)
	}
	raw, err := ts.st.ModelState(ctx)
	if err != nil {
		return nil, fmt.Errorf("simulation store: %w", err)
	}
	if err := st.PutModelState(ctx, raw); err != nil {
		return nil, fmt.Errorf("simulation store: %w", err)
	}
	schema, rids, vecs := ts.st.ResourceVectors()
	if len(rids) > 0 {
		if err := st.PutResourceVectors(ctx, schema, rids, vecs); err != nil {
			return nil, fmt.Errorf("simulation store: %w", err)
		}
	}
	profs, err := ts.st.Profiles(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("simulation store: %w", err)
	}
	if err := st.PutProfiles(ctx, profs); err != nil {
		return nil, fmt.Errorf("simulation store: %w", err)
	}
	return st, nil
}

// profile reads a pupil's stored profile, nil when there is none (no consent, no data).
func (ts *trainedStore) profile(ctx context.Context, id string) *features.Profile {
	p, err := ts.st.Profile(ctx, id)
	if err != nil { // ErrNotFound: no profile; any other error: treat as none
		return nil
	}
	return &p
}
