package teacher

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
)

// Two replicas of the page sharing one Redis: a session opened on one is valid on the
// other, a one-time link made by one works once on either, and a sign-out on one ends the
// session everywhere. Real Redis.
func TestSessionsInRedisAreSharedByReplicas(t *testing.T) {
	client, prefix := redistest.New(t)
	kv := cache.NewRedisKV(client, prefix)
	a := newEnvSessions(t, api.Config{}, kv)
	b := newEnvSessions(t, api.Config{}, kv)

	c := a.login(t, mint(t, "teacher", classMine))
	// The cookie jar is per host, not per port: the same cookie goes to b.
	status, page, _ := get(t, c, b.server.URL+"/teacher/")
	if status != http.StatusOK || !strings.Contains(page, classMine) {
		t.Fatalf("replica b with a session opened on a: status %d", status)
	}

	link, err := b.app.OneTimeLink(a.server.URL, mint(t, "teacher", classMine))
	if err != nil {
		t.Fatal(err)
	}
	once := a.client(t)
	if status, _, h := get(t, once, link); status != http.StatusSeeOther || h.Get("Location") != "/teacher/" {
		t.Fatalf("one-time link made by b, taken on a: status %d to %q", status, h.Get("Location"))
	}
	u, _ := url.Parse(link)
	again := b.client(t)
	if status, _, _ := get(t, again, b.server.URL+u.RequestURI()); status != http.StatusUnauthorized {
		t.Fatalf("the same one-time link on b: status %d, want 401 (it works once)", status)
	}

	status, page, _ = get(t, c, a.server.URL+"/teacher/")
	if status != http.StatusOK {
		t.Fatalf("home on a: %d", status)
	}
	if status, _, _ := post(t, c, b.server.URL+"/teacher/logout", b.server.URL, url.Values{"csrf": {csrfOf(t, page)}}); status != http.StatusSeeOther {
		t.Fatalf("logout on b: %d", status)
	}
	if status, _, h := get(t, c, a.server.URL+"/teacher/"); status != http.StatusSeeOther || h.Get("Location") != "/teacher/login" {
		t.Fatalf("a after sign-out on b: status %d to %q, want back to sign-in", status, h.Get("Location"))
	}
}
