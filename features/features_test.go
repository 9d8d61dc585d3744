package features

import (
	"slices"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

func TestDecay(t *testing.T) {
	const hl = 60 * 24 * time.Hour
	for _, tc := range []struct {
		name string
		age  time.Duration
		want float64
	}{
		{"NowWeighsOne", 0, 1},
		{"OneHalfLifeWeighsHalf", hl, 0.5},
		{"TwoHalfLivesWeighAQuarter", 2 * hl, 0.25},
		{"FutureWeighsOne", -hl, 1},
	} {
		t.Run(tc.name, func(t *testing.T) { near(t, "Decay", Decay(tc.age, hl), tc.want) })
	}
}

func grade(id string, comps []string, date time.Time, score, coef float64) datasets.Grade {
	return datasets.Grade{ID: id, StudentID: "e1", Subject: "MATHS", Competencies: comps, AssessmentID: "a-" + id,
		Date: date, Score: score, OutOf: 20, Coefficient: coef}
}

func TestGradeFeatures(t *testing.T) {
	asOf := day0
	const hl = 60 * 24 * time.Hour
	t.Run("DecayedCoefficientWeightedMean", func(t *testing.T) {
		gs := []datasets.Grade{
			grade("g1", []string{"c1"}, asOf, 15, 2),                // 0.75, weight 2
			grade("g2", []string{"c1", "c2"}, asOf.Add(-hl), 10, 1), // 0.5, weight 0.5
			{ID: "g3", Subject: "MATHS", Competencies: []string{"c1"}, Date: asOf, OutOf: 20, Coefficient: 5, Status: datasets.StatusAbsent},
			grade("g4", []string{"c1"}, asOf.Add(time.Hour), 0, 1), // after asOf: not yet
		}
		byComp, bySubject := GradeFeatures(gs, asOf, hl)
		c1 := byComp["c1"]
		near(t, "mean c1", c1.Mean, (2*0.75+0.5*0.5)/2.5) // 0.7
		near(t, "weight c1", c1.Weight, 2.5)
		if c1.N != 2 || c1.Trend != "" {
			t.Errorf("c1: n %d trend %q, want 2 and no trend", c1.N, c1.Trend)
		}
		near(t, "mean c2", byComp["c2"].Mean, 0.5)
		near(t, "mean MATHS", bySubject["MATHS"].Mean, 0.7)
	})
	for _, tc := range []struct {
		name   string
		scores []float64
		want   string
	}{
		// Older half: the first ⌊n/2⌋ grades; recent half: the rest.
		{"RisingMarksImprove", []float64{8, 10, 16}, TrendImproving}, // 0.4 → (0.5+0.8)/2 = 0.65
		{"SinkingMarksFall", []float64{16, 15, 9, 8}, TrendFalling},  // 0.775 → 0.425
		{"OnePointIsStable", []float64{12, 12, 13}, TrendStable},     // 0.6 → 0.625
		{"TwoGradesHaveNoTrend", []float64{5, 19}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gs []datasets.Grade
			for i, s := range tc.scores {
				gs = append(gs, grade("g"+string(rune('a'+i)), []string{"c1"}, asOf.AddDate(0, 0, -10*(len(tc.scores)-i)), s, 1))
			}
			byComp, _ := GradeFeatures(gs, asOf, hl)
			if got := byComp["c1"].Trend; got != tc.want {
				t.Errorf("trend %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAbsenceIntersectedWithTwoLessons(t *testing.T) {
	lessons := []datasets.Lesson{
		{ID: "L3", ClassID: "6A", Subject: "SVT", Competencies: []string{"c3"}, Start: at(14, 0), End: at(15, 0)},
		{ID: "L1", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c1"}, Start: at(8, 0), End: at(9, 0)},
		{ID: "L2", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c2"}, Start: at(10, 0), End: at(11, 0)},
		{ID: "L4", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c2"}, Start: at(12, 0), End: at(13, 0)},
	}
	// Away 08:30-10:45: half of L1 and three quarters of L2; present for L4 and L3.
	abs := []datasets.Absence{{ID: "a1", StudentID: "e1", Start: at(8, 30), End: at(10, 45)}}
	got := MissedLessons(abs, lessons, at(16, 0))
	if len(got) != 2 || got[0].LessonID != "L1" || got[1].LessonID != "L2" || got[0].Justified || !slices.Equal(got[1].Competencies, []string{"c2"}) {
		t.Fatalf("missed %+v, want L1 then L2, unjustified", got)
	}
	f := AbsenceSummary(abs, lessons, at(16, 0))
	near(t, "Rate30d", f.Rate30d, 75.0/240) // 30 + 45 min missed of 4 h held
	near(t, "Rate90d", f.Rate90d, 75.0/240)
	near(t, "UnjustifiedShare", f.UnjustifiedShare, 1)
	near(t, "CurrentSpellDays", f.CurrentSpellDays, 0)

	t.Run("ShorterOverlapIsNotAMissedLesson", func(t *testing.T) {
		got := MissedLessons([]datasets.Absence{{ID: "a", Start: at(8, 0), End: at(8, 29)}}, lessons, at(16, 0))
		if len(got) != 0 {
			t.Errorf("missed %+v, want none (29 of 60 minutes)", got)
		}
	})
	t.Run("JustifiedAbsenceInProgressMakesASpell", func(t *testing.T) {
		abs2 := append(slices.Clone(abs), datasets.Absence{ID: "a2", Start: at(13, 30), End: at(18, 0), Justified: true})
		f := AbsenceSummary(abs2, lessons, at(14, 30))
		near(t, "Rate30d", f.Rate30d, 135.0/240) // L1 30 + L2 45 + L3 60 min; L4 ended before 13:30
		near(t, "UnjustifiedShare", f.UnjustifiedShare, 75.0/135)
		near(t, "CurrentSpellDays", f.CurrentSpellDays, 6.0/24) // 08:30 → 14:30, gaps under SpellGap merge
		got := MissedLessons(abs2, lessons, at(14, 30))
		if len(got) != 3 || got[2].LessonID != "L3" || !got[2].Justified {
			t.Errorf("missed %+v, want L1 L2 L3 with L3 justified", got)
		}
	})
	t.Run("NoTimetableMeasuresRawAbsence", func(t *testing.T) {
		f := AbsenceSummary([]datasets.Absence{{ID: "a", Start: at(8, 0), End: at(9, 0)}, {ID: "b", Start: at(10, 0), End: at(13, 0), Justified: true}}, nil, at(16, 0))
		near(t, "UnjustifiedShare", f.UnjustifiedShare, 0.25)
		near(t, "Rate30d", f.Rate30d, 0)
	})
}

func TestUsageFeatures(t *testing.T) {
	cat := testCatalogue(t)
	d := 4 * time.Minute
	sts := []datasets.Statement{
		{ID: "1", StudentID: "e1", Verb: datasets.VerbViewed, ObjectID: "r2", Timestamp: at(9, 0), Duration: &d},
		{ID: "2", StudentID: "e1", Verb: datasets.VerbCompleted, ObjectID: "r2", Timestamp: at(9, 10), Completion: bptr(true), Duration: &d},
		answered("3", "r1", at(9, 50), true), // 40 min after: a new session
		answered("4", "r1", at(9, 55), false),
		{ID: "5", StudentID: "e1", Verb: "http://example.org/verbs/liked", ObjectID: "r3", Timestamp: at(10, 0)}, // not a feeding verb
		answered("6", "r3", day0.AddDate(0, 0, 1).Add(9*time.Hour), true),                                        // next day
	}
	p, err := NewModel(DefaultModelConfig()).BuildProfile(cat, PupilEvents{Student: pupil(), Statements: sts}, day0.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	u := p.Usage
	if u.ActiveDays != 2 || u.Sessions != 3 || u.Attempts != 3 || u.Successes != 2 {
		t.Errorf("usage %+v: want 2 active days, 3 sessions, 3 attempts, 2 successes", u)
	}
	near(t, "SuccessRate", u.SuccessRate, 2.0/3)
	near(t, "CompletionRate", u.CompletionRate, 1.0/3) // r2 of r1, r2, r3
	near(t, "TimeSpentMin", u.TimeSpentMin, 8)
	if !slices.Equal(u.Seen, []string{"r1", "r2", "r3"}) || !slices.Equal(u.Completed, []string{"r2"}) {
		t.Errorf("seen %v completed %v", u.Seen, u.Completed)
	}
}

func TestNeed(t *testing.T) {
	asOf := day0
	for _, tc := range []struct {
		name       string
		cs         CompetencyState
		lastMissed time.Time
		want       float64
	}{
		// u = 3/6 = 0.5: 0.5·(1 − 0.2) + 0.5·0.5 = 0.65.
		{"WeakWithSomeEvidence", CompetencyState{N: 3, PMastery: 0.2, Relevance: 1}, time.Time{}, 0.65},
		// No evidence: moderate need, scaled by relevance.
		{"NoEvidenceIsModerate", CompetencyState{Relevance: 1}, time.Time{}, 0.5},
		{"NotYetTaughtIsLow", CompetencyState{Relevance: RelevanceLevelLater}, time.Time{}, 0.15},
		// u = 30/33: 30/33·0.1 + 3/33·0.5 = 4.5/33.
		{"MasteredIsLow", CompetencyState{N: 30, PMastery: 0.9, Relevance: 1}, time.Time{}, 4.5 / 33},
		// 0.65 + 0.35·0.5·0.5 (missed a half-life ago, nothing since).
		{"MissedLessonRaisesIt", CompetencyState{N: 3, PMastery: 0.2, Relevance: 1}, asOf.Add(-MissedHalfLife), 0.7375},
		{"WorkSinceTheMissedLessonCancelsTheBoost",
			CompetencyState{N: 3, PMastery: 0.2, Relevance: 1, LastEvidence: asOf.Add(-time.Hour)}, asOf.Add(-MissedHalfLife), 0.65},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cs.LastMissed = tc.lastMissed
			near(t, "need", need(tc.cs, asOf), tc.want)
		})
	}
}

func TestRelevanceFollowsTheCurriculum(t *testing.T) {
	k := func(level string) datasets.Competency { return datasets.Competency{ID: "k", Level: level} }
	for _, tc := range []struct {
		name                        string
		comp                        datasets.Competency
		taught, timetable, evidence bool
		want                        float64
	}{
		{"TaughtInClass", k("6e"), true, true, false, RelevanceTaught},
		{"WorkedOnOutsideClass", k("3e"), false, true, true, RelevanceWorked},
		{"OwnLevelNotYetTaught", k("6e"), false, true, false, RelevanceLevelLater},
		{"OwnLevelWithoutTimetable", k("6e"), false, false, false, RelevanceLevel},
		{"EarlierLevelIsRevision", k("6e"), false, true, false, RelevanceLevelLater},
		{"LaterLevelIsLow", k("4e"), false, true, false, RelevanceOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level := "6e"
			if tc.name == "EarlierLevelIsRevision" {
				level, tc.want = "5e", RelevanceEarlier
			}
			near(t, "relevance", relevance(tc.comp, level, tc.taught, tc.timetable, tc.evidence), tc.want)
		})
	}
}

func TestProfileHoldsTaughtAndLevelCompetencies(t *testing.T) {
	cat := testCatalogue(t)
	ev := PupilEvents{Student: pupil(), Lessons: []datasets.Lesson{
		{ID: "L1", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c1"}, Start: at(8, 0), End: at(9, 0)},
		{ID: "L9", ClassID: "6A", Subject: "MATHS", Competencies: []string{"c2"}, Start: at(8, 0).AddDate(0, 0, 7), End: at(9, 0).AddDate(0, 0, 7)},
	}}
	p, err := NewModel(DefaultModelConfig()).BuildProfile(cat, ev, at(12, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Competencies["c3"]; ok {
		t.Error("a 5e competency without evidence is in a 6e pupil's profile")
	}
	near(t, "need c1 (taught, no evidence)", p.Competencies["c1"].Need, 0.5)
	near(t, "need c2 (taught next week)", p.Competencies["c2"].Need, 0.5*RelevanceLevelLater)
	if p.SchemaVersion != SchemaVersion || p.Missed == nil {
		t.Errorf("schema %d missed %v", p.SchemaVersion, p.Missed)
	}
}
