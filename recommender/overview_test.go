package recommender_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

func TestPath(t *testing.T) {
	ds := academie(10, 12)
	e, st := newEngine(t, ds)
	ctx := context.Background()
	cat, err := datasets.NewCatalogue(ds.Competencies, ds.Resources)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("StepsRespectThePrerequisiteGraph", func(t *testing.T) {
		for _, id := range []string{pupilFrac, pupilAbsent, pupilGap, "P-000", "P-001", "P-002"} {
			p, err := e.Path(ctx, recommender.PathRequest{StudentID: id, Subject: "MATHS", Length: 10})
			if err != nil {
				t.Fatal(err)
			}
			prof, err := st.Profile(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			earlier := map[string]bool{}
			for _, s := range p.Steps {
				k, _ := cat.Competency(s.Competency)
				for _, q := range k.Prerequisites {
					if violates(prof, q) && !earlier[q] && s.Status != recommender.StatusPinned {
						t.Errorf("%s step %d (%s) before its unmastered prerequisite %s", id, s.Position, s.Competency, q)
					}
				}
				earlier[s.Competency] = true
			}
		}
	})

	t.Run("GapPupilStartsWithTheMissingPrerequisite", func(t *testing.T) {
		p, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilGap, Subject: "MATHS", Length: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Steps) == 0 || p.Steps[0].Competency != "M-NUM" {
			t.Fatalf("steps %+v: want numbers first", p.Steps)
		}
		for i, s := range p.Steps {
			if s.Position != i+1 || s.ResourceID == "" || len(s.Reasons) == 0 {
				t.Errorf("step %d malformed: %+v", i, s)
			}
			if compOf(t, ds, s.ResourceID) != s.Competency {
				t.Errorf("step %d resource %s does not serve %s", i, s.ResourceID, s.Competency)
			}
		}
	})

	t.Run("TenStepsWhenTheSubjectAllows", func(t *testing.T) {
		p, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Steps) == 0 || len(p.Steps) > 10 {
			t.Fatalf("%d steps, want 1..10", len(p.Steps))
		}
		seen := map[string]bool{}
		for _, s := range p.Steps {
			if seen[s.ResourceID] {
				t.Errorf("resource %s twice in the path", s.ResourceID)
			}
			seen[s.ResourceID] = true
		}
		again, err := e.Path(ctx, recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Error("two identical path requests differ")
		}
	})

	t.Run("RejectsBadRequests", func(t *testing.T) {
		tests := []struct {
			name string
			req  recommender.PathRequest
			want error
		}{
			{"NoSubject", recommender.PathRequest{StudentID: pupilFrac, Length: 3}, recommender.ErrInvalid},
			{"NegativeLength", recommender.PathRequest{StudentID: pupilFrac, Subject: "MATHS", Length: -2}, recommender.ErrInvalid},
			{"UnknownPupil", recommender.PathRequest{StudentID: "nobody", Subject: "MATHS", Length: 3}, recommender.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.Path(ctx, tc.req); !errors.Is(err, tc.want) {
					t.Errorf("err %v, want %v", err, tc.want)
				}
			})
		}
	})
}

func TestClassOverview(t *testing.T) {
	ds := academie(30, 6)
	e, _ := newEngine(t, ds)
	ctx := context.Background()
	ov, err := e.ClassOverview(ctx, classA, "fr")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("NonConsentingPupilShowsNothingPersonal", func(t *testing.T) {
		for _, p := range ov.Pupils {
			if p.StudentID == pupilNoCons && (p.Personal || len(p.Needs) > 0 || p.Group != recommender.NoGroup) {
				t.Errorf("non-consenting pupil row %+v", p)
			}
		}
	})

	t.Run("GroupsPartitionThePersonalisedPupils", func(t *testing.T) {
		if len(ov.Groups) == 0 || len(ov.Groups) > 5 {
			t.Fatalf("%d groups, want 1..5", len(ov.Groups))
		}
		inGroup := map[string]int{}
		for _, g := range ov.Groups {
			if g.Label == "" || len(g.Students) == 0 {
				t.Errorf("group %+v: want a label and members", g)
			}
			for _, s := range g.Students {
				inGroup[s] = g.ID
			}
		}
		for _, p := range ov.Pupils {
			g, ok := inGroup[p.StudentID]
			if p.Personal != ok || (ok && g != p.Group) {
				t.Errorf("pupil %s personal=%v group=%d, groups say %d (%v)", p.StudentID, p.Personal, p.Group, g, ok)
			}
		}
	})

	t.Run("LabelNamesSharedNeeds", func(t *testing.T) {
		for _, g := range ov.Groups {
			if len(g.Competencies) > 0 && !strings.HasPrefix(g.Label, "Besoins communs : ") {
				t.Errorf("label %q", g.Label)
			}
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		again, err := e.ClassOverview(ctx, classA, "fr")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ov, again) {
			t.Error("two overviews of the same class differ")
		}
	})

	t.Run("UnknownClassIsNotFound", func(t *testing.T) {
		if _, err := e.ClassOverview(ctx, "C-NOPE", "fr"); !errors.Is(err, recommender.ErrNotFound) {
			t.Errorf("err %v, want ErrNotFound", err)
		}
	})
}

func TestAnalytics(t *testing.T) {
	ds := academie(12, 4)
	// A second school too small to report on.
	ds.Students = append(ds.Students, datasets.Student{ID: "P-SMALL", SchoolID: "SCH-2", ClassID: "C-SMALL", Level: "6e", Consent: true})
	ds.Grades = append(ds.Grades, datasets.Grade{ID: "G-SMALL", StudentID: "P-SMALL", Subject: "MATHS", Competencies: []string{"M-NUM"},
		AssessmentID: "EV-SMALL", Date: now.AddDate(0, 0, -10), Score: 12, OutOf: 20, Coefficient: 1})
	e, _ := newEngine(t, ds)
	ctx := context.Background()

	t.Run("ReportsGroupsOfAtLeastTen", func(t *testing.T) {
		a, err := e.Analytics(ctx, school)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Mastery) == 0 {
			t.Fatal("no mastery aggregate for a class of 16 consenting pupils")
		}
		for _, m := range a.Mastery {
			if m.Pupils < 10 {
				t.Errorf("aggregate over %d pupils reported: %+v", m.Pupils, m)
			}
		}
	})

	t.Run("SuppressesSmallSchool", func(t *testing.T) {
		a, err := e.Analytics(ctx, "SCH-2")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Mastery) != 0 || a.Uptake.Pupils != 0 {
			t.Errorf("small school leaked aggregates: %+v", a)
		}
	})
}
