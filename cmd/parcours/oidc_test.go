package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/internal/oidctest"
	"github.com/parcours-ent/parcours/recommender"
)

// `serve` configured for the ENT's OpenID provider (a real one: internal/oidctest): a
// teacher signs in through it and sees the class of their ID token, the sign-in is in the
// store's audit log, and the banner names the sign-in URL.
func TestServeSignsTeachersInThroughTheENT(t *testing.T) {
	cfg := testConfig(t, 40)
	// The callback URL must be registered before serve listens: take a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	ln.Close()
	base := "http://" + cfg.Addr
	claims := map[string]any{"profiles": []string{"National_ENS"}}
	issuer := oidctest.Start(t, []oidctest.Person{{Sub: "ent-prof-1", Login: "prof", Claims: claims}},
		oidctest.Client{ID: "parcours", Secret: "secret-de-parcours", RedirectURL: base + "/teacher/oidc/callback"})
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret = issuer, "parcours", "secret-de-parcours"
	cfg.OIDCRedirectURL = base + "/teacher/oidc/callback"
	cfg.OIDCRoleClaim, cfg.OIDCRoleMap = "profiles", map[string]string{"National_ENS": "teacher"}
	var banner bytes.Buffer
	m := &Main{Config: cfg, Stdout: &banner}
	startMain(t, m)
	if !strings.Contains(banner.String(), base+"/teacher/oidc/login") {
		t.Fatalf("banner does not name the ENT sign-in:\n%s", banner.String())
	}
	class := m.Demo.ClassID
	claims["classes"] = []string{class}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	status, page := oidctest.SignIn(t, c, base+"/teacher/oidc/login", "prof")
	next := regexp.MustCompile(`content="0;url=([^"]+)"`).FindStringSubmatch(page)
	if status != http.StatusOK || next == nil {
		t.Fatalf("callback: status %d", status)
	}
	resp, err := c.Get(base + next[1])
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	links := regexp.MustCompile(`href="/teacher/classes/([^"]+)"`).FindAllStringSubmatch(body.String(), -1)
	if resp.StatusCode != http.StatusOK || len(links) != 1 || links[0][1] != class {
		t.Fatalf("home: status %d, classes %v, want only %s", resp.StatusCode, links, class)
	}
	entries, err := m.Store.Audit(context.Background(), recommender.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		found = found || (e.Action == "signin.oidc" && e.ActorID == "ent-prof-1" && e.Outcome == "ok")
	}
	if !found {
		t.Fatalf("no granted signin.oidc entry for ent-prof-1 in %d audit entries", len(entries))
	}
}
