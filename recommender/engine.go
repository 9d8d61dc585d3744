package recommender

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// Config tunes the engine. The zero value of a field means its documented default.
type Config struct {
	// TargetSuccess is the predicted success probability a good next resource aims at:
	// too easy and too hard both lose (default 0.7).
	TargetSuccess float64
	// Band is the width w of the fit exp(-((p-t)/w)²) around TargetSuccess (default 0.15).
	Band float64
	// MaxCandidates bounds the resources ranked per request (default 200).
	MaxCandidates int
	// MasteryThreshold is the P(mastery) from which a prerequisite counts as mastered
	// (default 0.6).
	MasteryThreshold float64
	// NeedThreshold is the need from which a competency belongs in a learning path
	// (default 0.2).
	NeedThreshold float64
	// Diversity is the MMR trade-off λ between benefit and redundancy (default 0.3).
	Diversity float64
	// MissedWindow is how far back a missed lesson still calls for catch-up (default 60 days).
	MissedWindow time.Duration
	// UptakeWindow is how soon after being served a use counts as uptake (default 7 days).
	UptakeWindow time.Duration
	// MinGroup is the smallest group analytics report (default 10).
	MinGroup int
	// Seed makes the clustering reproducible (default 1).
	Seed uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is where dates in explanations are read (default Europe/Paris, else UTC).
	Location *time.Location
	// Model configures the student model fitted by Refit (default features.DefaultModelConfig).
	Model *features.ModelConfig

	// Ablations switch one part of the ranking off, for offline evaluation only: never set
	// them in service (NoGating lets prerequisite violations through).
	NoGating       bool // do not hold back competencies with unmastered prerequisites
	NoFit          bool // ignore the predicted success: benefit is need alone
	NoNovelty      bool // do not demote seen and completed resources
	NoDiversity    bool // rank by benefit alone (no MMR)
	NoCatchUp      bool // ignore missed lessons
	NoVectorSearch bool // no nearest-neighbour candidates, only the catalogue index
	NoSyllabus     bool // ignore where the class stands in the syllabus
	NoCoUsage      bool // no co-usage candidates or feature
	NoTypeRule     bool // let study material take practice slots
	NoReRanker     bool // rank by the hand-made benefit even when a re-ranker is fitted
	// Neighbours adds candidates and a re-ranker feature from the nearest student vectors
	// (StudentSearcher). Off by default: on the académies measured it changed nothing.
	Neighbours bool
	// AutoTarget has Refit choose TargetSuccess from the logged answers (target.go).
	// Off by default: the estimator picked 0.55 whatever the simulator's true learning
	// peak (0.5, 0.7 or 0.85), so it does not yet read the peak from data.
	AutoTarget bool

	// Ranker chooses how candidates are scored: "" (the default: the fitted re-ranker's
	// probability of uptake with success × fit), RankerLearning (need × fit × novelty,
	// the re-ranker ignored) or RankerBlend (√(re-ranker) × need × fit).
	Ranker string

	// Explore chooses an exploration strategy: "" (none, the default) or "thompson"
	// (explore.go).
	Explore string

	// ValidationWindow is the end of the logged data that Refit holds out to fit the
	// re-ranker: profiles as of its start, labels from within it (default 28 days).
	ValidationWindow time.Duration
	// RankerPupils bounds the pupils sampled for that fit (default 3000).
	RankerPupils int
}

func (c Config) withDefaults() Config {
	if c.AutoTarget {
		c.TargetSuccess = 0 // chosen by Refit from the data (target.go)
	} else if c.TargetSuccess <= 0 || c.TargetSuccess >= 1 {
		c.TargetSuccess = defaultTarget
	}
	if c.Band <= 0 {
		c.Band = 0.15
	}
	if c.MaxCandidates <= 0 {
		c.MaxCandidates = 200
	}
	if c.MasteryThreshold <= 0 || c.MasteryThreshold >= 1 {
		c.MasteryThreshold = 0.6
	}
	if c.NeedThreshold <= 0 {
		c.NeedThreshold = 0.2
	}
	if c.Diversity <= 0 || c.Diversity >= 1 {
		c.Diversity = 0.3
	}
	if c.NoDiversity {
		c.Diversity = 0
	}
	if c.MissedWindow <= 0 {
		c.MissedWindow = 60 * 24 * time.Hour
	}
	if c.ValidationWindow <= 0 {
		c.ValidationWindow = 28 * 24 * time.Hour
	}
	if c.RankerPupils <= 0 {
		c.RankerPupils = 3000
	}
	if c.UptakeWindow <= 0 {
		c.UptakeWindow = 7 * 24 * time.Hour
	}
	if c.MinGroup <= 0 {
		c.MinGroup = 10
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
			c.Location = loc
		} else {
			c.Location = time.UTC
		}
	}
	if c.Model == nil {
		m := features.DefaultModelConfig()
		c.Model = &m
	}
	return c
}

// Engine computes recommendations, paths and overviews from a Store. Reads work on an
// immutable snapshot (catalogue, model, layout, aggregates) swapped atomically by Refit,
// so requests never wait for a refit. Safe for concurrent use.
type Engine struct {
	store EngineStore
	cfg   Config

	snap    atomic.Pointer[snapshot]
	refitMu sync.Mutex // one Refit at a time; ingests never wait for it

	refitKick, repairKick chan struct{} // wake Run's workers; capacity 1, so kicks coalesce
	repairs               atomic.Int64  // profiles rebuilt by Repair (for tests and metrics)
}

// snapshot is everything a request needs besides the pupil's own rows. Never mutated
// once published.
type snapshot struct {
	cat      *datasets.Catalogue
	model    *features.Model
	layout   *features.Layout
	version  string
	subjects map[string]bool
	agg      aggregates
	popular  map[string][]popular // "level|subject" and "level|" -> non-personalised order
	co       coIndex              // agg.CoUsage by catalogue index
	target   float64              // the target success in use (Config or chosen from data)
}

// New loads the catalogue and fitted state from the store, or fits them (Refit) when the
// store holds none or they no longer match the catalogue.
func New(ctx context.Context, store EngineStore, cfg Config) (*Engine, error) {
	if store == nil {
		return nil, fmt.Errorf("recommender.New: nil store: %w", ErrInvalid)
	}
	if cfg.Ranker != RankerDefault && cfg.Ranker != RankerLearning && cfg.Ranker != RankerBlend {
		return nil, fmt.Errorf("recommender.New: unknown ranker %q: %w", cfg.Ranker, ErrInvalid)
	}
	if cfg.Explore != ExploreNone && cfg.Explore != ExploreThompson {
		return nil, fmt.Errorf("recommender.New: unknown exploration %q: %w", cfg.Explore, ErrInvalid)
	}
	e := &Engine{store: store, cfg: cfg.withDefaults(),
		refitKick: make(chan struct{}, 1), repairKick: make(chan struct{}, 1)}
	ok, err := e.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("recommender.New: %w", err)
	}
	if !ok {
		if err := e.Refit(ctx); err != nil {
			return nil, fmt.Errorf("recommender.New: %w", err)
		}
	}
	return e, nil
}

// load restores the snapshot from the stored state. It reports false when there is no
// usable state (none yet, another format, or fitted on another catalogue).
func (e *Engine) load(ctx context.Context) (bool, error) {
	comps, res, err := e.store.Catalogue(ctx)
	if err != nil {
		return false, fmt.Errorf("load catalogue: %w", err)
	}
	cat, err := datasets.NewCatalogue(comps, res)
	if err != nil {
		return false, fmt.Errorf("load catalogue: %w", err)
	}
	raw, err := e.store.ModelState(ctx)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load model state: %w", err)
	}
	st, err := decodeState(raw)
	if err != nil || st.CatalogueHash != catalogueHash(cat) {
		return false, nil // unusable or stale state: refit rather than fail
	}
	model := features.NewModel(*e.cfg.Model)
	if err := model.UnmarshalBinary(st.Model); err != nil {
		return false, nil
	}
	layout, ok := unmarshalLayout(st.Layout)
	if !ok {
		return false, nil
	}
	e.snap.Store(newSnapshot(cat, model, layout, st.Aggregates, e.cfg.TargetSuccess))
	return true, nil
}

func newSnapshot(cat *datasets.Catalogue, model *features.Model, layout *features.Layout, agg aggregates, target float64) *snapshot {
	s := &snapshot{cat: cat, model: model, layout: layout, agg: agg, subjects: map[string]bool{}}
	s.target = effectiveTarget(target, &agg)
	s.popular = rankPopular(cat, model, agg, s.target)
	s.co = newCoIndex(cat, agg.CoUsage)
	s.version = model.Version()
	for _, k := range cat.Competencies {
		s.subjects[k.Subject] = true
	}
	for _, r := range cat.Resources {
		s.subjects[r.Subject] = true
	}
	return s
}

// ModelVersion identifies the fitted model behind the answers.
func (e *Engine) ModelVersion() string {
	if s := e.snap.Load(); s != nil {
		return s.version
	}
	return ""
}

// Refit fits everything from the store's data: the student model, the vector layout,
// every consenting pupil's profile and vector, the resource vectors and the aggregates
// behind non-personalised suggestions. It writes them to the store, then publishes the
// new snapshot atomically. Pupils without consent are left out of every fit.
func (e *Engine) Refit(ctx context.Context) error {
	e.refitMu.Lock()
	defer e.refitMu.Unlock()
	if err := e.refit(ctx); err != nil {
		return fmt.Errorf("recommender.Refit: %w", err)
	}
	return nil
}

func (e *Engine) refit(ctx context.Context) error {
	// The pending mark is read first: a catalogue change committed after this point
	// leaves a newer mark, which this refit does not clear.
	pending, err := e.store.RefitPending(ctx)
	if err != nil {
		return fmt.Errorf("refit pending: %w", err)
	}
	comps, res, err := e.store.Catalogue(ctx)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	cat, err := datasets.NewCatalogue(comps, res)
	if err != nil {
		return fmt.Errorf("catalogue: %w", err)
	}
	ids, err := e.store.StudentIDs(ctx)
	if err != nil {
		return fmt.Errorf("student ids: %w", err)
	}
	// Versions before events: a profile written from events read before a concurrent
	// ingest must lose against it (PutProfilesIf), not overwrite it.
	vers, err := e.store.ProfileVersions(ctx, ids)
	if err != nil {
		return fmt.Errorf("profile versions: %w", err)
	}
	ids = nil
	// Pupils are streamed from the store in batches, one pass per use (refitsource.go):
	// memory holds one batch of events, the compact usage rows and the aggregates, never
	// every pupil's events nor every profile.
	src := e.consenting(ctx, vers)
	// Pass 1: the data's clock, the usage matrix of the layout and the aggregates.
	// Profiles are taken as of the data's own clock: served on a past school year, a
	// wall-clock "now" would age every mark and hide every missed lesson.
	clock := time.Time{}
	now := e.cfg.Now()
	usage := features.NewUsageMatrix(cat)
	agg := newAggregator(cat)
	if err := src.pass(func(ev *features.PupilEvents) error {
		clock = laterOf(clock, latestEvent(ev, now))
		usage.Add(ev)
		agg.add(ev)
		return nil
	}); err != nil {
		return err
	}
	asOf := now
	if !clock.IsZero() {
		asOf = clock
	}
	// Pass 2: the items.
	model := features.NewModel(*e.cfg.Model)
	if err := model.FitItemsFrom(cat, src.pass, asOf); err != nil {
		if src.err != nil {
			return src.err
		}
		return fmt.Errorf("fit: %w", err)
	}
	layout := features.NewLayoutUsage(cat, usage)
	usage = nil
	// Pass 3: the profiles, written batch by batch; pupils without consent get an empty one.
	lost, err := e.writeProfiles(ctx, cat, model, layout, vers, asOf)
	if err != nil {
		return err
	}
	rids := make([]string, len(cat.Resources))
	vecs := make([][]float32, len(cat.Resources))
	for i := range cat.Resources {
		rids[i] = cat.Resources[i].ID
		vecs[i] = layout.ResourceVector(&cat.Resources[i])
	}
	if err := e.store.PutResourceVectors(ctx, features.SchemaVersion, rids, vecs); err != nil {
		return fmt.Errorf("put resource vectors: %w", err)
	}
	ag := agg.result()
	ag.Clock = clock
	e.fitRanking(&ag, cat, model, layout, src.pass)
	if src.err != nil {
		return src.err // a pass of the ranking's fit failed: store nothing from it
	}
	raw, err := encodeState(cat, model, layout, ag)
	if err != nil {
		return err
	}
	if err := e.store.PutModelState(ctx, raw); err != nil {
		return fmt.Errorf("put model state: %w", err)
	}
	e.snap.Store(newSnapshot(cat, model, layout, ag, e.cfg.TargetSuccess))
	if lost > 0 {
		e.kick(e.repairKick) // marked by the store: rebuilt with the new model
	}
	if pending != 0 {
		if err := e.store.ClearRefitPending(ctx, pending); err != nil {
			return fmt.Errorf("clear refit pending: %w", err)
		}
	}
	return nil
}

// Ingest applies a batch through the store and brings the profiles of the pupils it
// changed up to date in the same transaction: new grades and statements are folded into
// the stored profile by the model's online update, at a cost that does not grow with the
// pupil's history. Pupils it cannot update so (an absence, a timetable or class change, an
// edited row, a voiding statement, no profile yet) are marked stale in that transaction and
// rebuilt by Repair in the background. A catalogue change marks a refit pending, done by
// Run outside the request. The returned Changed.Students are every pupil whose data or
// profile changed: the caller drops their cached answers, and derives nothing more.
func (e *Engine) Ingest(ctx context.Context, b *datasets.Dataset) (Changed, error) {
	var stale bool
	ch, err := e.store.IngestApply(ctx, b, func(d *Delta) []features.Profile {
		ps := e.apply(d)
		current := 0
		for _, p := range ps {
			if !d.Pupils[p.StudentID].Stale {
				current++
			}
		}
		stale = current < len(d.Pupils)
		return ps
	})
	if err != nil {
		return ch, fmt.Errorf("recommender.Ingest: %w", err)
	}
	if ch.Catalogue {
		e.kick(e.refitKick)
	}
	if stale {
		e.kick(e.repairKick)
	}
	return ch, nil
}

// SetConsent records the pupil's (or parent's) choice; the store marks the pupil stale in
// the same transaction. The profile is rebuilt at once, so that the next request is
// personalised, or holds nothing personal after a withdrawal; if that fails, the mark
// stays and Repair finishes the job.
func (e *Engine) SetConsent(ctx context.Context, id string, consent bool) error {
	if err := e.store.SetConsent(ctx, id, consent); err != nil {
		return fmt.Errorf("recommender.SetConsent: %w", storeErr(err))
	}
	if _, err := e.rebuild(ctx, []string{id}); err != nil {
		e.kick(e.repairKick)
		return fmt.Errorf("recommender.SetConsent: %w", err)
	}
	return nil
}

// blankProfile is the profile of a pupil without consent: identity and level only, a
// zero vector of the layout's dimension.
func (e *Engine) blankProfile(s *snapshot, st datasets.Student) features.Profile {
	return features.Profile{
		StudentID: st.ID, SchoolID: st.SchoolID, ClassID: st.ClassID, Level: st.Level,
		SchemaVersion: features.SchemaVersion, AsOf: e.cfg.Now(),
		Competencies: map[string]features.CompetencyState{},
		Vector:       make([]float32, s.layout.Dim()),
	}
}

// Export returns everything held about the pupil (RGPD right of access).
func (e *Engine) Export(ctx context.Context, id string) (Export, error) {
	x, err := e.store.Export(ctx, id)
	if err != nil {
		return Export{}, fmt.Errorf("recommender.Export: %w", err)
	}
	return x, nil
}

// Erase removes every trace of the pupil but the audit entries (RGPD right to erasure).
// Aggregates computed before stay until the next Refit; they hold no pupil id.
func (e *Engine) Erase(ctx context.Context, id string) error {
	if err := e.store.DeleteStudent(ctx, id); err != nil {
		return fmt.Errorf("recommender.Erase: %w", err)
	}
	return nil
}

// latestEvent is the time of the pupil's latest grade, absence end, statement or lesson
// end of their class that is not after now (timetables run ahead); zero when none.
func latestEvent(ev *features.PupilEvents, now time.Time) time.Time {
	var t time.Time
	keep := func(x time.Time) {
		if !x.After(now) {
			t = laterOf(t, x)
		}
	}
	for _, g := range ev.Grades {
		keep(g.Date)
	}
	for _, a := range ev.Absences {
		if !a.Start.After(now) {
			keep(earlierOf(a.End, now))
		}
	}
	for _, l := range ev.Lessons {
		keep(l.End)
	}
	for _, st := range ev.Statements {
		keep(st.Timestamp)
	}
	return t
}

func earlierOf(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
