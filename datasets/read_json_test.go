package datasets

import (
	"encoding/json"
	"strings"
	"testing"
)

// rowsJSON is xs as a JSON batch (the struct's JSON names are the file's columns), after
// edit has changed its elements.
func rowsJSON[T any](tb testing.TB, xs []T, edit func([]map[string]any) []map[string]any) string {
	tb.Helper()
	b, err := json.Marshal(xs)
	if err != nil {
		tb.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		tb.Fatal(err)
	}
	for _, r := range rows {
		if st, _ := r["status"].(string); st != "" {
			delete(r, "score") // as a file leaves it empty: a status grade has no score
		}
	}
	if edit != nil {
		rows = edit(rows)
	}
	if b, err = json.Marshal(rows); err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestReadJSONRowsValidatesLikeTheReaders(t *testing.T) {
	d := sampleDataset(t)
	lim := Limits{}
	read := func(kind, body string) (*Dataset, error) {
		var got Dataset
		err := lim.ReadJSONRows(strings.NewReader(body), kind, &got)
		return &got, err
	}
	t.Run("AcceptsTheSample", func(t *testing.T) {
		for kind, body := range map[string]string{
			"competencies": rowsJSON(t, d.Competencies, nil), "resources": rowsJSON(t, d.Resources, nil),
			"students": rowsJSON(t, d.Students, nil), "lessons": rowsJSON(t, d.Lessons, nil),
			"grades": rowsJSON(t, d.Grades, nil), "absences": rowsJSON(t, d.Absences, nil),
		} {
			if _, err := read(kind, body); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
		}
		got, _ := read("grades", rowsJSON(t, d.Grades, nil))
		if len(got.Grades) != len(d.Grades) || !got.Grades[0].Date.Equal(d.Grades[0].Date) || got.Grades[0].Score != d.Grades[0].Score {
			t.Fatalf("grades read back as %+v, want %+v", got.Grades, d.Grades)
		}
	})
	set := func(i int, k string, v any) func([]map[string]any) []map[string]any {
		return func(rows []map[string]any) []map[string]any { rows[i][k] = v; return rows }
	}
	tests := []struct {
		name, kind, body string
		line             int
		field            string
	}{
		{"RejectsScoreAboveOutOf", "grades", rowsJSON(t, d.Grades, set(2, "score", 11)), 3, "/2/score"},
		{"RejectsDuplicateStudent", "students", rowsJSON(t, append(append([]Student(nil), d.Students...), d.Students[0]), nil), 4, "/3/student_id"},
		{"RejectsMissingDate", "grades", rowsJSON(t, d.Grades, set(0, "date", nil)), 1, "/0/date"},
		{"RejectsUnknownLevel", "resources", rowsJSON(t, d.Resources, set(1, "level", "terminale")), 2, "/1/level"},
		{"RejectsAbsenceEndingBeforeItStarts", "absences", rowsJSON(t, d.Absences, set(1, "end", d.Absences[1].Start.Add(-1).Format("2006-01-02T15:04:05Z07:00"))), 2, "/1/end"},
		{"RejectsUnknownColumn", "students", rowsJSON(t, d.Students, set(0, "name", "Léa")), 1, "/0/name"},
		{"RejectsObjectInACell", "grades", rowsJSON(t, d.Grades, set(1, "score", map[string]any{"x": 1})), 2, "/1/score"},
		{"RejectsAnElementThatIsNoObject", "students", `[1]`, 1, "/0"},
		{"RejectsMalformedJSON", "students", `[{"student_id":`, 0, ""},
		{"RejectsTrailingData", "students", `[] []`, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := read(tc.kind, tc.body)
			wantRowError(t, err, tc.kind, tc.line, tc.field)
			if n := len(got.Grades) + len(got.Students) + len(got.Resources) + len(got.Absences); n != 0 {
				t.Fatalf("%d rows kept from a rejected batch", n)
			}
		})
	}
	t.Run("RejectsBatchOverMaxRows", func(t *testing.T) {
		var got Dataset
		err := Limits{MaxRows: 2}.ReadJSONRows(strings.NewReader(rowsJSON(t, append(d.Lessons, d.Lessons[0]), nil)), "lessons", &got)
		wantRowError(t, err, "lessons", 3, "/2")
	})
}
