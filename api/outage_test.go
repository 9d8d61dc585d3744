package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/parcours-ent/parcours/internal/faultproxy"
	"github.com/parcours-ent/parcours/recommender/pgstore"
)

// TestPostgresOutage (issue 13.7): PostgreSQL taken away behind a TCP proxy. Every answer
// is 503 with Retry-After (DELETE answered 500), and the audit records the outcome of each
// action: an erasure or a consent change that never happened is never replayed from the
// spool as done.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	_, url := testPostgres(t) // migrated
	proxy := faultproxy.New(t, faultproxy.Target(t, url))
	pg, err := pgstore.Open(context.Background(), faultproxy.Rehost(t, url, proxy.Addr()), pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	rc, _, _ := testRedis(t)
	spool := NewFileSpool(t.TempDir() + "/audit.jsonl")
	env := newEnv(t, withStore(pg), withCache(rc), withConfig(func(c *Config) { c.AuditSpool = spool }))
	admin := token(t, RoleAdmin, "A1")
	student := token(t, RoleStudent, "S1")
	recsOf(t, env, student, "S1")

	proxy.Kill()
	for _, r := range []req{
		{method: "DELETE", path: "/v1/students/S2", token: admin},
		{method: "PUT", path: "/v1/students/S3/consent", token: admin, body: `{"personalization":false}`},
		{method: "GET", path: "/v1/students/S1/recommendations?k=5", token: student},
		{method: "GET", path: "/v1/students/S1/export", token: admin},
		{method: "POST", path: "/v1/ingest/grades", token: token(t, RoleService, "pronote"), body: newGrade},
	} {
		w := env.do(t, r)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s with PostgreSQL away: %d (Retry-After %q), want 503 with Retry-After: %s",
				r.method, r.path, w.Code, w.Header().Get("Retry-After"), w.Body.String())
		}
	}
	proxy.Restore()
	if _, err := spool.Replay(context.Background(), pg); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if _, err := pg.Student(context.Background(), "S2"); err != nil {
		t.Fatalf("S2 after the failed erasure: %v (the erasure must not have happened)", err)
	}
	for _, id := range []string{"S2", "S3"} {
		w := env.do(t, req{method: "GET", path: "/v1/audit?student=" + id, token: admin})
		var got struct {
			Entries []map[string]any `json:"entries"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("audit of %s: %d %s", id, w.Code, w.Body.String())
		}
		var writes int
		for _, e := range got.Entries {
			if e["action"] != string(actErase) && e["action"] != string(actConsent) {
				continue
			}
			writes++
			if e["outcome"] != "failed" {
				t.Errorf("audit of %s: %v %v recorded with outcome %v, want failed (the action never happened)", id, e["action"], e["detail"], e["outcome"])
			}
		}
		if writes != 1 {
			t.Errorf("audit of %s: %d entries of the write, want 1: %v", id, writes, got.Entries)
		}
	}
}
