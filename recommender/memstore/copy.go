package memstore

import (
	"slices"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Copies: nothing a caller holds may alias the store's state, in either direction.

func copyCompetency(c datasets.Competency) datasets.Competency {
	c.Prerequisites = slices.Clone(c.Prerequisites)
	return c
}

func copyResource(r datasets.Resource) datasets.Resource {
	r.Competencies = slices.Clone(r.Competencies)
	r.AltIDs = slices.Clone(r.AltIDs)
	return r
}

func copyLesson(l datasets.Lesson) datasets.Lesson {
	l.Competencies = slices.Clone(l.Competencies)
	return l
}

// copyLessons deep-copies a timetable with one allocation for all competency lists.
func copyLessons(ls []datasets.Lesson) []datasets.Lesson {
	out := slices.Clone(ls)
	if out == nil {
		return []datasets.Lesson{}
	}
	detachLists(len(out), func(i int) *[]string { return &out[i].Competencies })
	return out
}

// detachLists gives n shallow-copied rows their own copies of a string list, all in one
// allocation (a reader's PupilEvents holds hundreds of rows).
func detachLists(n int, list func(i int) *[]string) {
	total := 0
	for i := range n {
		total += len(*list(i))
	}
	buf := make([]string, 0, total)
	for i := range n {
		l := list(i)
		if *l == nil {
			continue
		}
		start := len(buf)
		buf = append(buf, *l...)
		*l = buf[start:len(buf):len(buf)]
	}
}

// detachStatements gives shallow-copied statements their own result values, one
// allocation per kind of value.
func detachStatements(xs []datasets.Statement) {
	var nf, nb, nd int
	for _, x := range xs {
		nf += boolInt(x.Scaled != nil)
		nb += boolInt(x.Success != nil) + boolInt(x.Completion != nil)
		nd += boolInt(x.Duration != nil)
	}
	fs, bs, ds := make([]float64, 0, nf), make([]bool, 0, nb), make([]time.Duration, 0, nd)
	for i := range xs {
		x := &xs[i]
		if x.Scaled != nil {
			fs = append(fs, *x.Scaled)
			x.Scaled = &fs[len(fs)-1]
		}
		if x.Success != nil {
			bs = append(bs, *x.Success)
			x.Success = &bs[len(bs)-1]
		}
		if x.Completion != nil {
			bs = append(bs, *x.Completion)
			x.Completion = &bs[len(bs)-1]
		}
		if x.Duration != nil {
			ds = append(ds, *x.Duration)
			x.Duration = &ds[len(ds)-1]
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func copyGrade(g datasets.Grade) datasets.Grade {
	g.Competencies = slices.Clone(g.Competencies)
	return g
}

func copyStatement(x datasets.Statement) datasets.Statement {
	x.Scaled = clonePtr(x.Scaled)
	x.Success = clonePtr(x.Success)
	x.Completion = clonePtr(x.Completion)
	x.Duration = clonePtr(x.Duration)
	return x
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// copyProfile: see recommender.CloneProfile.
var copyProfile = recommender.CloneProfile

// Equality on content, times compared as instants: a row re-sent with its timestamps in
// another zone is the same row.

func sameCompetency(a, b datasets.Competency) bool {
	return a.ID == b.ID && a.Subject == b.Subject && a.Level == b.Level && a.Label == b.Label &&
		slices.Equal(a.Prerequisites, b.Prerequisites)
}

func sameResource(a, b datasets.Resource) bool {
	return a.ID == b.ID && a.Title == b.Title && a.Subject == b.Subject && a.Level == b.Level &&
		a.Type == b.Type && slices.Equal(a.Competencies, b.Competencies) &&
		a.Difficulty == b.Difficulty && a.DurationMin == b.DurationMin &&
		a.URL == b.URL && slices.Equal(a.AltIDs, b.AltIDs)
}

func sameLesson(a, b datasets.Lesson) bool {
	return a.ID == b.ID && a.ClassID == b.ClassID && a.Subject == b.Subject &&
		slices.Equal(a.Competencies, b.Competencies) && a.Start.Equal(b.Start) && a.End.Equal(b.End)
}

func sameGrade(a, b datasets.Grade) bool {
	return a.ID == b.ID && a.StudentID == b.StudentID && a.Subject == b.Subject &&
		slices.Equal(a.Competencies, b.Competencies) && a.AssessmentID == b.AssessmentID &&
		a.Date.Equal(b.Date) && a.Score == b.Score && a.OutOf == b.OutOf &&
		a.Coefficient == b.Coefficient && a.Status == b.Status
}

func sameAbsence(a, b datasets.Absence) bool {
	return a.ID == b.ID && a.StudentID == b.StudentID && a.Start.Equal(b.Start) &&
		a.End.Equal(b.End) && a.Justified == b.Justified
}

func sameStatement(a, b datasets.Statement) bool {
	return a.ID == b.ID && a.StudentID == b.StudentID && a.Verb == b.Verb &&
		a.ObjectID == b.ObjectID && a.Timestamp.Equal(b.Timestamp) &&
		samePtr(a.Scaled, b.Scaled) && samePtr(a.Success, b.Success) &&
		samePtr(a.Completion, b.Completion) && samePtr(a.Duration, b.Duration)
}

func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
