package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errNonNumericDate refuses a token whose exp, nbf or iat is not a JSON number: RFC 7519
// makes them NumericDates, and golang-jwt reads a numeric string such as "9999999999" as
// one, so a token minted by a careless issuer with a string exp was accepted.
var errNonNumericDate = errors.New("exp, nbf and iat must be JSON numbers")

// checkNumericDates decodes the token's payload (unverified: this is a shape check done
// before the signature is checked, which remains the authority) and refuses time claims
// that are not numbers.
func checkNumericDates(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil // not a JWS: the verifier refuses it
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return nil
	}
	for _, k := range []string{"exp", "nbf", "iat"} {
		v, ok := claims[k]
		if !ok {
			continue
		}
		if v = bytes.TrimSpace(v); len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return errNonNumericDate
		}
	}
	return nil
}

// invalidUTF8 answers a JSON body holding invalid UTF-8 (which encoding/json would
// silently turn into U+FFFD) with a problem naming the JSON pointer of the string, or
// returns nil when the body is valid.
func invalidUTF8(body []byte) *Problem {
	if utf8.Valid(body) {
		return nil
	}
	bad := 0
	for bad < len(body) {
		r, n := utf8.DecodeRune(body[bad:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		bad += n
	}
	field := jsonPointerAt(body, int64(bad))
	if field == "" {
		field = "body"
	}
	return badRequest(field, "not valid UTF-8 (byte "+strconv.Itoa(bad)+"): send text in UTF-8")
}

// jsonPointerAt is the JSON pointer of the key or value holding byte offset off, "" when
// the body does not parse up to there.
func jsonPointerAt(body []byte, off int64) string {
	type frame struct {
		obj     bool
		wantKey bool
		key     string
		idx     int
	}
	var st []frame
	pointer := func() string {
		var b strings.Builder
		for _, f := range st {
			b.WriteByte('/')
			if f.obj {
				b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(f.key))
			} else {
				b.WriteString(strconv.Itoa(f.idx))
			}
		}
		return b.String()
	}
	afterValue := func() {
		if n := len(st); n > 0 {
			if st[n-1].obj {
				st[n-1].wantKey = true
			} else {
				st[n-1].idx++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		end := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				st = append(st, frame{obj: d == '{', wantKey: d == '{'})
			default:
				st = st[:len(st)-1]
				afterValue()
			}
			continue
		}
		if n := len(st); n > 0 && st[n-1].obj && st[n-1].wantKey {
			st[n-1].key, _ = tok.(string)
			st[n-1].wantKey = false
			if end > off {
				return pointer()
			}
			continue
		}
		if end > off {
			return pointer()
		}
		afterValue()
	}
}
