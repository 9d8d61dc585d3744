package storetest

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// FixtureProfile returns a profile of fixture pupil id with every field set, vector
// included, fresh on every call; global shifts the abilities so that two calls can differ.
func FixtureProfile(id string, global float64) features.Profile {
	return features.Profile{
		StudentID: id, SchoolID: SchoolA, ClassID: Class6A, Level: "6e",
		SchemaVersion: features.SchemaVersion,
		AsOf:          day(21, 0),
		Global:        global,
		GlobalN:       7,
		Competencies: map[string]features.CompetencyState{
			"M6-NUM":  {Theta: global + 0.25, N: 3, PMastery: 0.8, GradeMean: 0.7, GradeN: 1, GradeWeight: 1, Trend: "stable", Need: 0.1},
			"M6-FRAC": {Theta: global - 0.5, N: 1, PMastery: 0.35, GradeMean: 0.45, GradeN: 1, GradeWeight: 0.9, Need: 0.75},
		},
		Missed: []features.MissedLesson{
			{LessonID: "L3", Subject: "MATHS", Competencies: []string{"M6-FRAC"}, Start: day(8, 0), Justified: false},
		},
		Absence: features.AbsenceFeatures{Rate30d: 0.05, Rate90d: 0.02, UnjustifiedShare: 1},
		Usage: features.UsageFeatures{ActiveDays: 2, Sessions: 2, CompletionRate: 0.5, SuccessRate: 1,
			Attempts: 1, TimeSpentMin: 4, Seen: []string{"R01", "R02"}, Completed: []string{"R02"}},
		Vector: []float32{float32(global), 0.5, -0.25, 1e-3},
	}
}

func (s suite) profilesRoundTrip(t *testing.T) {
	st := s.loaded(t)
	_, err := st.Profile(ctx(), "S1")
	wantIs(t, err, recommender.ErrNotFound)
	p1, p4 := FixtureProfile("S1", 0.5), FixtureProfile("S4", -1)
	if err := st.PutProfiles(ctx(), []features.Profile{p1, p4}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Profile(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S1 profile", got, p1)
	list, err := st.Profiles(ctx(), []string{"S4", "S2", "S1", "S404"})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "Profiles in ids order", list, []features.Profile{p4, p1})

	p1b := FixtureProfile("S1", 1.5)
	if err := st.PutProfiles(ctx(), []features.Profile{p1b}); err != nil {
		t.Fatal(err)
	}
	got, err = st.Profile(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "S1 profile after replacement", got, p1b)

	// All or nothing: an unknown pupil keeps S2's profile out too.
	err = st.PutProfiles(ctx(), []features.Profile{FixtureProfile("S2", 0), FixtureProfile("S404", 0)})
	wantIs(t, err, recommender.ErrNotFound)
	_, err = st.Profile(ctx(), "S2")
	wantIs(t, err, recommender.ErrNotFound)
}

func (s suite) modelStateRoundTrip(t *testing.T) {
	st := s.open(t)
	_, err := st.ModelState(ctx())
	wantIs(t, err, recommender.ErrNotFound)
	for _, state := range [][]byte{{1, 2, 3, 0, 255}, []byte("second fit")} {
		if err := st.PutModelState(ctx(), state); err != nil {
			t.Fatal(err)
		}
		got, err := st.ModelState(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, state) {
			t.Fatalf("ModelState = %q, want %q", got, state)
		}
	}
}

func (s suite) decisionsOldestFirst(t *testing.T) {
	st := s.loaded(t)
	d := func(res, dec string, at time.Time) recommender.Decision {
		return recommender.Decision{StudentID: "S1", ResourceID: res, Decision: dec, Comment: "vu en classe", TeacherID: "T1", At: at}
	}
	in := []recommender.Decision{
		d("R03", recommender.DecisionPin, day(12, 0)),
		d("R01", recommender.DecisionApprove, day(10, 0)),
		d("R02", recommender.DecisionReject, day(11, 0)),
	}
	for _, x := range in {
		if err := st.AddDecision(ctx(), x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Decisions(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "decisions", got, []recommender.Decision{in[1], in[2], in[0]})

	before := time.Now()
	if err := st.AddDecision(ctx(), d("R04", recommender.DecisionApprove, time.Time{})); err != nil {
		t.Fatal(err)
	}
	got, err = st.Decisions(ctx(), "S1")
	if err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1]; last.ResourceID != "R04" || last.At.Before(before.Add(-time.Second)) || last.At.After(time.Now().Add(time.Second)) {
		t.Fatalf("decision without a time: got %+v, want R04 at about now", last)
	}
	none, err := st.Decisions(ctx(), "S2")
	if err != nil || len(none) != 0 {
		t.Fatalf("S2 decisions: %v, %v; want none", none, err)
	}

	wantIs(t, st.AddDecision(ctx(), d("R01", "maybe", day(1, 0))), recommender.ErrInvalid)
	wantIs(t, st.AddDecision(ctx(), d("R404", recommender.DecisionPin, day(1, 0))), recommender.ErrInvalid)
	bad := d("R01", recommender.DecisionPin, day(1, 0))
	bad.StudentID = "S404"
	wantIs(t, st.AddDecision(ctx(), bad), recommender.ErrNotFound)
}

func (s suite) decisionCountsBySchool(t *testing.T) {
	st := s.loaded(t)
	for _, d := range []recommender.Decision{
		{StudentID: "S1", ResourceID: "R01", Decision: recommender.DecisionApprove, TeacherID: "T1", At: day(10, 0)},
		{StudentID: "S1", ResourceID: "R02", Decision: recommender.DecisionReject, TeacherID: "T1", At: day(10, 1)},
		{StudentID: "S2", ResourceID: "R02", Decision: recommender.DecisionPin, TeacherID: "T1", At: day(10, 2)},
		{StudentID: "S4", ResourceID: "R04", Decision: recommender.DecisionApprove, TeacherID: "T2", At: day(10, 3)},
	} {
		if err := st.AddDecision(ctx(), d); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		school string
		want   map[string]int
	}{
		{"", map[string]int{"approve": 2, "reject": 1, "pin": 1}},
		{SchoolA, map[string]int{"approve": 1, "reject": 1, "pin": 1}},
		{SchoolB, map[string]int{"approve": 1}},
		{"SCH-NONE", map[string]int{}},
	}
	for _, tc := range cases {
		got, err := st.DecisionCounts(ctx(), tc.school)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"approve", "reject", "pin"} {
			if got[k] != tc.want[k] {
				t.Fatalf("school %q: counts %v, want %v", tc.school, got, tc.want)
			}
		}
	}
}

func (s suite) uptakeCounts(t *testing.T) {
	st := s.loaded(t)
	serve := func(sid string, at time.Time, ids ...string) {
		t.Helper()
		if err := st.LogServed(ctx(), sid, ids, at); err != nil {
			t.Fatal(err)
		}
	}
	// S1 used R01 10h after it was served, R02 34h after; R05 never; R03 only through a
	// voided statement. R01 served twice is one pair.
	serve("S1", day(3, 0), "R01", "R02", "R05")
	serve("S1", day(5, 0), "R03")
	serve("S1", day(10, 0), "R01")
	serve("S4", day(6, 0), "R04") // used 9h later
	serve("S5", day(8, 0), "R14") // viewed before it was served: not uptake
	wantIs(t, st.LogServed(ctx(), "S404", []string{"R01"}, day(1, 0)), recommender.ErrNotFound)
	cases := []struct {
		name   string
		school string
		window time.Duration
		want   recommender.UptakeAggregate
	}{
		{"AllSchoolsOneDay", "", 24 * time.Hour, recommender.UptakeAggregate{Pupils: 3, Recommended: 6, Used: 2, Rate: 2.0 / 6}},
		{"AllSchoolsTwoDays", "", 48 * time.Hour, recommender.UptakeAggregate{Pupils: 3, Recommended: 6, Used: 3, Rate: 3.0 / 6}},
		{"SchoolAOneDay", SchoolA, 24 * time.Hour, recommender.UptakeAggregate{Pupils: 1, Recommended: 4, Used: 1, Rate: 1.0 / 4}},
		{"NobodyServed", "SCH-NONE", 24 * time.Hour, recommender.UptakeAggregate{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Uptake(ctx(), tc.school, tc.window)
			if err != nil {
				t.Fatal(err)
			}
			if got.Pupils != tc.want.Pupils || got.Recommended != tc.want.Recommended ||
				got.Used != tc.want.Used || math.Abs(got.Rate-tc.want.Rate) > 1e-9 {
				t.Fatalf("Uptake = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func (s suite) auditIsAppendOnlyAndOrdered(t *testing.T) {
	st := s.open(t)
	in := []recommender.AuditEntry{
		{At: day(1, 0), ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: "recommendations.read", Detail: "GET /v1/students/S1/recommendations", Outcome: "ok"},
		{At: day(2, 0), ActorID: "P9", ActorRole: "parent", StudentID: "S2", Action: "export", Detail: "GET /v1/students/S2/export", Outcome: "denied"},
		{At: day(3, 0), ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: "path.read", Detail: "GET /v1/students/S1/path"},
		{At: day(4, 0), ActorID: "A1", ActorRole: "analyst", Action: "analytics.read", Detail: "GET /v1/analytics/overview"},
	}
	for _, e := range in {
		if err := st.AppendAudit(ctx(), e); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now()
	if err := st.AppendAudit(ctx(), recommender.AuditEntry{ActorID: "AD", ActorRole: "admin", StudentID: "S1", Action: "erase"}); err != nil {
		t.Fatal(err)
	}
	all, err := st.Audit(ctx(), recommender.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("Audit holds %d entries, want 5", len(all))
	}
	for i := range all {
		if i > 0 && all[i].ID <= all[i-1].ID {
			t.Fatalf("audit ids not increasing: %d then %d", all[i-1].ID, all[i].ID)
		}
		if i < len(in) {
			want := in[i]
			want.ID = all[i].ID
			same(t, "audit entry", all[i], want)
		}
	}
	if at := all[4].At; at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Fatalf("entry without a time stamped %v, want about now", at)
	}

	cases := []struct {
		name    string
		q       recommender.AuditQuery
		actions []string
	}{
		{"ByStudent", recommender.AuditQuery{StudentID: "S1"}, []string{"recommendations.read", "path.read", "erase"}},
		{"Since", recommender.AuditQuery{Since: day(2, 0)}, []string{"export", "path.read", "analytics.read", "erase"}},
		{"LimitKeepsTheFirst", recommender.AuditQuery{StudentID: "S1", Limit: 2}, []string{"recommendations.read", "path.read"}},
		{"UnknownStudent", recommender.AuditQuery{StudentID: "S404"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Audit(ctx(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range got {
				actions = append(actions, e.Action)
			}
			same(t, "actions", actions, tc.actions)
		})
	}

	// Ids never go back, even once older entries are purged.
	if _, err := st.Purge(ctx(), day(100, 0), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendAudit(ctx(), recommender.AuditEntry{At: day(101, 0), ActorID: "AD", ActorRole: "admin", Action: "purge"}); err != nil {
		t.Fatal(err)
	}
	after, err := st.Audit(ctx(), recommender.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[len(after)-1].ID <= all[len(all)-1].ID {
		t.Fatalf("after purge and append: %+v; want the recent entry kept and a larger id than %d", after, all[len(all)-1].ID)
	}
}

func (s suite) pingSucceedsWhileOpen(t *testing.T) {
	st := s.open(t)
	if err := st.Ping(ctx()); err != nil {
		t.Fatalf("Ping on a fresh store: %v", err)
	}
}

// appendAuditsKeepsSliceOrder checks the optional batch capability (the api package's
// AuditBatcher): entries appended in slice order with increasing ids after the earlier
// ones, a zero time stamped now. Stores without it skip.
func (s suite) appendAuditsKeepsSliceOrder(t *testing.T) {
	st := s.open(t)
	b, ok := st.(interface {
		AppendAudits(context.Context, []recommender.AuditEntry) error
	})
	if !ok {
		t.Skip("store has no AppendAudits")
	}
	first := recommender.AuditEntry{At: day(1, 0), ActorID: "T1", ActorRole: "teacher", StudentID: "S1", Action: "export"}
	if err := st.AppendAudit(ctx(), first); err != nil {
		t.Fatal(err)
	}
	// Times run backwards: ids follow the slice, not the clock.
	in := []recommender.AuditEntry{
		{At: day(9, 0), ActorID: "T1", ActorRole: "teacher", StudentID: "S2", Action: "recommendations.read", Detail: "GET a", Outcome: "ok"},
		{At: day(8, 0), ActorID: "P9", ActorRole: "parent", StudentID: "S3", Action: "path.read", Detail: "GET b", Outcome: "failed"},
		{ActorID: "A1", ActorRole: "analyst", Action: "analytics.read", Detail: "GET c"},
	}
	before := time.Now()
	if err := b.AppendAudits(ctx(), in); err != nil {
		t.Fatalf("AppendAudits: %v", err)
	}
	if err := b.AppendAudits(ctx(), nil); err != nil {
		t.Fatalf("AppendAudits(nil): %v", err)
	}
	all, err := st.Audit(ctx(), recommender.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("Audit holds %d entries, want 4", len(all))
	}
	for i, got := range all[1:] {
		if got.ID <= all[i].ID {
			t.Fatalf("audit ids not increasing: %d then %d", all[i].ID, got.ID)
		}
		want := in[i]
		want.ID = got.ID
		if want.At.IsZero() {
			if got.At.Before(before.Add(-time.Second)) || got.At.After(time.Now().Add(time.Second)) {
				t.Fatalf("entry without a time stamped %v, want about now", got.At)
			}
			want.At = got.At
		}
		same(t, "batched audit entry", got, want)
	}
}
