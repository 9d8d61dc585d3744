package datasets

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// wantRowError checks that err is a *Error (and an ErrInvalid) at file, line, field.
func wantRowError(tb testing.TB, err error, file string, line int, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error, want %s:%d: %s", file, line, field)
	}
	var re *Error
	if !errors.As(err, &re) {
		tb.Fatalf("error %v (%T) is not a *Error", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		tb.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	if re.File != file || re.Line != line || re.Field != field {
		tb.Fatalf("error %q at %s:%d field %q, want %s:%d field %q", err, re.File, re.Line, re.Field, file, line, field)
	}
}

const gradesHead = "grade_id,student_id,subject,competencies,assessment_id,date,score,out_of,coefficient,status\n"

func readGrades(tb testing.TB, lim Limits, body string) ([]Grade, error) {
	tb.Helper()
	var out []Grade
	err := lim.ReadGrades(strings.NewReader(body), GradesFile, func(g Grade) error { out = append(out, g); return nil })
	return out, err
}

func TestReadGradesRejectsBadInputNamingLineAndField(t *testing.T) {
	ok := "G1,S1,MATHS,C1;C2,A1,2024-01-12T00:00:00Z,12.5,20,1,\n"
	tests := []struct {
		name  string
		body  string
		line  int
		field string
	}{
		{"RejectsEmptyFile", "", 1, ""},
		{"RejectsMissingColumn", "grade_id,student_id,subject,competencies,assessment_id,date,score,out_of,coefficient\n", 1, "status"},
		{"RejectsExtraColumn", strings.TrimSuffix(gradesHead, "\n") + ",health_note\n", 1, "health_note"},
		{"RejectsRenamedColumnNamingTheMissingOne", strings.Replace(gradesHead, "score", "note", 1), 1, "score"},
		{"RejectsRepeatedColumn", strings.Replace(gradesHead, "status", "score", 1), 1, "score"},
		{"RejectsShortRowNamingFirstMissingColumn", gradesHead + ok + "G2,S1,MATHS\n", 3, "competencies"},
		{"RejectsLongRow", gradesHead + ok + strings.TrimSuffix(ok, "\n") + ",x\n", 3, ""},
		{"RejectsBareQuote", gradesHead + "G2,S\"1,MATHS,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, ""},
		{"RejectsEmptyID", gradesHead + ",S1,MATHS,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "grade_id"},
		{"RejectsIDWithControlCharacter", gradesHead + "G\x01,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "grade_id"},
		{"RejectsIDOver128Bytes", gradesHead + strings.Repeat("g", 129) + ",S1,MATHS,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "grade_id"},
		{"RejectsDuplicateID", gradesHead + ok + ok, 3, "grade_id"},
		{"RejectsBadUTF8", gradesHead + "G1,S1,MATHS\xff,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "subject"},
		{"RejectsEmptyListItem", gradesHead + "G1,S1,MATHS,C1;;C2,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "competencies"},
		{"RejectsTrailingListSeparator", gradesHead + "G1,S1,MATHS,C1;,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "competencies"},
		{"RejectsRepeatedListItem", gradesHead + "G1,S1,MATHS,C1;C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "competencies"},
		{"RejectsBadDate", gradesHead + "G1,S1,MATHS,C1,A1,12/01/2024,12,20,1,\n", 2, "date"},
		{"RejectsScoreAboveOutOf", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,21,20,1,\n", 2, "score"},
		{"RejectsNegativeScore", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,-1,20,1,\n", 2, "score"},
		{"RejectsDecimalComma", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,\"12,5\",20,1,\n", 2, "score"},
		{"RejectsNaNScore", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,NaN,20,1,\n", 2, "score"},
		{"RejectsZeroOutOf", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,0,0,1,\n", 2, "out_of"},
		{"RejectsZeroCoefficient", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,12,20,0,\n", 2, "coefficient"},
		{"RejectsUnknownStatus", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,,20,1,malade\n", 2, "status"},
		{"RejectsScoreBesideStatus", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,0,20,1,absent\n", 2, "score"},
		{"RejectsMarkWithoutScore", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,,20,1,\n", 2, "score"},
		{"RejectsEmptySubject", gradesHead + "G1,S1,,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "subject"},
		{"NamesTheRightLineAfterAQuotedMultiLineField", gradesHead + "G1,S1,\"MA\nTHS\",C1,A1,2024-01-12T00:00:00Z,12,20,1,\n", 2, "subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readGrades(t, Limits{}, tc.body)
			wantRowError(t, err, GradesFile, tc.line, tc.field)
		})
	}
}

func TestReadGradesEnforcesSizeLimits(t *testing.T) {
	row := func(id string) string { return id + ",S1,MATHS,C1,A1,2024-01-12T00:00:00Z,12,20,1,\n" }
	t.Run("RejectsRowsBeyondMaxRows", func(t *testing.T) {
		_, err := readGrades(t, Limits{MaxRows: 2}, gradesHead+row("G1")+row("G2")+row("G3"))
		wantRowError(t, err, GradesFile, 4, "")
	})
	t.Run("RejectsALineOver64KiBWithoutBufferingIt", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(gradesHead+row("G1")+"G2,"), endless{})
		err := Limits{}.ReadGrades(body, GradesFile, func(Grade) error { return nil })
		wantRowError(t, err, GradesFile, 3, "")
	})
	t.Run("RejectsAMultiLineRecordOverTheLimit", func(t *testing.T) {
		big := "\"" + strings.Repeat("x\n", 40<<10) + "\""
		_, err := readGrades(t, Limits{}, gradesHead+"G1,S1,"+big+",C1,A1,2024-01-12T00:00:00Z,12,20,1,\n")
		var re *Error
		if !errors.As(err, &re) || re.File != GradesFile {
			t.Fatalf("got %v, want a Error on %s", err, GradesFile)
		}
	})
	t.Run("RejectsTooManyListItems", func(t *testing.T) {
		_, err := readGrades(t, Limits{MaxListItems: 2}, gradesHead+"G1,S1,MATHS,C1;C2;C3,A1,2024-01-12T00:00:00Z,12,20,1,\n")
		wantRowError(t, err, GradesFile, 2, "competencies")
	})
}

// endless is an input that never ends and never has a newline.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestReadGradesAcceptsTheFormsAWriterMightUse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Grade
	}{
		{"ReadsQuotedFields", "\"grade_id\",\"student_id\",\"subject\",\"competencies\",\"assessment_id\",\"date\",\"score\",\"out_of\",\"coefficient\",\"status\"\n" +
			"\"G1\",\"S1\",\"MATHS\",\"C1;C2\",\"A1\",\"2024-01-12T00:00:00Z\",\"12.5\",\"20\",\"1\",\"\"\n",
			Grade{ID: "G1", StudentID: "S1", Subject: "MATHS", Competencies: []string{"C1", "C2"}, AssessmentID: "A1", Date: at0(t, "2024-01-12T00:00:00Z"), Score: 12.5, OutOf: 20, Coefficient: 1}},
		{"ReadsBOMAndCRLF", "\uFEFF" + strings.ReplaceAll(gradesHead, "\n", "\r\n") + "G1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,12.5,20,1,\r\n",
			Grade{ID: "G1", StudentID: "S1", Subject: "MATHS", Competencies: []string{"C1"}, AssessmentID: "A1", Date: at0(t, "2024-01-12T00:00:00Z"), Score: 12.5, OutOf: 20, Coefficient: 1}},
		{"ReadsColumnsInAnyOrder", "status,score,out_of,coefficient,date,assessment_id,competencies,subject,student_id,grade_id\n,7,10,2,2024-01-12T09:00:00+01:00,A1,,SVT,S1,G1\n",
			Grade{ID: "G1", StudentID: "S1", Subject: "SVT", AssessmentID: "A1", Date: at0(t, "2024-01-12T08:00:00Z"), Score: 7, OutOf: 10, Coefficient: 2}},
		{"ReadsPronoteStatusSpellings", gradesHead + "G1,S1,MATHS,C1,A1,2024-01-12,,20,1,Disp\n",
			Grade{ID: "G1", StudentID: "S1", Subject: "MATHS", Competencies: []string{"C1"}, AssessmentID: "A1", Date: at0(t, "2024-01-12T00:00:00Z"), OutOf: 20, Coefficient: 1, Status: StatusDispense}},
		{"SkipsBlankLines", gradesHead + "\n\nG1,S1,MATHS,C1,A1,2024-01-12T00:00:00Z,20,20,1,\n\n",
			Grade{ID: "G1", StudentID: "S1", Subject: "MATHS", Competencies: []string{"C1"}, AssessmentID: "A1", Date: at0(t, "2024-01-12T00:00:00Z"), Score: 20, OutOf: 20, Coefficient: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readGrades(t, Limits{}, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d grades, want 1", len(got))
			}
			if !equalGrade(got[0], tc.want) {
				t.Fatalf("got %+v, want %+v", got[0], tc.want)
			}
		})
	}
}

func equalGrade(a, b Grade) bool {
	return a.ID == b.ID && a.StudentID == b.StudentID && a.Subject == b.Subject &&
		strings.Join(a.Competencies, ";") == strings.Join(b.Competencies, ";") && a.AssessmentID == b.AssessmentID &&
		a.Date.Equal(b.Date) && a.Score == b.Score && a.OutOf == b.OutOf && a.Coefficient == b.Coefficient && a.Status == b.Status
}

func TestOtherReadersRejectBadInputNamingLineAndField(t *testing.T) {
	read := map[string]func(string) error{
		CompetenciesFile: func(s string) error {
			_, err := ReadCompetenciesAll(strings.NewReader(s), CompetenciesFile)
			return err
		},
		ResourcesFile: func(s string) error { _, err := ReadResourcesAll(strings.NewReader(s), ResourcesFile); return err },
		StudentsFile:  func(s string) error { _, err := readAll(strings.NewReader(s), StudentsFile, ReadStudents); return err },
		LessonsFile:   func(s string) error { _, err := readAll(strings.NewReader(s), LessonsFile, ReadLessons); return err },
		AbsencesFile:  func(s string) error { _, err := readAll(strings.NewReader(s), AbsencesFile, ReadAbsences); return err },
	}
	const (
		comp = "competency_id,subject,level,label,prerequisites\n"
		res  = "resource_id,title,subject,level,type,competencies,difficulty,duration_min\n"
		stu  = "student_id,school_id,class_id,level,consent\n"
		les  = "lesson_id,class_id,subject,competencies,start,end\n"
		abs  = "absence_id,student_id,start,end,justified\n"
	)
	tests := []struct {
		name, file, body string
		line             int
		field            string
	}{
		{"CompetencyRejectsUnknownLevel", CompetenciesFile, comp + "C1,MATHS,CM2,Compter,\n", 2, "level"},
		{"CompetencyRejectsEmptyLabel", CompetenciesFile, comp + "C1,MATHS,6e,  ,\n", 2, "label"},
		{"CompetencyRejectsItselfAsPrerequisite", CompetenciesFile, comp + "C1,MATHS,6e,Compter,C1\n", 2, "prerequisites"},
		{"CompetencyRejectsLabelOverFieldLimit", CompetenciesFile, comp + "C1,MATHS,6e," + strings.Repeat("é", 600) + ",\n", 2, "label"},
		{"ResourceRejectsDifficultyOutsideLogitRange", ResourcesFile, res + "R1,T,MATHS,6e,quiz,C1,12,10\n", 2, "difficulty"},
		{"ResourceRejectsInfiniteDifficulty", ResourcesFile, res + "R1,T,MATHS,6e,quiz,C1,+Inf,10\n", 2, "difficulty"},
		{"ResourceRejectsFractionalDuration", ResourcesFile, res + "R1,T,MATHS,6e,quiz,C1,0,7.5\n", 2, "duration_min"},
		{"ResourceRejectsDurationOver10000", ResourcesFile, res + "R1,T,MATHS,6e,quiz,C1,0,10001\n", 2, "duration_min"},
		{"ResourceRejectsEmptyCompetencies", ResourcesFile, res + "R1,T,MATHS,6e,quiz,,0,10\n", 2, "competencies"},
		{"ResourceRejectsTitleWithNewline", ResourcesFile, res + "R1,\"T\nT\",MATHS,6e,quiz,C1,0,10\n", 2, "title"},
		{"StudentRejectsConsentYes", StudentsFile, stu + "S1,E1,5eB,5e,oui\n", 2, "consent"},
		{"StudentRejectsEmptyClass", StudentsFile, stu + "S1,E1,,5e,true\n", 2, "class_id"},
		{"StudentRejectsDuplicate", StudentsFile, stu + "S1,E1,5eB,5e,true\nS2,E1,5eB,5e,true\nS1,E1,5eB,5e,true\n", 4, "student_id"},
		{"LessonRejectsEndBeforeStart", LessonsFile, les + "L1,5eB,MATHS,C1,2024-01-08T09:00:00Z,2024-01-08T08:00:00Z\n", 2, "end"},
		{"LessonRejectsEndEqualToStart", LessonsFile, les + "L1,5eB,MATHS,C1,2024-01-08T09:00:00Z,2024-01-08T09:00:00Z\n", 2, "end"},
		{"LessonRejectsTimestampWithoutZone", LessonsFile, les + "L1,5eB,MATHS,C1,2024-01-08T09:00:00,2024-01-08T10:00:00Z\n", 2, "start"},
		{"AbsenceRejectsJustifiedOther", AbsencesFile, abs + "A1,S1,2024-01-08T08:00:00Z,2024-01-08T10:00:00Z,maybe\n", 2, "justified"},
		{"AbsenceRejectsEndBeforeStart", AbsencesFile, abs + "A1,S1,2024-01-08T08:00:00Z,2024-01-07T10:00:00Z,true\n", 2, "end"},
		{"AbsenceRejectsYearOutOfRange", AbsencesFile, abs + "A1,S1,0001-01-08T08:00:00Z,2024-01-07T10:00:00Z,true\n", 2, "start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantRowError(t, read[tc.file](tc.body), tc.file, tc.line, tc.field)
		})
	}
}

func TestReaderStopsOnCallbackErrorNamingTheLine(t *testing.T) {
	boom := errors.New("store full")
	err := ReadStudents(strings.NewReader("student_id,school_id,class_id,level,consent\nS1,E1,5eB,5e,true\n"), StudentsFile,
		func(Student) error { return boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "students.csv:2") {
		t.Fatalf("got %v, want the callback's error at students.csv:2", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Fatal("a callback failure must not read as bad input")
	}
}

func TestIDSetFindsEveryRepeatAcrossGrowth(t *testing.T) {
	s := newIDSet()
	const n = 50_000
	for i := range n {
		if s.add("G" + strconv.Itoa(i)) {
			t.Fatalf("id %d reported as a duplicate on first sight", i)
		}
	}
	for i := range n {
		if !s.add("G" + strconv.Itoa(i)) {
			t.Fatalf("repeat of id %d not detected", i)
		}
	}
	if s.n != n {
		t.Fatalf("set holds %d ids, want %d", s.n, n)
	}
}

func TestHeaderErrorNamesTheHeaderLineAfterBlankLines(t *testing.T) {
	_, err := readGrades(t, Limits{}, "\n\n"+strings.Replace(gradesHead, "status", "statut", 1))
	wantRowError(t, err, GradesFile, 3, "status")
}
