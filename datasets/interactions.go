package datasets

// The interaction log is the input of `parcours eval mastery`: one answer of one student
// to one item a row, with the skills the item exercises and whether the answer was
// correct. It is a separate format from the data folder because public benchmarks
// (ASSISTments, OULAD exports) come in this shape and carry no grades or timetables.

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"strings"
	"time"
)

// InteractionColumns is the header of an interaction log, in the order the writer uses.
// The reader accepts the columns in any order and ignores extra ones.
var InteractionColumns = []string{"student_id", "item_id", "skill_ids", "correct", "timestamp"}

// Interaction is one answer of a student to an item.
//
// The timestamp column is either RFC 3339 or an integer order. Exactly one of Time and
// Order carries it: Time is set (non-zero, in UTC) for an RFC 3339 timestamp and Order is then 0;
// for an integer order Time is the zero time. Within one student every row uses the same
// kind, so rows can be compared with Before.
type Interaction struct {
	StudentID string
	ItemID    string
	Skills    []string // may be empty: the item is then its own skill for most models
	Correct   bool
	Time      time.Time
	Order     int64
}

// Timed reports whether the interaction carries an RFC 3339 time rather than an order.
func (it Interaction) Timed() bool { return !it.Time.IsZero() }

// Before reports whether it happened strictly before o. Comparing a timed interaction
// with an ordered one is meaningless; Before then orders timed interactions first so
// that sorting stays a strict weak order.
func (it Interaction) Before(o Interaction) bool {
	switch a, b := it.Timed(), o.Timed(); {
	case a && b:
		return it.Time.Before(o.Time)
	case !a && !b:
		return it.Order < o.Order
	default:
		return a
	}
}

// InteractionReader streams an interaction log and validates every row: the header must
// hold every column of InteractionColumns; ids are non-empty; correct is 0 or 1 (1.0,
// true and false are accepted too); the timestamp is an integer order or an RFC 3339
// date-time or full-date (midnight UTC), read as ParseTime does, in UTC; and the rows
// of one student never go back in time. Errors are *Error (wrapping ErrInvalid) naming
// the file, the line and the field.
type InteractionReader struct {
	name string
	cr   *csv.Reader
	col  [5]int // position of each InteractionColumns entry in the file
	last map[string]Interaction
	line int
}

// NewInteractionReader reads the header of r. name is the file name used in errors.
func NewInteractionReader(r io.Reader, name string) (*InteractionReader, error) {
	// A spreadsheet's BOM must go before the csv parser: before a quoted header it
	// would make the first field a bare quote.
	br := bufio.NewReader(r)
	if b, _ := br.Peek(3); string(b) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Line: 1, Msg: "empty file: the header row is missing"}
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	ir := &InteractionReader{name: name, cr: cr, last: make(map[string]Interaction), line: 1}
	pos := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := pos[h]; dup {
			return nil, &Error{File: name, Line: 1, Field: h, Msg: "duplicate column"}
		}
		pos[h] = i
	}
	for j, c := range InteractionColumns {
		i, ok := pos[c]
		if !ok {
			return nil, &Error{File: name, Line: 1, Field: c, Msg: "missing column"}
		}
		ir.col[j] = i
	}
	return ir, nil
}

// Line returns the line of the last row read (1 is the header).
func (r *InteractionReader) Line() int { return r.line }

// Read returns the next interaction, or io.EOF after the last one.
func (r *InteractionReader) Read() (Interaction, error) {
	rec, err := r.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Interaction{}, io.EOF
		}
		return Interaction{}, csvError(r.name, err)
	}
	r.line, _ = r.cr.FieldPos(0)
	field := func(j int) string { return strings.TrimSpace(rec[r.col[j]]) }
	bad := func(j int, format string, args ...any) (Interaction, error) {
		line, _ := r.cr.FieldPos(r.col[j])
		return Interaction{}, &Error{File: r.name, Line: line, Field: InteractionColumns[j], Msg: fmt.Sprintf(format, args...)}
	}

	it := Interaction{StudentID: field(0), ItemID: field(1)}
	if it.StudentID == "" {
		return bad(0, "empty")
	}
	if it.ItemID == "" {
		return bad(1, "empty")
	}
	it.Skills = splitSkills(field(2))
	c := field(3)
	switch f, err := strconv.ParseFloat(c, 64); {
	case err == nil && f == 1, strings.EqualFold(c, "true"):
		it.Correct = true
	case err == nil && f == 0, strings.EqualFold(c, "false"):
	default:
		return bad(3, "%q is not 0 or 1", truncate(c))
	}
	ts := field(4)
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil {
		it.Order = n
	} else if t, err := ParseTime(ts); err == nil {
		it.Time = t
	} else {
		return bad(4, "%q is neither an RFC 3339 time nor an integer order", truncate(ts))
	}

	if prev, seen := r.last[it.StudentID]; seen {
		if prev.Timed() != it.Timed() {
			return bad(4, "student %q mixes RFC 3339 times and integer orders", it.StudentID)
		}
		if it.Before(prev) {
			return bad(4, "student %q goes back in time (%s after %s)", it.StudentID, ts, stamp(prev))
		}
	}
	r.last[it.StudentID] = Interaction{Time: it.Time, Order: it.Order}
	return it, nil
}

// All iterates over the remaining interactions; iteration stops after the first error.
func (r *InteractionReader) All() iter.Seq2[Interaction, error] {
	return func(yield func(Interaction, error) bool) {
		for {
			it, err := r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(it, err) || err != nil {
				return
			}
		}
	}
}

// ReadInteractionsAll reads and validates a whole interaction log.
func ReadInteractionsAll(r io.Reader, name string) ([]Interaction, error) {
	ir, err := NewInteractionReader(r, name)
	if err != nil {
		return nil, err
	}
	var out []Interaction
	for it, err := range ir.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// ReadInteractionsFile reads and validates the interaction log at path.
func ReadInteractionsFile(path string) ([]Interaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets.ReadInteractionsFile: %w", err)
	}
	defer f.Close()
	return ReadInteractionsAll(f, path)
}

// InteractionWriter writes an interaction log, header first.
type InteractionWriter struct {
	cw     *csv.Writer
	header bool
	rec    []string
}

// NewInteractionWriter returns a writer on w. Call Flush when done.
func NewInteractionWriter(w io.Writer) *InteractionWriter {
	return &InteractionWriter{cw: csv.NewWriter(w), rec: make([]string, len(InteractionColumns))}
}

// Write writes one interaction; the header is written before the first one (or by
// Flush if there is none). It refuses what the reader would refuse in a single row:
// empty ids and skill ids holding the list separator. It does not check time order.
func (w *InteractionWriter) Write(it Interaction) error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	if it.StudentID == "" || it.ItemID == "" {
		return fmt.Errorf("datasets.InteractionWriter: empty student or item id: %w", ErrInvalid)
	}
	for _, s := range it.Skills {
		if s == "" || strings.Contains(s, ";") || strings.TrimSpace(s) != s {
			return fmt.Errorf("datasets.InteractionWriter: skill id %q is empty, padded or holds ';': %w", s, ErrInvalid)
		}
	}
	w.rec[0], w.rec[1] = it.StudentID, it.ItemID
	w.rec[2] = strings.Join(it.Skills, ";")
	w.rec[3] = "0"
	if it.Correct {
		w.rec[3] = "1"
	}
	w.rec[4] = stamp(it)
	if err := w.cw.Write(w.rec); err != nil {
		return fmt.Errorf("datasets.InteractionWriter: %w", err)
	}
	return nil
}

// Flush writes any buffered data (and the header if nothing was written) and reports
// the first write error.
func (w *InteractionWriter) Flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("datasets.InteractionWriter: %w", err)
	}
	return nil
}

func (w *InteractionWriter) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	if err := w.cw.Write(InteractionColumns); err != nil {
		return fmt.Errorf("datasets.InteractionWriter: %w", err)
	}
	return nil
}

// WriteInteractions writes a whole interaction log.
func WriteInteractions(w io.Writer, its []Interaction) error {
	iw := NewInteractionWriter(w)
	for _, it := range its {
		if err := iw.Write(it); err != nil {
			return err
		}
	}
	return iw.Flush()
}

// splitSkills splits a `;`-separated id list, trimming spaces and dropping empty items.
// An empty string gives nil.
func splitSkills(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ";")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func stamp(it Interaction) string {
	if it.Timed() {
		return it.Time.Format(time.RFC3339Nano)
	}
	return strconv.FormatInt(it.Order, 10)
}

// csvError turns an encoding/csv error into a Error when it locates the problem.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Line, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("datasets: reading %s: %w", name, err)
}
