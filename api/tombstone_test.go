package api

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// TestErasureIsNotUndoneByTheNextFeed (issue 13.2): after DELETE, the nightly feed (the
// API's ingest, and the store's Ingest as `parcours ingest` calls it) re-creating the
// pupil or adding their grades is refused with 409 naming the field, until an admin
// lifts the tombstone; the tombstone holds no pupil id. On the real PostgreSQL.
func TestErasureIsNotUndoneByTheNextFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	pg, url := testPostgres(t)
	env := newEnv(t, withStore(pg))
	admin := token(t, RoleAdmin, "A1")
	service := token(t, RoleService, "ent")
	if w := env.do(t, req{method: "DELETE", path: "/v1/students/S1", token: admin}); w.Code != http.StatusNoContent {
		t.Fatalf("erase: %d %s", w.Code, w.Body.String())
	}
	roster := `[{"student_id":"S1","school_id":"SCH1","class_id":"C1","level":"6e","consent":true}]`
	for _, r := range []struct{ path, body, field string }{
		{"/v1/ingest/students", roster, "student_id"},
		{"/v1/ingest/grades", newGrade, "student_id"},
	} {
		w := env.do(t, req{method: "POST", path: r.path, token: service, body: r.body})
		if w.Code != http.StatusConflict {
			t.Fatalf("%s of the erased pupil: %d %s, want 409", r.path, w.Code, w.Body.String())
		}
		if p := problemOf(t, w); p.Field != r.field {
			t.Errorf("%s: field %q, want %q", r.path, p.Field, r.field)
		}
	}
	_, err := pg.Ingest(context.Background(), &datasets.Dataset{Students: []datasets.Student{
		{ID: "S1", SchoolID: "SCH1", ClassID: "C1", Level: "6e", Consent: true}}})
	if !errors.Is(err, recommender.ErrConflict) {
		t.Fatalf("store Ingest (parcours ingest) of the erased pupil: %v, want a conflict", err)
	}
	if w := env.do(t, req{method: "PUT", path: "/v1/students/S1/consent", token: admin, body: `{"personalization":true}`}); w.Code != http.StatusConflict {
		t.Errorf("consent PUT on the erased pupil: %d, want 409", w.Code)
	}
	if held := rowsHolding(t, url, "S1", func(table string) bool { return table == "audit" }); len(held) > 0 {
		t.Fatalf("rows naming the erased pupil outside the audit log: %v", held)
	}
	if w := env.do(t, req{method: "DELETE", path: "/v1/tombstones/S1", token: token(t, RoleTeacher, "T1", classes("C1"))}); w.Code != http.StatusForbidden {
		t.Fatalf("a teacher lifting a tombstone: %d, want 403", w.Code)
	}
	if w := env.do(t, req{method: "DELETE", path: "/v1/tombstones/S1", token: admin}); w.Code != http.StatusNoContent {
		t.Fatalf("lift: %d %s", w.Code, w.Body.String())
	}
	if w := env.do(t, req{method: "DELETE", path: "/v1/tombstones/S1", token: admin}); w.Code != http.StatusNotFound {
		t.Fatalf("lifting it again: %d, want 404", w.Code)
	}
	if w := env.do(t, req{method: "POST", path: "/v1/ingest/students", token: service, body: roster}); w.Code != http.StatusOK {
		t.Fatalf("ingest once lifted: %d %s", w.Code, w.Body.String())
	}
}
