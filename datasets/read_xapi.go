package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
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

// jsonObj is one decoded JSON object with the path that leads to it. Keys match
// exactly: xAPI property names are case-sensitive, unlike encoding/json's struct fields.
type jsonObj struct {
	path []string
	m    map[string]json.RawMessage
}

func at(path []string, key string) []string {
	return append(append(make([]string, 0, len(path)+1), path...), key)
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

func decodeObject(path []string, raw json.RawMessage) (*jsonObj, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		if len(path) == 0 {
			return nil, &jsonErr{path: nil, msg: "not a JSON object"}
		}
		return nil, &jsonErr{path: path, msg: "must be an object"}
	}
	return &jsonObj{path: path, m: m}, nil
}

func (o *jsonObj) has(key string) bool { return !isNull(o.m[key]) }

// object returns the child object key; nil without error when it is absent and optional.
func (o *jsonObj) object(key string, required bool) (*jsonObj, error) {
	raw := o.m[key]
	if isNull(raw) {
		if required {
			return nil, &jsonErr{path: at(o.path, key), msg: "missing"}
		}
		return nil, nil
	}
	return decodeObject(at(o.path, key), raw)
}

func (o *jsonObj) str(key string, required bool) (string, bool, error) {
	raw := o.m[key]
	if isNull(raw) {
		if required {
			return "", false, &jsonErr{path: at(o.path, key), msg: "missing"}
		}
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, &jsonErr{path: at(o.path, key), msg: "must be a string"}
	}
	return s, true, nil
}

func (o *jsonObj) boolean(key string) (*bool, error) {
	raw := o.m[key]
	if isNull(raw) {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, &jsonErr{path: at(o.path, key), msg: "must be true or false"}
	}
	return &b, nil
}

func (o *jsonObj) fail(key, format string, args ...any) error {
	return &jsonErr{path: at(o.path, key), msg: fmt.Sprintf(format, args...)}
}

// isUUID reports whether s has the 8-4-4-4-12 hexadecimal form xAPI requires of ids.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

const maxIRIBytes = 2048

// isIRI reports whether s is an absolute IRI: a scheme, then no space or control.
func isIRI(s string) bool {
	if s == "" || len(s) > maxIRIBytes || hasControl(s, false) || strings.ContainsAny(s, " \t") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Opaque != "" || u.Host != "" || u.Path != "")
}

// parseStatement decodes one statement. Errors are *jsonErr locating the field.
func parseStatement(raw []byte) (Statement, error) {
	var st Statement
	top, err := decodeObject(nil, raw)
	if err != nil {
		return st, err
	}
	id, _, err := top.str("id", true)
	if err != nil {
		return st, err
	}
	if !isUUID(id) {
		return st, top.fail("id", "%q is not a UUID", truncate(id))
	}
	st.ID = strings.ToLower(id)
	if st.StudentID, err = parseActor(top); err != nil {
		return st, err
	}
	verb, err := top.object("verb", true)
	if err != nil {
		return st, err
	}
	if st.Verb, _, err = verb.str("id", true); err != nil {
		return st, err
	}
	if !isIRI(st.Verb) {
		return st, verb.fail("id", "%q is not an IRI", truncate(st.Verb))
	}
	if st.ObjectID, err = parseObject(top, st.Verb == VerbVoided); err != nil {
		return st, err
	}
	if err := parseResult(top, &st); err != nil {
		return st, err
	}
	ts, _, err := top.str("timestamp", true)
	if err != nil {
		return st, err
	}
	if st.Timestamp, err = ParseTime(ts); err != nil {
		return st, top.fail("timestamp", "%v", err)
	}
	return st, nil
}

func parseActor(top *jsonObj) (string, error) {
	actor, err := top.object("actor", true)
	if err != nil {
		return "", err
	}
	if ot, ok, err := actor.str("objectType", false); err != nil {
		return "", err
	} else if ok && ot != "Agent" {
		return "", actor.fail("objectType", "%q: the actor must be one pupil (Agent)", truncate(ot))
	}
	for _, ifi := range []string{"mbox", "mbox_sha1sum", "openid"} {
		if actor.has(ifi) {
			return "", actor.fail(ifi, "not accepted: pupils are identified by their ENT account (actor.account.name) only")
		}
	}
	account, err := actor.object("account", true)
	if err != nil {
		return "", err
	}
	if _, _, err := account.str("homePage", false); err != nil {
		return "", err
	}
	name, _, err := account.str("name", true)
	if err != nil {
		return "", err
	}
	if msg := checkID(name); msg != "" {
		return "", account.fail("name", "%s", msg)
	}
	return name, nil
}

func parseObject(top *jsonObj, voiding bool) (string, error) {
	obj, err := top.object("object", true)
	if err != nil {
		return "", err
	}
	ot, _, err := obj.str("objectType", false)
	if err != nil {
		return "", err
	}
	id, _, err := obj.str("id", true)
	if err != nil {
		return "", err
	}
	if voiding {
		if ot != "StatementRef" {
			return "", obj.fail("objectType", "a voiding statement's object must be a StatementRef, not %q", truncate(ot))
		}
		if !isUUID(id) {
			return "", obj.fail("id", "%q is not a statement id (UUID)", truncate(id))
		}
		return strings.ToLower(id), nil
	}
	if ot != "" && ot != "Activity" {
		return "", obj.fail("objectType", "%q: the object must be an Activity (a resource), or a StatementRef under the voided verb", truncate(ot))
	}
	switch {
	case id == "" || strings.TrimSpace(id) != id:
		return "", obj.fail("id", "empty or with surrounding spaces")
	case len(id) > maxIRIBytes:
		return "", obj.fail("id", "longer than %d bytes", maxIRIBytes)
	case hasControl(id, false):
		return "", obj.fail("id", "contains a control character")
	}
	return id, nil
}

func parseResult(top *jsonObj, st *Statement) error {
	res, err := top.object("result", false)
	if err != nil || res == nil {
		return err
	}
	score, err := res.object("score", false)
	if err != nil {
		return err
	}
	if score != nil && score.has("scaled") {
		var f float64
		if err := json.Unmarshal(score.m["scaled"], &f); err != nil {
			return score.fail("scaled", "must be a number")
		}
		if math.IsNaN(f) || f < -1 || f > 1 {
			return score.fail("scaled", "%s is outside [-1, 1]", FormatFloat(f))
		}
		st.Scaled = &f
	}
	if st.Success, err = res.boolean("success"); err != nil {
		return err
	}
	if st.Completion, err = res.boolean("completion"); err != nil {
		return err
	}
	d, ok, err := res.str("duration", false)
	if err != nil || !ok {
		return err
	}
	dur, err := ParseISODuration(d)
	if err != nil {
		return res.fail("duration", "%v", err)
	}
	st.Duration = &dur
	return nil
}

// StatementsSource is the File of the errors of ParseStatementJSON and
// ParseStatementsJSON, which read a request body rather than a file.
const StatementsSource = "statements"

// ParseStatementJSON decodes one xAPI statement (a JSON object). A bad field is a
// *RowError whose Field is a JSON pointer such as /actor/account/name.
func ParseStatementJSON(b []byte) (Statement, error) {
	st, err := parseStatement(b)
	if err != nil {
		return st, pointerError(err, "", 1)
	}
	return st, nil
}

// ParseStatementsJSON decodes what POST /xapi/statements receives: one statement or an
// array of them. A bad statement is a *RowError with Line the element index + 1 and
// Field a JSON pointer from the document root (/3/verb/id); ids repeated in the batch
// are refused.
func ParseStatementsJSON(b []byte) ([]Statement, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		st, err := ParseStatementJSON(b)
		if err != nil {
			return nil, err
		}
		return []Statement{st}, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, &RowError{File: StatementsSource, Msg: "not a JSON array of statements: " + err.Error()}
	}
	out := make([]Statement, 0, len(raws))
	ids := newIDSet()
	for i, raw := range raws {
		st, err := parseStatement(raw)
		if err != nil {
			return nil, pointerError(err, "/"+strconv.Itoa(i), i+1)
		}
		if first, dup := ids.add(st.ID, i+1); dup {
			return nil, &RowError{File: StatementsSource, Line: i + 1, Field: pointer("/"+strconv.Itoa(i), []string{"id"}),
				Msg: fmt.Sprintf("duplicate statement id %q (first at index %d)", st.ID, first-1)}
		}
		out = append(out, st)
	}
	return out, nil
}

func pointerError(err error, prefix string, line int) error {
	var je *jsonErr
	if errors.As(err, &je) {
		return &RowError{File: StatementsSource, Line: line, Field: pointer(prefix, je.path), Msg: je.msg}
	}
	return &RowError{File: StatementsSource, Line: line, Msg: err.Error()}
}

// ReadStatements streams usage.jsonl: one statement a line, blank lines skipped. A bad
// statement stops the read with a *RowError naming the line and the dotted field path
// (usage.jsonl:12: actor.account.name: missing). Statement ids repeated in the file are
// refused.
func (l Limits) ReadStatements(r io.Reader, name string, fn func(Statement) error) error {
	return l.readStatements(r, name, func(st Statement, _ int) error { return fn(st) })
}

// ReadStatements streams usage.jsonl with DefaultLimits.
func ReadStatements(r io.Reader, name string, fn func(Statement) error) error {
	return DefaultLimits.ReadStatements(r, name, fn)
}

// ReadStatementsAll reads a whole usage.jsonl.
func ReadStatementsAll(r io.Reader, name string) ([]Statement, error) {
	return collect(func(fn func(Statement) error) error { return ReadStatements(r, name, fn) })
}

func (l Limits) readStatements(r io.Reader, name string, fn func(Statement, int) error) error {
	l = l.withDefaults()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), l.MaxLineBytes)
	ids := newIDSet()
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
			return &RowError{File: name, Line: line, Msg: fmt.Sprintf("more than %d statements", l.MaxRows)}
		}
		st, err := parseStatement(b)
		if err != nil {
			var je *jsonErr
			if errors.As(err, &je) {
				return &RowError{File: name, Line: line, Field: dotted(je.path), Msg: je.msg}
			}
			return &RowError{File: name, Line: line, Msg: err.Error()}
		}
		if first, dup := ids.add(st.ID, line); dup {
			return &RowError{File: name, Line: line, Field: "id", Msg: fmt.Sprintf("duplicate statement id %q (first on line %d)", st.ID, first)}
		}
		if err := fn(st, line); err != nil {
			var re *RowError
			if errors.As(err, &re) {
				return err
			}
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &RowError{File: name, Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", l.MaxLineBytes)}
		}
		return fmt.Errorf("datasets: reading %s: %w", name, err)
	}
	return nil
}
