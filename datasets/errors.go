package datasets

import (
	"errors"
	"fmt"
)

// Code classifies a domain error by what the caller can do about it. api/ maps each code
// to one HTTP status and cmd/ to an exit status; nothing else looks at codes.
//
// A Code is itself an error, so the codes double as sentinels: fmt.Errorf("...: %w",
// ErrNotFound) and errors.Is(err, ErrNotFound) work whether err is a *Error or wraps a
// bare code.
type Code uint8

// The codes. The zero value is ErrInvalid because most domain errors are bad input: an
// Error literal without a Code is a validation error.
const (
	ErrInvalid     Code = iota // bad input: HTTP 400, exit status 2
	ErrNotFound                // no such pupil, resource, profile...: HTTP 404
	ErrConflict                // an id already stored with other content: HTTP 409
	ErrUnavailable             // a store is unreachable; retry later: HTTP 503
)

var codeText = [...]string{
	ErrInvalid:     "invalid input",
	ErrNotFound:    "not found",
	ErrConflict:    "conflicting ids",
	ErrUnavailable: "store unavailable",
}

func (c Code) Error() string {
	if int(c) < len(codeText) {
		return codeText[c]
	}
	return fmt.Sprintf("error code %d", uint8(c))
}

// Error is Parcours's one domain error: a code, where the bad value is (file or entity
// kind, line, field) when known, and a message fit for the client. Err, when set, is the
// cause: it is for the log and is never shown to a client.
//
// Line is 1 for a CSV header, the line of a JSON Lines file, or a JSON array element's
// index + 1. Field is a column name, a request field ("subject", "k") or a JSON pointer
// ("/3/score", "/actor/account/name").
//
// Construct one with a literal, or with Errorf:
//
//	return datasets.Errorf(datasets.ErrInvalid, "subject", "unknown subject %q", s)
//	return &datasets.Error{File: "grades.csv", Line: 7, Field: "score", Msg: "not a number"}
type Error struct {
	Code  Code
	File  string
	Line  int
	Field string
	Msg   string
	Err   error
}

// Errorf returns an *Error of code about field (empty when the error is about no one
// field) with a formatted message.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	var s string
	switch {
	case e.File != "" && e.Line > 0:
		s = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	case e.File != "":
		s = e.File + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes errors.Is(err, code) true for an *Error of that code.
func (e *Error) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == e.Code
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error or bare Code in err's chain, and false when
// err is no domain error (a bug, a context error, an I/O failure...).
func CodeOf(err error) (Code, bool) {
	var e *Error
	var c Code
	switch {
	case errors.As(err, &e):
		return e.Code, true
	case errors.As(err, &c):
		return c, true
	}
	return 0, false
}
