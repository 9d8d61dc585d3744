package datasets

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// row parses the fields of one record; the first bad field is kept in err and later
// calls are no-ops, so a parse function reads straight through.
type row struct {
	f   *csvFile
	err error
}

func (r *row) raw(col int) string {
	if p := r.f.pos[col]; p >= 0 {
		return r.f.rec[p]
	}
	return "" // an optional column the file does not have
}

func (r *row) fail(col int, format string, args ...any) {
	if r.err != nil {
		return
	}
	line := r.f.line // values checked outside a file (CheckGrades...) have no csv.Reader
	if r.f.cr != nil {
		line, _ = r.f.cr.FieldPos(r.f.pos[col])
	}
	r.err = &Error{File: r.f.name, Line: line, Field: r.f.header[col], Msg: fmt.Sprintf(format, args...)}
}

// checkID is the rule of every id: non-empty, at most MaxIDBytes, no control character,
// no surrounding space, no ListSep (ids are joined by it in list columns).
func checkID(s string) string {
	switch {
	case s == "":
		return "empty id"
	case len(s) > MaxIDBytes:
		return fmt.Sprintf("id longer than %d bytes", MaxIDBytes)
	case strings.TrimSpace(s) != s:
		return "id with surrounding spaces"
	case strings.Contains(s, ListSep):
		return "id contains " + strconv.Quote(ListSep)
	case hasControl(s, false):
		return "id contains a control character"
	}
	return ""
}

func hasControl(s string, allowTab bool) bool {
	for _, c := range s {
		if unicode.IsControl(c) && !(allowTab && c == '\t') {
			return true
		}
	}
	return false
}

// id reads a required id column.
func (r *row) id(col int) string {
	if r.err != nil {
		return ""
	}
	s := strings.TrimSpace(r.raw(col))
	if msg := checkID(s); msg != "" {
		r.fail(col, "%s", msg)
	}
	return s
}

// code reads a short required code (subject, resource type).
func (r *row) code(col int) string {
	if r.err != nil {
		return ""
	}
	s := strings.TrimSpace(r.raw(col))
	switch {
	case s == "":
		r.fail(col, "empty")
	case len(s) > maxCodeBytes:
		r.fail(col, "longer than %d bytes", maxCodeBytes)
	case hasControl(s, false):
		r.fail(col, "contains a control character")
	}
	return s
}

// text reads a required free-text field, kept as written.
func (r *row) text(col int) string {
	if r.err != nil {
		return ""
	}
	s := r.raw(col)
	switch {
	case strings.TrimSpace(s) == "":
		r.fail(col, "empty")
	case len(s) > r.f.lim.MaxFieldBytes:
		r.fail(col, "longer than %d bytes", r.f.lim.MaxFieldBytes)
	case hasControl(s, true):
		r.fail(col, "contains a control character")
	}
	return s
}

func (r *row) level(col int) string {
	if r.err != nil {
		return ""
	}
	s := strings.TrimSpace(r.raw(col))
	if LevelIndex(s) < 0 {
		r.fail(col, "level %q is not one of %s", truncate(s), strings.Join(Levels, " "))
	}
	return s
}

// list reads a ListSep-separated list of ids; empty elements and repeats are errors.
func (r *row) list(col int, required bool) []string {
	if r.err != nil {
		return nil
	}
	s := strings.TrimSpace(r.raw(col))
	if s == "" {
		if required {
			r.fail(col, "empty list")
		}
		return nil
	}
	n := strings.Count(s, ListSep) + 1
	if n > r.f.lim.MaxListItems {
		r.fail(col, "more than %d items", r.f.lim.MaxListItems)
		return nil
	}
	out := make([]string, 0, n)
	for i, x := range strings.Split(s, ListSep) {
		x = strings.TrimSpace(x)
		if x == "" {
			r.fail(col, "item %d is empty", i+1)
			return nil
		}
		if msg := checkID(x); msg != "" {
			r.fail(col, "item %d: %s", i+1, msg)
			return nil
		}
		for _, y := range out {
			if y == x {
				r.fail(col, "item %q repeated", x)
				return nil
			}
		}
		out = append(out, x)
	}
	return out
}

// number reads a finite float within [lo, hi].
func (r *row) number(col int, lo, hi float64) float64 {
	if r.err != nil {
		return 0
	}
	s := strings.TrimSpace(r.raw(col))
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case s == "":
		r.fail(col, "empty")
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		if strings.Contains(s, ",") {
			r.fail(col, "%q is not a number (write decimals with a point)", truncate(s))
		} else {
			r.fail(col, "%q is not a finite number", truncate(s))
		}
	case f < lo || f > hi:
		r.fail(col, "%s is outside [%s, %s]", s, FormatFloat(lo), FormatFloat(hi))
	}
	return f
}

// integer reads a whole number within [lo, hi].
func (r *row) integer(col int, lo, hi int) int {
	if r.err != nil {
		return 0
	}
	s := strings.TrimSpace(r.raw(col))
	n, err := strconv.Atoi(s)
	switch {
	case s == "":
		r.fail(col, "empty")
	case err != nil:
		r.fail(col, "%q is not a whole number", truncate(s))
	case n < lo || n > hi:
		r.fail(col, "%d is outside [%d, %d]", n, lo, hi)
	}
	return n
}

func (r *row) boolean(col int) bool {
	if r.err != nil {
		return false
	}
	s := strings.TrimSpace(r.raw(col))
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(col, "%q is not true or false", truncate(s))
	return false
}

// timestamp reads an RFC 3339 date-time, or an RFC 3339 full-date taken as midnight UTC.
// The result is in UTC.
func (r *row) timestamp(col int) time.Time {
	if r.err != nil {
		return time.Time{}
	}
	s := strings.TrimSpace(r.raw(col))
	t, err := ParseTime(s)
	if err != nil {
		r.fail(col, "%v", err)
	}
	return t
}

// ParseTime reads an RFC 3339 date-time, or an RFC 3339 full-date (YYYY-MM-DD) taken as
// midnight UTC, and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && len(s) == len(time.DateOnly) {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 timestamp", truncate(s))
	}
	if t.Year() < 1900 || t.Year() > 2200 {
		return time.Time{}, fmt.Errorf("%q is outside the years 1900-2200", truncate(s))
	}
	return t.UTC(), nil
}

// unique checks that the id in column col was not seen earlier in the file.
func (r *row) unique(ids *idSet, col int) {
	if r.err != nil {
		return
	}
	id := strings.TrimSpace(r.raw(col))
	if ids.add(id) {
		r.fail(col, "duplicate id %q (already earlier in the file)", id)
	}
}

// truncate keeps error messages short whatever the input.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
