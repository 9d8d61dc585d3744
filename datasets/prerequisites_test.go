package datasets

import (
	"strconv"
	"testing"
)

func TestCheckAcyclic(t *testing.T) {
	comp := func(id string, pre ...string) Competency { return Competency{ID: id, Prerequisites: pre} }
	line := func(i int) int { return i + 2 }
	chain := make([]Competency, 100000)
	for i := range chain {
		chain[i] = comp("C" + strconv.Itoa(i))
		if i > 0 {
			chain[i].Prerequisites = []string{chain[i-1].ID}
		}
	}
	stored := map[string][]string{"A": nil, "B": {"A"}, "C": {"B"}}
	cases := []struct {
		name     string
		comps    []Competency
		stored   map[string][]string
		wantLine int
		wantMsg  string
	}{
		{"AcceptsADag", []Competency{comp("A"), comp("B", "A"), comp("C", "A", "B")}, nil, 0, ""},
		{"AcceptsALongChainWithoutRecursion", chain, nil, 0, ""},
		{"RejectsACycleAtItsFirstRow", []Competency{comp("X"), comp("A", "C"), comp("B", "A"), comp("C", "B")}, nil, 3,
			"prerequisite cycle: A → C → B → A"},
		{"RejectsACycleThroughStoredRows", []Competency{comp("A", "C")}, stored, 2, "prerequisite cycle: A → C → B → A"},
		{"ABatchRowReplacesItsStoredPrerequisites", []Competency{comp("B")}, map[string][]string{"A": {"B"}, "B": {"A"}}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var st func(string) []string
			if tc.stored != nil {
				st = func(id string) []string { return tc.stored[id] }
			}
			err := CheckAcyclic(CompetenciesFile, tc.comps, line, st)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantRowError(t, err, CompetenciesFile, tc.wantLine, "prerequisites")
			if e := err.(*Error); e.Msg != tc.wantMsg {
				t.Fatalf("message %q, want %q", e.Msg, tc.wantMsg)
			}
		})
	}
}
