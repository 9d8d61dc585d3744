package features

// `parcours eval mastery` drives the served student model (Model) on an interaction log
// exactly as the service drives it on events: the log becomes a catalogue and xAPI
// statements, item parameters are fitted on the training file (Fit, as Refit does),
// and each test answer is predicted (Predict) before the pupil's profile learns from it
// (Update). Item parameters change only at refits, as in the service.

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// LogSubject and LogLevel mark the competencies and resources a catalogue built from an
// interaction log holds. No pupil has LogLevel, so profiles hold only the competencies
// they have evidence on.
const (
	LogSubject = "LOG"
	LogLevel   = "log"
)

// ItemSkillPrefix names the competency of an item listed without skills: such an item
// is its own skill, so that a pupil's repeated attempts on it are tracked apart.
const ItemSkillPrefix = "item:"

// EvalOptions configures EvalMastery.
type EvalOptions struct {
	Model ModelConfig
	// RefitInterval is the log time between two refits of the item parameters during
	// the test walk: the service's refit interval (default one hour). It is stretched
	// so that at most MaxRefits refits happen; an integer-order log has no clock and
	// refits every len(test)/MaxRefits answers. MaxRefits 0 means as many as a budget
	// of refitBudget answer-steps allows (each refit walks every answer so far), within
	// 100..1000: on OULAD (every 2013J assessment is new, dated by the day) that is a
	// refit at each new date, as the hourly refit of the service gives.
	RefitInterval time.Duration
	MaxRefits     int
}

// refitBudget bounds the answer-steps of the refits of one EvalMastery (MaxRefits 0).
const refitBudget = 1e8

func (o EvalOptions) withDefaults(rows int) EvalOptions {
	if o.RefitInterval <= 0 {
		o.RefitInterval = time.Hour
	}
	if o.MaxRefits <= 0 {
		o.MaxRefits = min(max(int(refitBudget/float64(max(rows, 1))), 100), 1000)
	}
	return o
}

// LogCatalogue builds the catalogue an interaction log implies: one competency per skill
// id, one resource per item id with the skills of its first row (or, without skills, a
// competency of its own, ItemSkillPrefix + id), every catalogue difficulty 0 (a log
// carries none: the model's competency offsets learn them).
func LogCatalogue(logs ...[]datasets.Interaction) (*datasets.Catalogue, error) {
	comps := map[string]bool{}
	var res []datasets.Resource
	seen := map[string]bool{}
	for _, its := range logs {
		for i := range its {
			it := &its[i]
			if seen[it.ItemID] {
				continue
			}
			seen[it.ItemID] = true
			sk := slices.Clone(it.Skills)
			if len(sk) == 0 {
				sk = []string{ItemSkillPrefix + it.ItemID}
			}
			for _, s := range sk {
				comps[s] = true
			}
			res = append(res, datasets.Resource{ID: it.ItemID, Subject: LogSubject, Level: LogLevel,
				Type: datasets.ResourceExercise, Competencies: sk})
		}
	}
	ids := make([]string, 0, len(comps))
	for c := range comps {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	cs := make([]datasets.Competency, len(ids))
	for i, id := range ids {
		cs[i] = datasets.Competency{ID: id, Subject: LogSubject, Level: LogLevel, Label: id}
	}
	return datasets.NewCatalogue(cs, res)
}

// LogStatement is the xAPI statement the service would receive for an answer: verb
// answered, result.success, on the item as a resource. An integer order becomes that
// many seconds after the Unix epoch (orders of different pupils are not comparable;
// nothing compares them).
func LogStatement(it *datasets.Interaction, id string) datasets.Statement {
	ok := it.Correct
	ts := it.Time
	if !it.Timed() {
		ts = time.Unix(it.Order, 0).UTC()
	}
	return datasets.Statement{ID: id, StudentID: it.StudentID, Verb: datasets.VerbAnswered,
		ObjectID: it.ItemID, Timestamp: ts, Success: &ok}
}

// logPupils accumulates the events of a log pupil by pupil, as the store would.
type logPupils struct {
	idx    map[string]int
	pupils []PupilEvents
	latest time.Time
}

func (lp *logPupils) add(s datasets.Statement) {
	i, ok := lp.idx[s.StudentID]
	if !ok {
		i = len(lp.pupils)
		lp.idx[s.StudentID] = i
		lp.pupils = append(lp.pupils, PupilEvents{Student: datasets.Student{ID: s.StudentID, Consent: true}})
	}
	lp.pupils[i].Statements = append(lp.pupils[i].Statements, s)
	if s.Timestamp.After(lp.latest) {
		lp.latest = s.Timestamp
	}
}

// EvalMastery fits the served model on train, then walks test in time order: each
// answer is predicted (Model.Predict) before the pupil's profile learns from it
// (Model.Update). Item and competency parameters change only at refits (a Fit on every
// answer received so far, as the service's periodic Refit does), scheduled by opt. A
// pupil first seen in test starts from an empty profile; an item first seen in test
// starts at its prior (its skills' mean learned difficulty) until a refit learns it.
// Empty ids are an error wrapping datasets.ErrInvalid.
func EvalMastery(train, test []datasets.Interaction, opt EvalOptions) (Metrics, error) {
	ps, ys, err := EvalMasteryPredictions(train, test, opt)
	if err != nil {
		return Metrics{}, err
	}
	return Score(ps, ys), nil
}

// WalkOrder returns a log's answers in the order EvalMastery walks them: by time when
// every row is timed, else student by student in order of first appearance.
func WalkOrder(its []datasets.Interaction) []datasets.Interaction { return ordered(its) }

// EvalMasteryPredictions is EvalMastery returning every test prediction and outcome, in
// the walk's order (WalkOrder; for paired comparisons).
func EvalMasteryPredictions(train, test []datasets.Interaction, opt EvalOptions) ([]float64, []bool, error) {
	for name, its := range map[string][]datasets.Interaction{"train": train, "test": test} {
		for i := range its {
			if its[i].StudentID == "" || its[i].ItemID == "" {
				return nil, nil, fmt.Errorf("features.EvalMastery: %s row %d: %w", name, i+1, datasets.ErrInvalid)
			}
		}
	}
	if len(test) == 0 {
		return nil, nil, fmt.Errorf("features.EvalMastery: %w", ErrNoTestRows)
	}
	cat, err := LogCatalogue(train, test)
	if err != nil {
		return nil, nil, fmt.Errorf("features.EvalMastery: %w", err)
	}
	opt = opt.withDefaults(len(train) + len(test))
	lp := &logPupils{idx: map[string]int{}}
	n := 0
	for _, it := range ordered(train) {
		n++
		lp.add(LogStatement(&it, strconv.Itoa(n)))
	}
	// A refit rebuilds every profile with the new parameters, as the service's does;
	// here a pupil's rebuild waits until their next answer (the result is the same:
	// nothing of theirs arrives in between), so that a refit costs one pass over the
	// answers rather than one profile per pupil of the log.
	profiles := map[string]*Profile{}
	var m *Model
	var asOf time.Time
	refit := func() error {
		m = NewModel(opt.Model)
		asOf = lp.latest
		clear(profiles)
		return m.FitItems(cat, lp.pupils, asOf)
	}
	if err := refit(); err != nil {
		return nil, nil, fmt.Errorf("features.EvalMastery: %w", err)
	}
	ts := ordered(test)
	due := refitSchedule(ts, opt)
	ps := make([]float64, len(ts))
	ys := make([]bool, len(ts))
	for i := range ts {
		it := &ts[i]
		if due(i) {
			if err := refit(); err != nil {
				return nil, nil, fmt.Errorf("features.EvalMastery: %w", err)
			}
		}
		p := profiles[it.StudentID]
		if p == nil {
			p = &Profile{StudentID: it.StudentID, SchemaVersion: SchemaVersion, Competencies: map[string]CompetencyState{}}
			if j, ok := lp.idx[it.StudentID]; ok {
				built, err := m.BuildProfile(cat, lp.pupils[j], asOf)
				if err != nil {
					return nil, nil, fmt.Errorf("features.EvalMastery: %w", err)
				}
				p = &built
			}
			profiles[it.StudentID] = p
		}
		r, _ := cat.Resource(it.ItemID)
		n++
		s := LogStatement(it, strconv.Itoa(n))
		ps[i], ys[i] = m.PredictAt(p, &r, s.Timestamp), it.Correct
		if err := m.Update(cat, p, s); err != nil {
			return nil, nil, fmt.Errorf("features.EvalMastery: %w", err)
		}
		lp.add(s)
	}
	return ps, ys, nil
}

// refitSchedule reports before which test answers (in walk order) a refit happens. A
// timed log refits at the first answer at least the interval after the previous refit
// (the first one: the fit on train, taken as at the first test answer, since a
// training log may overlap the test period), the interval being the service's, stretched to
// the test period / MaxRefits; an integer-order log every ⌈n/MaxRefits⌉ answers.
func refitSchedule(ts []datasets.Interaction, opt EvalOptions) func(int) bool {
	timed := len(ts) > 0
	for i := range ts {
		timed = timed && ts[i].Timed()
	}
	if !timed {
		every := int(math.Ceil(float64(len(ts)) / float64(opt.MaxRefits)))
		return func(i int) bool { return i > 0 && i%every == 0 }
	}
	first, last := ts[0].Time, ts[len(ts)-1].Time
	interval := max(opt.RefitInterval, last.Sub(first)/time.Duration(opt.MaxRefits))
	prev := first // the refit on train stands for one at the start of the test period
	return func(i int) bool {
		if ts[i].Time.Sub(prev) < interval {
			return false
		}
		prev = ts[i].Time
		return true
	}
}
