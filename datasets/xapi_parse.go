package datasets

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// The wire form of the statement parts Parcours reads or validates. Everything else an
// LRS client may send (authority, attachments, extensions, definitions, display names)
// is skipped unread: it is not ours to keep. Pointers tell "absent or null" from a zero
// value; json.RawMessage takes the parts whose shape varies. encoding/json matches keys
// case-insensitively when no exact key exists; that leniency is harmless here.
type (
	wireStatement struct {
		ID        *string          `json:"id"`
		Actor     *wireActor       `json:"actor"`
		Verb      *wireVerb        `json:"verb"`
		Object    *wireObject      `json:"object"`
		Result    *wireResult      `json:"result"`
		Context   *wireContext     `json:"context"`
		Timestamp *string          `json:"timestamp"`
		Stored    *string          `json:"stored"`
		Version   *string          `json:"version"`
		Authority *json.RawMessage `json:"authority"`
	}
	// wireAgent is what an Agent or a Group carries, as actor or as object: its type,
	// its inverse functional identifier (one of four forms) and a group's members.
	wireAgent struct {
		ObjectType  *string            `json:"objectType"`
		Account     *wireAccount       `json:"account"`
		Mbox        *string            `json:"mbox"`
		MboxSHA1Sum *string            `json:"mbox_sha1sum"`
		OpenID      *string            `json:"openid"`
		Member      *[]json.RawMessage `json:"member"`
	}
	wireActor struct {
		wireAgent
		Name *string `json:"name"`
	}
	wireAccount struct {
		HomePage *string `json:"homePage"`
		Name     *string `json:"name"`
	}
	wireVerb struct {
		ID      *string            `json:"id"`
		Display *map[string]string `json:"display"`
	}
	wireObject struct {
		wireAgent
		ID     *string          `json:"id"`
		Actor  *json.RawMessage `json:"actor"`
		Verb   *json.RawMessage `json:"verb"`
		Object *json.RawMessage `json:"object"`
	}
	wireResult struct {
		Score      *wireScore `json:"score"`
		Success    *bool      `json:"success"`
		Completion *bool      `json:"completion"`
		Duration   *string    `json:"duration"`
		Response   *string    `json:"response"`
	}
	wireScore struct {
		Scaled *float64 `json:"scaled"`
		Raw    *float64 `json:"raw"`
		Min    *float64 `json:"min"`
		Max    *float64 `json:"max"`
	}
	wireContext struct {
		Registration      *string                     `json:"registration"`
		ContextActivities *map[string]json.RawMessage `json:"contextActivities"`
	}
)

// XAPIRef is how a statement named its actor and its activity, as read; MapStatements
// turns it into a pupil id and a resource id.
type XAPIRef struct {
	// Actor is the actor's key, the only form in which an unmapped actor is kept:
	// "account:<homePage>|<name>", "mbox_sha1sum:<hex>" (a mailbox is hashed as it is
	// read: the address itself is never kept), "openid:<iri>", or "group".
	Actor string
	// AccountName is actor.account.name; MboxSHA1 the hashes that may name the pupil's
	// mailbox (as sent and lower-cased).
	AccountName string
	MboxSHA1    []string
	// ObjectType is the object's type: Activity, StatementRef, Agent, Group or
	// SubStatement.
	ObjectType string
	// Activities are the ids a resource may be known by, most specific first: object.id,
	// object.id without H5P's subContentId, then context.contextActivities parent and
	// grouping (innermost first).
	Activities []string
	// IDAssigned tells that the statement came without id; TimestampAssigned that it
	// came without timestamp, taken from the time it was stored.
	IDAssigned, TimestampAssigned bool
}

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
		// encoding/json names the embedded wireAgent in its path: it is not a JSON key.
		at := strings.ReplaceAll(te.Field, "wireAgent.", "")
		want := "a " + te.Type.String()
		switch te.Type.Kind() {
		case reflect.Pointer, reflect.Struct, reflect.Map:
			want = "an object"
			if te.Type.Kind() == reflect.Pointer && te.Type.Elem().Kind() != reflect.Struct && te.Type.Elem().Kind() != reflect.Map {
				want = "a " + te.Type.Elem().String()
			}
		case reflect.Slice:
			want = "an array"
		}
		want = strings.NewReplacer("a float64", "a number", "a bool", "true or false").Replace(want)
		if strings.HasPrefix(te.Value, "number ") && want == "a number" {
			return nil, field(at, "%s is out of range", te.Value)
		}
		return nil, field(at, "must be %s, not %s", want, te.Value)
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

// parseCtx is what the caller supplies for the parts an LRS assigns.
type parseCtx struct {
	// newID names a statement sent without id, from its bytes.
	newID func(raw []byte) string
	// stored is when the statement is stored: its timestamp when it has none. Zero:
	// the statement's own "stored" property, else the statement is refused.
	stored time.Time
}

var versionRE = regexp.MustCompile(`^1\.0(\.[0-9]+)?$`)

// parseStatement decodes and validates one statement. Errors are *jsonErr locating the
// field.
func parseStatement(raw []byte, pc parseCtx) (Statement, error) {
	var st Statement
	w, err := decodeWire(raw)
	if err != nil {
		return st, err
	}
	ref := &XAPIRef{}
	st.Ref = ref
	switch {
	case w.ID == nil && pc.newID != nil:
		st.ID, ref.IDAssigned = pc.newID(raw), true
	case w.ID == nil:
		return st, missing("id")
	case !isUUID(*w.ID):
		return st, field("id", "%q is not a UUID", truncate(*w.ID))
	default:
		st.ID = strings.ToLower(*w.ID)
	}
	if w.Version != nil && !versionRE.MatchString(*w.Version) {
		return st, field("version", "%q is not a 1.0.x version", truncate(*w.Version))
	}
	if err := parseActor(w.Actor, ref, "actor"); err != nil {
		return st, err
	}
	st.StudentID = ref.AccountName
	switch {
	case w.Verb == nil:
		return st, missing("verb")
	case w.Verb.ID == nil:
		return st, missing("verb.id")
	case !isIRI(*w.Verb.ID):
		return st, field("verb.id", "%q is not an IRI", truncate(*w.Verb.ID))
	}
	st.Verb = *w.Verb.ID
	if err := parseObject(w.Object, st.Verb == VerbVoided, ref); err != nil {
		return st, err
	}
	st.ObjectID = ref.Activities[0]
	if err := parseResult(w.Result, &st); err != nil {
		return st, err
	}
	if err := parseContext(w.Context, ref); err != nil {
		return st, err
	}
	var stored time.Time
	if w.Stored != nil {
		if stored, err = ParseXAPITime(*w.Stored); err != nil {
			return st, field("stored", "%v", err)
		}
	}
	if !pc.stored.IsZero() {
		stored = pc.stored // the LRS sets stored: a client's value is not ours to trust
	}
	switch {
	case w.Timestamp != nil:
		if st.Timestamp, err = ParseXAPITime(*w.Timestamp); err != nil {
			return st, field("timestamp", "%v", err)
		}
	case stored.IsZero():
		return st, field("timestamp", "missing, and no stored time to take it from")
	default:
		st.Timestamp, ref.TimestampAssigned = stored.UTC(), true
	}
	return st, nil
}

// ParseXAPITime reads an ISO 8601 timestamp as xAPI uses them: RFC 3339, or without a
// zone (taken as UTC, as the spec allows).
func ParseXAPITime(s string) (time.Time, error) {
	t, err := ParseTime(s)
	if err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err2 := time.Parse(layout, s); err2 == nil && t.Year() >= 1900 && t.Year() <= 2200 {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// mboxHashes returns the hashes an mbox may be known by: of the IRI as sent and
// lower-cased (mail domains are case-insensitive, and people type addresses anyhow).
func mboxHashes(mbox string) []string {
	h := []string{SHA1Hex(mbox)}
	if l := strings.ToLower(mbox); l != mbox {
		h = append(h, SHA1Hex(l))
	}
	return h
}

// SHA1Hex is the mbox_sha1sum of an mbox IRI.
func SHA1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// MboxSHA1s returns the hashes under which a roster mailbox matches statements.
func MboxSHA1s(mbox string) []string {
	if mbox == "" {
		return nil
	}
	return mboxHashes(mbox)
}

func isHex40(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseAgent validates an Agent's or identified Group's inverse functional identifier:
// exactly one of mbox, mbox_sha1sum, openid, account. It fills ref's actor key and the
// mapping keys. For an anonymous group (no identifier) it returns "".
func parseIFI(at string, a *wireAgent, ref *XAPIRef, group bool) error {
	acc, mbox, sha, openid := a.Account, a.Mbox, a.MboxSHA1Sum, a.OpenID
	n := 0
	for _, p := range []bool{acc != nil, mbox != nil, sha != nil, openid != nil} {
		if p {
			n++
		}
	}
	if n > 1 {
		return field(at, "has %d identifiers: an Agent has exactly one of mbox, mbox_sha1sum, openid, account", n)
	}
	if n == 0 {
		if group {
			return nil
		}
		return field(at, "has no identifier: want one of mbox, mbox_sha1sum, openid, account")
	}
	switch {
	case mbox != nil:
		if m, ok := NormalizeMbox(*mbox); !ok || !strings.HasPrefix(*mbox, "mailto:") || m != *mbox {
			return field(at+".mbox", "%q is not a mailto: IRI", truncate(*mbox))
		}
		hs := mboxHashes(*mbox)
		ref.Actor, ref.MboxSHA1 = "mbox_sha1sum:"+hs[0], hs
	case sha != nil:
		if !isHex40(*sha) {
			return field(at+".mbox_sha1sum", "%q is not a hexadecimal SHA-1", truncate(*sha))
		}
		h := strings.ToLower(*sha)
		ref.Actor, ref.MboxSHA1 = "mbox_sha1sum:"+h, []string{h}
	case openid != nil:
		if !isIRI(*openid) {
			return field(at+".openid", "%q is not a URI", truncate(*openid))
		}
		ref.Actor = "openid:" + *openid
	default:
		switch {
		case acc.HomePage == nil:
			return missing(at + ".account.homePage")
		case !isIRI(*acc.HomePage):
			return field(at+".account.homePage", "%q is not an IRL", truncate(*acc.HomePage))
		case acc.Name == nil:
			return missing(at + ".account.name")
		}
		if msg := checkID(*acc.Name); msg != "" {
			return field(at+".account.name", "%s", msg)
		}
		ref.Actor, ref.AccountName = "account:"+*acc.HomePage+"|"+*acc.Name, *acc.Name
	}
	return nil
}

func parseActor(a *wireActor, ref *XAPIRef, at string) error {
	if a == nil {
		return missing(at)
	}
	group := false
	if a.ObjectType != nil {
		switch *a.ObjectType {
		case "Agent":
		case "Group":
			group = true
		default:
			return field(at+".objectType", "%q is not Agent or Group", truncate(*a.ObjectType))
		}
	}
	if !group && a.Member != nil {
		return field(at+".member", "only a Group has members")
	}
	if err := parseIFI(at, &a.wireAgent, ref, group); err != nil {
		return err
	}
	if group {
		if ref.Actor == "" && (a.Member == nil || len(*a.Member) == 0) {
			return field(at+".member", "an anonymous Group needs members")
		}
		// A group is not one pupil: its statements are kept unmapped.
		ref.Actor, ref.AccountName, ref.MboxSHA1 = "group", "", nil
	}
	return nil
}

func parseObject(o *wireObject, voiding bool, ref *XAPIRef) error {
	if o == nil {
		return missing("object")
	}
	ot := "Activity"
	if o.ObjectType != nil {
		ot = *o.ObjectType
	}
	ref.ObjectType = ot
	if voiding && ot != "StatementRef" {
		return field("object.objectType", "a voiding statement's object must be a StatementRef, not %q", truncate(ot))
	}
	switch ot {
	case "Activity":
		if o.ID == nil {
			return missing("object.id")
		}
		if msg := activityIDProblem(*o.ID); msg != "" {
			return field("object.id", "%s", msg)
		}
		ref.Activities = append(ref.Activities, *o.ID)
		if base, ok := withoutSubContent(*o.ID); ok {
			ref.Activities = append(ref.Activities, base)
		}
	case "StatementRef":
		switch {
		case o.ID == nil:
			return missing("object.id")
		case !isUUID(*o.ID):
			return field("object.id", "%q is not a statement id (UUID)", truncate(*o.ID))
		}
		ref.Activities = append(ref.Activities, strings.ToLower(*o.ID))
	case "Agent", "Group":
		var sub XAPIRef
		if err := parseIFI("object", &o.wireAgent, &sub, ot == "Group"); err != nil {
			return err
		}
		ref.Activities = append(ref.Activities, ot) // never a resource: kept unmapped
	case "SubStatement":
		switch {
		case o.Actor == nil:
			return missing("object.actor")
		case o.Verb == nil:
			return missing("object.verb")
		case o.Object == nil:
			return missing("object.object")
		}
		ref.Activities = append(ref.Activities, ot)
	default:
		return field("object.objectType", "%q is not Activity, Agent, Group, SubStatement or StatementRef", truncate(ot))
	}
	return nil
}

// withoutSubContent drops H5P's subContentId query parameter: a question inside an H5P
// content is reported as that content's URL plus ?subContentId=…, and maps to the
// content's resource when the question itself is not one.
func withoutSubContent(id string) (string, bool) {
	u, err := url.Parse(id)
	if err != nil || u.RawQuery == "" {
		return "", false
	}
	q := u.Query()
	if !q.Has("subContentId") {
		return "", false
	}
	q.Del("subContentId")
	u.RawQuery = q.Encode()
	return u.String(), true
}

func parseResult(r *wireResult, st *Statement) error {
	if r == nil {
		return nil
	}
	if s := r.Score; s != nil {
		if s.Scaled != nil && (*s.Scaled < -1 || *s.Scaled > 1) {
			return field("result.score.scaled", "%s is outside [-1, 1]", FormatFloat(*s.Scaled))
		}
		if s.Min != nil && s.Max != nil && *s.Min >= *s.Max {
			return field("result.score.max", "%s is not above min %s", FormatFloat(*s.Max), FormatFloat(*s.Min))
		}
		if s.Raw != nil && s.Min != nil && *s.Raw < *s.Min {
			return field("result.score.raw", "%s is below min %s", FormatFloat(*s.Raw), FormatFloat(*s.Min))
		}
		if s.Raw != nil && s.Max != nil && *s.Raw > *s.Max {
			return field("result.score.raw", "%s is above max %s", FormatFloat(*s.Raw), FormatFloat(*s.Max))
		}
		switch {
		case s.Scaled != nil:
			f := *s.Scaled
			st.Scaled = &f
		case s.Raw != nil && s.Min != nil && s.Max != nil:
			// H5P often sends raw/min/max alone: the scaled score is where raw lies
			// between them.
			f := (*s.Raw - *s.Min) / (*s.Max - *s.Min)
			st.Scaled = &f
		}
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

// parseContext checks the context parts Parcours reads: the registration, and the
// context activities whose ids may name the resource (parent, grouping).
func parseContext(c *wireContext, ref *XAPIRef) error {
	if c == nil {
		return nil
	}
	if c.Registration != nil && !isUUID(*c.Registration) {
		return field("context.registration", "%q is not a UUID", truncate(*c.Registration))
	}
	if c.ContextActivities == nil {
		return nil
	}
	for _, kind := range []string{"parent", "grouping", "category", "other"} {
		raw, ok := (*c.ContextActivities)[kind]
		if !ok {
			continue
		}
		ids, err := contextActivityIDs(raw, "context.contextActivities."+kind)
		if err != nil {
			return err
		}
		switch kind {
		case "parent":
			ref.Activities = append(ref.Activities, ids...)
		case "grouping":
			// Moodle lists the site, the course, then the module: innermost last.
			for i := len(ids) - 1; i >= 0; i-- {
				ref.Activities = append(ref.Activities, ids[i])
			}
		}
	}
	return nil
}

// contextActivityIDs reads one context-activities entry: an Activity or an array of
// them (xAPI 1.0.0 allowed a single object).
func contextActivityIDs(raw json.RawMessage, at string) ([]string, error) {
	type act struct {
		ID *string `json:"id"`
	}
	one := !strings.HasPrefix(strings.TrimSpace(string(raw)), "[")
	list := []json.RawMessage{raw}
	if !one {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, field(at, "must be an array of activities")
		}
	}
	ids := make([]string, 0, len(list))
	for i, r := range list {
		p := at
		if !one {
			p = fmt.Sprintf("%s.%d", at, i)
		}
		var a *act
		if err := json.Unmarshal(r, &a); err != nil || a == nil {
			return nil, field(p, "must be an activity (an object with an id)")
		}
		if a.ID == nil {
			return nil, missing(p + ".id")
		}
		if msg := activityIDProblem(*a.ID); msg != "" {
			return nil, field(p+".id", "%s", msg)
		}
		ids = append(ids, *a.ID)
	}
	return ids, nil
}

// activityIDProblem says what is wrong with an activity id, or "". xAPI wants an IRI;
// the data folder's usage.jsonl names resources by their opaque ids, so those are
// accepted too.
func activityIDProblem(id string) string {
	switch {
	case id == "" || strings.TrimSpace(id) != id:
		return "empty or with surrounding spaces"
	case len(id) > maxIRIBytes:
		return fmt.Sprintf("longer than %d bytes", maxIRIBytes)
	case hasControl(id, false):
		return "contains a control character"
	}
	return ""
}
