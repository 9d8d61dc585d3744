package oulad

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parcours-ent/parcours/datasets"
)

var outputFiles = []string{
	datasets.CompetenciesFile, datasets.ResourcesFile, datasets.StudentsFile, datasets.LessonsFile,
	datasets.GradesFile, datasets.AbsencesFile, datasets.UsageFile,
}

// sensitiveColumns are the OULAD columns that must never reach a data folder.
var sensitiveColumns = []string{"gender", "region", "highest_education", "imd_band", "age_band", "disability"}

func TestImportRealOULAD(t *testing.T) {
	in := realData(t)
	out, sum := importTo(t, in)
	d := load(t, out)

	info := filepath.Join(in, StudentInfoFile)
	students := map[string]bool{}
	for _, id := range column(t, info, "id_student") {
		students[id] = true
	}
	subs := len(readRows(t, filepath.Join(in, SubmissionsFile))) - 1
	var sites, homepages int
	for _, ty := range column(t, filepath.Join(in, VLEFile), "activity_type") {
		sites++
		if ty == "homepage" {
			homepages++
		}
	}
	var nonRendu int
	for _, g := range d.Grades {
		if g.Status == datasets.StatusNonRendu {
			nonRendu++
		}
	}
	classes := map[string]bool{}
	for _, s := range d.Students {
		classes[s.ClassID] = true
	}

	t.Run("CountsMatchTheSource", func(t *testing.T) {
		checks := []struct {
			what      string
			got, want int
		}{
			{"students (distinct id_student)", len(d.Students), len(students)},
			{"grades from submissions", len(d.Grades) - nonRendu, subs},
			{"non_rendu in summary", sum.GradesNonRendu, nonRendu},
			{"resources (sites but home pages)", len(d.Resources), sites - homepages},
			{"classes (courses rows)", len(classes), len(readRows(t, filepath.Join(in, CoursesFile))) - 1},
			{"summary students", sum.Students, len(d.Students)},
			{"summary grades", sum.Grades, len(d.Grades)},
			{"summary absences", sum.Absences, len(d.Absences)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: got %d, want %d", c.what, c.got, c.want)
			}
		}
		t.Logf("summary: %+v", sum)
	})

	t.Run("NoSensitiveColumnSurvives", func(t *testing.T) {
		for _, f := range outputFiles {
			b, err := os.ReadFile(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			header, _, _ := bytes.Cut(b, []byte("\n"))
			for _, c := range sensitiveColumns {
				if bytes.Contains(header, []byte(c)) {
					t.Errorf("%s header holds sensitive column %q", f, c)
				}
			}
		}
		// Values that only the demographic columns hold must not appear anywhere
		// (imd_band's bare "10-20" would match dates, so only its "%" forms are looked for).
		var values []string
		rows := readRows(t, info)
		for i, h := range rows[0] {
			if h != "region" && h != "highest_education" && h != "imd_band" {
				continue
			}
			seen := map[string]bool{}
			for _, r := range rows[1:] {
				if v := r[i]; len(v) > 3 && !seen[v] && (h != "imd_band" || strings.Contains(v, "%")) {
					seen[v] = true
					values = append(values, v)
				}
			}
		}
		if len(values) < 10 {
			t.Fatalf("only %d demographic values to look for: the check would prove nothing", len(values))
		}
		assertAbsent(t, out, values...)
	})

	t.Run("ImportIsDeterministic", func(t *testing.T) {
		again, _ := importTo(t, in)
		assertSameFiles(t, out, again)
	})
}

func assertAbsent(tb testing.TB, dir string, values ...string) {
	tb.Helper()
	for _, f := range outputFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			tb.Fatal(err)
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				tb.Errorf("%s holds the demographic value %q", f, v)
			}
		}
	}
}

func assertSameFiles(tb testing.TB, a, b string) {
	tb.Helper()
	for _, f := range outputFiles {
		x, err := os.ReadFile(filepath.Join(a, f))
		if err != nil {
			tb.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f))
		if err != nil {
			tb.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			tb.Errorf("%s differs between two imports of the same input", f)
		}
	}
}

func TestImportMiniMapsEveryRule(t *testing.T) {
	out, sum := importTo(t, miniData(t))
	d := load(t, out)

	want := Summary{
		SourceRows: map[string]int{CoursesFile: 3, AssessmentsFile: 6, StudentInfoFile: 6, RegistrationFile: 6,
			SubmissionsFile: 9, VLEFile: 6, ClicksFile: 6},
		Subjects: 2, Classes: 3, Competencies: 4, Resources: 5, Students: 4, Grades: 10,
		GradesNonNote: 1, GradesNonRendu: 1, GradesBanked: 1, Absences: 2, Lessons: 3, Statements: 4,
		SkippedSites: 1, SkippedClicks: 2, SecondRegistrations: 2,
	}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	t.Run("ExamDependsOnTheModulesOtherCompetencies", func(t *testing.T) {
		var got []string
		for _, c := range d.Competencies {
			got = append(got, c.ID+":"+strings.Join(c.Prerequisites, "+"))
			if c.Level != Level {
				t.Errorf("competency %s level %q, want %q", c.ID, c.Level, Level)
			}
		}
		want := []string{"XXX-CMA:", "XXX-EXAM:XXX-CMA+XXX-TMA", "XXX-TMA:", "YYY-TMA:"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("competencies (-want +got):\n%s", diff)
		}
	})

	t.Run("PupilOnTwoPresentationsJoinsTheLatest", func(t *testing.T) {
		class := map[string]string{}
		for _, s := range d.Students {
			class[s.ID] = s.ClassID
			if !s.Consent || s.SchoolID != SchoolID || s.Level != Level {
				t.Errorf("student %+v: want consent, school %s, level %s", s, SchoolID, Level)
			}
		}
		want := map[string]string{"1": "YYY-2014J", "2": "XXX-2014B", "3": "XXX-2014J", "4": "YYY-2014J"}
		if diff := cmp.Diff(want, class); diff != "" {
			t.Errorf("classes (-want +got):\n%s", diff)
		}
	})

	t.Run("GradesCarryWeightStatusAndSubmissionDate", func(t *testing.T) {
		byID := map[string]datasets.Grade{}
		for _, g := range d.Grades {
			byID[g.ID] = g
		}
		feb := time.Date(2014, 2, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name, id, status string
			score, coef      float64
			date             time.Time
		}{
			{"ScoredTMAKeepsItsWeight", "g-101-1", "", 72, 40, feb.AddDate(0, 0, 19)},
			{"UnscoredIsNonNote", "g-102-1", datasets.StatusNonNote, 0, ZeroWeightCoefficient, feb.AddDate(0, 0, 48)},
			{"ExamWithoutDateUsesSubmission", "g-103-1", "", 64, 100, feb.AddDate(0, 0, 240)},
			{"MissedDeadlineIsNonRendu", "g-102-3", datasets.StatusNonRendu, 0, ZeroWeightCoefficient, feb.AddDate(0, 0, 50)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g, ok := byID[tt.id]
				if !ok {
					t.Fatalf("grade %s missing", tt.id)
				}
				if g.Status != tt.status || g.Score != tt.score || g.Coefficient != tt.coef || !g.Date.Equal(tt.date) || g.OutOf != OutOf {
					t.Errorf("grade %s = %+v, want status %q score %v coefficient %v date %v", tt.id, g, tt.status, tt.score, tt.coef, tt.date)
				}
			})
		}
		if _, ok := byID["g-102-2"]; ok {
			t.Error("pupil 2 left before the CMA deadline but got a non_rendu grade")
		}
	})

	t.Run("WithdrawalFromTheClassIsAnAbsence", func(t *testing.T) {
		got := map[string][2]string{}
		for _, a := range d.Absences {
			got[a.StudentID] = [2]string{datasets.FormatTime(a.Start), datasets.FormatTime(a.End)}
			if !a.Justified {
				t.Errorf("absence %s is not justified", a.ID)
			}
		}
		want := map[string][2]string{
			"2": {"2014-03-03T00:00:00Z", "2014-09-29T00:00:00Z"},
			"1": {"2015-01-09T00:00:00Z", "2015-06-19T00:00:00Z"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("absences (-want +got):\n%s", diff)
		}
	})

	t.Run("SitesBecomeTypedResources", func(t *testing.T) {
		got := map[string]string{}
		for _, r := range d.Resources {
			got[r.ID] = r.Type + " " + strings.Join(r.Competencies, "+")
		}
		want := map[string]string{
			"vle-9002": "sheet XXX-EXAM+XXX-TMA",
			"vle-9003": "quiz XXX-CMA",
			"vle-9004": "sheet XXX-EXAM+XXX-TMA",
			"vle-9005": "quiz YYY-TMA",
			"vle-9006": "video YYY-TMA",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("resources (-want +got):\n%s", diff)
		}
	})

	t.Run("PlannedWeeksBecomeWeekLongLessons", func(t *testing.T) {
		var got []string
		for _, l := range d.Lessons {
			got = append(got, fmt.Sprintf("%s %s %s %s %s", l.ID, l.ClassID, strings.Join(l.Competencies, "+"),
				l.Start.Format(time.DateOnly), l.End.Format(time.DateOnly)))
		}
		want := []string{
			"les-XXX-2014B-w01 XXX-2014B XXX-EXAM+XXX-TMA 2014-02-01 2014-02-08",
			"les-XXX-2014B-w02 XXX-2014B XXX-EXAM+XXX-TMA 2014-02-08 2014-02-15",
			"les-XXX-2014J-w03 XXX-2014J XXX-EXAM+XXX-TMA 2014-10-15 2014-10-22",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("lessons (-want +got):\n%s", diff)
		}
	})

	t.Run("ResourceDifficultyComesFromMeanScore", func(t *testing.T) {
		// YYY-TMA holds 100/100 and 40/100: mean 0.7, with the prior (1.4+1)/(2+2) = 0.6.
		for _, r := range d.Resources {
			if r.ID == "vle-9005" && r.Difficulty != -0.405 {
				t.Errorf("vle-9005 difficulty %v, want -0.405", r.Difficulty)
			}
		}
	})

	t.Run("ClicksBecomeViewedStatementsWithDistinctIDs", func(t *testing.T) {
		ids := map[string]bool{}
		for _, st := range d.Statements {
			if st.Verb != datasets.VerbViewed {
				t.Errorf("statement %s verb %s, want viewed", st.ID, st.Verb)
			}
			ids[st.ID] = true
		}
		if len(ids) != 4 {
			t.Errorf("%d distinct statement ids, want 4 (identical rows are two views)", len(ids))
		}
	})

	t.Run("NoDemographicValueSurvives", func(t *testing.T) {
		assertAbsent(t, out, "Zzregion", "Zzedu", "90-100%", "55<=")
	})

	t.Run("ImportWithClicksIsDeterministic", func(t *testing.T) {
		again, _ := importTo(t, miniData(t))
		assertSameFiles(t, out, again)
	})
}

func TestImportWithoutClicksWritesEmptyUsage(t *testing.T) {
	in := miniData(t)
	if err := os.Remove(filepath.Join(in, ClicksFile)); err != nil {
		t.Fatal(err)
	}
	out, sum := importTo(t, in)
	b, err := os.ReadFile(filepath.Join(out, datasets.UsageFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 0 || sum.Statements != 0 {
		t.Errorf("usage.jsonl has %d bytes, summary %d statements; want an empty file", len(b), sum.Statements)
	}
}

func TestImportRejectsBadInputAndWritesNothing(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		old, new  string
		wantLine  int
		wantField string
	}{
		{"RejectsScoreAbove100", SubmissionsFile, `"72"`, `"172"`, 2, "score"},
		{"RejectsUnknownAssessment", SubmissionsFile, `"103","1"`, `"999","1"`, 6, "id_assessment"},
		{"RejectsPresentationOutsideCourses", AssessmentsFile, `"YYY","2014J","201"`, `"ZZZ","2014J","201"`, 7, "code_presentation"},
		{"RejectsUnknownPresentationCode", CoursesFile, `"2014B"`, `"2014X"`, 2, "code_presentation"},
		{"RejectsMissingColumn", VLEFile, `"activity_type"`, `"kind"`, 1, "activity_type"},
		{"RejectsNonNumericDay", RegistrationFile, `"30"`, `"thirty"`, 3, "date_unregistration"},
		{"RejectsClickWithoutDate", ClicksFile, `"12"`, `""`, 7, "date"},
		{"RejectsSecondSubmission", SubmissionsFile, `"201","1"`, `"201","4"`, 10, "id_student"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := miniData(t)
			p := filepath.Join(in, tt.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(tt.old)) {
				t.Fatalf("fixture %s lacks %s", tt.file, tt.old)
			}
			if err := os.WriteFile(p, bytes.Replace(b, []byte(tt.old), []byte(tt.new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			fresh := filepath.Join(t.TempDir(), "new")
			if _, err := Import(in, fresh, nil); err == nil {
				t.Fatal("Import into a new folder accepted the bad input")
			}
			if _, err := os.Stat(fresh); !os.IsNotExist(err) {
				t.Errorf("a failed import left the folder it created (%v)", err)
			}
			_, err = Import(in, out, nil)
			var re *datasets.Error
			if !errors.As(err, &re) || !errors.Is(err, datasets.ErrInvalid) {
				t.Fatalf("Import = %v, want a *datasets.Error", err)
			}
			if re.File != tt.file || re.Line != tt.wantLine || re.Field != tt.wantField {
				t.Errorf("error at %s:%d %q, want %s:%d %q (%v)", re.File, re.Line, re.Field, tt.file, tt.wantLine, tt.wantField, err)
			}
			left, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("a failed import left %d entries in the output folder (first %s)", len(left), left[0].Name())
			}
		})
	}
}

func TestImportRejectsMissingFile(t *testing.T) {
	in := miniData(t)
	if err := os.Remove(filepath.Join(in, VLEFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Import(in, t.TempDir(), nil)
	var re *datasets.Error
	if !errors.As(err, &re) || re.File != VLEFile {
		t.Errorf("Import without %s = %v, want a *datasets.Error naming it", VLEFile, err)
	}
}

func TestImportReportsProgressInInputBytes(t *testing.T) {
	in := miniData(t)
	var want int64
	for _, f := range append(requiredFiles, ClicksFile) {
		fi, err := os.Stat(filepath.Join(in, f))
		if err != nil {
			t.Fatal(err)
		}
		want += fi.Size()
	}
	var calls [][2]int
	if _, err := Import(in, t.TempDir(), func(done, n int) { calls = append(calls, [2]int{done, n}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || calls[0] != [2]int{0, int(want)} || calls[len(calls)-1] != [2]int{int(want), int(want)} {
		t.Errorf("progress calls %v, want from 0/%d to %d/%d", calls, want, want, want)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] {
			t.Errorf("progress went back: %v", calls)
		}
	}
}

func TestImportSkipsSubmissionOfUnregisteredStudent(t *testing.T) {
	in := miniData(t)
	f, err := os.OpenFile(filepath.Join(in, SubmissionsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`"101","77","20","0","50"` + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, sum := importTo(t, in)
	load(t, out) // every grade's pupil exists
	if sum.SkippedSubmissions != 1 || sum.Grades != 10 {
		t.Errorf("skipped %d submissions and kept %d grades, want 1 and 10", sum.SkippedSubmissions, sum.Grades)
	}
}

func TestImportReadsFilesWithABOM(t *testing.T) {
	in := miniData(t)
	for _, f := range requiredFiles {
		p := filepath.Join(in, f)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append([]byte("\ufeff"), b...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Import(in, t.TempDir(), nil); err != nil {
		t.Errorf("Import of files starting with a UTF-8 BOM: %v", err)
	}
}
