package datasets

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const interactionsHeader = "student_id,item_id,skill_ids,correct,timestamp\n"

func TestReadInteractionsAccepts(t *testing.T) {
	t1 := time.Date(2013, 2, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want []Interaction
	}{
		{
			name: "RFC3339TimesAndSkillLists",
			in: interactionsHeader +
				"s1,i1,a;b,1,2013-02-01T08:00:00Z\n" +
				"s1,i2,,0,2013-02-01T08:00:00Z\n" + // equal times are in order
				"s2,i1, a ; ;b ,true,2013-02-01T09:00:00+01:00\n",
			want: []Interaction{
				{StudentID: "s1", ItemID: "i1", Skills: []string{"a", "b"}, Correct: true, Time: t1},
				{StudentID: "s1", ItemID: "i2", Time: t1},
				{StudentID: "s2", ItemID: "i1", Skills: []string{"a", "b"}, Correct: true, Time: t1},
			},
		},
		{
			name: "IntegerOrdersInterleavedStudents",
			in: interactionsHeader +
				"s1,i1,k,1,0\n" +
				"s2,i1,k,0,-5\n" +
				"s1,i2,k,FALSE,7\n",
			want: []Interaction{
				{StudentID: "s1", ItemID: "i1", Skills: []string{"k"}, Correct: true},
				{StudentID: "s2", ItemID: "i1", Skills: []string{"k"}, Order: -5},
				{StudentID: "s1", ItemID: "i2", Skills: []string{"k"}, Order: 7},
			},
		},
		{
			name: "ColumnsInAnyOrderWithExtrasAndBOM",
			in:   "\ufefftimestamp,extra,correct,skill_ids,item_id,student_id\n3,x,1,k,i,s\n",
			want: []Interaction{{StudentID: "s", ItemID: "i", Skills: []string{"k"}, Correct: true, Order: 3}},
		},
		{
			name: "FullDatesAndDecimalCorrect",
			in:   interactionsHeader + "s,i,,1.0,2013-02-01\ns,i,,0.0,2013-02-02\n",
			want: []Interaction{
				{StudentID: "s", ItemID: "i", Correct: true, Time: time.Date(2013, 2, 1, 0, 0, 0, 0, time.UTC)},
				{StudentID: "s", ItemID: "i", Time: time.Date(2013, 2, 2, 0, 0, 0, 0, time.UTC)},
			},
		},
		{
			name: "BOMBeforeQuotedHeader",
			in:   "\ufeff\"student_id\",\"item_id\",\"skill_ids\",\"correct\",\"timestamp\"\n\"s\",\"i\",\"\",\"1\",\"4\"\n",
			want: []Interaction{{StudentID: "s", ItemID: "i", Correct: true, Order: 4}},
		},
		{
			name: "HeaderOnlyIsEmptyLog",
			in:   interactionsHeader,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadInteractionsAll(strings.NewReader(tt.in), "log.csv")
			if err != nil {
				t.Fatalf("ReadInteractionsAll: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("interactions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadInteractionsRejects(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantLine  int
		wantField string
	}{
		{"RejectsEmptyFile", "", 1, ""},
		{"RejectsMissingColumn", "student_id,item_id,skill_ids,correct\ns,i,,1\n", 1, "timestamp"},
		{"RejectsDuplicateColumn", "student_id,item_id,skill_ids,correct,timestamp,correct\n", 1, "correct"},
		{"RejectsBadCorrect", interactionsHeader + "s,i,,1,1\ns,i,,2,2\n", 3, "correct"},
		{"RejectsBadTimestamp", interactionsHeader + "s,i,,1,2013-02-30T00:00:00Z\n", 2, "timestamp"},
		{"RejectsTimeWithoutZone", interactionsHeader + "s,i,,1,2013-02-01T08:00:00\n", 2, "timestamp"},
		{"RejectsFractionalOrder", interactionsHeader + "s,i,,1,1.5\n", 2, "timestamp"},
		{"RejectsCorrectOfOneHalf", interactionsHeader + "s,i,,0.5,1\n", 2, "correct"},
		{"RejectsEmptyStudent", interactionsHeader + ",i,,1,1\n", 2, "student_id"},
		{"RejectsEmptyItem", interactionsHeader + "s, ,,1,1\n", 2, "item_id"},
		{"RejectsStudentGoingBackInTime", interactionsHeader +
			"s,i,,1,2013-02-01T08:00:00Z\nt,i,,1,2013-01-01T08:00:00Z\ns,i,,1,2013-01-31T08:00:00Z\n", 4, "timestamp"},
		{"RejectsDecreasingOrder", interactionsHeader + "s,i,,1,5\ns,i,,1,4\n", 3, "timestamp"},
		{"RejectsStudentMixingKinds", interactionsHeader + "s,i,,1,5\ns,i,,1,2013-01-31T08:00:00Z\n", 3, "timestamp"},
		{"RejectsWrongFieldCount", interactionsHeader + "s,i,,1\n", 2, ""},
		{"ReportsLineOfMultilineRecord", interactionsHeader + "s,\"i\nj\",,1,1\ns,i,,x,2\n", 4, "correct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadInteractionsAll(strings.NewReader(tt.in), "log.csv")
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *Error", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if re.File != "log.csv" || re.Line != tt.wantLine || re.Field != tt.wantField {
				t.Errorf("got %s:%d field %q, want log.csv:%d field %q (%v)", re.File, re.Line, re.Field, tt.wantLine, tt.wantField, err)
			}
		})
	}
}

func TestInteractionReaderStreamsUpToTheBadRow(t *testing.T) {
	in := interactionsHeader + "s,i,,1,1\ns,i,,1,2\ns,i,,1,1\n"
	r, err := NewInteractionReader(strings.NewReader(in), "log.csv")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, err := range r.All() {
		if err != nil {
			if r.Line() != 4 {
				t.Errorf("Line() = %d after the error, want 4", r.Line())
			}
			break
		}
		n++
	}
	if n != 2 {
		t.Errorf("streamed %d good rows before the bad one, want 2", n)
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("Read after the last row = %v, want io.EOF", err)
	}
}

func TestWriteInteractionsRoundTrips(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	in := []Interaction{
		{StudentID: "s,1", ItemID: "i \"q\"", Skills: []string{"a", "b"}, Correct: true, Time: time.Date(2013, 10, 1, 9, 0, 0, 500, paris)},
		{StudentID: "s,1", ItemID: "i2", Time: time.Date(2013, 10, 2, 9, 0, 0, 0, time.UTC)},
		{StudentID: "s2", ItemID: "i2", Skills: []string{"c"}, Order: 42},
	}
	var buf bytes.Buffer
	if err := WriteInteractions(&buf, in); err != nil {
		t.Fatalf("WriteInteractions: %v", err)
	}
	if !strings.HasPrefix(buf.String(), interactionsHeader) {
		t.Errorf("output does not start with the header: %q", buf.String())
	}
	got, err := ReadInteractionsAll(&buf, "round.csv")
	if err != nil {
		t.Fatalf("ReadInteractionsAll: %v", err)
	}
	if diff := cmp.Diff(in, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestInteractionWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		it   Interaction
	}{
		{"RejectsEmptyStudent", Interaction{ItemID: "i"}},
		{"RejectsEmptyItem", Interaction{StudentID: "s"}},
		{"RejectsSkillWithSeparator", Interaction{StudentID: "s", ItemID: "i", Skills: []string{"a;b"}}},
		{"RejectsEmptySkill", Interaction{StudentID: "s", ItemID: "i", Skills: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewInteractionWriter(io.Discard).Write(tt.it)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Write(%+v) = %v, want ErrInvalid", tt.it, err)
			}
		})
	}
}

func TestInteractionWriterEmptyLogHasHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := NewInteractionWriter(&buf).Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != interactionsHeader {
		t.Errorf("empty log = %q, want just the header", buf.String())
	}
}

// FuzzReadInteractions checks that the reader never panics, that every error it returns
// is a located Error, and that whatever it accepts survives a write and a re-read.
func FuzzReadInteractions(f *testing.F) {
	for _, s := range []string{
		interactionsHeader + "s1,i1,a;b,1,2013-02-01T08:00:00Z\ns1,i2,,0,2013-02-02T08:00:00.5+02:00\n",
		interactionsHeader + "s1,i1,k,1,0\ns2,i1,k,0,-5\ns1,i2,k,0,7\n",
		interactionsHeader + "s,i,,1,5\ns,i,,1,4\n",
		interactionsHeader + "s,\"i\nj\",\" a ; b\",true,1\n",
		"timestamp,correct,skill_ids,item_id,student_id\n1,0,,i,s\n",
		"student_id,item_id\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		its, err := ReadInteractionsAll(strings.NewReader(in), "fuzz.csv")
		if err != nil {
			var re *Error
			if !errors.As(err, &re) && !errors.Is(err, ErrInvalid) {
				// encoding/csv only fails with a ParseError on in-memory input.
				t.Fatalf("error is not a Error: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteInteractions(&buf, its); err != nil {
			t.Fatalf("writing what was read: %v", err)
		}
		again, err := ReadInteractionsAll(&buf, "again.csv")
		if err != nil {
			t.Fatalf("re-reading what was written: %v\n%q", err, buf.String())
		}
		if diff := cmp.Diff(its, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
