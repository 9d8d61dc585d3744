package pgstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// A folder's chunk looks pupils and activities up with joins (thousands of ids), the API
// with the OR of a few: both find the same pupils (by account name or mailbox hash) and
// the same resources (by id, url or alternative id).
func TestXAPILookupOfAChunkFindsWhatTheAPIFinds(t *testing.T) {
	ctx := context.Background()
	s, _ := openBulkStore(t)
	d := &datasets.Dataset{
		Competencies: []datasets.Competency{{ID: "K1", Subject: "MATHS", Level: "6e", Label: "k"}},
		Resources: []datasets.Resource{
			{ID: "R1", Title: "r1", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"K1"}, Difficulty: 0.5, DurationMin: 5},
			{ID: "R2", Title: "r2", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"K1"}, Difficulty: 0.5, DurationMin: 5,
				URL: "https://moodle.example/mod/h5p/view.php?id=7"},
			{ID: "R3", Title: "r3", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"K1"}, Difficulty: 0.5, DurationMin: 5,
				AltIDs: []string{"https://h5p.example/c/9"}},
			{ID: "R4", Title: "r4", Subject: "MATHS", Level: "6e", Type: "exercise", Competencies: []string{"K1"}, Difficulty: 0.5, DurationMin: 5},
		},
		Students: []datasets.Student{
			{ID: "S1", SchoolID: "SCH", ClassID: "C1", Level: "6e", Consent: true},
			{ID: "S2", SchoolID: "SCH", ClassID: "C1", Level: "6e", Consent: true, Mbox: "mailto:s2@example.org"},
			{ID: "S3", SchoolID: "SCH", ClassID: "C1", Level: "6e", Consent: true},
		},
	}
	if _, err := s.Ingest(ctx, d); err != nil {
		t.Fatal(err)
	}
	for _, hashes := range [][]string{nil, datasets.MboxSHA1s("mailto:s2@example.org")} {
		small, big, err := pgstore.LookUpXAPIBoth(ctx, s, []string{"S1"}, hashes,
			[]string{"R1", "https://moodle.example/mod/h5p/view.php?id=7", "https://h5p.example/c/9"})
		if err != nil {
			t.Fatal(err)
		}
		wantPupils := []string{"S1"}
		if hashes != nil {
			wantPupils = []string{"S1", "S2"}
		}
		if !slices.Equal(small[0], wantPupils) || !slices.Equal(big[0], wantPupils) {
			t.Errorf("pupils (hashes %v): few ids %v, many %v, want %v", hashes, small[0], big[0], wantPupils)
		}
		if want := []string{"R1", "R2", "R3"}; !slices.Equal(small[1], want) || !slices.Equal(big[1], want) {
			t.Errorf("resources: few ids %v, many %v, want %v", small[1], big[1], want)
		}
	}
}
