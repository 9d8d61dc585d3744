package pgstore

import (
	"fmt"
	"math"
	"slices"

	"github.com/parcours-ent/parcours/datasets"
)

// Value checks mirror the data-folder readers' bounds (datasets/read_files.go), so that a
// batch that arrives as JSON, not through the readers, meets the same rules. They run in
// Go before anything is copied: they need no stored data.

func checkLevel(l string) string {
	if datasets.LevelIndex(l) < 0 {
		return fmt.Sprintf("level %q is not one of %v", l, datasets.Levels)
	}
	return ""
}

func inRange(x, lo, hi float64) bool { return !math.IsNaN(x) && x >= lo && x <= hi }

func checkCompetency(c *datasets.Competency) (string, string) {
	if m := checkLevel(c.Level); m != "" {
		return "level", m
	}
	if slices.Contains(c.Prerequisites, c.ID) {
		return "prerequisites", fmt.Sprintf("competency %q is its own prerequisite", c.ID)
	}
	return "", ""
}

func checkResource(r *datasets.Resource) (string, string) {
	switch {
	case checkLevel(r.Level) != "":
		return "level", checkLevel(r.Level)
	case len(r.Competencies) == 0:
		return "competencies", "a resource serves at least one competency"
	case !inRange(r.Difficulty, datasets.MinDifficulty, datasets.MaxDifficulty):
		return "difficulty", fmt.Sprintf("%v is outside [%v, %v]", r.Difficulty, datasets.MinDifficulty, datasets.MaxDifficulty)
	case r.DurationMin < 0 || r.DurationMin > datasets.MaxDurationMin:
		return "duration_min", fmt.Sprintf("%d is outside [0, %d]", r.DurationMin, datasets.MaxDurationMin)
	}
	return "", ""
}

func checkStudent(s *datasets.Student) (string, string) {
	switch {
	case s.SchoolID == "":
		return "school_id", "empty"
	case s.ClassID == "":
		return "class_id", "empty"
	}
	if m := checkLevel(s.Level); m != "" {
		return "level", m
	}
	return "", ""
}

func checkLesson(l *datasets.Lesson) (string, string) {
	switch {
	case l.ClassID == "":
		return "class_id", "empty"
	case !l.End.After(l.Start):
		return "end", "end is not after start"
	}
	return "", ""
}

func checkGrade(g *datasets.Grade) (string, string) {
	switch {
	case g.StudentID == "":
		return "student_id", "empty"
	case g.Date.IsZero():
		return "date", "missing"
	case !inRange(g.OutOf, 0, datasets.MaxOutOf) || g.OutOf == 0:
		return "out_of", fmt.Sprintf("%v is outside (0, %v]", g.OutOf, datasets.MaxOutOf)
	case !inRange(g.Coefficient, 0, datasets.MaxCoefficient) || g.Coefficient == 0:
		return "coefficient", fmt.Sprintf("%v is outside (0, %v]", g.Coefficient, datasets.MaxCoefficient)
	case g.Status != "" && !slices.Contains(datasets.GradeStatuses, g.Status):
		return "status", fmt.Sprintf("%q is not one of %v (or empty for a mark)", g.Status, datasets.GradeStatuses)
	case g.Status == "" && !inRange(g.Score, 0, g.OutOf):
		return "score", fmt.Sprintf("%v is outside [0, %v]", g.Score, g.OutOf)
	}
	return "", ""
}

func checkAbsence(a *datasets.Absence) (string, string) {
	switch {
	case a.StudentID == "":
		return "student_id", "empty"
	case !a.End.After(a.Start):
		return "end", "end is not after start"
	}
	return "", ""
}

func checkStatement(s *datasets.Statement) (string, string) {
	switch {
	case s.StudentID == "":
		return "actor.account.name", "empty"
	case s.Verb == "":
		return "verb.id", "empty"
	case s.ObjectID == "":
		return "object.id", "empty"
	case s.Timestamp.IsZero():
		return "timestamp", "missing"
	case s.Scaled != nil && !inRange(*s.Scaled, -1, 1):
		return "result.score.scaled", fmt.Sprintf("%v is outside [-1, 1]", *s.Scaled)
	case s.Duration != nil && *s.Duration < 0:
		return "result.duration", "negative"
	}
	return "", ""
}
