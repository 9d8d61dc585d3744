package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
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

// The wire form of the statement parts Parcours reads. Everything else an LRS may send
// (context, authority, attachments, the actor's display name) is skipped unread: it is not
// ours to keep. Pointers tell "absent or null" from a zero value. encoding/json matches
// keys case-insensitively when no exact key exists; that leniency is harmless here.
type (
	wireStatement struct {
		ID        *string     `json:"id"`
		Actor     *wireActor  `json:"actor"`
		Verb      *wireVerb   `json:"verb"`
		Object    *wireObject `json:"object"`
		Result    *wireResult `json:"result"`
		Timestamp *string     `json:"timestamp"`
	}
	wireActor struct {
		ObjectType  *string          `json:"objectType"`
		Account     *wireAccount     `json:"account"`
		Mbox        *json.RawMessage `json:"mbox"`
		MboxSHA1Sum *json.RawMessage `json:"mbox_sha1sum"`
		OpenID      *json.RawMessage `json:"openid"`
	}
	wireAccount struct {
		HomePage *string `json:"homePage"`
		Name     *string `json:"name"`
	}
	wireVerb struct {
		ID *string `json:"id"`
	}
	wireObject struct {
		ObjectType *string `json:"objectType"`
		ID         *string `json:"id"`
	}
	wireResult struct {
		Score      *wireScore `json:"score"`
		Success    *bool      `json:"success"`
		Completion *bool      `json:"completion"`
		Duration   *string    `json:"duration"`
	}
	wireScore struct {
		Scaled *float64 `json:"scaled"`
	}
)

func field(path string, format string, args ...any) error {
	return &jsonErr{path: strings.Split(path, "."), msg: fmt.Sprintf(format, args...)}
}

func missing(path string) error { return field(path, "missing") }

// decodeWire decodes one statement in a single pass, turning encoding/json's errors into
// located ones.
func decodeWire(raw []byte) (*wireStatement, error) {
	var w *wireStatement
	err := json.Unmarshal(raw, &w)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		want := "a " + te.Type.String()
		switch te.Type.Kind() {
		case reflect.Pointer, reflect.Struct:
			want = "an object"
			if te.Type.Kind() == reflect.Pointer && te.Type.Elem().Kind() != reflect.Struct {
				want = "a " + te.Type.Elem().String()
			}
		}
		want = strings.NewReplacer("a float64", "a number", "a bool", "true or false").Replace(want)
		if strings.HasPrefix(te.Value, "number ") && want == "a number" {
			return nil, field(te.Field, "%s is out of range", te.Value)
		}
		return nil, field(te.Field, "must be %s, not %s", want, te.Value)
	case err != nil:
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &jsonErr{msg: fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)}
		}
		return nil, &jsonErr{msg: "not a JSON object"}
	case w == nil:
		return nil, &jsonErr{msg: "not a JSON object (null)"}
	}
	return w, nil
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
	w, err := decodeWire(raw)
	if err != nil {
		return st, err
	}
	if w.ID == nil {
		return st, missing("id")
	}
	if !isUUID(*w.ID) {
		return st, field("id", "%q is not a UUID", truncate(*w.ID))
	}
	st.ID = strings.ToLower(*w.ID)
	if st.StudentID, err = parseActor(w.Actor); err != nil {
		return st, err
	}
	switch {
	case w.Verb == nil:
		return st, missing("verb")
	case w.Verb.ID == nil:
		return st, missing("verb.id")
	case !isIRI(*w.Verb.ID):
		return st, field("verb.id", "%q is not an IRI", truncate(*w.Verb.ID))
	}
	st.Verb = *w.Verb.ID
	if st.ObjectID, err = parseObject(w.Object, st.Verb == VerbVoided); err != nil {
		return st, err
	}
	if err := parseResult(w.Result, &st); err != nil {
		return st, err
	}
	if w.Timestamp == nil {
		return st, missing("timestamp")
	}
	if st.Timestamp, err = ParseTime(*w.Timestamp); err != nil {
		return st, field("timestamp", "%v", err)
	}
	return st, nil
}

func parseActor(a *wireActor) (string, error) {
	switch {
	case a == nil:
		return "", missing("actor")
	case a.ObjectType != nil && *a.ObjectType != "Agent":
		return "", field("actor.objectType", "%q: the actor must be one pupil (Agent)", truncate(*a.ObjectType))
	case a.Mbox != nil:
		return "", field("actor.mbox", "not accepted: pupils are identified by their ENT account (actor.account.name) only")
	case a.MboxSHA1Sum != nil:
		return "", field("actor.mbox_sha1sum", "not accepted: pupils are identified by their ENT account (actor.account.name) only")
	case a.OpenID != nil:
		return "", field("actor.openid", "not accepted: pupils are identified by their ENT account (actor.account.name) only")
	case a.Account == nil:
		return "", missing("actor.account")
	case a.Account.Name == nil:
		return "", missing("actor.account.name")
	}
	name := *a.Account.Name
	if msg := checkID(name); msg != "" {
		return "", field("actor.account.name", "%s", msg)
	}
	return name, nil
}

func parseObject(o *wireObject, voiding bool) (string, error) {
	if o == nil {
		return "", missing("object")
	}
	ot := ""
	if o.ObjectType != nil {
		ot = *o.ObjectType
	}
	if o.ID == nil {
		return "", missing("object.id")
	}
	id := *o.ID
	if voiding {
		if ot != "StatementRef" {
			return "", field("object.objectType", "a voiding statement's object must be a StatementRef, not %q", truncate(ot))
		}
		if !isUUID(id) {
			return "", field("object.id", "%q is not a statement id (UUID)", truncate(id))
		}
		return strings.ToLower(id), nil
	}
	if ot != "" && ot != "Activity" {
		return "", field("object.objectType", "%q: the object must be an Activity (a resource), or a StatementRef under the voided verb", truncate(ot))
	}
	switch {
	case id == "" || strings.TrimSpace(id) != id:
		return "", field("object.id", "empty or with surrounding spaces")
	case len(id) > maxIRIBytes:
		return "", field("object.id", "longer than %d bytes", maxIRIBytes)
	case hasControl(id, false):
		return "", field("object.id", "contains a control character")
	}
	return id, nil
}

func parseResult(r *wireResult, st *Statement) error {
	if r == nil {
		return nil
	}
	if r.Score != nil && r.Score.Scaled != nil {
		f := *r.Score.Scaled
		if f < -1 || f > 1 {
			return field("result.score.scaled", "%s is outside [-1, 1]", FormatFloat(f))
		}
		st.Scaled = &f
	}
	st.Success, st.Completion = r.Success, r.Completion
	if r.Duration != nil {
		d, err := ParseISODuration(*r.Duration)
		if err != nil {
			return field("result.duration", "%v", err)
		}
		st.Duration = &d
	}
	return nil
}

// StatementsSource is the File of the errors of ParseStatementJSON and
// ParseStatementsJSON, which read a request body rather than a file.
const StatementsSource = "statements"

// ParseStatementJSON decodes one xAPI statement (a JSON object). A bad field is a
// *Error whose Field is a JSON pointer such as /actor/account/name.
func ParseStatementJSON(b []byte) (Statement, error) {
	st, err := parseStatement(b)
	if err != nil {
		return st, pointerError(err, "", 1)
	}
	return st, nil
}

// ParseStatementsJSON decodes what POST /xapi/statements receives: one statement or an
// array of them. A bad statement is a *Error with Line the element index + 1 and
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
		return nil, &Error{File: StatementsSource, Msg: "not a JSON array of statements: " + err.Error()}
	}
	out := make([]Statement, 0, len(raws))
	first := make(map[string]int, len(raws)) // a batch is small: keep where each id was
	for i, raw := range raws {
		st, err := parseStatement(raw)
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
	sc.Buffer(make([]byte, 0, min(4096, l.MaxLineBytes)), l.MaxLineBytes)
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
			return &Error{File: name, Line: line, Msg: fmt.Sprintf("more than %d statements", l.MaxRows)}
		}
		st, err := parseStatement(b)
		if err != nil {
			var je *jsonErr
			if errors.As(err, &je) {
				return &Error{File: name, Line: line, Field: dotted(je.path), Msg: je.msg}
			}
			return &Error{File: name, Line: line, Msg: err.Error()}
		}
		if ids.add(st.ID) {
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
