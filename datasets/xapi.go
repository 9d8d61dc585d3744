package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
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
	b.Grow(320)
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
	q, _ := json.Marshal(s)
	b.Write(q)
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
