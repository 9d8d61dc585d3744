// Package oidctest starts a real OpenID provider for tests: zitadel/oidc's example OP
// (its op package, in-memory storage and username/password login form) on a real port,
// releasing ENT-style claims (profiles, classes, school) in its ID tokens. Tests of the
// ENT sign-in run against it rather than a mock. Imported by tests only.
package oidctest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Password is every test person's password at the provider.
const Password = "motdepasse-de-test"

// Person is someone of the test ENT: subject, login, and the claims the provider adds to
// their ID tokens.
type Person struct {
	Sub, Login string
	Claims     map[string]any
}

// Client is an application registered at the provider (a confidential web client).
type Client struct {
	ID, Secret, RedirectURL string
}

type user struct {
	storage.User
	claims map[string]any
}

type users map[string]*user

func (u users) GetUserByID(id string) *storage.User {
	if e, ok := u[id]; ok {
		return &e.User
	}
	return nil
}

func (u users) GetUserByUsername(name string) *storage.User {
	for _, e := range u {
		if e.Username == name {
			return &e.User
		}
	}
	return nil
}

func (u users) ExampleClientID() string { return storage.ServiceUserID }

// claimsStorage is the example storage releasing each person's claims in the ID token.
type claimsStorage struct {
	*storage.Storage
	users users
}

func (s *claimsStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	if e, ok := s.users[req.GetSubject()]; ok {
		for k, v := range e.claims {
			ui.AppendClaims(k, v)
		}
	}
	return nil
}

// Start runs the provider until the test ends and returns its issuer. The issuer names
// the host "localhost" while it listens on 127.0.0.1, so that a browser sees it as
// another site than a page served on 127.0.0.1 (as an ENT is). Its token endpoint is
// Issuer+"/oauth/token", its end-session endpoint Issuer+"/end_session".
func Start(tb testing.TB, people []Person, clients ...Client) string {
	tb.Helper()
	us := users{}
	for _, p := range people {
		us[p.Sub] = &user{User: storage.User{ID: p.Sub, Username: p.Login, Password: Password,
			FirstName: "Prénom", LastName: "Nom-" + p.Login, PreferredLanguage: language.French}, claims: p.Claims}
	}
	cs := map[string]*storage.Client{}
	for _, c := range clients {
		cs[c.ID] = storage.WebClient(c.ID, c.Secret, c.RedirectURL)
	}
	st := &claimsStorage{Storage: storage.NewStorageWithClients(us, cs), users: us}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	tb.Cleanup(srv.Close)
	issuer := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	// The example sets the process's default logger to the one given: a discarding one,
	// so that its request log does not flood the test output.
	h = exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	return issuer
}

// SignIn follows a sign-in from start (a page's URL that sends the browser to the
// provider) as login with c (which should keep cookies and follow redirects): the
// provider's login form is filled and posted, redirects are followed. It returns the
// last answer's status and body.
func SignIn(tb testing.TB, c *http.Client, start, login string) (int, string) {
	tb.Helper()
	resp, err := c.Get(start)
	if err != nil {
		tb.Fatalf("start sign-in: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		tb.Fatalf("start sign-in: status %d at %s, want the provider's login form", resp.StatusCode, resp.Request.URL.Path)
	}
	form := *resp.Request.URL
	form.RawQuery = ""
	resp, err = c.PostForm(form.String(), url.Values{"id": {id}, "username": {login}, "password": {Password}})
	if err != nil {
		tb.Fatalf("provider login: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
