package offline

import (
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// eligibility is the one filter every policy's list goes through before it is scored or
// practised, so that no policy wins or loses by what the yardstick cannot count:
//
//   - type: an exercise or a quiz, the only resources whose outcome can be a ground
//     truth and that give practice in the simulator;
//   - level: the pupil's level or the one below (the engine's own range: remediation of
//     the previous year counts, nothing from a later year);
//   - not already succeeded: in training, or earlier in the simulation run.
//
// The filter reads every pupil's successes, consenting or not: it is the yardstick, which
// reads what the ground truth reads. Policies never see it.
type eligibility struct {
	cat   *datasets.Catalogue
	level map[string]int // pupil -> datasets.LevelIndex
	base  map[string]map[string]bool
}

func newEligibility(cat *datasets.Catalogue, students []datasets.Student, trainSuccess map[string]map[string]bool) *eligibility {
	e := &eligibility{cat: cat, level: make(map[string]int, len(students)), base: trainSuccess}
	for _, s := range students {
		e.level[s.ID] = datasets.LevelIndex(s.Level)
	}
	return e
}

// practice reports whether a resource type can count.
func practice(r *datasets.Resource) bool {
	return r.Type == datasets.ResourceExercise || r.Type == datasets.ResourceQuiz
}

// inRange reports whether the resource is of a type and level the pupil may be given.
func (e *eligibility) inRange(pupil string, r *datasets.Resource) bool {
	lv, ok := e.level[pupil]
	rl := datasets.LevelIndex(r.Level)
	return ok && practice(r) && rl >= 0 && rl <= lv && rl >= lv-1
}

// run is the eligibility of one policy's run: the successes the run added.
type run struct {
	el    *eligibility
	extra map[string]map[string]bool
}

func (e *eligibility) newRun() *run { return &run{el: e, extra: map[string]map[string]bool{}} }

func (r *run) succeeded(pupil, res string) bool { return r.el.base[pupil][res] || r.extra[pupil][res] }

// ok reports whether res may be listed for pupil now.
func (r *run) ok(pupil, res string) bool {
	x, found := r.el.cat.Resource(res)
	return found && r.el.inRange(pupil, &x) && !r.succeeded(pupil, res)
}

// keep returns the first k eligible, distinct items of list.
func (r *run) keep(pupil string, list []string, k int) []string {
	out := make([]string, 0, k)
	for _, id := range list {
		if len(out) == k {
			break
		}
		if r.ok(pupil, id) && !contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (r *run) success(pupil, res string) { add(r.extra, pupil, res) }

// pool is how many items a policy is asked for so that k eligible ones can be kept: a
// policy that spends more than half of its list on items that cannot count (videos,
// sheets, other levels) loses slots, as a pupil would.
func pool(k int) int { return min(recommender.MaxK, 2*k) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
