package oulad

import (
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/parcours-ent/parcours/datasets"
)

// Interaction-log files written by ExportInteractions.
const (
	TrainFile = "train.csv"
	TestFile  = "test.csv"
)

// The default split: train on the February 2013 presentations, test on October 2013's.
var (
	DefaultTrain = []string{"2013B"}
	DefaultTest  = []string{"2013J"}
)

// ExportSummary counts the rows of an interaction-log export.
type ExportSummary struct {
	Train int `json:"train"`
	Test  int `json:"test"`
	// Banked are results carried over from an earlier presentation: not an answer given
	// in this one, so left out.
	Banked int `json:"banked"`
	// Unscored are submissions without a score: no answer to grade.
	Unscored int `json:"unscored"`
	// OtherPresentations are submissions to presentations in neither split.
	OtherPresentations int `json:"other_presentations"`
}

// ExportInteractions writes train.csv (DefaultTrain) and test.csv (DefaultTest) into
// outDir: see ExportSplit.
func ExportInteractions(inDir, outDir string) (ExportSummary, error) {
	return ExportSplit(inDir, outDir, DefaultTrain, DefaultTest)
}

// ExportSplit writes the assessment submissions of the train and test presentations
// (codes such as 2013B) as interaction logs: one row per submitted, scored, non-banked
// assessment; correct when the score reaches the pass mark (40/100); the item is
// module, assessment type and assessment id (AAA-TMA-1752); its one skill is the
// assessment's competency (AAA-TMA), the same id as in Import's competencies.csv.
// Rows are in time order (then student, then item), so each student's rows are too.
func ExportSplit(inDir, outDir string, train, test []string) (ExportSummary, error) {
	var sum ExportSummary
	src, err := readSource(inDir, nil)
	if err != nil {
		return sum, fmt.Errorf("oulad.ExportSplit: %w", err)
	}
	var tr, te []datasets.Interaction
	for _, s := range src.subs {
		a := src.byID[s.Assessment]
		inTrain, inTest := slices.Contains(train, a.Pres), slices.Contains(test, a.Pres)
		switch {
		case !inTrain && !inTest:
			sum.OtherPresentations++
			continue
		case s.Banked:
			sum.Banked++
			continue
		case !s.HasScore:
			sum.Unscored++
			continue
		}
		it := datasets.Interaction{
			StudentID: s.Student, ItemID: ItemID(*a), Skills: []string{CompetencyID(a.Module, a.Type)},
			Correct: s.Score >= PassMark, Time: dayOf(a.Pres, s.Date),
		}
		if inTrain {
			tr = append(tr, it)
		} else {
			te = append(te, it)
		}
	}
	sortInteractions(tr)
	sortInteractions(te)
	sum.Train, sum.Test = len(tr), len(te)

	out, err := newOutput(outDir)
	if err != nil {
		return sum, fmt.Errorf("oulad.ExportSplit: %w", err)
	}
	defer out.abort()
	for _, f := range []struct {
		name string
		its  []datasets.Interaction
	}{{TrainFile, tr}, {TestFile, te}} {
		err := out.write(f.name, func(w io.Writer) error { return datasets.WriteInteractions(w, f.its) })
		if err != nil {
			return sum, fmt.Errorf("oulad.ExportSplit: %w", err)
		}
	}
	if err := out.commit(); err != nil {
		return sum, fmt.Errorf("oulad.ExportSplit: %w", err)
	}
	return sum, nil
}

func sortInteractions(its []datasets.Interaction) {
	sort.Slice(its, func(i, j int) bool {
		a, b := its[i], its[j]
		switch {
		case !a.Time.Equal(b.Time):
			return a.Time.Before(b.Time)
		case a.StudentID != b.StudentID:
			return a.StudentID < b.StudentID
		}
		return a.ItemID < b.ItemID
	})
}
