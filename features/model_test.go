package features

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

func TestEloUpdateByHand(t *testing.T) {
	cat := testCatalogue(t)
	m := NewModel(DefaultModelConfig())
	ev := PupilEvents{Student: pupil(), Statements: []datasets.Statement{
		answered("s1", "r1", at(9, 0), true),
		answered("s2", "r1", at(9, 5), false),
	}}
	p, err := m.BuildProfile(cat, ev, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	// 1st: p = σ(0 − 0) = 0.5, err = 0.5, K(0) = 1: global = 0.5, local(c1) = γ·0.5.
	// 2nd: p = σ(0.5 + γ·0.5 − 0), err = −p, K(1) = 1/1.05.
	g := DefaultModelConfig().LocalScale
	k1 := 1 / 1.05
	p2 := sigmoid(0.5 + g*0.5)
	want, wantL := 0.5-k1*p2, g*0.5-g*k1*p2
	near(t, "Global", p.Global, want)
	near(t, "Local(c1)", p.Competencies["c1"].Local, wantL)
	near(t, "Theta(c1)", p.Competencies["c1"].Theta, want+wantL)
	if p.GlobalN != 2 || p.Competencies["c1"].N != 2 {
		t.Errorf("counts: global %d, c1 %d, want 2 and 2", p.GlobalN, p.Competencies["c1"].N)
	}
	// PMastery: success on an item of difficulty 0, σ(Theta).
	near(t, "PMastery(c1)", p.Competencies["c1"].PMastery, sigmoid(want+wantL))
	r2, _ := cat.Resource("r2")
	near(t, "Predict(r2)", m.Predict(&p, &r2), sigmoid((want+wantL+want)/2-1))
}

func TestGradeIsAFractionalOutcomeWeightedByCoefficient(t *testing.T) {
	cat := testCatalogue(t)
	for _, tc := range []struct {
		name       string
		score, out float64
		coef       float64
		wantGlobal float64
	}{
		// y = 15/20 = 0.75, p = 0.5, w = √1: global = 0.25.
		{"FifteenOutOfTwentyMovesAQuarter", 15, 20, 1, 0.25},
		// w = min(√4, 2) = 2.
		{"CoefficientFourWeighsTwice", 15, 20, 4, 0.5},
		// w = min(√9, 2) = 2: capped.
		{"CoefficientNineIsCappedAtTwo", 15, 20, 9, 0.5},
		{"CoefficientZeroCountsForNothing", 15, 20, 0, 0},
		{"ZeroOutOfTenFallsHalfALogit", 0, 10, 1, -0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := PupilEvents{Student: pupil(), Grades: []datasets.Grade{{ID: "g1", StudentID: "e1", Subject: "MATHS",
				Competencies: []string{"c1"}, AssessmentID: "a1", Date: at(9, 0), Score: tc.score, OutOf: tc.out, Coefficient: tc.coef}}}
			p, err := NewModel(DefaultModelConfig()).BuildProfile(cat, ev, at(12, 0))
			if err != nil {
				t.Fatal(err)
			}
			near(t, "Global", p.Global, tc.wantGlobal)
		})
	}
}

func TestStatusRowsNeverCountAsZero(t *testing.T) {
	cat := testCatalogue(t)
	var gs []datasets.Grade
	for i, st := range datasets.GradeStatuses {
		gs = append(gs, datasets.Grade{ID: "g" + st, StudentID: "e1", Subject: "MATHS", Competencies: []string{"c1"},
			AssessmentID: "a1", Date: at(9, i), OutOf: 20, Coefficient: 1, Status: st})
	}
	p, err := NewModel(DefaultModelConfig()).BuildProfile(cat, PupilEvents{Student: pupil(), Grades: gs}, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p.GlobalN != 0 || p.Global != 0 || p.Competencies["c1"].GradeN != 0 || len(p.Subjects) != 0 {
		t.Errorf("status rows counted: global %v (n %d), c1 %+v, subjects %v", p.Global, p.GlobalN, p.Competencies["c1"], p.Subjects)
	}
}

func TestFitLearnsItemDifficulties(t *testing.T) {
	cat := testCatalogue(t)
	m := NewModel(DefaultModelConfig())
	v0 := m.Version()
	pupils := []PupilEvents{{Student: pupil(), Statements: []datasets.Statement{answered("s1", "r1", at(9, 0), true)}}}
	profs, err := m.Fit(cat, pupils, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	// p = 0.5, err = 0.5: d(r1) = 0 − 1·0.5.
	near(t, "d(r1)", m.resources["r1"].D, -0.5)
	if m.Version() == v0 {
		t.Error("Version did not change after Fit")
	}
	r1, _ := cat.Resource("r1")
	// Under MinItemN attempts an item sits at its prior: the catalogue's 0 plus the mean
	// offset (learned − catalogue) of c1's items, −0.5.
	near(t, "Difficulty(r1) under MinItemN attempts", m.Difficulty(&r1), -0.5)
	// r3 (catalogue −1) has a competency without learned items: the offset over all.
	r3, _ := cat.Resource("r3")
	near(t, "Difficulty(unseen r3)", m.Difficulty(&r3), -1.5)
	// The profile is built with the fitted difficulty: σ(0 − (−0.5)) = σ(0.5), err = 1 − σ(0.5).
	near(t, "Global", profs[0].Global, 1-sigmoid(0.5))
	again, err := m.BuildProfile(cat, pupils[0], at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	if snapshot(t, &again) != snapshot(t, &profs[0]) {
		t.Error("BuildProfile after Fit differs from Fit's profile")
	}
}

func TestModelRoundTripsThroughMarshalBinary(t *testing.T) {
	cat := testCatalogue(t)
	m := NewModel(ModelConfig{Alpha: 0.8, Beta: 0.1})
	_, err := m.Fit(cat, []PupilEvents{{Student: pupil(), Statements: []datasets.Statement{answered("s1", "r1", at(9, 0), true)},
		Grades: []datasets.Grade{{ID: "g1", Subject: "MATHS", Competencies: []string{"c2"}, AssessmentID: "a1", Date: at(8, 0), Score: 8, OutOf: 20, Coefficient: 2}}}}, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back := NewModel(DefaultModelConfig())
	if err := back.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	if back.Version() != m.Version() || back.Config() != m.Config() {
		t.Errorf("round trip: version %s / %s, config %+v / %+v", back.Version(), m.Version(), back.Config(), m.Config())
	}
	if err := back.UnmarshalBinary([]byte(`{"format":99}`)); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestMalformedEventsAreRejectedAndChangeNothing(t *testing.T) {
	cat := testCatalogue(t)
	g := func(mod func(*datasets.Grade)) datasets.Grade {
		x := datasets.Grade{ID: "g1", StudentID: "e1", Subject: "MATHS", Competencies: []string{"c1"}, AssessmentID: "a1",
			Date: at(9, 0), Score: 12, OutOf: 20, Coefficient: 1}
		mod(&x)
		return x
	}
	for _, tc := range []struct {
		name  string
		grade datasets.Grade
		field string
	}{
		{"ScoreAboveOutOf", g(func(x *datasets.Grade) { x.Score = 21 }), "score"},
		{"NegativeScore", g(func(x *datasets.Grade) { x.Score = -1 }), "score"},
		{"NaNScore", g(func(x *datasets.Grade) { x.Score = math.NaN() }), "score"},
		{"OutOfZero", g(func(x *datasets.Grade) { x.OutOf = 0 }), "out_of"},
		{"InfiniteCoefficient", g(func(x *datasets.Grade) { x.Coefficient = math.Inf(1) }), "coefficient"},
		{"UnknownCompetency", g(func(x *datasets.Grade) { x.Competencies = []string{"c1", "nope"} }), "competencies"},
		{"UnknownStatus", g(func(x *datasets.Grade) { x.Status = "malade" }), "status"},
	} {
		t.Run("Grade"+tc.name, func(t *testing.T) {
			m := NewModel(DefaultModelConfig())
			_, err := m.BuildProfile(cat, PupilEvents{Student: pupil(), Grades: []datasets.Grade{tc.grade}}, at(12, 0))
			var re *datasets.Error
			if !errors.Is(err, datasets.ErrInvalid) || !errors.As(err, &re) || re.Field != tc.field {
				t.Fatalf("BuildProfile error %v, want ErrInvalid on field %q", err, tc.field)
			}
			p, _ := m.BuildProfile(cat, PupilEvents{Student: pupil(), Statements: []datasets.Statement{answered("s1", "r1", at(8, 0), true)}}, at(12, 0))
			before := snapshot(t, &p)
			if err := m.UpdateGrade(cat, &p, tc.grade); !errors.Is(err, datasets.ErrInvalid) {
				t.Fatalf("UpdateGrade error %v, want ErrInvalid", err)
			}
			if snapshot(t, &p) != before {
				t.Error("a rejected grade changed the profile")
			}
			if _, err := m.Fit(cat, []PupilEvents{{Student: pupil(), Grades: []datasets.Grade{tc.grade}}}, at(12, 0)); !errors.Is(err, datasets.ErrInvalid) {
				t.Errorf("Fit error %v, want ErrInvalid", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		st   datasets.Statement
	}{
		{"ScaledAboveOne", datasets.Statement{ID: "x", Verb: datasets.VerbScored, ObjectID: "r1", Timestamp: at(10, 0), Scaled: fptr(1.5)}},
		{"ScaledNaN", datasets.Statement{ID: "x", Verb: datasets.VerbScored, ObjectID: "r1", Timestamp: at(10, 0), Scaled: fptr(math.NaN())}},
		{"NoTimestamp", datasets.Statement{ID: "x", Verb: datasets.VerbAnswered, ObjectID: "r1", Success: bptr(true)}},
		{"NegativeDuration", datasets.Statement{ID: "x", Verb: datasets.VerbCompleted, ObjectID: "r1", Timestamp: at(10, 0), Duration: dptr(-time.Minute)}},
	} {
		t.Run("Statement"+tc.name, func(t *testing.T) {
			m := NewModel(DefaultModelConfig())
			p, _ := m.BuildProfile(cat, PupilEvents{Student: pupil(), Statements: []datasets.Statement{answered("s1", "r1", at(8, 0), true)}}, at(12, 0))
			before := snapshot(t, &p)
			if err := m.Update(cat, &p, tc.st); !errors.Is(err, datasets.ErrInvalid) {
				t.Fatalf("Update error %v, want ErrInvalid", err)
			}
			if snapshot(t, &p) != before {
				t.Error("a rejected statement changed the profile")
			}
			if _, err := m.BuildProfile(cat, PupilEvents{Student: pupil(), Statements: []datasets.Statement{tc.st}}, at(12, 0)); !errors.Is(err, datasets.ErrInvalid) {
				t.Errorf("BuildProfile error %v, want ErrInvalid", err)
			}
		})
	}
}

func TestOutcomesOfStatements(t *testing.T) {
	cat := testCatalogue(t)
	for _, tc := range []struct {
		name      string
		sts       []datasets.Statement
		wantN     int
		wantY     float64 // the first outcome, read back from the global ability (p = 0.5, K = 1)
		attempts  int
		successes int
	}{
		{"ViewCarriesNoOutcome", []datasets.Statement{{ID: "a", Verb: datasets.VerbViewed, ObjectID: "r1", Timestamp: at(9, 0)}}, 0, 0.5, 0, 0},
		{"CompletionWithoutResultCarriesNone", []datasets.Statement{{ID: "a", Verb: datasets.VerbCompleted, ObjectID: "r1", Timestamp: at(9, 0), Completion: bptr(true)}}, 0, 0.5, 0, 0},
		{"ScaledScoreIsTheOutcome", []datasets.Statement{{ID: "a", Verb: datasets.VerbScored, ObjectID: "r1", Timestamp: at(9, 0), Scaled: fptr(0.8)}}, 1, 0.8, 1, 1},
		{"NegativeScaledCountsAsZero", []datasets.Statement{{ID: "a", Verb: datasets.VerbScored, ObjectID: "r1", Timestamp: at(9, 0), Scaled: fptr(-0.4)}}, 1, 0, 1, 0},
		{"SuccessWinsOverScaled", []datasets.Statement{{ID: "a", Verb: datasets.VerbAnswered, ObjectID: "r1", Timestamp: at(9, 0), Scaled: fptr(0.9), Success: bptr(false)}}, 1, 0, 1, 0},
		{"FailedVerbIsAFailure", []datasets.Statement{{ID: "a", Verb: datasets.VerbFailed, ObjectID: "r1", Timestamp: at(9, 0)}}, 1, 0, 1, 0},
		{"UnknownResourceFeedsUsageOnly", []datasets.Statement{answered("a", "elsewhere", at(9, 0), true)}, 0, 0.5, 0, 0},
		{"SummaryAfterAnswersIsNotCountedTwice", []datasets.Statement{
			{ID: "a", Verb: datasets.VerbAttempted, ObjectID: "r1", Timestamp: at(9, 0)},
			answered("b", "r1", at(9, 1), true),
			answered("c", "r1", at(9, 2), false),
			{ID: "d", Verb: datasets.VerbPassed, ObjectID: "r1", Timestamp: at(9, 3), Scaled: fptr(0.5), Success: bptr(true), Completion: bptr(true)},
		}, 2, 1, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(DefaultModelConfig())
			p, err := m.BuildProfile(cat, PupilEvents{Student: pupil(), Statements: tc.sts}, at(12, 0))
			if err != nil {
				t.Fatal(err)
			}
			if p.GlobalN != tc.wantN || p.Usage.Attempts != tc.attempts || p.Usage.Successes != tc.successes {
				t.Errorf("GlobalN %d attempts %d successes %d, want %d %d %d", p.GlobalN, p.Usage.Attempts, p.Usage.Successes, tc.wantN, tc.attempts, tc.successes)
			}
			if tc.wantN == 1 {
				near(t, "Global", p.Global, tc.wantY-0.5)
			}
			// The online path agrees with the batch one.
			q := Profile{StudentID: "e1", Level: "6e", Competencies: map[string]CompetencyState{}}
			for _, s := range tc.sts {
				if err := m.Update(cat, &q, s); err != nil {
					t.Fatal(err)
				}
			}
			near(t, "online Global", q.Global, p.Global)
			if q.GlobalN != p.GlobalN || q.Usage.Attempts != p.Usage.Attempts {
				t.Errorf("online counts %d/%d, batch %d/%d", q.GlobalN, q.Usage.Attempts, p.GlobalN, p.Usage.Attempts)
			}
		})
	}
}

func TestFitIsDeterministicAndMatchesBuildProfile(t *testing.T) {
	cat := testCatalogue(t)
	var pupils []PupilEvents
	for i := range 60 {
		st := pupil()
		st.ID = fmt.Sprint("e", i)
		var sts []datasets.Statement
		for j := range 8 {
			r := []string{"r1", "r2", "r3"}[(i+j)%3]
			sts = append(sts, answered(fmt.Sprint(i, "-", j), r, at(8, 5*j), (i*7+j*3)%5 < 3))
		}
		gs := []datasets.Grade{{ID: fmt.Sprint("g", i), Subject: "MATHS", Competencies: []string{"c1", "c2"}, AssessmentID: "a1",
			Date: at(7, 0), Score: float64(i % 21), OutOf: 20, Coefficient: 2}}
		pupils = append(pupils, PupilEvents{Student: st, Statements: sts, Grades: gs})
	}
	m1, m2 := NewModel(DefaultModelConfig()), NewModel(DefaultModelConfig())
	p1, err := m1.Fit(cat, pupils, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := m2.Fit(cat, pupils, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m1.Version() != m2.Version() {
		t.Errorf("same input, versions %s and %s", m1.Version(), m2.Version())
	}
	for i := range pupils {
		if snapshot(t, &p1[i]) != snapshot(t, &p2[i]) {
			t.Fatalf("pupil %d: two fits differ", i)
		}
		b, err := m1.BuildProfile(cat, pupils[i], at(12, 0))
		if err != nil {
			t.Fatal(err)
		}
		if snapshot(t, &b) != snapshot(t, &p1[i]) {
			t.Fatalf("pupil %d: BuildProfile differs from Fit", i)
		}
	}
	if m1.resources["r1"].N == 0 || m1.assess["a1"].N != len(pupils) {
		t.Errorf("items did not learn: r1 %+v, a1 %+v", m1.resources["r1"], m1.assess["a1"])
	}
}

func TestBuildProfileEqualsUpdatesEventByEvent(t *testing.T) {
	cat := testCatalogue(t)
	cfg := DefaultModelConfig()
	cfg.NoLayer = false // the layer on, so that its inputs (counts, times) are checked too
	m := NewModel(cfg)
	sts := []datasets.Statement{answered("s1", "r1", at(9, 0), true), answered("s2", "r2", at(9, 5), false),
		answered("s3", "r1", at(10, 0), false), answered("s4", "r3", at(11, 0), true)}
	gs := []datasets.Grade{{ID: "g1", StudentID: "e1", Subject: "MATHS", Competencies: []string{"c1", "c2"}, AssessmentID: "a1",
		Date: at(9, 30), Score: 12, OutOf: 20, Coefficient: 2}}
	// Item parameters and the layer from a fit on other pupils.
	var others []PupilEvents
	for i := range 40 {
		var ss []datasets.Statement
		for j, r := range []string{"r1", "r2", "r3", "r1"} {
			ss = append(ss, answered(fmt.Sprint("o", i, j), r, at(8, j), (i+j)%3 != 0))
		}
		others = append(others, PupilEvents{Student: datasets.Student{ID: fmt.Sprint("o", i), Level: "6e"}, Statements: ss})
	}
	if _, err := m.Fit(cat, others, at(12, 0)); err != nil {
		t.Fatal(err)
	}
	if m.layer == nil {
		t.Fatal("no layer fitted on 160 outcomes")
	}
	built, err := m.BuildProfile(cat, PupilEvents{Student: pupil(), Statements: sts, Grades: gs}, at(11, 0))
	if err != nil {
		t.Fatal(err)
	}
	p := Profile{StudentID: "e1"}
	for _, s := range sts[:2] {
		if err := m.Update(cat, &p, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.UpdateGrade(cat, &p, gs[0]); err != nil {
		t.Fatal(err)
	}
	for _, s := range sts[2:] {
		if err := m.Update(cat, &p, s); err != nil {
			t.Fatal(err)
		}
	}
	near(t, "Global", p.Global, built.Global)
	if p.GlobalN != built.GlobalN {
		t.Errorf("GlobalN %d, built %d", p.GlobalN, built.GlobalN)
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		a, b := p.Competencies[c], built.Competencies[c]
		near(t, c+" Local", a.Local, b.Local)
		near(t, c+" Theta", a.Theta, b.Theta)
		near(t, c+" Successes", a.Successes, b.Successes)
		near(t, c+" Failures", a.Failures, b.Failures)
		if a.N != b.N || !a.LastEvidence.Equal(b.LastEvidence) {
			t.Errorf("%s: N %d / %d, last evidence %v / %v", c, a.N, b.N, a.LastEvidence, b.LastEvidence)
		}
	}
	r2, _ := cat.Resource("r2")
	near(t, "PredictAt", m.PredictAt(&p, &r2, at(12, 0)), m.PredictAt(&built, &r2, at(12, 0)))
}

// Lessons are learning opportunities: where pupils who attended more lessons on a
// competency succeed more, the fit learns a positive lesson effect, the profile counts
// attended and missed lessons, and UpdateLesson event by event gives what BuildProfile
// gives.
func TestLessonsAreLearningOpportunities(t *testing.T) {
	cat := testCatalogue(t)
	var pupils []PupilEvents
	for i := range 200 {
		st := pupil()
		st.ID = fmt.Sprint("e", i)
		taught := i % 4 // lessons on c1 before the answers
		var ls []datasets.Lesson
		for j := range taught * 3 {
			ls = append(ls, datasets.Lesson{ID: fmt.Sprint("l", i, "-", j), ClassID: "6A", Subject: "MATHS",
				Competencies: []string{"c1"}, Start: at(-100+j, 0), End: at(-100+j, 55)})
		}
		var sts []datasets.Statement
		for j := range 6 {
			// success rate rises with the lessons taught: 1/6, 2/6, 4/6, 5/6
			ok := j < []int{1, 2, 4, 5}[taught]
			sts = append(sts, answered(fmt.Sprint(i, "-", j), "r1", at(8, 5*j), ok))
		}
		pupils = append(pupils, PupilEvents{Student: st, Statements: sts, Lessons: ls})
	}
	m := NewModel(DefaultModelConfig())
	if _, err := m.Fit(cat, pupils, at(12, 0)); err != nil {
		t.Fatal(err)
	}
	if el, _ := m.LessonEffects(); el <= 0 {
		t.Fatalf("lesson effect %v: lessons that go with success were not learnt", el)
	}
	// One pupil: three lessons, the middle one missed; an answer between them.
	ls := []datasets.Lesson{
		{ID: "a", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c1", "c2"}, Start: at(1, 0), End: at(2, 0)},
		{ID: "b", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c1"}, Start: at(3, 0), End: at(4, 0)},
		{ID: "c", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c2", "zz-unknown"}, Start: at(5, 0), End: at(6, 0)},
	}
	abs := []datasets.Absence{{ID: "x", StudentID: "e1", Start: at(2, 50), End: at(4, 10)}}
	sts := []datasets.Statement{answered("s1", "r1", at(2, 30), true), answered("s2", "r2", at(7, 0), false)}
	built, err := m.BuildProfile(cat, PupilEvents{Student: pupil(), Statements: sts, Lessons: ls, Absences: abs}, at(8, 0))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "c1 lessons", built.Competencies["c1"].Lessons, 0.5)
	near(t, "c1 missed", built.Competencies["c1"].MissedLessons, 1)
	near(t, "c2 lessons", built.Competencies["c2"].Lessons, 1.5)
	p := Profile{StudentID: "e1"}
	m.UpdateLesson(cat, &p, ls[0], false)
	if err := m.Update(cat, &p, sts[0]); err != nil {
		t.Fatal(err)
	}
	m.UpdateLesson(cat, &p, ls[1], true)
	m.UpdateLesson(cat, &p, ls[2], false)
	if err := m.Update(cat, &p, sts[1]); err != nil {
		t.Fatal(err)
	}
	near(t, "Global", p.Global, built.Global)
	for _, c := range []string{"c1", "c2"} {
		a, b := p.Competencies[c], built.Competencies[c]
		near(t, c+" Local", a.Local, b.Local)
		near(t, c+" Theta", a.Theta, b.Theta)
		near(t, c+" Lessons", a.Lessons, b.Lessons)
		near(t, c+" MissedLessons", a.MissedLessons, b.MissedLessons)
	}
}
