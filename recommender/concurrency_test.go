package recommender_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// TestConcurrentRequestsDuringRefitAndIngest runs reads while the snapshot is replaced and
// profiles are rebuilt; with -race it checks that requests share nothing mutable.
func TestConcurrentRequestsDuringRefitAndIngest(t *testing.T) {
	e, _ := newEngine(t, academie(10, 6))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				id := []string{pupilFrac, pupilAbsent, pupilGap, pupilNoCons}[(w+i)%4]
				if _, err := e.Recommend(ctx, recommender.Request{StudentID: id, K: 5}); err != nil {
					errs <- err
				}
				if _, err := e.Path(ctx, recommender.PathRequest{StudentID: id, Subject: "MATHS", Length: 3}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 3 {
			g := datasets.Grade{ID: fmt.Sprintf("G-CONC-%d", i), StudentID: pupilFrac, Subject: "MATHS", Competencies: []string{"M-FRAC"},
				AssessmentID: "EV-CONC", Date: now.AddDate(0, 0, -1), Score: 9, OutOf: 20, Coefficient: 1}
			if _, err := e.Ingest(ctx, &datasets.Dataset{Grades: []datasets.Grade{g}}); err != nil {
				errs <- err
			}
			if err := e.Refit(ctx); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
