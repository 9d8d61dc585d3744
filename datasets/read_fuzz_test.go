package datasets

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fuzzLimits keep every fuzz input's cost small; the readers must enforce them.
var fuzzLimits = Limits{MaxRows: 200, MaxLineBytes: 4096, MaxFieldBytes: 256, MaxListItems: 16}

// fuzzRead checks the properties every reader owes its callers: no panic; bad input is
// always a *Error wrapping ErrInvalid (the input is in memory, so nothing else can
// fail); and what it accepts, written back, reads back to the same values.
func fuzzRead[T any](t *testing.T, data []byte, read func(Limits, io.Reader, string, func(T) error) error, write func(io.Writer, []T) error) {
	var got []T
	err := read(fuzzLimits, bytes.NewReader(data), "fuzz", func(v T) error { got = append(got, v); return nil })
	if err != nil {
		var re *Error
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v (%T) is not a *Error", err, err)
		}
		return
	}
	if len(got) > fuzzLimits.MaxRows {
		t.Fatalf("read %d rows past MaxRows %d", len(got), fuzzLimits.MaxRows)
	}
	var buf bytes.Buffer
	if err := write(&buf, got); err != nil {
		t.Fatalf("writing accepted values: %v", err)
	}
	var again []T
	if err := read(Limits{}, &buf, "fuzz", func(v T) error { again = append(again, v); return nil }); err != nil {
		t.Fatalf("re-reading written values: %v\n%s", err, buf.Bytes())
	}
	if diff := cmp.Diff(got, again, ignoreRef); diff != "" {
		t.Fatalf("write then read changed values (-first +second):\n%s", diff)
	}
}

// seedCSV adds the sample's file and a few broken variants of it.
func seedCSV[T any](f *testing.F, xs []T, write func(io.Writer, []T) error) {
	var buf bytes.Buffer
	if err := write(&buf, xs); err != nil {
		f.Fatal(err)
	}
	good := buf.String()
	f.Add([]byte(good))
	f.Add([]byte("\uFEFF" + strings.ReplaceAll(good, "\n", "\r\n")))
	f.Add([]byte(strings.Replace(good, ",", ",\"", 1)))
	f.Add([]byte(strings.Replace(good, ";", ";;", 1)))
	f.Add([]byte(good[:len(good)/2]))
	f.Add([]byte(good + good[strings.IndexByte(good, '\n')+1:]))
	f.Add([]byte(strings.Replace(good, "2024", "\xff\xfe", 1)))
	f.Add([]byte{})
}

func FuzzReadCompetencies(f *testing.F) {
	seedCSV(f, sampleDataset(f).Competencies, func(w io.Writer, x []Competency) error { return WriteCompetencies(w, x) })
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadCompetencies, func(w io.Writer, x []Competency) error { return WriteCompetencies(w, x) })
	})
}

func FuzzReadResources(f *testing.F) {
	seedCSV(f, sampleDataset(f).Resources, func(w io.Writer, x []Resource) error { return WriteResources(w, x) })
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadResources, func(w io.Writer, x []Resource) error { return WriteResources(w, x) })
	})
}

func FuzzReadStudents(f *testing.F) {
	seedCSV(f, sampleDataset(f).Students, func(w io.Writer, x []Student) error { return WriteStudents(w, x) })
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadStudents, func(w io.Writer, x []Student) error { return WriteStudents(w, x) })
	})
}

func FuzzReadLessons(f *testing.F) {
	seedCSV(f, sampleDataset(f).Lessons, func(w io.Writer, x []Lesson) error { return WriteLessons(w, x) })
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadLessons, func(w io.Writer, x []Lesson) error { return WriteLessons(w, x) })
	})
}

func FuzzReadGrades(f *testing.F) {
	seedCSV(f, sampleDataset(f).Grades, func(w io.Writer, x []Grade) error { return WriteGrades(w, x) })
	f.Add([]byte(gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12,,20,1,N.Rdu\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadGrades, func(w io.Writer, x []Grade) error { return WriteGrades(w, x) })
	})
}

func FuzzReadAbsences(f *testing.F) {
	seedCSV(f, sampleDataset(f).Absences, func(w io.Writer, x []Absence) error { return WriteAbsences(w, x) })
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadAbsences, func(w io.Writer, x []Absence) error { return WriteAbsences(w, x) })
	})
}

func FuzzReadStatements(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteStatements(&buf, sampleDataset(f).Statements); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(goodStatement + "\n"))
	f.Add([]byte(strings.Replace(goodStatement, "PT1H2M3.5S", "P1DT0,5H", 1)))
	f.Add([]byte(`{"id":"0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":[],"verb":null}`))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, Limits.ReadStatements, func(w io.Writer, x []Statement) error { return WriteStatements(w, x) })
	})
}

func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(goodStatement))
	f.Add([]byte("[" + goodStatement + "," + goodStatement + "]"))
	f.Add([]byte(`[{"id":1}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b","actor":{"account":{"name":"S1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":"0d7a3c9e-8f5b-4c1e-9a2b-3c4d5e6f7a8b"},"timestamp":"2024-01-01"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return // the HTTP layer bounds bodies; this target is about structure
		}
		sts, err := ParseStatementsJSON(data, time.Unix(1700000000, 0))
		if err != nil {
			var re *Error
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T) is not a *Error", err, err)
			}
			return
		}
		for _, st := range sts {
			if st.Ref.AccountName == "" || (st.Ref.ObjectType != "Activity" && st.Verb != VerbVoided) {
				continue // MarshalXAPI writes the data folder's form: an account and an Activity
			}
			b, err := st.MarshalXAPI()
			if err != nil {
				t.Fatalf("marshalling an accepted statement: %v", err)
			}
			back, err := ParseStatementJSON(b, time.Unix(1700000000, 0))
			if err != nil {
				t.Fatalf("re-parsing %s: %v", b, err)
			}
			if diff := cmp.Diff(st, back, ignoreRef); diff != "" {
				t.Fatalf("marshal then parse changed the statement (-first +second):\n%s", diff)
			}
		}
	})
}

func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT1H2M3.5S", "P1DT2H", "P2W", "PT0,25M", "P1Y", "PT", "PT0.0000000001S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseISODuration(s)
		if err != nil {
			return
		}
		if d < 0 || d > MaxStatementDuration {
			t.Fatalf("ParseISODuration(%q) = %v, outside [0, %v]", s, d, MaxStatementDuration)
		}
		out, err := FormatISODuration(d)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseISODuration(out); err != nil || back != d {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, out, back, err)
		}
	})
}
