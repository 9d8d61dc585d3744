package datasets

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LoadOptions tunes LoadFolder.
type LoadOptions struct {
	Limits Limits
}

// LoadFolder reads a whole data folder and checks it: every file on its own, then every
// reference between files (a grade's student and competencies, a resource's
// competencies, prerequisites and their cycles, a lesson's class and competencies, an
// absence's student, a statement's pupil, resource and voided statement).
// competencies.csv, resources.csv and students.csv are required; the others may be
// absent. Bad input is a *Error (an ErrInvalid) naming file, line and field.
// A truth/ subfolder is never read: it holds what evaluation must not see.
func LoadFolder(dir string, opts LoadOptions) (*Dataset, error) {
	l := &loader{dir: dir, lim: opts.Limits, d: &Dataset{}}
	steps := []func() error{l.competencies, l.resources, l.students, l.lessons, l.grades, l.absences, l.statements, l.classLabels}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return l.d, nil
}

type loader struct {
	dir     string
	lim     Limits
	d       *Dataset
	comps   map[string]int // id -> line
	res     map[string]struct{}
	pupils  map[string]struct{}
	classes map[string]string // class id -> the school of its first pupil
}

// open opens a folder file; a missing optional file reads as nil, nil.
func (l *loader) open(name string, required bool) (*os.File, error) {
	f, err := os.Open(filepath.Join(l.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			return nil, &Error{File: name, Msg: "missing: a data folder needs " +
				strings.Join([]string{CompetenciesFile, ResourcesFile, StudentsFile}, ", ")}
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("datasets.LoadFolder: %w", err)
	}
	return f, nil
}

// each reads one file of the folder, closing it whatever happens.
func each(l *loader, name string, required bool, read func(io.Reader) error) error {
	f, err := l.open(name, required)
	if err != nil || f == nil {
		return err
	}
	defer f.Close()
	return read(f)
}

func unknown(name string, line int, field, what, id string) error {
	return &Error{File: name, Line: line, Field: field, Msg: fmt.Sprintf("unknown %s %q", what, id)}
}

func (l *loader) checkComps(name string, line int, field string, ids []string) error {
	for _, k := range ids {
		if _, ok := l.comps[k]; !ok {
			return unknown(name, line, field, "competency", k)
		}
	}
	return nil
}

func (l *loader) competencies() error {
	l.comps = make(map[string]int)
	err := each(l, CompetenciesFile, true, func(r io.Reader) error {
		return readCSV(r, CompetenciesFile, CompetenciesHeader, l.lim, parseCompetency, func(c Competency, line int) error {
			l.d.Competencies = append(l.d.Competencies, c)
			l.comps[c.ID] = line
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, c := range l.d.Competencies {
		if err := l.checkComps(CompetenciesFile, l.comps[c.ID], "prerequisites", c.Prerequisites); err != nil {
			var re *Error
			if errors.As(err, &re) {
				re.Msg = "unknown prerequisite" + strings.TrimPrefix(re.Msg, "unknown competency")
			}
			return err
		}
	}
	return CheckAcyclic(CompetenciesFile, l.d.Competencies, func(i int) int { return l.comps[l.d.Competencies[i].ID] }, nil)
}

func (l *loader) resources() error {
	l.res = make(map[string]struct{})
	return each(l, ResourcesFile, true, func(r io.Reader) error {
		return readCSV(r, ResourcesFile, ResourcesHeader, l.lim, parseResource, func(x Resource, line int) error {
			if err := l.checkComps(ResourcesFile, line, "competencies", x.Competencies); err != nil {
				return err
			}
			l.d.Resources = append(l.d.Resources, x)
			l.res[x.ID] = struct{}{}
			return nil
		})
	})
}

func (l *loader) students() error {
	l.pupils = make(map[string]struct{})
	l.classes = make(map[string]string)
	return each(l, StudentsFile, true, func(r io.Reader) error {
		return readCSV(r, StudentsFile, StudentsHeader, l.lim, parseStudent, func(s Student, line int) error {
			l.d.Students = append(l.d.Students, s)
			l.pupils[s.ID] = struct{}{}
			if _, ok := l.classes[s.ClassID]; !ok {
				l.classes[s.ClassID] = s.SchoolID
			}
			return nil
		})
	})
}

func (l *loader) checkPupil(name string, line int, id string) error {
	if _, ok := l.pupils[id]; !ok {
		return unknown(name, line, "student_id", "student", id)
	}
	return nil
}

func (l *loader) lessons() error {
	return each(l, LessonsFile, false, func(r io.Reader) error {
		return readCSV(r, LessonsFile, LessonsHeader, l.lim, parseLesson, func(x Lesson, line int) error {
			if _, ok := l.classes[x.ClassID]; !ok {
				return &Error{File: LessonsFile, Line: line, Field: "class_id",
					Msg: fmt.Sprintf("class %q has no student in %s", x.ClassID, StudentsFile)}
			}
			if err := l.checkComps(LessonsFile, line, "competencies", x.Competencies); err != nil {
				return err
			}
			l.d.Lessons = append(l.d.Lessons, x)
			return nil
		})
	})
}

func (l *loader) grades() error {
	return each(l, GradesFile, false, func(r io.Reader) error {
		return readCSV(r, GradesFile, GradesHeader, l.lim, parseGrade, func(x Grade, line int) error {
			if err := l.checkPupil(GradesFile, line, x.StudentID); err != nil {
				return err
			}
			if err := l.checkComps(GradesFile, line, "competencies", x.Competencies); err != nil {
				return err
			}
			l.d.Grades = append(l.d.Grades, x)
			return nil
		})
	})
}

func (l *loader) absences() error {
	return each(l, AbsencesFile, false, func(r io.Reader) error {
		return readCSV(r, AbsencesFile, AbsencesHeader, l.lim, parseAbsence, func(x Absence, line int) error {
			if err := l.checkPupil(AbsencesFile, line, x.StudentID); err != nil {
				return err
			}
			l.d.Absences = append(l.d.Absences, x)
			return nil
		})
	})
}

func (l *loader) statements() error {
	isVoiding := make(map[string]int) // statement id -> line, for voiding statements
	type voiding struct {
		line   int
		target string
	}
	var voids []voiding
	var stored time.Time // when the file was written: the timestamp of statements without one
	if fi, err := os.Stat(filepath.Join(l.dir, UsageFile)); err == nil {
		stored = fi.ModTime()
	}
	// Statements about pupils or activities the folder does not hold are valid xAPI:
	// they are kept unmapped, not refused.
	dir := NewDirectory()
	dir.AddStudents(l.d.Students...)
	dir.AddResources(l.d.Resources...)
	err := each(l, UsageFile, false, func(r io.Reader) error {
		return l.lim.readStatements(r, UsageFile, stored, func(st Statement, line int) error {
			if st.Verb == VerbVoided {
				voids = append(voids, voiding{line, st.ObjectID})
				isVoiding[st.ID] = line
			} else if st.Ref != nil {
				// Mapped as it is read, as MapStatements would map it: the xAPI reference
				// (actor key, activity ids) is dropped at once and the ids are the
				// directory's own strings, so a large usage file is not held twice.
				pupil, okP := dir.Pupil(st.Ref)
				res, okR := dir.Resource(st.Ref)
				if okP && okR {
					st.StudentID, st.ObjectID, st.Ref = pupil, res, nil
				}
			}
			l.d.Statements = append(l.d.Statements, st)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, v := range voids {
		if _, ok := isVoiding[v.target]; ok {
			return &Error{File: UsageFile, Line: v.line, Field: "object.id", Msg: fmt.Sprintf("voids statement %q, itself a voiding statement (xAPI forbids it)", v.target)}
		}
	}
	MapStatements(l.d, dir) // the voiding statements and those it cannot attach
	return nil
}

func (l *loader) classLabels() error {
	return each(l, ClassesFile, false, func(r io.Reader) error {
		seen := make(map[string]int)
		return readCSV(r, ClassesFile, ClassesHeader, l.lim, parseClass, func(c Class, line int) error {
			if first, ok := seen[c.ID]; ok {
				return &Error{File: ClassesFile, Line: line, Field: "class_id",
					Msg: fmt.Sprintf("class %q is already labelled on line %d", c.ID, first)}
			}
			seen[c.ID] = line
			// A class without pupils may be labelled (the ENT lists every class); one with
			// pupils must be of their school.
			if school, ok := l.classes[c.ID]; ok && school != c.SchoolID {
				return &Error{File: ClassesFile, Line: line, Field: "school_id",
					Msg: fmt.Sprintf("class %q belongs to school %q in %s", c.ID, school, StudentsFile)}
			}
			l.d.Classes = append(l.d.Classes, c)
			return nil
		})
	})
}

// ValidateFile checks one data-folder file on its own (not its references to other
// files), chosen by its base name, and returns how many rows or statements it holds.
func ValidateFile(path string, lim Limits) (int, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("datasets.ValidateFile: %w", err)
	}
	defer f.Close()
	n := 0
	count := func(int) error { n++; return nil }
	switch name {
	case CompetenciesFile:
		err = readCSV(f, name, CompetenciesHeader, lim, parseCompetency, func(_ Competency, l int) error { return count(l) })
	case ResourcesFile:
		err = readCSV(f, name, ResourcesHeader, lim, parseResource, func(_ Resource, l int) error { return count(l) })
	case StudentsFile:
		err = readCSV(f, name, StudentsHeader, lim, parseStudent, func(_ Student, l int) error { return count(l) })
	case LessonsFile:
		err = readCSV(f, name, LessonsHeader, lim, parseLesson, func(_ Lesson, l int) error { return count(l) })
	case GradesFile:
		err = readCSV(f, name, GradesHeader, lim, parseGrade, func(_ Grade, l int) error { return count(l) })
	case AbsencesFile:
		err = readCSV(f, name, AbsencesHeader, lim, parseAbsence, func(_ Absence, l int) error { return count(l) })
	case UsageFile:
		err = lim.readStatements(f, name, time.Now(), func(_ Statement, l int) error { return count(l) })
	case ClassesFile:
		err = readCSV(f, name, ClassesHeader, lim, parseClass, func(_ Class, l int) error { return count(l) })
	default:
		return 0, &Error{File: name, Msg: "not a data-folder file"}
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// WriteFolder writes the seven files of d into dir (and classes.csv when d has class
// labels), creating it if needed. Every file is first written in full to a temporary file
// beside it; only when all are written
// are they renamed into place, so a failure leaves no partial file behind.
func WriteFolder(dir string, d *Dataset) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("datasets.WriteFolder: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{CompetenciesFile, func(w io.Writer) error { return WriteCompetencies(w, d.Competencies) }},
		{ResourcesFile, func(w io.Writer) error { return WriteResources(w, d.Resources) }},
		{StudentsFile, func(w io.Writer) error { return WriteStudents(w, d.Students) }},
		{LessonsFile, func(w io.Writer) error { return WriteLessons(w, d.Lessons) }},
		{GradesFile, func(w io.Writer) error { return WriteGrades(w, d.Grades) }},
		{AbsencesFile, func(w io.Writer) error { return WriteAbsences(w, d.Absences) }},
		{UsageFile, func(w io.Writer) error { return WriteStatements(w, d.Statements) }},
	}
	if len(d.Classes) > 0 { // optional: written only when there are labels
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{ClassesFile, func(w io.Writer) error { return WriteClasses(w, d.Classes) }})
	}
	var temps []string
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for _, f := range files {
		tmp, err := writeTemp(dir, f.name, f.write)
		if err != nil {
			cleanup()
			return fmt.Errorf("datasets.WriteFolder: %w", err)
		}
		temps = append(temps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			cleanup()
			return fmt.Errorf("datasets.WriteFolder: %w", err)
		}
	}
	if df, err := os.Open(dir); err == nil {
		df.Sync() // best effort: make the renames durable
		df.Close()
	}
	return nil
}

func writeTemp(dir, name string, write func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil {
		err = f.Chmod(0o640)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
