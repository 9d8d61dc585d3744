package teacher

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/api"
)

// TestClassPageShowsTheExperimentAndOptsOut: a class in a running experiment says which
// variant it uses, and its teacher can take it out (CSRF-checked form), after which the
// page says so.
func TestClassPageShowsTheExperimentAndOptsOut(t *testing.T) {
	e := newEnv(t)
	an, err := api.MintToken(testSecret, api.Claims{Role: "analyst", RegisteredClaims: jwtSubject("AN-1")}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	def := fmt.Sprintf(`{"id":"EXP-1","name":"Cible haute","arms":[{"name":"A"},{"name":"B","target_success":0.8}],"start":%q,"end":%q}`,
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(30*24*time.Hour).Format(time.RFC3339))
	req, _ := http.NewRequest("POST", e.server.URL+"/v1/experiments", bytes.NewBufferString(def))
	req.Header.Set("Authorization", "Bearer "+an)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create experiment: %d", resp.StatusCode)
	}
	c := e.login(t, mint(t, "teacher", classMine))
	page := e.server.URL + "/teacher/classes/" + classMine
	_, body, _ := get(t, c, page)
	if !strings.Contains(body, "Votre classe utilise la variante") || !strings.Contains(body, "Cible haute") {
		t.Fatalf("no experiment on the class page:\n%s", body)
	}
	action := e.server.URL + "/teacher/classes/" + classMine + "/experiments/EXP-1"
	if status, _, _ := post(t, c, action, "", url.Values{"opted_out": {"true"}}); status != http.StatusForbidden {
		t.Errorf("opt-out without the CSRF token: %d, want 403", status)
	}
	status, _, h := post(t, c, action, e.server.URL, url.Values{"csrf": {csrfOf(t, body)}, "opted_out": {"true"}})
	if status != http.StatusSeeOther {
		t.Fatalf("opt-out: %d", status)
	}
	_, body, _ = get(t, c, e.server.URL+h.Get("Location"))
	if !strings.Contains(body, "ne participe plus") || strings.Contains(body, "Votre classe utilise la variante") {
		t.Errorf("after opt-out:\n%s", body)
	}
}
