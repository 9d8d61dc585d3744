package datasets

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
)

// JSON rows: a batch posted to the ingest API is a JSON array of objects keyed by the
// file's columns. Each element goes through the same parse functions as a CSV row (one
// set of rules for files and the API), with no CSV in between: a value's text is the cell
// a file would hold (a number's digits, true/false, a list's items joined by ListSep).

// rowKind is one entity kind of a batch: its columns, and how a parsed row joins the
// dataset.
type rowKind struct {
	header []string
	add    func(r *row, d *Dataset)
}

var rowKinds = map[string]rowKind{
	"competencies": {CompetenciesHeader, func(r *row, d *Dataset) { d.Competencies = append(d.Competencies, parseCompetency(r)) }},
	"resources":    {ResourcesHeader, func(r *row, d *Dataset) { d.Resources = append(d.Resources, parseResource(r)) }},
	"students":     {StudentsHeader, func(r *row, d *Dataset) { d.Students = append(d.Students, parseStudent(r)) }},
	"lessons":      {LessonsHeader, func(r *row, d *Dataset) { d.Lessons = append(d.Lessons, parseLesson(r)) }},
	"grades":       {GradesHeader, func(r *row, d *Dataset) { d.Grades = append(d.Grades, parseGrade(r)) }},
	"absences":     {AbsencesHeader, func(r *row, d *Dataset) { d.Absences = append(d.Absences, parseAbsence(r)) }},
	"classes":      {ClassesHeader, func(r *row, d *Dataset) { d.Classes = append(d.Classes, parseClass(r)) }},
}

// ReadJSONRows reads a JSON array of rows of kind ("grades", "students", ...: the file's
// name without .csv) into d, validating each element as the file reader validates a
// row, ids unique within the batch. Nothing is added to d unless the whole batch is
// valid. A bad element is a *Error with File kind, Line the element index + 1 and Field
// the JSON pointer of the bad value (/3/score), or of the element (/3).
func (l Limits) ReadJSONRows(r io.Reader, kind string, d *Dataset) error {
	k, ok := rowKinds[kind]
	if !ok {
		return &Error{File: kind, Msg: "unknown kind"}
	}
	lim := l.withDefaults()
	f := &csvFile{name: kind, header: k.header, lim: lim, pos: make([]int, len(k.header))}
	for i := range f.pos {
		f.pos[i] = i
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		if err != nil {
			return jsonError(kind, err)
		}
		return &Error{File: kind, Msg: "want a JSON array of rows"}
	}
	var out Dataset
	ids := newIDSet()
	for i := 0; dec.More(); i++ {
		elem := func(field, msg string) error {
			ptr := "/" + strconv.Itoa(i)
			if field != "" {
				ptr += "/" + field
			}
			return &Error{File: kind, Line: i + 1, Field: ptr, Msg: "element " + strconv.Itoa(i) + ": " + msg}
		}
		if lim.MaxRows > 0 && i >= lim.MaxRows {
			return elem("", "too many rows")
		}
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return elem("", "want an object")
			}
			return jsonError(kind, err)
		}
		rec := make([]string, len(k.header))
		for col, v := range obj {
			j := slices.Index(k.header, col)
			if j < 0 {
				return elem(col, "unknown column; want "+strings.Join(k.header, ","))
			}
			s, ok := cellText(v)
			if !ok {
				return elem(col, "wrong type: want a string, number, boolean or array of strings")
			}
			rec[j] = s
		}
		f.line, f.rec = i+1, rec
		rw := f.row()
		k.add(rw, &out)
		rw.unique(ids, 0)
		if rw.err != nil {
			var e *Error
			if errors.As(rw.err, &e) {
				return elem(e.Field, e.Msg)
			}
			return rw.err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonError(kind, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{File: kind, Msg: "trailing data after the JSON array"}
	}
	d.Competencies = append(d.Competencies, out.Competencies...)
	d.Resources = append(d.Resources, out.Resources...)
	d.Students = append(d.Students, out.Students...)
	d.Lessons = append(d.Lessons, out.Lessons...)
	d.Grades = append(d.Grades, out.Grades...)
	d.Absences = append(d.Absences, out.Absences...)
	d.Classes = append(d.Classes, out.Classes...)
	return nil
}

// jsonError is a malformed or truncated body; a body over the caller's size limit stays
// in the chain (Err) so that the API can answer 413.
func jsonError(kind string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &Error{File: kind, Msg: "malformed JSON at byte " + strconv.FormatInt(se.Offset, 10), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{File: kind, Msg: "empty or truncated JSON body", Err: err}
	}
	return &Error{File: kind, Msg: "malformed JSON", Err: err}
}

// cellText renders one JSON value as the file's text for that column.
func cellText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", false
			}
			parts[i] = s
		}
		return strings.Join(parts, ListSep), true
	}
	return "", false
}
