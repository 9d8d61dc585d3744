package teacher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/internal/oidctest"
	"github.com/parcours-ent/parcours/recommender"
	"github.com/parcours-ent/parcours/recommender/cache"
	"github.com/parcours-ent/parcours/recommender/cache/redistest"
)

// The OpenID provider of these tests is zitadel/oidc's example OP (internal/oidctest),
// started on a real port: the ENT's side of the sign-in is a real provider, not a mock.

const (
	opPassword  = oidctest.Password
	opClientID  = "parcours"
	opSecret    = "parcours-client-secret"
	otherClient = "autre-appli"
)

// The ENT's people: sub, login, and the claims its provider releases.
var entPeople = []oidctest.Person{
	// A maths teacher of 6A: the ENT's profile code for teachers, an extra profile the
	// mapping ignores, one class, the school's UAI in a nested claim.
	{Sub: "ent-4f7a1c", Login: "prof.dupont", Claims: map[string]any{"ent_profiles": []string{"National_ENS", "National_COL"},
		"ent_classes": []string{classMine}, "ent": map[string]any{"uai": "0750001A"}}},
	// A school-life officer: a profile Parcours does not map.
	{Sub: "ent-9b2e77", Login: "cpe.martin", Claims: map[string]any{"ent_profiles": []string{"National_EVS"},
		"ent_classes": []string{classMine, classOther}}},
	// An analyst of the académie.
	{Sub: "ent-31d0aa", Login: "analyste.bernard", Claims: map[string]any{"ent_profiles": "ACAD_ANALYSTE"}},
}

var entRoleMap = map[string]string{"National_ENS": api.RoleTeacher, "ACAD_ANALYSTE": api.RoleAnalyst, "ACAD_ADMIN": api.RoleAdmin}

// testOP is the running provider.
type testOP struct {
	URL string // the issuer
}

// startOP starts the provider with redirectURL, the page's callback, registered for the
// client "parcours"; "autre-appli" is another application of the same ENT.
func startOP(tb testing.TB, redirectURL string) *testOP {
	tb.Helper()
	return &testOP{URL: oidctest.Start(tb, entPeople,
		oidctest.Client{ID: opClientID, Secret: opSecret, RedirectURL: redirectURL},
		oidctest.Client{ID: otherClient, Secret: "autre-secret", RedirectURL: "http://127.0.0.1:1/cb"})}
}

// tokenRewrite changes what the page receives from the provider's token endpoint: the
// network between the page and the ENT, under an attacker's control.
type tokenRewrite struct {
	mu sync.Mutex
	fn func(idToken string) string
}

func (t *tokenRewrite) set(fn func(string) string) {
	t.mu.Lock()
	t.fn = fn
	t.mu.Unlock()
}

func (t *tokenRewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	t.mu.Lock()
	fn := t.fn
	t.mu.Unlock()
	if err != nil || fn == nil || !strings.HasSuffix(r.URL.Path, "/oauth/token") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if id, ok := body["id_token"].(string); ok {
		body["id_token"] = fn(id)
	}
	b, _ := json.Marshal(body)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// oidcEnv is the page configured for the test provider.
type oidcEnv struct {
	*testEnv
	op      *testOP
	rewrite *tokenRewrite
	logs    *lockedBuffer
}

type oidcOpts struct {
	now      func() time.Time
	sessions SessionStore
	// redirect, when set, is the callback URL registered (another replica's).
	redirect string
	op       *testOP
}

func newOIDCEnv(tb testing.TB, o oidcOpts) *oidcEnv {
	tb.Helper()
	return newOIDCEnvWith(tb, o, nil)
}

// newOIDCEnvWith is newOIDCEnv where more, if any, changes the page's configuration last.
func newOIDCEnvWith(tb testing.TB, o oidcOpts, more func(*Config)) *oidcEnv {
	tb.Helper()
	e := &oidcEnv{rewrite: &tokenRewrite{}, logs: &lockedBuffer{}, op: o.op}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.testEnv = newEnvHooked(tb, api.Config{}, o.sessions, logger, func(base string, c *Config) {
		redirect := o.redirect
		if redirect == "" {
			redirect = base + oidcCallback
		}
		if e.op == nil {
			e.op = startOP(tb, redirect)
		}
		c.Now = o.now
		c.OIDC = &OIDC{Issuer: e.op.URL, ClientID: opClientID, ClientSecret: opSecret, RedirectURL: redirect,
			RoleClaim: "ent_profiles", ClassesClaim: "ent_classes", SchoolClaim: "ent.uai", RoleMap: entRoleMap,
			HTTPClient: &http.Client{Transport: e.rewrite, Timeout: 10 * time.Second}}
		if more != nil {
			more(c)
		}
	})
	return e
}

// browserClient is a cookie-keeping client that follows redirects, as a browser does;
// rewrite, if set, changes each request before it leaves (an attacker's link). It records
// the callback URLs it was sent to.
type browserClient struct {
	*http.Client
	callbacks []string
}

func newBrowser(rewrite func(*http.Request)) *browserClient {
	b := &browserClient{}
	b.Client = &http.Client{Jar: newJar(), Timeout: 30 * time.Second,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if rewrite != nil {
				rewrite(r)
			}
			if r.URL.Path == oidcCallback {
				b.callbacks = append(b.callbacks, r.URL.String())
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	return b
}

// stopAtCallback makes b stop before the page's callback, recording its URL.
func (b *browserClient) stopAtCallback() {
	b.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == oidcCallback {
			b.callbacks = append(b.callbacks, r.URL.String())
			return http.ErrUseLastResponse
		}
		return nil
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// signInOIDC runs the whole sign-in from start (e.g. base+"/teacher/oidc/login") as
// login and returns the last answer's status and body.
func signInOIDC(tb testing.TB, b *browserClient, start, login string) (int, string) {
	tb.Helper()
	return oidctest.SignIn(tb, b.Client, start, login)
}

// home follows the continue page to the signed-in home page.
func home(tb testing.TB, b *browserClient, base, page string) (int, string) {
	tb.Helper()
	m := regexp.MustCompile(`http-equiv="refresh" content="0;url=([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("no continue page: %.300s", page)
	}
	status, body, _ := get(tb, b.Client, base+m[1])
	return status, body
}

// noSession checks that b holds no session on the teacher page.
func noSession(tb testing.TB, b *browserClient, base string) {
	tb.Helper()
	resp, err := b.Get(base + "/teacher/")
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/teacher/login" {
		tb.Fatalf("/teacher/ opened %s: a refused sign-in left a session", resp.Request.URL.Path)
	}
}

// oidcAudit is the sign-in entries of the audit log.
func oidcAudit(tb testing.TB, st interface {
	Audit(context.Context, recommender.AuditQuery) ([]recommender.AuditEntry, error)
}) []recommender.AuditEntry {
	tb.Helper()
	all, err := st.Audit(context.Background(), recommender.AuditQuery{Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	var out []recommender.AuditEntry
	for _, e := range all {
		if e.Action == oidcSignInAction {
			out = append(out, e)
		}
	}
	return out
}

// checkNoSecrets fails if a log line or page holds a token, a code or a person's name.
func checkNoSecrets(tb testing.TB, what, text string, extra ...string) {
	tb.Helper()
	for _, bad := range append([]string{"eyJ", "Nom-prof.dupont", opSecret}, extra...) {
		if bad != "" && strings.Contains(text, bad) {
			tb.Fatalf("%s holds %q", what, bad)
		}
	}
}

// The whole round trip: the teacher starts at the page, signs in at the ENT's provider,
// comes back signed in with the role and classes of the ID token only.
func TestOIDCSignInGivesOnlyTheTokensClasses(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	base := e.server.URL
	// The sign-in page offers the ENT.
	if _, page, _ := get(t, e.client(t), base+"/teacher/login"); !strings.Contains(page, `href="/teacher/oidc/login"`) {
		t.Fatal("sign-in page: no link to the ENT's sign-in")
	}
	b := newBrowser(nil)
	status, page := signInOIDC(t, b, base+"/teacher/oidc/login", "prof.dupont")
	if status != http.StatusOK || len(b.callbacks) != 1 {
		t.Fatalf("callback: status %d after %d callbacks: %.300s", status, len(b.callbacks), page)
	}
	cb, _ := url.Parse(b.callbacks[0])
	code := cb.Query().Get("code")
	status, page = home(t, b, base, page)
	if status != http.StatusOK || !strings.Contains(page, classLabels[classMine]) || strings.Contains(page, classLabels[classOther]) {
		t.Fatalf("home: status %d, want class %s only", status, classMine)
	}
	if !strings.Contains(page, "ent-4f7a1c") {
		t.Fatal("home does not name the signed-in teacher by their ENT subject")
	}
	if status, page, _ := get(t, b.Client, base+"/teacher/classes/"+classMine); status != http.StatusOK || !strings.Contains(page, pupilName(classMine, 0)) {
		t.Fatalf("own class: status %d", status)
	}
	if status, _, _ := get(t, b.Client, base+"/teacher/pupils/"+pupilMine+"?subject=MATHS"); status != http.StatusOK {
		t.Fatalf("own pupil: status %d", status)
	}
	// Not in the token: refused by the API's policy, as for any teacher.
	if status, _, _ := get(t, b.Client, base+"/teacher/classes/"+classOther); status != http.StatusForbidden {
		t.Fatalf("another class: status %d, want 403", status)
	}
	if status, _, _ := get(t, b.Client, base+"/teacher/pupils/"+pupilOther+"?subject=MATHS"); status != http.StatusForbidden {
		t.Fatalf("another class's pupil: status %d, want 403", status)
	}
	// A decision goes through the API as this teacher.
	_, page, _ = get(t, b.Client, base+"/teacher/pupils/"+pupilMine+"?subject=MATHS")
	// Claims without an expiry are refused by the API, as an expired token would be.
	err := e.app.call(context.Background(), &session{claims: &api.Claims{Role: api.RoleTeacher, Classes: []string{classMine},
		RegisteredClaims: jwtSubject("ent-4f7a1c")}}, http.MethodGet, "/v1/classes/"+classMine+"/overview", nil, nil, nil)
	if ae, ok := err.(*apiError); !ok || ae.Status != http.StatusUnauthorized {
		t.Fatalf("claims without expiry: %v, want 401", err)
	}
	// The analyst page is not opened by a teacher's session.
	if resp, err := b.Get(base + "/analyst/"); err != nil || resp.Request.URL.Path != "/analyst/login" {
		t.Fatalf("analyst page with a teacher's ENT session: %v", err)
	}
	csrf := csrfOf(t, page)
	if status, _, h := post(t, noFollow(b), base+"/teacher/pupils/"+pupilMine+"/decisions", base,
		url.Values{"csrf": {csrf}, "resource_id": {firstStep(t, page)}, "decision": {"pin"}, "comment": {""}, "subject": {"MATHS"}}); status != http.StatusSeeOther {
		t.Fatalf("decision: status %d (%s)", status, h.Get("Location"))
	}
	got, _ := e.store.Decisions(context.Background(), pupilMine)
	if len(got) != 1 || got[0].TeacherID != "ent-4f7a1c" {
		t.Fatalf("decisions stored: %+v, want one by ent-4f7a1c", got)
	}

	entries := oidcAudit(t, e.store)
	if len(entries) != 1 || entries[0].ActorID != "ent-4f7a1c" || entries[0].ActorRole != api.RoleTeacher || entries[0].Outcome != "ok" {
		t.Fatalf("audit: %+v, want one granted sign-in of ent-4f7a1c as teacher", entries)
	}
	checkNoSecrets(t, "the logs", e.logs.String(), code)
	checkNoSecrets(t, "the audit", fmt.Sprint(entries), code)

	// Sign-out ends the session here and sends the browser to the ENT's end-session
	// endpoint.
	_, page, _ = get(t, b.Client, base+"/teacher/")
	status, _, h := post(t, noFollow(b), base+"/teacher/logout", base, url.Values{"csrf": {csrfOf(t, page)}})
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), e.op.URL+"/end_session?client_id="+opClientID) {
		t.Fatalf("logout: status %d to %q, want the provider's end_session", status, h.Get("Location"))
	}
	noSession(t, b, base)
}

func noFollow(b *browserClient) *http.Client {
	return &http.Client{Jar: b.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func firstStep(tb testing.TB, page string) string {
	tb.Helper()
	m := resourceRE.FindStringSubmatch(page)
	if m == nil {
		tb.Fatal("no step on the pupil's page")
	}
	return m[1]
}

// refused checks a refused sign-in: the status, the French message, no token on the
// page, no session, and a denied entry in the audit.
func (e *oidcEnv) refused(tb testing.TB, b *browserClient, status int, page string, wantStatus int, msg, reason string) {
	tb.Helper()
	if status != wantStatus || !strings.Contains(page, htmlText(msg)) {
		tb.Fatalf("status %d, want %d with %q; page: %.400s", status, wantStatus, msg, page)
	}
	checkNoSecrets(tb, "the page", page)
	checkNoSecrets(tb, "the logs", e.logs.String())
	noSession(tb, b, e.server.URL)
	entries := oidcAudit(tb, e.store)
	if len(entries) == 0 {
		tb.Fatal("refused sign-in not audited")
	}
	last := entries[len(entries)-1]
	if last.Outcome != "denied" || !strings.Contains(last.Detail, reason) {
		tb.Fatalf("audit: %+v, want denied with %q", last, reason)
	}
}

// htmlText is how html/template writes the apostrophes of a message.
func htmlText(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

func TestOIDCRefusesAWrongState(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	// The browser's callback carries a state the page never issued (forged, or from a
	// flow that expired).
	b := newBrowser(func(r *http.Request) {
		if r.URL.Path == oidcCallback {
			q := r.URL.Query()
			q.Set("state", "forged-"+q.Get("state")[:8])
			r.URL.RawQuery = q.Encode()
		}
	})
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	e.refused(t, b, status, page, http.StatusBadRequest, msgFlowExpired, "unknown state")
}

func TestOIDCRefusesACallbackFromAnotherBrowser(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	// The attacker signs in as themself and stops before the callback; the victim's
	// browser is then sent to it (login CSRF).
	attacker := newBrowser(nil)
	attacker.stopAtCallback()
	signInOIDC(t, attacker, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	victim := newBrowser(nil)
	status, page, _ := get(t, victim.Client, attacker.callbacks[0])
	e.refused(t, victim, status, page, http.StatusBadRequest, msgOtherBrowser, "browser binding")
}

func TestOIDCRefusesAReplayedCode(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	base := e.server.URL
	b := newBrowser(nil)
	if status, _ := signInOIDC(t, b, base+"/teacher/oidc/login", "prof.dupont"); status != http.StatusOK {
		t.Fatalf("first sign-in: %d", status)
	}
	used := b.callbacks[0]
	// The same callback again (a leaked URL from the history): its state has served.
	replay := newBrowser(nil)
	status, page, _ := get(t, replay.Client, used)
	e.refused(t, replay, status, page, http.StatusBadRequest, msgFlowExpired, "unknown state")

	// The used code inside a fresh flow of the same browser: the state and binding are
	// good, the provider refuses the code (used, and issued for another PKCE challenge).
	fresh := newBrowser(nil)
	fresh.stopAtCallback()
	signInOIDC(t, fresh, base+"/teacher/oidc/login", "prof.dupont")
	nu, _ := url.Parse(fresh.callbacks[0])
	old, _ := url.Parse(used)
	q := nu.Query()
	q.Set("code", old.Query().Get("code"))
	nu.RawQuery = q.Encode()
	fresh.CheckRedirect = nil
	status, page, _ = get(t, fresh.Client, nu.String())
	e.refused(t, fresh, status, page, http.StatusUnauthorized, msgCodeRefused, "token endpoint invalid_grant")
}

func TestOIDCRefusesAWrongNonce(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	// The authorization request reaching the provider carries another nonce than the
	// one the page stored: the ID token comes back with it.
	b := newBrowser(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth") && r.URL.Query().Get("nonce") != "" {
			q := r.URL.Query()
			q.Set("nonce", "nonce-of-another-flow")
			r.URL.RawQuery = q.Encode()
		}
	})
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	e.refused(t, b, status, page, http.StatusUnauthorized, msgBadToken, "id_token nonce")
}

// otherAppIDToken signs in at the provider as login for the other application and
// returns its ID token: genuine, signed by the provider, for another audience.
func otherAppIDToken(tb testing.TB, o *testOP, login string) string {
	tb.Helper()
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: otherClient, ClientSecret: "autre-secret", RedirectURL: "http://127.0.0.1:1/cb",
		Scopes: []string{"openid"}, Endpoint: oauth2.Endpoint{AuthURL: o.URL + "/auth", TokenURL: o.URL + "/oauth/token"}}
	b := newBrowser(nil)
	var code string
	b.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == "127.0.0.1:1" {
			code = r.URL.Query().Get("code")
			return http.ErrUseLastResponse
		}
		return nil
	}
	signInOIDC(tb, b, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("nonce", "n")), login)
	if code == "" {
		tb.Fatal("no code for the other application")
	}
	tok, err := cfg.Exchange(ctx, code)
	if err != nil {
		tb.Fatal(err)
	}
	id, _ := tok.Extra("id_token").(string)
	return id
}

func TestOIDCRefusesAnIDTokenForAnotherAudience(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	other := otherAppIDToken(t, e.op, "prof.dupont")
	// The token endpoint's answer reaching the page carries the other application's ID
	// token (token substitution).
	e.rewrite.set(func(string) string { return other })
	b := newBrowser(nil)
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	e.refused(t, b, status, page, http.StatusUnauthorized, msgBadToken, "id_token audience")
}

func TestOIDCRefusesAnExpiredIDToken(t *testing.T) {
	// The page's clock is two hours ahead of the provider's: the ID token (valid one
	// hour) has expired when it arrives.
	e := newOIDCEnv(t, oidcOpts{now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	b := newBrowser(nil)
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	e.refused(t, b, status, page, http.StatusUnauthorized, msgBadToken, "id_token expired")
}

func TestOIDCRefusesATamperedIDToken(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	// The ID token's payload is changed on its way (the teacher gains 6B); the signature
	// is the provider's, for the original payload.
	e.rewrite.set(func(id string) string {
		parts := strings.Split(id, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Error(err)
		}
		var cl map[string]any
		_ = json.Unmarshal(payload, &cl)
		cl["ent_classes"] = []string{classMine, classOther}
		payload, _ = json.Marshal(cl)
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	})
	b := newBrowser(nil)
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	e.refused(t, b, status, page, http.StatusUnauthorized, msgBadToken, "id_token signature")
}

func TestOIDCRefusesAnUnmappedRole(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	b := newBrowser(nil)
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "cpe.martin")
	if status != http.StatusForbidden || !strings.Contains(page, htmlText(msgUnknownRole)) {
		t.Fatalf("unmapped profile: status %d", status)
	}
	noSession(t, b, e.server.URL)
	entries := oidcAudit(t, e.store)
	if len(entries) != 1 || entries[0].ActorID != "ent-9b2e77" || entries[0].Outcome != "denied" || !strings.Contains(entries[0].Detail, "unmapped role") {
		t.Fatalf("audit: %+v", entries)
	}
	// The analyst signs in to the analyst page, not to the teacher's.
	b = newBrowser(nil)
	status, page = signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "analyste.bernard")
	if status != http.StatusForbidden || !strings.Contains(page, "réservée aux enseignants") {
		t.Fatalf("analyst on the teacher page: status %d", status)
	}
	status, page = signInOIDC(t, b, e.server.URL+"/analyst/oidc/login", "analyste.bernard")
	if status != http.StatusOK {
		t.Fatalf("analyst sign-in: status %d", status)
	}
	if status, page = home(t, b, e.server.URL, page); status != http.StatusOK || !strings.Contains(page, "Expériences") {
		t.Fatalf("analyst home: status %d", status)
	}
	entries = oidcAudit(t, e.store)
	if last := entries[len(entries)-1]; last.ActorRole != api.RoleAnalyst || last.Outcome != "ok" {
		t.Fatalf("audit of the analyst: %+v", last)
	}
}

// Two replicas sharing Redis: the sign-in starts on one and its callback lands on the
// other (the flow lives in Redis, not in a replica's memory); the state works once.
func TestOIDCFlowSpansReplicasThroughRedis(t *testing.T) {
	client, prefix := redistest.New(t)
	kv := cache.NewRedisKV(client, prefix)
	a := newOIDCEnv(t, oidcOpts{sessions: kv})
	bEnv := newOIDCEnv(t, oidcOpts{sessions: kv, op: a.op, redirect: a.server.URL + oidcCallback})
	br := newBrowser(nil)
	status, page := signInOIDC(t, br, bEnv.server.URL+"/teacher/oidc/login", "prof.dupont")
	if status != http.StatusOK || !strings.HasPrefix(br.callbacks[0], a.server.URL) {
		t.Fatalf("started on b, callback on a: status %d", status)
	}
	if status, page = home(t, br, bEnv.server.URL, page); status != http.StatusOK || !strings.Contains(page, classLabels[classMine]) {
		t.Fatalf("home on b after the callback on a: status %d", status)
	}
	// The session is in Redis: its claims, not a token.
	keys, err := client.Keys(context.Background(), prefix+"*teacher:session:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("sessions in redis: %v %v", keys, err)
	}
	raw, _ := client.Get(context.Background(), keys[0]).Result()
	if strings.Contains(raw, "eyJ") || !strings.Contains(raw, `"classes":["6A"]`) {
		t.Fatalf("stored session: %s", raw)
	}
	replay := newBrowser(nil)
	if status, _, _ := get(t, replay.Client, strings.Replace(br.callbacks[0], a.server.URL, bEnv.server.URL, 1)); status != http.StatusBadRequest {
		t.Fatalf("the used state on the other replica: status %d", status)
	}
	if slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "oidc") }) {
		t.Fatal("flow left in redis")
	}
}

// TestOIDCSignInInABrowser: the teacher clicks "Se connecter avec l'ENT" in headless
// Chromium, signs in on the provider's own form (another site: localhost against the
// page's 127.0.0.1), and lands on their classes. It checks what the net/http tests
// cannot: that a browser sends the SameSite cookies as the flow needs (the Lax binding
// cookie on the provider's redirect, the Strict session cookie after the continue page),
// and that no token or code stays in the address bar.
func TestOIDCSignInInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newOIDCEnv(t, oidcOpts{})
	ctx := browser(t, 1280, 800)
	base := e.server.URL
	step(t, ctx, "open the sign-in page",
		chromedp.Navigate(base+"/teacher/login"),
		chromedp.WaitVisible(chromedp.CSS(`a.button[href="/teacher/oidc/login"]`)),
	)
	screenshot(t, ctx, "teacher-signin-ent.png")
	step(t, ctx, "go to the ENT",
		chromedp.Click(chromedp.CSS(`a.button[href="/teacher/oidc/login"]`)),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	if u := eval[string](t, ctx, `location.href`); !strings.HasPrefix(u, e.op.URL) {
		t.Fatalf("the ENT's login form is at %q, want under %s", u, e.op.URL)
	}
	step(t, ctx, "sign in at the ENT",
		chromedp.SetValue(chromedp.ID("username"), "prof.dupont"),
		chromedp.SetValue(chromedp.ID("password"), opPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.class-link`)),
	)
	u := eval[string](t, ctx, `location.href`)
	if u != base+"/teacher/" {
		t.Fatalf("after sign-in the browser is at %q, want %s/teacher/", u, base)
	}
	links := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("a.class-link")).map(a => a.getAttribute("href"))`)
	if !slices.Equal(links, []string{"/teacher/classes/" + classMine}) {
		t.Fatalf("classes offered: %v, want %s only", links, classMine)
	}
	if hist := eval[int](t, ctx, `history.length`); hist < 2 {
		t.Fatalf("history length %d", hist)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Fatalf("cookies readable from script: %q", c)
	}
	screenshot(t, ctx, "teacher-signed-in-ent.png")
	step(t, ctx, "open the class",
		chromedp.Click(chromedp.CSS(`a.class-link`)),
		chromedp.WaitVisible(chromedp.CSS(`table.heat`)),
	)
	checkNoSecrets(t, "the logs", e.logs.String())
}

func TestOIDCShowsTheProvidersRefusalInFrench(t *testing.T) {
	e := newOIDCEnv(t, oidcOpts{})
	// The provider answers the callback with an error (the person declined, or the ENT
	// refused): the page says so in French and quotes none of the provider's text.
	b := newBrowser(func(r *http.Request) {
		if r.URL.Path == oidcCallback {
			q := r.URL.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "<script>alert(1)</script> eyJhbGciOi")
			r.URL.RawQuery = q.Encode()
		}
	})
	status, page := signInOIDC(t, b, e.server.URL+"/teacher/oidc/login", "prof.dupont")
	e.refused(t, b, status, page, http.StatusUnauthorized, msgIdPRefused, "provider error access_denied")
	if strings.Contains(page, "alert(1)") {
		t.Fatal("the provider's description is on the page")
	}
}

func TestOIDCSaysWhenTheProviderIsDown(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	e := newOIDCEnv(t, oidcOpts{op: &testOP{URL: dead.URL}})
	b := newBrowser(nil)
	status, page, _ := get(t, b.Client, e.server.URL+"/teacher/oidc/login")
	if status != http.StatusServiceUnavailable || !strings.Contains(page, htmlText(msgOIDCDown)) || !strings.Contains(page, `id="token"`) {
		t.Fatalf("provider down: status %d, want 503 with the message and the token form", status)
	}
}

// Starts of the sign-in are limited per address (each writes a flow record for ten
// minutes): past the burst the page answers 429 in French and writes nothing. Real Redis.
func TestOIDCStartsAreLimitedPerAddress(t *testing.T) {
	client, prefix := redistest.New(t)
	kv := cache.NewRedisKV(client, prefix)
	e := newOIDCEnvWith(t, oidcOpts{sessions: kv}, func(c *Config) {
		c.SignInLimiter = cache.NewRedisLimiter(client, prefix+"oidc:", 0.01, 3)
	})
	b := newBrowser(nil)
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i := range 3 {
		if status, _, _ := get(t, b.Client, e.server.URL+"/teacher/oidc/login"); status != http.StatusSeeOther {
			t.Fatalf("start %d: status %d, want 303 to the provider", i+1, status)
		}
	}
	status, page, h := get(t, b.Client, e.server.URL+"/teacher/oidc/login")
	if status != http.StatusTooManyRequests || !strings.Contains(page, msgTooMany) || h.Get("Retry-After") == "" {
		t.Fatalf("fourth start: status %d, want 429 with the message and Retry-After", status)
	}
	keys, _ := client.Keys(context.Background(), prefix+"*teacher:oidc:*").Result()
	if len(keys) != 3 {
		t.Fatalf("%d flow records in redis, want 3 (the refused start writes none)", len(keys))
	}
}
