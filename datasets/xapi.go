package datasets

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// XAPIVersion is the xAPI version Parcours reads and writes.
const XAPIVersion = "1.0.3"

// AccountHomePage is the actor.account.homePage written on every statement: the ENT that
// issued the pupil's opaque id. Readers accept any homePage; only the name is kept.
const AccountHomePage = "https://ent.parcours.fr"

// MarshalXAPI encodes s as one xAPI 1.0.3 statement on a single line, without a trailing
// newline. The key order is fixed, so the same statement always gives the same bytes.
// A voiding statement's object is a StatementRef; any other object is an Activity.
func (s Statement) MarshalXAPI() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(512)
	b.WriteString(`{"id":`)
	writeJSONString(&b, s.ID)
	b.WriteString(`,"actor":{"objectType":"Agent","account":{"homePage":`)
	writeJSONString(&b, AccountHomePage)
	b.WriteString(`,"name":`)
	writeJSONString(&b, s.StudentID)
	b.WriteString(`}},"verb":{"id":`)
	writeJSONString(&b, s.Verb)
	b.WriteString(`},"object":{"objectType":`)
	if s.Verb == VerbVoided {
		b.WriteString(`"StatementRef"`)
	} else {
		b.WriteString(`"Activity"`)
	}
	b.WriteString(`,"id":`)
	writeJSONString(&b, s.ObjectID)
	b.WriteByte('}')
	if s.Scaled != nil || s.Success != nil || s.Completion != nil || s.Duration != nil {
		b.WriteString(`,"result":{`)
		sep := ""
		if s.Scaled != nil {
			f := *s.Scaled
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("datasets.MarshalXAPI: statement %q: result.score.scaled is %v", s.ID, f)
			}
			b.WriteString(`"score":{"scaled":`)
			b.WriteString(FormatFloat(f))
			b.WriteByte('}')
			sep = ","
		}
		if s.Success != nil {
			b.WriteString(sep + `"success":` + strconv.FormatBool(*s.Success))
			sep = ","
		}
		if s.Completion != nil {
			b.WriteString(sep + `"completion":` + strconv.FormatBool(*s.Completion))
			sep = ","
		}
		if s.Duration != nil {
			d, err := FormatISODuration(*s.Duration)
			if err != nil {
				return nil, fmt.Errorf("datasets.MarshalXAPI: statement %q: %w", s.ID, err)
			}
			b.WriteString(sep + `"duration":`)
			writeJSONString(&b, d)
		}
		b.WriteByte('}')
	}
	b.WriteString(`,"timestamp":`)
	writeJSONString(&b, FormatTime(s.Timestamp))
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSONString appends s as a JSON string literal. encoding/json never fails on a
// string (invalid UTF-8 becomes U+FFFD), so the error is impossible.
func writeJSONString(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		// The fast path covers ids, IRIs and timestamps: printable ASCII that
		// encoding/json would copy as is (it escapes ", \ and, for HTML, < > &).
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			b.Write(q)
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// FormatISODuration writes d as an ISO 8601 duration such as PT1H2M3.5S, the form xAPI
// uses for result.duration. Zero is PT0S; negative durations have no ISO 8601 form.
func FormatISODuration(d time.Duration) (string, error) {
	if d < 0 {
		return "", errors.New("result.duration: negative duration")
	}
	if d == 0 {
		return "PT0S", nil
	}
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	b := []byte("PT")
	if h > 0 {
		b = strconv.AppendInt(b, int64(h), 10)
		b = append(b, 'H')
	}
	if m > 0 {
		b = strconv.AppendInt(b, int64(m), 10)
		b = append(b, 'M')
	}
	if d > 0 {
		sec := d / time.Second
		frac := d - sec*time.Second
		b = strconv.AppendInt(b, int64(sec), 10)
		if frac > 0 {
			f := fmt.Sprintf("%09d", int64(frac))
			for f[len(f)-1] == '0' {
				f = f[:len(f)-1]
			}
			b = append(b, '.')
			b = append(b, f...)
		}
		b = append(b, 'S')
	}
	return string(b), nil
}

// ParseISODuration reads an ISO 8601 duration of the forms xAPI uses: PnW, or
// P[nD][T[nH][nM][n[.f]S]], with a fraction (point or comma) on the last unit only.
// Years and months have no fixed length and are refused, as are durations over
// MaxStatementDuration. Seconds are exact to the nanosecond, so FormatISODuration's
// output reads back to the same value.
func ParseISODuration(s string) (time.Duration, error) {
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration: %s", truncate(s), why)
	}
	if len(s) < 3 || len(s) > 64 || s[0] != 'P' {
		return bad("want P[nD]T[nH][nM][nS]")
	}
	units := map[byte]time.Duration{'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour, 'H': time.Hour, 'M': time.Minute, 'S': time.Second}
	const order = "WDTHMS" // each unit comes after the ones before it
	var total time.Duration
	rest, last, inTime, fraction := s[1:], -1, false, false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return bad("misplaced T")
			}
			inTime, last, rest = true, 2, rest[1:]
			if rest == "" {
				return bad("T with no time after it")
			}
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		whole := rest[:i]
		frac := ""
		if i < len(rest) && (rest[i] == '.' || rest[i] == ',') {
			j := i + 1
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			frac, i = rest[i+1:j], j
			if frac == "" {
				return bad("malformed number")
			}
		}
		if whole == "" || i == len(rest) {
			return bad("a number must be followed by a unit")
		}
		if fraction {
			return bad("only the last unit may have a fraction")
		}
		fraction = frac != ""
		u := rest[i]
		if u == 'Y' || (u == 'M' && !inTime) {
			return bad("years and months have no fixed length")
		}
		pos := strings.IndexByte(order, u)
		if pos < 0 || u == 'T' || pos <= last || inTime != (pos > 2) || (u == 'W' && i+2 != len(s)) {
			return bad(fmt.Sprintf("unexpected unit %q", u))
		}
		last, rest = pos, rest[i+1:]
		unit := units[u]
		v, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || v > int64(MaxStatementDuration/unit) {
			return bad("longer than " + MaxStatementDuration.String())
		}
		total += time.Duration(v) * unit
		if frac != "" {
			if u == 'S' {
				ns := (frac + "000000000")[:9] // digits past the nanosecond are dropped
				n, _ := strconv.ParseInt(ns, 10, 64)
				total += time.Duration(n)
			} else {
				f, _ := strconv.ParseFloat("0."+frac, 64)
				total += time.Duration(math.Round(f * float64(unit)))
			}
		}
		if total > MaxStatementDuration {
			return bad("longer than " + MaxStatementDuration.String())
		}
	}
	if last < 0 || last == 2 {
		return bad("no value")
	}
	return total, nil
}

// MaxStatementDuration bounds result.duration: no use of a resource lasts longer.
const MaxStatementDuration = 366 * 24 * time.Hour

// NewUUID returns a random (version 4) UUID: the id an LRS gives a statement sent
// without one.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("datasets.NewUUID: " + err.Error()) // crypto/rand never fails on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// statementNamespace is the UUID namespace of NameUUID (a version 4 UUID drawn once).
var statementNamespace = []byte{0x5e, 0x1c, 0x4b, 0x0a, 0x8f, 0x23, 0x4d, 0x61, 0x9b, 0x7e, 0x2a, 0x10, 0xc4, 0x3f, 0x6d, 0x95}

// NameUUID returns the name-based (version 5, SHA-1) UUID of a statement's bytes: the
// id of a statement read from a file without one, the same each time the file is read.
func NameUUID(raw []byte) string {
	h := sha1.New()
	h.Write(statementNamespace)
	h.Write(raw)
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
