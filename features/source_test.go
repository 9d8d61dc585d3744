package features

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// sourcePupils makes n pupils over a 20-resource catalogue, enough for the usage SVD and
// for several chunks of a pass.
func sourcePupils(t *testing.T, n int) (*datasets.Catalogue, []PupilEvents) {
	t.Helper()
	var comps []datasets.Competency
	var res []datasets.Resource
	for i := range 20 {
		comps = append(comps, datasets.Competency{ID: fmt.Sprint("k", i), Subject: "MATHS", Level: "6e"})
		res = append(res, datasets.Resource{ID: fmt.Sprint("x", i), Type: datasets.ResourceExercise, Level: "6e",
			Competencies: []string{fmt.Sprint("k", i)}, Difficulty: float64(i%5) - 2})
	}
	cat, err := datasets.NewCatalogue(comps, res)
	if err != nil {
		t.Fatal(err)
	}
	pupils := make([]PupilEvents, n)
	for i := range pupils {
		st := datasets.Student{ID: fmt.Sprintf("e%04d", i), SchoolID: "s1", ClassID: "6A", Level: "6e", Consent: true}
		var sts []datasets.Statement
		for j := range 3 + i%7 {
			ok := (i*7+j*3)%5 < 3
			sts = append(sts, datasets.Statement{ID: fmt.Sprint(i, "-", j), StudentID: st.ID, Verb: datasets.VerbAnswered,
				ObjectID: fmt.Sprint("x", (i+j*j)%20), Success: &ok, Timestamp: day0.Add(time.Duration(i*13+j) * time.Hour)})
		}
		pupils[i] = PupilEvents{Student: st, Statements: sts}
	}
	return cat, pupils
}

// copySource hands out a fresh copy of each pupil, as a store reading batches would.
func copySource(pupils []PupilEvents) PupilSource {
	return func(yield func(*PupilEvents) error) error {
		for i := range pupils {
			ev := pupils[i]
			ev.Statements = append([]datasets.Statement(nil), ev.Statements...)
			if err := yield(&ev); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestFitFromASourceEqualsFitOnTheSlice(t *testing.T) {
	cat, pupils := sourcePupils(t, 2*fitChunk+37)
	asOf := day0.AddDate(0, 6, 0)
	a := NewModel(DefaultModelConfig())
	want, err := a.Fit(cat, pupils, asOf)
	if err != nil {
		t.Fatal(err)
	}
	b := NewModel(DefaultModelConfig())
	var got []Profile
	chunksSeen := 0
	err = b.FitFrom(cat, copySource(pupils), asOf, func(ps []Profile) error {
		chunksSeen++
		if len(ps) > fitChunk {
			t.Errorf("chunk of %d profiles, want at most %d", len(ps), fitChunk)
		}
		got = append(got, ps...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() != b.Version() {
		t.Errorf("model version %s from the source, %s from the slice", b.Version(), a.Version())
	}
	if len(got) != len(want) || chunksSeen != 3 {
		t.Fatalf("%d profiles in %d chunks, want %d in 3", len(got), chunksSeen, len(want))
	}
	for i := range want {
		if snapshot(t, &got[i]) != snapshot(t, &want[i]) {
			t.Fatalf("profile %d (%s) differs between FitFrom and Fit", i, want[i].StudentID)
		}
	}
	la := NewLayout(cat, pupils)
	lb, err := NewLayoutFrom(cat, copySource(pupils))
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := la.MarshalBinary()
	jb, _ := lb.MarshalBinary()
	if string(ja) != string(jb) {
		t.Error("NewLayoutFrom differs from NewLayout")
	}
	if v := la.StudentVector(&want[0]); len(v) == 0 || la.Dim() != lb.Dim() {
		t.Error("layout without dimension")
	}
}

func TestFitFromStopsOnTheSourcesOrEmitsError(t *testing.T) {
	cat, pupils := sourcePupils(t, 300)
	boom := errors.New("store gone")
	failing := func(yield func(*PupilEvents) error) error {
		for i := range 10 {
			if err := yield(&pupils[i]); err != nil {
				return err
			}
		}
		return boom
	}
	m := NewModel(DefaultModelConfig())
	if err := m.FitFrom(cat, failing, day0, func([]Profile) error { return nil }); !errors.Is(err, boom) {
		t.Errorf("source error: got %v", err)
	}
	stop := errors.New("disk full")
	if err := m.FitFrom(cat, SliceSource(pupils), day0, func([]Profile) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("emit error: got %v", err)
	}
	bad := append([]PupilEvents(nil), pupils...)
	bad[299].Grades = []datasets.Grade{{ID: "g", StudentID: bad[299].Student.ID, Subject: "MATHS", Competencies: []string{"nope"}, Date: day0, Score: 3, OutOf: 20, Coefficient: 1}}
	if err := m.FitFrom(cat, SliceSource(bad), day0.AddDate(0, 1, 0), func([]Profile) error { return nil }); !errors.Is(err, datasets.ErrInvalid) {
		t.Errorf("malformed grade: got %v, want ErrInvalid", err)
	}
}
