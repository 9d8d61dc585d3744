package offline

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/features"
)

// testEvaluator builds the reference policies' shared state on a dataset split at splitAt.
func testEvaluator(t *testing.T, ds *datasets.Dataset) (*evaluator, *Split) {
	t.Helper()
	sp := SplitAt(ds, splitAt)
	cat := mustCatalogue(t, ds)
	ev := &evaluator{cfg: Config{Seed: 1}, cat: cat, w: newWorld(cat, sp), el: newEligibility(cat, ds.Students, sp.TrainSuccess),
		profile: func(string) *features.Profile { return nil }}
	ev.co = newCoMatrix(ev.w)
	ev.ls = newLevelSubject(ev.w, nil)
	ev.pop = newPopular(ev.w, nil)
	return ev, sp
}

// TestReferencesNeverListWhatThePupilAlreadySucceededOn checks every reference on the
// leak case: W succeeded on R-OLD before the split, so no list for W may hold it, and
// once W succeeds on R-NEW in the run, that goes too.
func TestReferencesNeverListWhatThePupilAlreadySucceededOn(t *testing.T) {
	ev, _ := testEvaluator(t, leakCase())
	ctx := context.Background()
	for _, name := range References {
		if name == "oracle" || name == "no_recommendation" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			r := ev.el.newRun()
			p := ev.reference(name, r, nil, newClock(splitAt))
			got, err := p.Recommend(ctx, "W", 2)
			if err != nil {
				t.Fatal(err)
			}
			if got = r.keep("W", got, 2); slices.Contains(got, "R-OLD") {
				t.Errorf("%s lists R-OLD, already succeeded on: %v", name, got)
			}
			r.success("W", "R-NEW")
			if got, _ := p.Recommend(ctx, "W", 2); len(r.keep("W", got, 2)) != 0 {
				t.Errorf("%s lists %v after W succeeded on both resources", name, got)
			}
		})
	}
}

func TestEligibilityKeepsPracticeOfThePupilsRangeOnly(t *testing.T) {
	ds := leakCase()
	ds.Competencies = append(ds.Competencies,
		datasets.Competency{ID: "C5", Subject: "MATHS", Level: "5e"}, datasets.Competency{ID: "C4", Subject: "MATHS", Level: "4e"})
	ds.Resources = append(ds.Resources,
		datasets.Resource{ID: "VIDEO", Subject: "MATHS", Level: "5e", Type: datasets.ResourceVideo, Competencies: []string{"C5"}},
		datasets.Resource{ID: "EX-5e", Subject: "MATHS", Level: "5e", Type: datasets.ResourceExercise, Competencies: []string{"C5"}},
		datasets.Resource{ID: "EX-6e", Subject: "MATHS", Level: "6e", Type: datasets.ResourceExercise, Competencies: []string{"C"}},
		datasets.Resource{ID: "EX-4e", Subject: "MATHS", Level: "4e", Type: datasets.ResourceExercise, Competencies: []string{"C4"}})
	ds.Students = append(ds.Students, datasets.Student{ID: "P5", SchoolID: "S", ClassID: "C5A", Level: "5e", Consent: true})
	ev, _ := testEvaluator(t, ds)
	r := ev.el.newRun()
	got := r.keep("P5", []string{"VIDEO", "EX-4e", "EX-5e", "EX-5e", "EX-6e", "nope"}, 10)
	if want := []string{"EX-5e", "EX-6e"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v (practice, 5e or 6e, distinct, known)", got, want)
	}
}

// TestReferencesDoNotLearnFromPupilsWithoutConsent: usage of a pupil who refused consent
// never reaches popularity or co-usage, and that pupil gets no list built from it.
func TestReferencesDoNotLearnFromPupilsWithoutConsent(t *testing.T) {
	ds := leakCase()
	before := splitAt.Add(-72 * time.Hour)
	for i, p := range []string{"N1", "N2", "N3"} {
		ds.Students = append(ds.Students, datasets.Student{ID: p, SchoolID: "S", ClassID: "C6", Level: "6e", Consent: false})
		ds.Statements = append(ds.Statements, stmt("N-"+p, p, "R-NEW", before.Add(time.Duration(i)*time.Minute), false))
	}
	ev, _ := testEvaluator(t, ds)
	if n := ev.w.users["R-NEW"]; n != 0 {
		t.Errorf("R-NEW counted %d users from pupils without consent", n)
	}
	if h := ev.w.history["N1"]; len(h) != 0 {
		t.Errorf("history kept for a pupil without consent: %v", h)
	}
	co := newCoUsage(ev.w, ev.el.newRun(), ev.co, ev.ls.with(ev.el.newRun()))
	co.Observe(context.Background(), &datasets.Dataset{Statements: []datasets.Statement{stmt("later", "N1", "R-OLD", splitAt, false)}})
	if h := co.history("N1"); len(h) != 0 {
		t.Errorf("co-usage reads the history of a pupil without consent: %v", h)
	}
}

func TestRandomIsSeededPerPupil(t *testing.T) {
	ds := leakCase()
	for i := range 30 {
		ds.Resources = append(ds.Resources, datasets.Resource{ID: string(rune('a'+i%26)) + string(rune('a'+i/26)), Subject: "MATHS", Level: "6e", Type: "quiz", Competencies: []string{"C"}})
	}
	ev, _ := testEvaluator(t, ds)
	draw := func(seed uint64) []string {
		p := &randomPolicy{w: ev.w, r: ev.el.newRun(), seed: seed, calls: map[string]uint64{}}
		got, _ := p.Recommend(context.Background(), "X", 5)
		return got
	}
	if a, b := draw(1), draw(1); !slices.Equal(a, b) {
		t.Errorf("seed 1 drew %v then %v", a, b)
	}
	if a, b := draw(1), draw(2); slices.Equal(a, b) {
		t.Errorf("seeds 1 and 2 drew the same %v", a)
	}
}

// TestSyllabusListsTheCurrentThenTheNextChapter: the class's latest lesson was on C1, so
// the list starts with C1's items, then C2's (next in the programme), never C3's.
func TestSyllabusListsTheCurrentThenTheNextChapter(t *testing.T) {
	ds := &datasets.Dataset{
		Competencies: []datasets.Competency{{ID: "C1", Subject: "MATHS", Level: "6e"}, {ID: "C2", Subject: "MATHS", Level: "6e"}, {ID: "C3", Subject: "MATHS", Level: "6e"}},
		Resources: []datasets.Resource{
			{ID: "E3", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"C3"}},
			{ID: "E2", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"C2"}},
			{ID: "E1", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"C1"}},
		},
		Students: []datasets.Student{{ID: "P", SchoolID: "S", ClassID: "K", Level: "6e", Consent: true}},
		Lessons:  []datasets.Lesson{{ID: "L", ClassID: "K", Subject: "MATHS", Competencies: []string{"C1"}, Start: splitAt.Add(-24 * time.Hour), End: splitAt.Add(-23 * time.Hour)}},
	}
	ev, _ := testEvaluator(t, ds)
	r := ev.el.newRun()
	got, _ := ev.reference("syllabus", r, nil, newClock(splitAt)).Recommend(context.Background(), "P", 3)
	if want := []string{"E1", "E2"}; !slices.Equal(got, want) {
		t.Errorf("syllabus listed %v, want %v", got, want)
	}
}
