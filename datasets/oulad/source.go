package oulad

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/parcours-ent/parcours/datasets"
)

// OULAD file names.
const (
	CoursesFile      = "courses.csv"
	AssessmentsFile  = "assessments.csv"
	StudentInfoFile  = "studentInfo.csv"
	RegistrationFile = "studentRegistration.csv"
	SubmissionsFile  = "studentAssessment.csv"
	VLEFile          = "vle.csv"
	ClicksFile       = "studentVle.csv"
)

// table reads one OULAD CSV by column name. Only the columns asked for are ever looked
// at, which is how sensitive columns stay unread.
type table struct {
	name string
	f    *os.File
	cr   *csv.Reader
	pos  map[string]int
	rec  []string
	line int
}

// openTable opens dir/name and checks that the header holds every required column.
// A missing file is reported as nil, nil when optional.
func openTable(dir, name string, m *meter, optional bool, required ...string) (*table, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &datasets.Error{File: name, Msg: "missing: an OULAD folder needs " + strings.Join(requiredFiles, ", ")}
	}
	if err != nil {
		return nil, fmt.Errorf("oulad: %w", err)
	}
	// A BOM must go before the csv parser: before OULAD's quoted header it would make
	// the first field a bare quote.
	br := bufio.NewReader(meteredReader{f, m})
	if b, _ := br.Peek(3); string(b) == "\ufeff" {
		br.Discard(3)
	}
	t := &table{name: name, f: f, cr: csv.NewReader(br), pos: make(map[string]int)}
	t.cr.ReuseRecord = true
	header, err := t.cr.Read()
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			return nil, &datasets.Error{File: name, Line: 1, Msg: "empty file: the header row is missing"}
		}
		return nil, t.csvErr(err)
	}
	for i, h := range header {
		t.pos[strings.TrimSpace(h)] = i
	}
	for _, c := range required {
		if _, ok := t.pos[c]; !ok {
			f.Close()
			return nil, &datasets.Error{File: name, Line: 1, Field: c, Msg: "missing column"}
		}
	}
	t.line = 1
	return t, nil
}

var requiredFiles = []string{CoursesFile, AssessmentsFile, StudentInfoFile, RegistrationFile, SubmissionsFile, VLEFile}

func (t *table) close() { t.f.Close() }

func (t *table) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &datasets.Error{File: t.name, Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("oulad: reading %s: %w", t.name, err)
}

// next advances to the next row; false at the end.
func (t *table) next() (bool, error) {
	rec, err := t.cr.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, t.csvErr(err)
	}
	t.rec = rec
	t.line, _ = t.cr.FieldPos(0)
	return true, nil
}

func (t *table) fail(col, format string, args ...any) error {
	return &datasets.Error{File: t.name, Line: t.line, Field: col, Msg: fmt.Sprintf(format, args...)}
}

// str returns a trimmed value; OULAD writes a missing value as "" or "?".
func (t *table) str(col string) string {
	s := strings.TrimSpace(t.rec[t.pos[col]])
	if s == "?" {
		return ""
	}
	return s
}

// id returns a required value that will become (part of) a Parcours id.
func (t *table) id(col string) (string, error) {
	s := t.str(col)
	switch {
	case s == "":
		return "", t.fail(col, "empty")
	case strings.ContainsAny(s, datasets.ListSep+" \t\r\n,\""):
		return "", t.fail(col, "%q holds a separator or a space", s)
	case len(s) > 64:
		return "", t.fail(col, "longer than 64 bytes")
	}
	return s, nil
}

// day returns an optional whole number of days.
func (t *table) day(col string) (int, bool, error) {
	s := t.str(col)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -3650 || n > 3650 {
		return 0, false, t.fail(col, "%q is not a day count", s)
	}
	return n, true, nil
}

// number returns an optional finite number within [lo, hi].
func (t *table) number(col string, lo, hi float64) (float64, bool, error) {
	s := t.str(col)
	if s == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		return 0, false, t.fail(col, "%q is not a number in [%g, %g]", s, lo, hi)
	}
	return f, true, nil
}

// presentation is one run of a module: a class.
type presentation struct {
	Module, Code string
	Length       int // days
}

func (p presentation) Key() string { return p.Module + "-" + p.Code }

type assessment struct {
	ID, Module, Pres, Type string
	Date                   int // days from the presentation start; the end when OULAD gives none
	Weight                 float64
}

type registration struct {
	Module, Pres, Student string
	Unreg                 int
	HasUnreg              bool
}

func (r registration) Key() string { return r.Module + "-" + r.Pres }

type submission struct {
	Assessment, Student string
	Date                int
	Banked              bool
	Score               float64
	HasScore            bool
}

type site struct {
	ID, Module, Pres, Type string
	WeekFrom, WeekTo       int
	HasWeeks               bool
}

// source is the OULAD tables Parcours needs, in memory (studentVle is streamed apart).
type source struct {
	pres        map[string]presentation // by Key
	assessments []assessment            // sorted by presentation, date, id
	byID        map[string]*assessment
	regs        []registration // sorted by presentation key, student
	subs        []submission   // file order
	sites       []site         // sorted by presentation, id
	rows        map[string]int // data rows read per file
	m           *meter
}

func readSource(dir string, m *meter) (*source, error) {
	s := &source{pres: make(map[string]presentation), byID: make(map[string]*assessment), rows: make(map[string]int), m: m}
	for _, step := range []func(string) error{s.readCourses, s.readAssessments, s.readRegistrations, s.readSubmissions, s.readSites} {
		if err := step(dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// each runs fn on every row of a required table.
func (s *source) each(dir, name string, cols []string, fn func(*table) error) error {
	t, err := openTable(dir, name, s.m, false, cols...)
	if err != nil {
		return err
	}
	defer t.close()
	for {
		ok, err := t.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		s.rows[name]++
		if err := fn(t); err != nil {
			return err
		}
	}
}

// moduleAndPresentation reads the two key columns and checks the presentation exists.
func (s *source) moduleAndPresentation(t *table) (presentation, error) {
	m, err := t.id("code_module")
	if err != nil {
		return presentation{}, err
	}
	c, err := t.id("code_presentation")
	if err != nil {
		return presentation{}, err
	}
	p, ok := s.pres[m+"-"+c]
	if !ok {
		return p, t.fail("code_presentation", "presentation %s %s is not in %s", m, c, CoursesFile)
	}
	return p, nil
}

func (s *source) readCourses(dir string) error {
	return s.each(dir, CoursesFile, []string{"code_module", "code_presentation", "module_presentation_length"}, func(t *table) error {
		p := presentation{}
		var err error
		if p.Module, err = t.id("code_module"); err != nil {
			return err
		}
		if p.Code, err = t.id("code_presentation"); err != nil {
			return err
		}
		if _, err := presentationStart(p.Code); err != nil {
			return t.fail("code_presentation", "%v", err)
		}
		n, ok, err := t.day("module_presentation_length")
		if err != nil {
			return err
		}
		if !ok || n <= 0 {
			return t.fail("module_presentation_length", "must be a positive number of days")
		}
		p.Length = n
		if _, dup := s.pres[p.Key()]; dup {
			return t.fail("code_presentation", "presentation %s listed twice", p.Key())
		}
		s.pres[p.Key()] = p
		return nil
	})
}

func (s *source) readAssessments(dir string) error {
	cols := []string{"code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight"}
	err := s.each(dir, AssessmentsFile, cols, func(t *table) error {
		p, err := s.moduleAndPresentation(t)
		if err != nil {
			return err
		}
		a := assessment{Module: p.Module, Pres: p.Code}
		if a.ID, err = t.id("id_assessment"); err != nil {
			return err
		}
		if a.Type, err = t.id("assessment_type"); err != nil {
			return err
		}
		d, ok, err := t.day("date")
		if err != nil {
			return err
		}
		if !ok {
			// OULAD: a final exam without a date is at the end of the last week.
			d = p.Length
		}
		a.Date = d
		w, ok, err := t.number("weight", 0, 100)
		if err != nil {
			return err
		}
		if !ok {
			return t.fail("weight", "empty")
		}
		a.Weight = w
		if _, dup := s.byID[a.ID]; dup {
			return t.fail("id_assessment", "assessment %s listed twice", a.ID)
		}
		s.byID[a.ID] = &a
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range s.byID {
		s.assessments = append(s.assessments, *a)
	}
	sort.Slice(s.assessments, func(i, j int) bool {
		a, b := s.assessments[i], s.assessments[j]
		if a.Module+a.Pres != b.Module+b.Pres {
			return a.Module+"-"+a.Pres < b.Module+"-"+b.Pres
		}
		if a.Date != b.Date {
			return a.Date < b.Date
		}
		return a.ID < b.ID
	})
	for i := range s.assessments {
		s.byID[s.assessments[i].ID] = &s.assessments[i]
	}
	return nil
}

// readRegistrations takes the union of studentInfo (who took which presentation) and
// studentRegistration (when they left). Of studentInfo only the three key columns are
// read: the demographic ones never leave the file.
func (s *source) readRegistrations(dir string) error {
	byKey := make(map[[3]string]*registration)
	add := func(t *table) (*registration, error) {
		p, err := s.moduleAndPresentation(t)
		if err != nil {
			return nil, err
		}
		st, err := t.id("id_student")
		if err != nil {
			return nil, err
		}
		k := [3]string{p.Module, p.Code, st}
		r, ok := byKey[k]
		if !ok {
			r = &registration{Module: p.Module, Pres: p.Code, Student: st}
			byKey[k] = r
		}
		return r, nil
	}
	keyCols := []string{"code_module", "code_presentation", "id_student"}
	if err := s.each(dir, StudentInfoFile, keyCols, func(t *table) error { _, err := add(t); return err }); err != nil {
		return err
	}
	err := s.each(dir, RegistrationFile, append(keyCols, "date_unregistration"), func(t *table) error {
		r, err := add(t)
		if err != nil {
			return err
		}
		r.Unreg, r.HasUnreg, err = t.day("date_unregistration")
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range byKey {
		s.regs = append(s.regs, *r)
	}
	sort.Slice(s.regs, func(i, j int) bool {
		a, b := s.regs[i], s.regs[j]
		if a.Key() != b.Key() {
			return a.Key() < b.Key()
		}
		return a.Student < b.Student
	})
	return nil
}

func (s *source) readSubmissions(dir string) error {
	seen := make(map[[2]string]int)
	cols := []string{"id_assessment", "id_student", "date_submitted", "is_banked", "score"}
	return s.each(dir, SubmissionsFile, cols, func(t *table) error {
		var sub submission
		var err error
		if sub.Assessment, err = t.id("id_assessment"); err != nil {
			return err
		}
		if _, ok := s.byID[sub.Assessment]; !ok {
			return t.fail("id_assessment", "assessment %s is not in %s", sub.Assessment, AssessmentsFile)
		}
		if sub.Student, err = t.id("id_student"); err != nil {
			return err
		}
		k := [2]string{sub.Assessment, sub.Student}
		if first, dup := seen[k]; dup {
			return t.fail("id_student", "second submission of assessment %s by student %s (first on line %d)", k[0], k[1], first)
		}
		seen[k] = t.line
		d, ok, err := t.day("date_submitted")
		if err != nil {
			return err
		}
		if !ok {
			d = s.byID[sub.Assessment].Date
		}
		sub.Date = d
		switch b := t.str("is_banked"); b {
		case "1":
			sub.Banked = true
		case "0", "":
		default:
			return t.fail("is_banked", "%q is not 0 or 1", b)
		}
		if sub.Score, sub.HasScore, err = t.number("score", 0, 100); err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
		return nil
	})
}

func (s *source) readSites(dir string) error {
	cols := []string{"id_site", "code_module", "code_presentation", "activity_type"}
	seen := make(map[string]bool)
	err := s.each(dir, VLEFile, cols, func(t *table) error {
		p, err := s.moduleAndPresentation(t)
		if err != nil {
			return err
		}
		v := site{Module: p.Module, Pres: p.Code}
		if v.ID, err = t.id("id_site"); err != nil {
			return err
		}
		if seen[v.ID] {
			return t.fail("id_site", "site %s listed twice", v.ID)
		}
		seen[v.ID] = true
		if v.Type, err = t.id("activity_type"); err != nil {
			return err
		}
		if _, ok := t.pos["week_from"]; ok {
			from, okf, err := t.day("week_from")
			if err != nil {
				return err
			}
			to, okt := from, okf
			if _, has := t.pos["week_to"]; has {
				if to, okt, err = t.day("week_to"); err != nil {
					return err
				}
			}
			if okf && okt && to >= from {
				v.WeekFrom, v.WeekTo, v.HasWeeks = from, to, true
			}
		}
		s.sites = append(s.sites, v)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(s.sites, func(i, j int) bool {
		a, b := s.sites[i], s.sites[j]
		if a.Module+"-"+a.Pres != b.Module+"-"+b.Pres {
			return a.Module+"-"+a.Pres < b.Module+"-"+b.Pres
		}
		return lessNumeric(a.ID, b.ID)
	})
	return nil
}

// lessNumeric orders OULAD's numeric ids by value (digit strings by length, then text),
// before any other id, those by text: a total order, so sorting is deterministic
// whatever the input order.
func lessNumeric(a, b string) bool {
	na, nb := isDigits(a), isDigits(b)
	switch {
	case na != nb:
		return na
	case na && len(a) != len(b):
		return len(a) < len(b)
	}
	return a < b
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
