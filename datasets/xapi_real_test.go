package datasets

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// realDirectory knows the pupils and resources the fixtures of testdata/xapi name: the
// Moodle user 1 by account, the H5P user by mailbox, and resources by Moodle and H5P URL.
func realDirectory() *Directory {
	d := NewDirectory()
	d.AddStudents(
		Student{ID: "1", SchoolID: "E1", ClassID: "6A", Level: "6e", Consent: true},
		Student{ID: "eleve-h5p", SchoolID: "E1", ClassID: "6A", Level: "6e", Consent: true, Mbox: "mailto:user@mail.com"},
	)
	d.AddResources(
		Resource{ID: "quiz-1", URL: "http://www.example.org/mod/quiz/view.php?id=1"},
		Resource{ID: "book-1", AltIDs: []string{"http://www.example.org/mod/book/view.php?id=1"}},
		Resource{ID: "tf-1", AltIDs: []string{"https://h5p.org/true-false"}},
		Resource{ID: "scs-1", URL: "https://h5p.example.org/scs", AltIDs: []string{"https://h5p.org/single-choice-set"}},
	)
	return d
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "xapi", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestRealClientStatementsMapToPupilsAndResources(t *testing.T) {
	stored := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	type want struct {
		pupil, resource string
		scaled          *float64
		timestamp       time.Time // zero: not checked
	}
	f := func(x float64) *float64 { return &x }
	moodleTime := time.Date(2015, 6, 10, 14, 31, 41, 0, time.UTC)
	tests := []struct {
		file string
		want []want
	}{
		{"moodle-quiz-attempt-submitted-truefalse.json", []want{
			{"1", "quiz-1", f(0.5), moodleTime},
			{"1", "quiz-1", nil, moodleTime}, // a question of the quiz: mapped through context grouping
		}},
		{"moodle-course-module-completion-updated.json", []want{{"1", "book-1", nil, stored}}},
		{"h5p-true-false.json", []want{{"eleve-h5p", "tf-1", f(0), stored}}},
		{"h5p-raw-min-max.json", []want{{"eleve-h5p", "tf-1", f(0.75), stored}}},
		{"h5p-single-choice-set.json", []want{
			{"eleve-h5p", "scs-1", f(0), stored},
			{"eleve-h5p", "scs-1", f(0), stored}, // sub-content: the content's URL without subContentId
			{"eleve-h5p", "scs-1", f(0), stored},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			sts, err := ParseStatementsJSON(readFixture(t, tc.file), stored)
			if err != nil {
				t.Fatalf("a real client's statements were refused: %v", err)
			}
			d := &Dataset{Statements: sts}
			MapStatements(d, realDirectory())
			if len(d.Unmapped) != 0 || len(d.Statements) != len(tc.want) {
				t.Fatalf("%d mapped, %d unmapped (%+v); want %d mapped", len(d.Statements), len(d.Unmapped), d.Unmapped, len(tc.want))
			}
			for i, w := range tc.want {
				st := d.Statements[i]
				if !isUUID(st.ID) {
					t.Errorf("statement %d: id %q is not a UUID", i, st.ID)
				}
				if st.StudentID != w.pupil || st.ObjectID != w.resource {
					t.Errorf("statement %d: pupil %q resource %q, want %q %q", i, st.StudentID, st.ObjectID, w.pupil, w.resource)
				}
				if (st.Scaled == nil) != (w.scaled == nil) || (st.Scaled != nil && *st.Scaled != *w.scaled) {
					t.Errorf("statement %d: scaled %v, want %v", i, st.Scaled, w.scaled)
				}
				if !w.timestamp.IsZero() && !st.Timestamp.Equal(w.timestamp) {
					t.Errorf("statement %d: timestamp %v, want %v", i, st.Timestamp, w.timestamp)
				}
			}
		})
	}
}

func TestRealClientStatementsAboutStrangersAreKeptUnmapped(t *testing.T) {
	stored := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, file string
		dir        func() *Directory
		reason     string
		actor      string
	}{
		{"UnknownMoodleUser", "moodle-course-module-completion-updated.json", func() *Directory {
			d := NewDirectory()
			d.AddResources(Resource{ID: "book-1", AltIDs: []string{"http://www.example.org/mod/book/view.php?id=1"}})
			return d
		}, UnmappedActor, "account:http://www.example.org|1"},
		{"UnknownH5PContent", "h5p-true-false.json", func() *Directory {
			d := NewDirectory()
			d.AddStudents(Student{ID: "eleve-h5p", Mbox: "mailto:user@mail.com"})
			return d
		}, UnmappedActivity, "mbox_sha1sum:" + SHA1Hex("mailto:user@mail.com")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sts, err := ParseStatementsJSON(readFixture(t, tc.file), stored)
			if err != nil {
				t.Fatal(err)
			}
			d := &Dataset{Statements: sts}
			MapStatements(d, tc.dir())
			if len(d.Statements) != 0 || len(d.Unmapped) != 1 {
				t.Fatalf("%d mapped, %d unmapped; want all unmapped", len(d.Statements), len(d.Unmapped))
			}
			u := d.Unmapped[0]
			if u.Reason != tc.reason || u.Actor != tc.actor {
				t.Fatalf("unmapped %q as %q, want %q as %q", u.Reason, u.Actor, tc.reason, tc.actor)
			}
		})
	}
}

func TestAmbiguousMailboxOrURLMapsToNobody(t *testing.T) {
	d := NewDirectory()
	d.AddStudents(Student{ID: "a", Mbox: "mailto:famille@example.fr"}, Student{ID: "b", Mbox: "mailto:famille@example.fr"})
	d.AddResources(Resource{ID: "r1", URL: "https://x.example/1"}, Resource{ID: "r2", AltIDs: []string{"https://x.example/1"}})
	if id, ok := d.Pupil(&XAPIRef{MboxSHA1: MboxSHA1s("mailto:famille@example.fr")}); ok {
		t.Fatalf("a mailbox shared by two pupils mapped to %q", id)
	}
	if id, ok := d.Resource(&XAPIRef{ObjectType: "Activity", Activities: []string{"https://x.example/1"}}); ok {
		t.Fatalf("a URL shared by two resources mapped to %q", id)
	}
}

func TestStatementWithoutIDGetsTheSameIDFromAFileAndAFreshOneFromARequest(t *testing.T) {
	line := readFixture(t, "h5p-true-false.json")
	var a, b []Statement
	for _, out := range []*[]Statement{&a, &b} {
		var err error
		*out, err = ParseStatementsJSON(line, time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	if a[0].ID == b[0].ID {
		t.Fatalf("two requests without id got the same id %q", a[0].ID)
	}
	compact := []byte(`{"actor":{"mbox":"mailto:user@mail.com"},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":"https://h5p.org/true-false"},"stored":"2026-03-02T10:00:00Z"}`)
	x, err := ReadStatementsAll(bytesReader(compact), UsageFile)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := ReadStatementsAll(bytesReader(compact), UsageFile)
	if x[0].ID != y[0].ID || !x[0].Timestamp.Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("file statement without id or timestamp read as %q at %v, then %q: want one id and the stored time", x[0].ID, x[0].Timestamp, y[0].ID)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
