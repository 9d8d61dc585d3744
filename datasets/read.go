package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits bound what a reader accepts, so that a hostile or broken file costs bounded
// memory and time. The zero value of a field means its default.
type Limits struct {
	// MaxRows is the most data rows (CSV) or statements (JSON Lines) a file may hold;
	// 0 means no limit.
	MaxRows int
	// MaxLineBytes bounds one CSV record or one JSON line; default 64 KiB.
	MaxLineBytes int
	// MaxFieldBytes bounds one free-text field (label, title); default 1 KiB. Ids are
	// always bounded by MaxIDBytes.
	MaxFieldBytes int
	// MaxListItems bounds a list column (competencies, prerequisites); default 256.
	MaxListItems int
	// CallerChecksDuplicates turns off the check of ids repeated within a file, for a
	// caller that checks them itself: the check remembers every id of the file (8 to 16
	// bytes each), so a streaming load whose memory must not grow with the file does it
	// in the database instead (pgstore.Bulk).
	CallerChecksDuplicates bool
}

// Defaults and fixed bounds of the file formats.
const (
	DefaultMaxLineBytes  = 64 << 10
	DefaultMaxFieldBytes = 1 << 10
	DefaultMaxListItems  = 256
	// MaxIDBytes bounds every id: the ENT's ids are short opaque strings.
	MaxIDBytes = 128
	// maxCodeBytes bounds subject, type and status codes.
	maxCodeBytes = 64
)

// DefaultLimits are the limits of the package-level Read functions.
var DefaultLimits = Limits{}

func (l Limits) withDefaults() Limits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if l.MaxListItems <= 0 {
		l.MaxListItems = DefaultMaxListItems
	}
	return l
}

// csvReadAhead is encoding/csv's bufio size: how far the parser may read past the
// record it returns.
const csvReadAhead = 4096

const utf8BOM = "\uFEFF"

var newline = []byte{'\n'}

var errRecordTooLong = errors.New("record too long")

// guardReader stops feeding encoding/csv once the record being parsed has grown past
// the limit: encoding/csv would otherwise buffer an endless line whole.
type guardReader struct {
	r     io.Reader
	limit int64
	total int64 // bytes handed to the parser
	mark  int64 // input offset where the current record starts
	lines int   // newlines handed to the parser
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.total-g.mark > g.limit+csvReadAhead {
		return 0, errRecordTooLong
	}
	n, err := g.r.Read(p)
	g.total += int64(n)
	g.lines += bytes.Count(p[:n], newline)
	return n, err
}

// csvFile reads one data-folder CSV file record by record, checking the header against
// the contract and giving each row's fields in contract column order.
type csvFile struct {
	name   string
	header []string
	lim    Limits
	g      *guardReader
	cr     *csv.Reader
	pos    []int    // pos[i]: record index of contract column i
	rec    []string // current record, in file order
	rows   int
	line   int   // line where the current record starts
	offset int64 // input offset at the end of the previous record
}

func openCSV(r io.Reader, name string, header []string, lim Limits) (*csvFile, error) {
	lim = lim.withDefaults()
	// A spreadsheet's UTF-8 BOM goes before the csv parser sees it: it would make a
	// quoted first column a bare quote.
	br := bufio.NewReader(r)
	if b, _ := br.Peek(len(utf8BOM)); string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	}
	g := &guardReader{r: br, limit: int64(lim.MaxLineBytes)}
	cr := csv.NewReader(g)
	cr.ReuseRecord = true
	f := &csvFile{name: name, header: header, lim: lim, g: g, cr: cr}
	rec, err := f.read()
	if err == io.EOF {
		return nil, &Error{File: name, Line: 1, Msg: "empty file: want the header " + strings.Join(header, ",")}
	}
	if err != nil {
		return nil, err
	}
	if err := f.mapHeader(rec); err != nil {
		return nil, err
	}
	cr.FieldsPerRecord = len(rec)
	return f, nil
}

// mapHeader accepts the contract's columns in any order, and nothing else; optional
// columns may be missing (they then read as empty).
func (f *csvFile) mapHeader(rec []string) error {
	want := make(map[string]int, len(f.header))
	for i, h := range f.header {
		want[h] = i
	}
	f.pos = make([]int, len(f.header))
	for i := range f.pos {
		f.pos[i] = -1
	}
	var unexpected []string
	for j, h := range rec {
		h = strings.TrimSpace(h)
		i, ok := want[h]
		switch {
		case !ok:
			unexpected = append(unexpected, h)
		case f.pos[i] >= 0:
			return &Error{File: f.name, Line: f.line, Field: h, Msg: "column appears twice"}
		default:
			f.pos[i] = j
		}
	}
	var missing []string
	for i, p := range f.pos {
		if p < 0 && !optionalColumns[f.header[i]] {
			missing = append(missing, f.header[i])
		}
	}
	switch {
	case len(unexpected) > 0 && len(missing) > 0:
		return &Error{File: f.name, Line: f.line, Field: missing[0], Msg: fmt.Sprintf(
			"missing column (found unexpected %s; want exactly %s)", quoteAll(unexpected), strings.Join(f.header, ","))}
	case len(missing) > 0:
		return &Error{File: f.name, Line: f.line, Field: missing[0], Msg: "missing column (want exactly " + strings.Join(f.header, ",") + ")"}
	case len(unexpected) > 0:
		return &Error{File: f.name, Line: f.line, Field: unexpected[0], Msg: "unexpected column: the contract has only " + strings.Join(f.header, ",")}
	}
	return nil
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// read returns the next record, checked for size and UTF-8, or io.EOF.
func (f *csvFile) read() ([]string, error) {
	rec, err := f.cr.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if errors.Is(err, errRecordTooLong) {
		return nil, &Error{File: f.name, Line: f.g.lines + 1, Msg: fmt.Sprintf("record longer than %d bytes", f.lim.MaxLineBytes)}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			field := "" // a short row names its first missing column
			if len(rec) < len(f.header) && f.pos != nil {
				field = f.columnAt(len(rec))
			}
			return nil, &Error{File: f.name, Line: pe.StartLine, Field: field, Msg: fmt.Sprintf("has %d fields, want %d like the header", len(rec), len(f.header))}
		}
		return nil, &Error{File: f.name, Line: pe.Line, Msg: fmt.Sprintf("character %d: %v", pe.Column, pe.Err)}
	}
	if err != nil {
		return nil, fmt.Errorf("datasets: reading %s: %w", f.name, err)
	}
	f.line, _ = f.cr.FieldPos(0)
	off := f.cr.InputOffset()
	if off-f.offset > int64(f.lim.MaxLineBytes) {
		return nil, &Error{File: f.name, Line: f.line, Msg: fmt.Sprintf("record longer than %d bytes", f.lim.MaxLineBytes)}
	}
	f.offset, f.g.mark = off, off
	for j, v := range rec {
		if !utf8.ValidString(v) {
			line, _ := f.cr.FieldPos(j)
			field := ""
			if f.pos != nil {
				field = f.columnAt(j)
			}
			return nil, &Error{File: f.name, Line: line, Field: field, Msg: "not valid UTF-8"}
		}
	}
	return rec, nil
}

func (f *csvFile) columnAt(j int) string {
	for i, p := range f.pos {
		if p == j {
			return f.header[i]
		}
	}
	return ""
}

// next advances to the next data row; it returns false at the end of the file.
func (f *csvFile) next() (bool, error) {
	rec, err := f.read()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f.rows++
	if f.lim.MaxRows > 0 && f.rows > f.lim.MaxRows {
		return false, &Error{File: f.name, Line: f.line, Msg: fmt.Sprintf("more than %d rows", f.lim.MaxRows)}
	}
	f.rec = rec
	return true, nil
}

// row starts the parsing of the current record.
func (f *csvFile) row() *row { return &row{f: f} }

// readCSV drives one file: parse turns a row into a value (the first bad field wins),
// then fn receives it with its line. An error from fn that is not a *Error is wrapped
// with the file and line.
func readCSV[T any](r io.Reader, name string, header []string, lim Limits, parse func(*row) T, fn func(T, int) error) error {
	f, err := openCSV(r, name, header, lim)
	if err != nil {
		return err
	}
	var ids *idSet
	if !lim.CallerChecksDuplicates {
		ids = newIDSet()
	}
	for {
		ok, err := f.next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		rw := f.row()
		v := parse(rw)
		if rw.err == nil && ids != nil {
			rw.unique(ids, 0)
		}
		if rw.err != nil {
			return rw.err
		}
		if err := fn(v, f.line); err != nil {
			var re *Error
			if errors.As(err, &re) {
				return err
			}
			return fmt.Errorf("%s:%d: %w", name, f.line, err)
		}
	}
}

// idSet remembers the ids seen in a file by their 64-bit FNV-1a hash, in an
// open-addressing table of bare hashes: 11 to 21 bytes an id instead of the strings (a
// Go map of hashes costs ~38), so a 10-million-row file holds ~200 MB at most. A hash
// collision would report a false duplicate; at 10 million ids its odds are below 3e-6.
type idSet struct {
	slots []uint64 // 0 marks an empty slot; a hash of 0 is stored as 1
	n     int
}

func newIDSet() *idSet { return &idSet{slots: make([]uint64, 1024)} }

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// add records id; it reports whether the id was already there.
func (s *idSet) add(id string) bool {
	h := fnv64(id)
	if h == 0 {
		h = 1
	}
	if s.insert(h) {
		return true
	}
	s.n++
	if s.n*4 > len(s.slots)*3 {
		old := s.slots
		s.slots = make([]uint64, 2*len(old))
		for _, x := range old {
			if x != 0 {
				s.insert(x)
			}
		}
	}
	return false
}

// insert places h by linear probing; it reports whether h was already present.
func (s *idSet) insert(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	// FNV's low bits are weak on short similar ids; mix before taking them.
	i := (h * 0x9E3779B97F4A7C15) >> 32 & mask
	for {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			return false
		case h:
			return true
		}
		i = (i + 1) & mask
	}
}
