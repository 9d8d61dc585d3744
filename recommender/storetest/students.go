package storetest

import (
	"testing"

	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// searchStudentsFindsNearestConsentingPupils checks the optional StudentSearcher
// capability: exact inner-product order, ties by id, the level and school filters, the
// asking pupil excluded, pupils without consent or with another dimension never found.
func (s suite) searchStudentsFindsNearestConsentingPupils(t *testing.T) {
	st := s.loaded(t)
	ss, ok := st.(recommender.StudentSearcher)
	if !ok {
		t.Skip("the store has no StudentSearcher capability")
	}
	prof := func(id, school, level string, g float32, vec []float32) features.Profile {
		p := FixtureProfile(id, float64(g))
		p.SchoolID, p.Level = school, level
		p.Vector = vec
		return p
	}
	ps := []features.Profile{
		prof("S1", SchoolA, "6e", 0.5, []float32{0.5, 1, 0, 0}),
		prof("S2", SchoolA, "6e", 2, []float32{2, 1, 0, 0}),
		prof("S3", SchoolA, "6e", 1, []float32{1, 1, 0, 0}),
		prof("S4", SchoolB, "5e", 1, []float32{1, 1, 0, 0}),
		prof("S5", SchoolB, "5e", -1, []float32{-1, 1, 0, 0, 0}), // another dimension
		prof("S6", SchoolB, "5e", 3, []float32{3, 1, 0, 0}),      // no consent
	}
	if err := st.PutProfiles(ctx(), ps); err != nil {
		t.Fatal(err)
	}
	ids := func(hs []recommender.StudentHit) []string {
		out := []string{}
		for _, h := range hs {
			out = append(out, h.StudentID)
		}
		return out
	}
	tests := []struct {
		name string
		q    []float32
		k    int
		f    recommender.StudentFilter
		want []string
	}{
		{"NearestFirstAskerExcluded", []float32{1, 0, 0, 0}, 5, recommender.StudentFilter{Level: "6e", SchoolID: SchoolA, Exclude: "S1"}, []string{"S2", "S3"}},
		{"TiesByID", []float32{0, 1, 0, 0}, 5, recommender.StudentFilter{Level: "6e"}, []string{"S1", "S2", "S3"}},
		{"KBoundsTheAnswer", []float32{1, 0, 0, 0}, 1, recommender.StudentFilter{Level: "6e"}, []string{"S2"}},
		{"NoConsentOrOtherDimensionNeverFound", []float32{1, 0, 0, 0}, 5, recommender.StudentFilter{Level: "5e"}, []string{"S4"}},
		{"OtherSchoolFindsNone", []float32{1, 0, 0, 0}, 5, recommender.StudentFilter{Level: "6e", SchoolID: SchoolB}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ss.SearchStudents(ctx(), tc.q, tc.k, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "pupils found", ids(got), tc.want)
		})
	}
	t.Run("ScoresAreInnerProducts", func(t *testing.T) {
		got, err := ss.SearchStudents(ctx(), []float32{1, 0, 0, 0}, 1, recommender.StudentFilter{Level: "6e"})
		if err != nil || len(got) != 1 || got[0].Score != 2 {
			t.Fatalf("got %+v, %v; want S2 with score 2", got, err)
		}
	})
	t.Run("RejectsAMissingLevel", func(t *testing.T) {
		_, err := ss.SearchStudents(ctx(), []float32{1, 0, 0, 0}, 3, recommender.StudentFilter{})
		wantIs(t, err, recommender.ErrInvalid)
	})
}
