package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// jsonErr is a bad value inside one statement: the path of keys down to it and why.
type jsonErr struct {
	path []string
	msg  string
}

func (e *jsonErr) Error() string { return dotted(e.path) + ": " + e.msg }

func dotted(path []string) string { return strings.Join(path, ".") }

// pointer renders path as an RFC 6901 JSON pointer below prefix.
func pointer(prefix string, path []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

// StatementsSource is the File of the errors of ParseStatementJSON and
// ParseStatementsJSON, which read a request body rather than a file.
const StatementsSource = "statements"

// ParseStatementJSON decodes one xAPI statement (a JSON object) received at stored: a
// statement without id gets a random one, without timestamp the stored time. A bad
// field is a *Error whose Field is a JSON pointer such as /actor/account/name.
func ParseStatementJSON(b []byte, stored time.Time) (Statement, error) {
	st, err := parseStatement(b, parseCtx{newID: func([]byte) string { return NewUUID() }, stored: stored})
	if err != nil {
		return st, pointerError(err, "", 1)
	}
	return st, nil
}

// ParseStatementsJSON decodes what POST /xapi/statements receives: one statement or an
// array of them. A bad statement is a *Error with Line the element index + 1 and
// Field a JSON pointer from the document root (/3/verb/id); ids repeated in the batch
// are refused.
func ParseStatementsJSON(b []byte, stored time.Time) ([]Statement, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		st, err := ParseStatementJSON(b, stored)
		if err != nil {
			return nil, err
		}
		return []Statement{st}, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, &Error{File: StatementsSource, Msg: "not a JSON array of statements: " + err.Error()}
	}
	out := make([]Statement, 0, len(raws))
	first := make(map[string]int, len(raws)) // a batch is small: keep where each id was
	pc := parseCtx{newID: func([]byte) string { return NewUUID() }, stored: stored}
	for i, raw := range raws {
		st, err := parseStatement(raw, pc)
		if err != nil {
			return nil, pointerError(err, "/"+strconv.Itoa(i), i+1)
		}
		if j, dup := first[st.ID]; dup {
			return nil, &Error{File: StatementsSource, Line: i + 1, Field: pointer("/"+strconv.Itoa(i), []string{"id"}),
				Msg: fmt.Sprintf("duplicate statement id %q (first at index %d)", st.ID, j)}
		}
		first[st.ID] = i
		out = append(out, st)
	}
	return out, nil
}

func pointerError(err error, prefix string, line int) error {
	var je *jsonErr
	if errors.As(err, &je) {
		return &Error{File: StatementsSource, Line: line, Field: pointer(prefix, je.path), Msg: je.msg}
	}
	return &Error{File: StatementsSource, Line: line, Msg: err.Error()}
}

// ReadStatements streams usage.jsonl: one statement a line, blank lines skipped. A bad
// statement stops the read with a *Error naming the line and the dotted field path
// (usage.jsonl:12: actor.account.name: missing). Statement ids repeated in the file are
// refused. A statement without id is named by a UUID derived from its bytes, so that
// reading the file again gives the same ids; one without timestamp takes its own
// "stored" property, else it is refused (see ReadStatementsStored).
func (l Limits) ReadStatements(r io.Reader, name string, fn func(Statement) error) error {
	return l.readStatements(r, name, time.Time{}, func(st Statement, _ int) error { return fn(st) })
}

// ReadStatementsStored is ReadStatements where a statement without timestamp nor
// stored property is taken as stored at stored (e.g. when its file was written).
func (l Limits) ReadStatementsStored(r io.Reader, name string, stored time.Time, fn func(Statement) error) error {
	return l.readStatements(r, name, stored, func(st Statement, _ int) error { return fn(st) })
}

// ReadStatements streams usage.jsonl with DefaultLimits.
func ReadStatements(r io.Reader, name string, fn func(Statement) error) error {
	return DefaultLimits.ReadStatements(r, name, fn)
}

// ReadStatementsAll reads a whole usage.jsonl.
func ReadStatementsAll(r io.Reader, name string) ([]Statement, error) {
	return collect(func(fn func(Statement) error) error { return ReadStatements(r, name, fn) })
}

func (l Limits) readStatements(r io.Reader, name string, stored time.Time, fn func(Statement, int) error) error {
	l = l.withDefaults()
	pc := parseCtx{newID: NameUUID, stored: stored}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(4096, l.MaxLineBytes)), l.MaxLineBytes)
	var ids *idSet
	if !l.CallerChecksDuplicates {
		ids = newIDSet()
	}
	line, rows := 0, 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if rows++; l.MaxRows > 0 && rows > l.MaxRows {
			return &Error{File: name, Line: line, Msg: fmt.Sprintf("more than %d statements", l.MaxRows)}
		}
		st, err := parseStatement(b, pc)
		if err != nil {
			var je *jsonErr
			if errors.As(err, &je) {
				return &Error{File: name, Line: line, Field: dotted(je.path), Msg: je.msg}
			}
			return &Error{File: name, Line: line, Msg: err.Error()}
		}
		if ids != nil && ids.add(st.ID) {
			return &Error{File: name, Line: line, Field: "id", Msg: fmt.Sprintf("duplicate statement id %q (already earlier in the file)", st.ID)}
		}
		if err := fn(st, line); err != nil {
			var re *Error
			if errors.As(err, &re) {
				return err
			}
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &Error{File: name, Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", l.MaxLineBytes)}
		}
		return fmt.Errorf("datasets: reading %s: %w", name, err)
	}
	return nil
}
