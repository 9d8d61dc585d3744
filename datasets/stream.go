package datasets

import (
	"fmt"
	"io"
	"time"
)

// FolderFiles lists the data-folder files in reference order: every file refers only to
// files before it, so a loader that takes them in this order finds each reference stored.
var FolderFiles = []string{
	CompetenciesFile, ResourcesFile, StudentsFile, LessonsFile, GradesFile, AbsencesFile, UsageFile,
}

// RequiredFile reports whether a data folder must hold the file.
func RequiredFile(name string) bool {
	return name == CompetenciesFile || name == ResourcesFile || name == StudentsFile
}

// StreamFile reads one data-folder file, chosen by name (a FolderFiles entry), in chunks
// of at most n rows, each fully validated on its own (not its references to other
// files). Each chunk is a Dataset holding only that file's kind, with lines[i] the line
// of row i. The chunk and lines are reused after fn returns: fn must not keep them. So
// memory holds one chunk, whatever the size of the file. stored is when the file was
// written: a statement of usage.jsonl without timestamp takes it (see
// ReadStatementsStored).
func (l Limits) StreamFile(r io.Reader, name string, stored time.Time, n int, fn func(chunk *Dataset, lines []int) error) error {
	if n < 1 {
		panic("datasets.StreamFile: chunk size < 1")
	}
	c := &chunker{n: n, fn: fn}
	var err error
	switch name {
	case CompetenciesFile:
		err = readCSV(r, name, CompetenciesHeader, l, parseCompetency, add(c, &c.d.Competencies))
	case ResourcesFile:
		err = readCSV(r, name, ResourcesHeader, l, parseResource, add(c, &c.d.Resources))
	case StudentsFile:
		err = readCSV(r, name, StudentsHeader, l, parseStudent, add(c, &c.d.Students))
	case LessonsFile:
		err = readCSV(r, name, LessonsHeader, l, parseLesson, add(c, &c.d.Lessons))
	case GradesFile:
		err = readCSV(r, name, GradesHeader, l, parseGrade, add(c, &c.d.Grades))
	case AbsencesFile:
		err = readCSV(r, name, AbsencesHeader, l, parseAbsence, add(c, &c.d.Absences))
	case UsageFile:
		err = l.readStatements(r, name, stored, add(c, &c.d.Statements))
	default:
		return &Error{File: name, Msg: "not a data-folder file"}
	}
	if err != nil {
		return err
	}
	return c.flush()
}

type chunker struct {
	n     int
	d     Dataset
	lines []int
	fn    func(*Dataset, []int) error
	clear func() // empties the one slice of d in use, keeping its memory
}

// add returns the reader callback that appends to the chunk's slice *s and hands the
// chunk on when it is full.
func add[T any](c *chunker, s *[]T) func(T, int) error {
	c.clear = func() { clear(*s); *s = (*s)[:0] }
	return func(v T, line int) error {
		*s = append(*s, v)
		c.lines = append(c.lines, line)
		if len(c.lines) < c.n {
			return nil
		}
		return c.flush()
	}
}

func (c *chunker) flush() error {
	if len(c.lines) == 0 {
		return nil
	}
	err := c.fn(&c.d, c.lines)
	c.clear()
	c.lines = c.lines[:0]
	if err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
		return fmt.Errorf("datasets.StreamFile: %w", err)
	}
	return nil
}
