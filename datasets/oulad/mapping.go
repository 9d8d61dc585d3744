package oulad

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parcours-ent/parcours/datasets"
)

// The fixed choices of the mapping; docs/oulad.md explains each.
const (
	// Level is the contract level every OULAD pupil, competency and resource gets.
	// OULAD is first-degree university work; Terminale is the closest French level and
	// the only one whose pupils are about to do such work.
	Level = "Tle"
	// SchoolID is the one school OULAD pupils belong to: the Open University.
	SchoolID = "OU"
	// PassMark is OULAD's pass mark out of 100: an answer is correct at or above it.
	PassMark = 40.0
	// OutOf is OULAD's score scale.
	OutOf = 100.0
	// ZeroWeightCoefficient stands in for an OULAD weight of 0 (formative assessments),
	// since a Parcours coefficient must be above 0. It is half the smallest real OULAD
	// weight (1), so formative work counts, but less than any summative assessment.
	ZeroWeightCoefficient = 0.5
)

// presentationStart returns the first day of an OULAD presentation such as 2013B
// (February) or 2013J (October). OULAD gives only the month; the 1st is assumed.
func presentationStart(code string) (time.Time, error) {
	if len(code) != 5 {
		return time.Time{}, fmt.Errorf("presentation %q is not a year and B or J (e.g. 2013J)", code)
	}
	y, err := strconv.Atoi(code[:4])
	if err != nil || y < 1970 || y > 2200 {
		return time.Time{}, fmt.Errorf("presentation %q does not start with a year", code)
	}
	switch code[4] {
	case 'B':
		return time.Date(y, time.February, 1, 0, 0, 0, 0, time.UTC), nil
	case 'J':
		return time.Date(y, time.October, 1, 0, 0, 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("presentation %q ends in %q, not B (February) or J (October)", code, code[4:])
}

// dayOf is the date of day d of presentation code (d may be negative: before the start).
func dayOf(code string, d int) time.Time {
	t, err := presentationStart(code)
	if err != nil {
		panic("oulad: unchecked presentation " + code) // checked when courses.csv is read
	}
	return t.AddDate(0, 0, d)
}

// Subject is the Parcours subject of an OULAD module: its code (AAA ... GGG).
func Subject(module string) string { return module }

// ClassID is the Parcours class of a presentation, e.g. AAA-2013J.
func ClassID(module, pres string) string { return module + "-" + pres }

// CompetencyID is the competency an assessment type of a module assesses, e.g.
// AAA-TMA, BBB-CMA, DDD-EXAM.
func CompetencyID(module, assessmentType string) string {
	return module + "-" + strings.ToUpper(assessmentType)
}

// ItemID is the interaction-log item of an assessment, e.g. AAA-TMA-1752.
func ItemID(a assessment) string { return CompetencyID(a.Module, a.Type) + "-" + a.ID }

// ResourceID is the Parcours resource of a VLE site.
func ResourceID(siteID string) string { return "vle-" + siteID }

var typeLabels = map[string]string{
	"TMA":  "tutor-marked assignments",
	"CMA":  "computer-marked assessments",
	"EXAM": "final exam",
}

func competencyLabel(module, assessmentType string) string {
	t := strings.ToUpper(assessmentType)
	if l, ok := typeLabels[t]; ok {
		return fmt.Sprintf("%s: %s (%s)", module, l, assessmentType)
	}
	return fmt.Sprintf("%s: %s assessments", module, assessmentType)
}

// coefficient is the grade coefficient of an OULAD weight.
func coefficient(weight float64) float64 {
	if weight <= 0 {
		return ZeroWeightCoefficient
	}
	return weight
}

// siteKind is what a VLE activity type becomes. skip marks types that are not learning
// resources (the module home page).
type siteKind struct {
	Type        string // a contract resource type
	Practice    bool   // serves the module's computer-marked competency rather than its content ones
	DurationMin int
	Skip        bool
}

// activityTypes maps every OULAD activity_type to a resource type. Unknown types are
// imported as sheets (otherKind) and counted in the Summary.
var activityTypes = map[string]siteKind{
	"quiz":           {Type: datasets.ResourceQuiz, Practice: true, DurationMin: 20},
	"externalquiz":   {Type: datasets.ResourceQuiz, Practice: true, DurationMin: 20},
	"questionnaire":  {Type: datasets.ResourceQuiz, Practice: true, DurationMin: 15},
	"ouelluminate":   {Type: datasets.ResourceVideo, DurationMin: 60},
	"oucollaborate":  {Type: datasets.ResourceVideo, DurationMin: 60},
	"forumng":        {Type: datasets.ResourceExercise, DurationMin: 20},
	"ouwiki":         {Type: datasets.ResourceExercise, DurationMin: 30},
	"dataplus":       {Type: datasets.ResourceExercise, DurationMin: 30},
	"htmlactivity":   {Type: datasets.ResourceExercise, DurationMin: 20},
	"repeatactivity": {Type: datasets.ResourceExercise, DurationMin: 20},
	"oucontent":      {Type: datasets.ResourceSheet, DurationMin: 45},
	"resource":       {Type: datasets.ResourceSheet, DurationMin: 15},
	"subpage":        {Type: datasets.ResourceSheet, DurationMin: 10},
	"sharedsubpage":  {Type: datasets.ResourceSheet, DurationMin: 10},
	"page":           {Type: datasets.ResourceSheet, DurationMin: 10},
	"dualpane":       {Type: datasets.ResourceSheet, DurationMin: 15},
	"glossary":       {Type: datasets.ResourceSheet, DurationMin: 10},
	"folder":         {Type: datasets.ResourceSheet, DurationMin: 10},
	"url":            {Type: datasets.ResourceSheet, DurationMin: 10},
	"homepage":       {Skip: true},
}

var otherKind = siteKind{Type: datasets.ResourceSheet, DurationMin: 15}

func kindOf(activityType string) (siteKind, bool) {
	k, ok := activityTypes[strings.ToLower(activityType)]
	if !ok {
		return otherKind, false
	}
	return k, true
}

// siteTitle is a readable title: OULAD has no titles, only a type and planned weeks.
func siteTitle(v site) string {
	t := fmt.Sprintf("%s %s: %s %s", v.Module, v.Pres, v.Type, v.ID)
	if v.HasWeeks {
		if v.WeekFrom == v.WeekTo {
			t += fmt.Sprintf(" (week %d)", v.WeekFrom)
		} else {
			t += fmt.Sprintf(" (weeks %d-%d)", v.WeekFrom, v.WeekTo)
		}
	}
	return t
}

// difficulty is the logit-scale difficulty of a competency whose n scored grades sum
// to `got` in fractions of the maximum: minus the logit of the mean fraction, so that a
// pupil of average ability is expected to score that mean. A prior of one half-mark
// grade on each side keeps an unassessed competency at 0 and the logit finite.
// Rounded to 3 decimals for stable bytes.
func difficulty(got float64, n int) float64 {
	p := (got + 1) / (float64(n) + 2)
	return math.Round(math.Log((1-p)/p)*1000) / 1000
}
