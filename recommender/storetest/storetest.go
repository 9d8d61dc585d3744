package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Options relax the suite for stores whose guarantees are legitimately weaker.
type Options struct {
	// ApproximateSearch accepts an approximate nearest-neighbour index: search results
	// must reach a recall of MinRecall against the exact answer instead of matching it,
	// and ties need not be broken by resource id.
	ApproximateSearch bool
	// MinRecall is the recall at k demanded when ApproximateSearch is set; 0 means 0.9.
	MinRecall float64
}

// Opener returns a fresh, empty store for one subtest. It registers its own cleanup
// (t.Cleanup) and fails or skips t itself when the store cannot be opened.
type Opener func(t *testing.T) recommender.Store

// Run runs the whole suite with the default, strict options.
func Run(t *testing.T, open Opener) { RunWith(t, open, Options{}) }

// RunWith runs the whole suite with opts. Each subtest opens a fresh store.
func RunWith(t *testing.T, open Opener, opts Options) {
	if opts.MinRecall == 0 {
		opts.MinRecall = 0.9
	}
	s := suite{open: open, opts: opts}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		// ingest.go
		{"FirstLoadReportsEverythingChanged", s.firstLoadReportsEverythingChanged},
		{"IngestIsIdempotent", s.ingestIsIdempotent},
		{"EmptyBatchChangesNothing", s.emptyBatchChangesNothing},
		{"RejectsUnknownStudentWithLine", s.rejectsUnknownStudentWithLine},
		{"RejectsUnknownCompetencyWithLine", s.rejectsUnknownCompetencyWithLine},
		{"RejectsUnknownPrerequisite", s.rejectsUnknownPrerequisite},
		{"RejectsPrerequisiteCycle", s.rejectsPrerequisiteCycle},
		{"RejectsUnknownResourceInStatement", s.rejectsUnknownResourceInStatement},
		{"RejectsDuplicateIDInBatch", s.rejectsDuplicateIDInBatch},
		{"RejectsOutOfRangeValues", s.rejectsOutOfRangeValues},
		{"BadBatchLeavesStoreUnchanged", s.badBatchLeavesStoreUnchanged},
		{"MovedGradeIsConflict", s.movedGradeIsConflict},
		{"UpdatedRowsReportTheirPupils", s.updatedRowsReportTheirPupils},
		{"LessonChangeReportsClassAndItsPupils", s.lessonChangeReportsClassAndItsPupils},
		{"StatementSeenTwiceStoredOnce", s.statementSeenTwiceStoredOnce},
		{"ConflictingStatementIsConflict", s.conflictingStatementIsConflict},
		{"VoidedStatementHidden", s.voidedStatementHidden},
		{"CatalogueSortedByID", s.catalogueSortedByID},
		// pupils.go
		{"StudentReadsBackAndUnknownIsNotFound", s.studentReadsBackAndUnknownIsNotFound},
		{"ClassAndSchoolStudentsSorted", s.classAndSchoolStudentsSorted},
		{"PupilEventsInTimeOrder", s.pupilEventsInTimeOrder},
		{"SetConsentPersists", s.setConsentPersists},
		{"MovedPupilSeesNewTimetable", s.movedPupilSeesNewTimetable},
		{"EachPupilEventsMatchesPupilEvents", s.eachPupilEventsMatchesPupilEvents}, // pupilbatch.go
		// access.go
		{"AccessGenerationChangesWithEveryWrite", s.accessGenerationChangesWithEveryWrite},
		{"ErasureLeavesATombstone", s.erasureLeavesATombstone},
		// search.go
		{"SearchIsExactOnSmallSet", s.searchIsExactOnSmallSet},
		{"SearchHonoursFilters", s.searchHonoursFilters},
		{"SearchBreaksTiesByID", s.searchBreaksTiesByID},
		{"SearchOnEmptyStoreFindsNothing", s.searchOnEmptyStoreFindsNothing},
		{"SearchRejectsWrongDimension", s.searchRejectsWrongDimension},
		{"PutResourceVectorsReplacesAll", s.putResourceVectorsReplacesAll},
		{"PutResourceVectorsRejectsBadInput", s.putResourceVectorsRejectsBadInput},
		{"SearchFollowsCatalogueChanges", s.searchFollowsCatalogueChanges},
		// students.go
		{"SearchStudentsFindsNearestConsentingPupils", s.searchStudentsFindsNearestConsentingPupils},
		// state.go
		{"ProfilesRoundTrip", s.profilesRoundTrip},
		{"ModelStateRoundTrip", s.modelStateRoundTrip},
		{"DecisionsOldestFirst", s.decisionsOldestFirst},
		{"DecisionHistoryKeepsUndos", s.decisionHistoryKeepsUndos},
		{"DecisionCountsBySchool", s.decisionCountsBySchool},
		{"UptakeCounts", s.uptakeCounts},
		{"AuditIsAppendOnlyAndOrdered", s.auditIsAppendOnlyAndOrdered},
		{"AppendAuditsKeepsSliceOrder", s.appendAuditsKeepsSliceOrder},
		{"PingSucceedsWhileOpen", s.pingSucceedsWhileOpen},
		// rgpd.go
		{"ExportHoldsEverything", s.exportHoldsEverything},
		{"DeleteStudentLeavesOnlyAudit", s.deleteStudentLeavesOnlyAudit},
		{"PurgeRemovesOldOnly", s.purgeRemovesOldOnly},
		{"ReturnedSlicesAreCopies", s.returnedSlicesAreCopies},
		{"ConcurrentReadsAndWrites", s.concurrentReadsAndWrites},
		// online.go
		{"IngestMarksChangedPupilsAndRefit", s.ingestMarksChangedPupilsAndRefit},
		{"IngestApplyCommitsProfilesWithEvents", s.ingestApplyCommitsProfilesWithEvents},
		{"IngestApplyReportsRewrittenRowsNotFresh", s.ingestApplyReportsRewrittenRowsNotFresh},
		{"FailedIngestLeavesNoMarkNorProfile", s.failedIngestLeavesNoMarkNorProfile},
		{"ConditionalWriteLosesToNewerEvents", s.conditionalWriteLosesToNewerEvents},
		{"StaleMarksOldestFirstAndErasedWithPupil", s.staleMarksOldestFirstAndErasedWithPupil},
		{"RefitPendingClearedOnlyByItsGeneration", s.refitPendingClearedOnlyByItsGeneration},
		{"ConcurrentIngestApplySerialisesPerPupil", s.concurrentIngestApplySerialisesPerPupil},
		{"ConcurrentTwinStatementsStoredOnce", s.concurrentTwinStatementsStoredOnce},
		{"ConcurrentBatchesEachAllOrNothing", s.concurrentBatchesEachAllOrNothing},
		// xapi.go
		{"XAPIAdditions", s.xapiAdditions},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	open Opener
	opts Options
}

// loaded opens a fresh store holding the fixture.
func (s suite) loaded(t *testing.T) recommender.Store {
	t.Helper()
	st := s.open(t)
	mustIngest(t, st, Fixture())
	return st
}

func mustIngest(tb testing.TB, st recommender.Store, ds *datasets.Dataset) recommender.Changed {
	tb.Helper()
	ch, err := st.Ingest(context.Background(), ds)
	if err != nil {
		tb.Fatalf("Ingest: %v", err)
	}
	return ch
}

// wantRowError checks that err is a *datasets.Error at file:line naming field.
func wantRowError(tb testing.TB, err error, file string, line int, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err = nil, want a *datasets.Error at %s:%d (%s)", file, line, field)
	}
	var re *datasets.Error
	if !errors.As(err, &re) {
		tb.Fatalf("err = %v (%T), want a *datasets.Error at %s:%d (%s)", err, err, file, line, field)
	}
	if re.File != file || re.Line != line || (field != "" && re.Field != field) {
		tb.Fatalf("error at %s:%d (%s), want %s:%d (%s); err: %v", re.File, re.Line, re.Field, file, line, field, err)
	}
	if !errors.Is(err, datasets.ErrInvalid) {
		tb.Fatalf("err = %v does not wrap datasets.ErrInvalid", err)
	}
}

func wantIs(tb testing.TB, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("err = %v, want one wrapping %v", err, target)
	}
}

// same compares values whatever the store does to time zones, and treats nil and empty
// slices and maps alike (a store that reads back from SQL cannot tell them apart).
var sameOpts = []cmp.Option{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
}

func same(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if d := cmp.Diff(want, got, sameOpts...); d != "" {
		tb.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func ctx() context.Context { return context.Background() }

func sortByID[T any](xs []T, id func(T) string) {
	slices.SortStableFunc(xs, func(a, b T) int { return strings.Compare(id(a), id(b)) })
}
