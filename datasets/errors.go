package datasets

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every validation error, so callers can tell bad input
// (exit status 2, HTTP 400) from a failure of their own.
var ErrInvalid = errors.New("invalid input")

// RowError locates one bad value: the file (or entity kind, for an API batch), the line
// (1 is the CSV header; for JSON Lines the line number; for a JSON array the element
// index + 1), and the field (a column name, or a JSON path such as "actor.account.name").
type RowError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *RowError) Error() string {
	switch {
	case e.Line > 0 && e.Field != "":
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Unwrap makes every RowError an ErrInvalid.
func (e *RowError) Unwrap() error { return ErrInvalid }
