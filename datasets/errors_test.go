package datasets

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		want     Code
		notCode  Code
		wantText string
	}{
		{"LiteralWithoutCodeIsInvalid", &Error{File: "grades.csv", Line: 3, Field: "score", Msg: "not a number"},
			ErrInvalid, ErrNotFound, "grades.csv:3: score: not a number"},
		{"ErrorfNamesTheField", Errorf(ErrInvalid, "subject", "unknown subject %q", "X"),
			ErrInvalid, ErrConflict, `subject: unknown subject "X"`},
		{"WrappedConflictKeepsItsCode", fmt.Errorf("pgstore.Ingest: %w", &Error{Code: ErrConflict, File: "usage.jsonl", Line: 2, Field: "id", Msg: "stored with other content"}),
			ErrConflict, ErrInvalid, "pgstore.Ingest: usage.jsonl:2: id: stored with other content"},
		{"BareCodeWrappedIsFound", fmt.Errorf("memstore.Student %q: %w", "S1", ErrNotFound),
			ErrNotFound, ErrInvalid, `memstore.Student "S1": not found`},
		{"CauseIsInTheTextForTheLog", &Error{Code: ErrUnavailable, Msg: "store down", Err: errors.New("dial tcp: refused")},
			ErrUnavailable, ErrInvalid, "store down: dial tcp: refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("errors.Is(%v, %v) = false", tc.err, tc.want)
			}
			if errors.Is(tc.err, tc.notCode) {
				t.Errorf("errors.Is(%v, %v) = true", tc.err, tc.notCode)
			}
			if c, ok := CodeOf(tc.err); !ok || c != tc.want {
				t.Errorf("CodeOf = %v, %v; want %v", c, ok, tc.want)
			}
			if got := tc.err.Error(); got != tc.wantText {
				t.Errorf("Error() = %q, want %q", got, tc.wantText)
			}
		})
	}
	t.Run("PlainErrorHasNoCode", func(t *testing.T) {
		if _, ok := CodeOf(errors.New("boom")); ok {
			t.Fatal("CodeOf found a code in a plain error")
		}
	})
}
