package storetest

import (
	"fmt"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// Base is the first instant of the fixture's school year; every fixture time is an
// offset from it, so that tests can reason about dates without a clock.
var Base = time.Date(2025, time.September, 1, 8, 0, 0, 0, time.UTC)

// Fixture ids that tests refer to by name.
const (
	SchoolA = "SCH-A"
	SchoolB = "SCH-B"
	Class6A = "C6A" // SchoolA, 6e: S1, S2, S3
	Class5B = "C5B" // SchoolB, 5e: S4, S5, S6

	// S1's statement StmtVoided is withdrawn by StmtVoiding.
	StmtVoided  = "6f1c0b2e-0000-4000-8000-000000000003"
	StmtVoiding = "6f1c0b2e-0000-4000-8000-000000000099"
)

// day returns Base plus d days and h hours.
func day(d, h int) time.Time {
	return Base.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour)
}

func fptr(f float64) *float64             { return &f }
func bptr(b bool) *bool                   { return &b }
func dptr(d time.Duration) *time.Duration { return &d }

// StatementID returns the fixture's statement id number n (1-based).
func StatementID(n int) string { return fmt.Sprintf("6f1c0b2e-0000-4000-8000-%012d", n) }

// Fixture returns a tiny académie, fresh on every call (callers may modify it): two
// subjects, six competencies with prerequisites, twenty resources, two classes in two
// schools, six pupils (S6 without consent), a timetable, grades (one with a Pronote
// status), absences, and xAPI statements of which one is voided.
func Fixture() *datasets.Dataset {
	comps := []datasets.Competency{
		{ID: "M6-NUM", Subject: "MATHS", Level: "6e", Label: "Nombres entiers et décimaux"},
		{ID: "M6-FRAC", Subject: "MATHS", Level: "6e", Label: "Fractions", Prerequisites: []string{"M6-NUM"}},
		{ID: "M5-EQ", Subject: "MATHS", Level: "5e", Label: "Premières équations", Prerequisites: []string{"M6-FRAC", "M6-NUM"}},
		{ID: "F6-LEC", Subject: "FRANCAIS", Level: "6e", Label: "Lecture et compréhension"},
		{ID: "F6-GRAM", Subject: "FRANCAIS", Level: "6e", Label: "Grammaire de la phrase", Prerequisites: []string{"F6-LEC"}},
		{ID: "F5-REDAC", Subject: "FRANCAIS", Level: "5e", Label: "Rédaction", Prerequisites: []string{"F6-GRAM", "F6-LEC"}},
	}
	types := []string{datasets.ResourceVideo, datasets.ResourceExercise, datasets.ResourceQuiz, datasets.ResourceSheet}
	mathsComps := [][]string{{"M6-NUM"}, {"M6-FRAC"}, {"M6-NUM", "M6-FRAC"}, {"M5-EQ"}, {"M5-EQ", "M6-FRAC"}}
	frComps := [][]string{{"F6-LEC"}, {"F6-GRAM"}, {"F6-LEC", "F6-GRAM"}, {"F5-REDAC"}, {"F5-REDAC", "F6-GRAM"}}
	var res []datasets.Resource
	for i := 0; i < 20; i++ {
		subject, cs, prefix := "MATHS", mathsComps[i%5], "Maths"
		if i >= 10 {
			subject, cs, prefix = "FRANCAIS", frComps[i%5], "Français"
		}
		level := "6e"
		if i%5 >= 3 {
			level = "5e"
		}
		res = append(res, datasets.Resource{
			ID:           fmt.Sprintf("R%02d", i+1),
			Title:        fmt.Sprintf("%s, ressource %d", prefix, i+1),
			Subject:      subject,
			Level:        level,
			Type:         types[i%4],
			Competencies: append([]string(nil), cs...),
			Difficulty:   float64(i%7-3) / 2,
			DurationMin:  5 + 5*(i%4),
		})
	}
	students := []datasets.Student{
		{ID: "S1", SchoolID: SchoolA, ClassID: Class6A, Level: "6e", Consent: true},
		{ID: "S2", SchoolID: SchoolA, ClassID: Class6A, Level: "6e", Consent: true},
		{ID: "S3", SchoolID: SchoolA, ClassID: Class6A, Level: "6e", Consent: true},
		{ID: "S4", SchoolID: SchoolB, ClassID: Class5B, Level: "5e", Consent: true},
		{ID: "S5", SchoolID: SchoolB, ClassID: Class5B, Level: "5e", Consent: true},
		{ID: "S6", SchoolID: SchoolB, ClassID: Class5B, Level: "5e", Consent: false},
	}
	lessons := []datasets.Lesson{
		{ID: "L1", ClassID: Class6A, Subject: "MATHS", Competencies: []string{"M6-NUM"}, Start: day(1, 0), End: day(1, 1)},
		{ID: "L2", ClassID: Class6A, Subject: "FRANCAIS", Competencies: []string{"F6-LEC"}, Start: day(2, 0), End: day(2, 1)},
		{ID: "L3", ClassID: Class6A, Subject: "MATHS", Competencies: []string{"M6-FRAC"}, Start: day(8, 0), End: day(8, 1)},
		{ID: "L4", ClassID: Class5B, Subject: "MATHS", Competencies: []string{"M5-EQ"}, Start: day(1, 2), End: day(1, 3)},
		{ID: "L5", ClassID: Class5B, Subject: "FRANCAIS", Competencies: []string{"F5-REDAC", "F6-GRAM"}, Start: day(3, 0), End: day(3, 2)},
		{ID: "L6", ClassID: Class5B, Subject: "MATHS", Competencies: []string{"M5-EQ", "M6-FRAC"}, Start: day(9, 0), End: day(9, 1)},
	}
	grade := func(id, sid, subject, comp, assess string, d int, score, coef float64, status string) datasets.Grade {
		g := datasets.Grade{ID: id, StudentID: sid, Subject: subject, Competencies: []string{comp},
			AssessmentID: assess, Date: day(d, 0), OutOf: 20, Coefficient: coef, Status: status}
		if status == "" {
			g.Score = score
		}
		return g
	}
	grades := []datasets.Grade{
		grade("G01", "S1", "MATHS", "M6-NUM", "EV-M1", 10, 14, 1, ""),
		grade("G02", "S2", "MATHS", "M6-NUM", "EV-M1", 10, 8.5, 1, ""),
		grade("G03", "S3", "MATHS", "M6-NUM", "EV-M1", 10, 0, 1, datasets.StatusAbsent),
		grade("G04", "S1", "FRANCAIS", "F6-LEC", "EV-F1", 12, 16, 2, ""),
		grade("G05", "S2", "FRANCAIS", "F6-LEC", "EV-F1", 12, 11, 2, ""),
		grade("G06", "S1", "MATHS", "M6-FRAC", "EV-M2", 20, 9, 1, ""),
		grade("G07", "S4", "MATHS", "M5-EQ", "EV-M3", 11, 12, 1, ""),
		grade("G08", "S5", "MATHS", "M5-EQ", "EV-M3", 11, 5, 1, ""),
		grade("G09", "S6", "MATHS", "M5-EQ", "EV-M3", 11, 17.5, 1, ""),
		grade("G10", "S4", "FRANCAIS", "F5-REDAC", "EV-F2", 15, 13, 1, ""),
	}
	absences := []datasets.Absence{
		{ID: "A1", StudentID: "S3", Start: day(1, -1), End: day(1, 4), Justified: true},
		{ID: "A2", StudentID: "S2", Start: day(8, 0), End: day(8, 2), Justified: false},
		{ID: "A3", StudentID: "S5", Start: day(9, -1), End: day(9, 9), Justified: false},
	}
	st := func(n int, sid, verb, obj string, d, h int) datasets.Statement {
		return datasets.Statement{ID: StatementID(n), StudentID: sid, Verb: verb, ObjectID: obj, Timestamp: day(d, h)}
	}
	s1 := st(1, "S1", datasets.VerbExperienced, "R01", 3, 10)
	s2 := st(2, "S1", datasets.VerbAnswered, "R02", 4, 10)
	s2.Scaled, s2.Success, s2.Duration = fptr(0.75), bptr(true), dptr(4*time.Minute)
	s3 := st(3, "S1", datasets.VerbAttempted, "R03", 5, 10) // voided below
	s4 := st(4, "S2", datasets.VerbCompleted, "R11", 5, 11)
	s4.Completion, s4.Duration = bptr(true), dptr(12*time.Minute+30*time.Second)
	s5 := st(5, "S4", datasets.VerbFailed, "R04", 6, 9)
	s5.Scaled, s5.Success = fptr(0.2), bptr(false)
	s6 := st(6, "S4", datasets.VerbPassed, "R04", 7, 9)
	s6.Scaled, s6.Success = fptr(0.9), bptr(true)
	s7 := st(7, "S5", datasets.VerbViewed, "R14", 7, 15)
	s8 := st(8, "S2", "https://w3id.org/xapi/video/verbs/paused", "R01", 6, 16) // any verb is kept
	voiding := datasets.Statement{ID: StmtVoiding, StudentID: "S1", Verb: datasets.VerbVoided, ObjectID: StmtVoided, Timestamp: day(5, 12)}
	statements := []datasets.Statement{s1, s2, s3, s4, s5, s6, s7, s8, voiding}

	return &datasets.Dataset{
		Competencies: comps,
		Resources:    res,
		Students:     students,
		Lessons:      lessons,
		Grades:       grades,
		Absences:     absences,
		Statements:   statements,
	}
}
