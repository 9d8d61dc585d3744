package teacher

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender"
)

// Sign-in through the ENT: OpenID Connect authorization code flow with PKCE (RFC 7636,
// S256) and a nonce. The page is a confidential client when a secret is configured, a
// public one otherwise. Everything a flow needs between its two legs (state, nonce, PKCE
// verifier, which page started it, the hash of a browser binding) is kept in the page's
// session store under the state, for ten minutes, and taken (read and deleted in one
// step) by the callback: a state works once, on whichever replica the callback lands.
// The browser binding is a random value in a SameSite=Lax cookie scoped to the callback:
// a callback URL carried to another browser (login CSRF, a leaked code) opens nothing.
//
// The ID token is verified by go-oidc (signature with the provider's published keys,
// issuer, audience, expiry), then the nonce, the authorised party when there are several
// audiences, and the access token's hash when the token carries one. Its claims are then
// mapped to Parcours claims: the role through OIDC.RoleMap (a value not in the map is
// refused), a teacher's classes and the school from their claims, nothing else. The
// session holds these claims, not the ID token: the page calls the API in-process with
// api.WithSignedIn, under exactly the API's access policy and audit.

// OIDC configures the sign-in through the ENT's OpenID provider.
type OIDC struct {
	// Issuer is the provider's issuer URL (discovery at Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret are the page's registration at the provider; no secret:
	// a public client (PKCE alone).
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered at the provider: <public origin>/teacher/oidc/callback.
	RedirectURL string
	// Scopes are requested besides openid (e.g. the scope that releases the role claims).
	Scopes []string
	// RoleClaim, ClassesClaim and SchoolClaim name the ID token's claims (a dotted path
	// reaches into objects: "realm_access.roles"); defaults "role", "classes", "school".
	// Each may be a string or an array of strings.
	RoleClaim, ClassesClaim, SchoolClaim string
	// RoleMap maps the role claim's values to Parcours roles (teacher, analyst, admin);
	// a value not in it is refused. Empty: the values must be Parcours role names.
	RoleMap map[string]string
	// HTTPClient reaches the provider (discovery, keys, token endpoint); default: 10 s
	// timeout.
	HTTPClient *http.Client
}

const (
	oidcFlowTTL    = 10 * time.Minute
	oidcBindCookie = "parcours_oidc"
	// oidcCallback is the callback's path, for the teacher's and the analyst's sign-in.
	oidcCallback = Prefix + "/oidc/callback"
	// maxClasses bounds the classes a token may give: more is a misconfigured claim.
	maxClasses = 200
)

// Spaces a flow may sign in to.
const (
	spaceTeacher = "teacher"
	spaceAnalyst = "analyst"
)

// Validate checks the configuration; its errors name the setting (ISSUER, CLIENT_ID,
// REDIRECT_URL, ROLE_MAP) after "OIDC_".
func (c *OIDC) Validate() error {
	if u, err := url.Parse(c.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("OIDC_ISSUER: an absolute http(s) URL is required, got %q", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("OIDC_CLIENT_ID: required with an issuer")
	}
	u, err := url.Parse(c.RedirectURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != oidcCallback {
		return fmt.Errorf("OIDC_REDIRECT_URL: an absolute URL ending with %s is required, got %q", oidcCallback, c.RedirectURL)
	}
	for k, v := range c.RoleMap {
		if k == "" || !pageRole(v) {
			return fmt.Errorf("OIDC_ROLE_MAP: %q=%q: the Parcours role must be teacher, analyst or admin", k, v)
		}
	}
	return nil
}

// pageRole says whether role may sign in to one of the pages.
func pageRole(role string) bool {
	return role == api.RoleTeacher || role == api.RoleAnalyst || role == api.RoleAdmin
}

// oidcClient is the configured sign-in with its provider, discovered on first use (and
// again after a failed discovery), so that serve starts while the ENT is unreachable.
type oidcClient struct {
	cfg OIDC
	now func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	endSess  string // the provider's end_session_endpoint, if any
	failedAt time.Time
}

func newOIDCClient(cfg OIDC, now func() time.Time) (*oidcClient, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.RoleClaim = cmpOr(cfg.RoleClaim, "role")
	cfg.ClassesClaim = cmpOr(cfg.ClassesClaim, "classes")
	cfg.SchoolClaim = cmpOr(cfg.SchoolClaim, "school")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcClient{cfg: cfg, now: now}, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

// discover returns the provider, discovering it if needed; a failed discovery is retried
// at most every 10 seconds.
func (o *oidcClient) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, o.verifier, nil
	}
	if !o.failedAt.IsZero() && o.now().Sub(o.failedAt) < 10*time.Second {
		return nil, nil, errors.New("oidc: discovery failed recently")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The provider must say it is the configured issuer (go-oidc checks it).
	p, err := oidc.NewProvider(o.ctx(ctx), o.cfg.Issuer)
	if err != nil {
		o.failedAt = o.now()
		return nil, nil, err
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&meta)
	o.provider, o.endSess = p, meta.EndSession
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.now})
	return o.provider, o.verifier, nil
}

func (o *oidcClient) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...)}
}

// oidcFlow is what the store keeps of a flow between its two legs.
type oidcFlow struct {
	Space    string `json:"space"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Bind     string `json:"bind"` // SHA-256 of the browser binding cookie, base64url
}

func flowKey(state string) string { return "teacher:oidc:" + state }

func bindHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// startOIDC begins a sign-in for space: it stores the flow and sends the browser to the
// provider's authorization endpoint.
func (a *App) startOIDC(w http.ResponseWriter, r *http.Request, sp space, name string) {
	o := a.oidc
	if o == nil {
		a.errorPage(w, r, nil, http.StatusNotFound)
		return
	}
	if l := a.cfg.SignInLimiter; l != nil {
		ctx, cancel := storeCtx()
		ok, err := l.Allow(ctx, "oidc-start:"+remoteHost(r))
		cancel()
		if err != nil {
			// The limiter's store is down: the flow's record could not be written either.
			a.cfg.Logger.Warn("oidc sign-in: limiter", "error", err.Error())
			a.loginError(w, r, sp, http.StatusServiceUnavailable, msgUnavailable)
			return
		}
		if !ok {
			w.Header().Set("Retry-After", "30")
			a.loginError(w, r, sp, http.StatusTooManyRequests, msgTooMany)
			return
		}
	}
	p, _, err := o.discover(r.Context())
	if err != nil {
		a.cfg.Logger.Warn("oidc sign-in: provider unreachable", "error", err.Error())
		a.loginError(w, r, sp, http.StatusServiceUnavailable, msgOIDCDown)
		return
	}
	state, nonce, bind, verifier := randomID(), randomID(), randomID(), oauth2.GenerateVerifier()
	b, _ := json.Marshal(oidcFlow{Space: name, Nonce: nonce, Verifier: verifier, Bind: bindHash(bind)})
	if err := a.sessions.put(flowKey(state), string(b), oidcFlowTTL); err != nil {
		a.cfg.Logger.Warn("oidc sign-in: session store", "op", "set", "error", err.Error())
		a.loginError(w, r, sp, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	// Lax, not Strict: the callback is a top-level navigation coming from the provider's
	// site, which a Strict cookie would not follow.
	http.SetCookie(w, &http.Cookie{Name: oidcBindCookie, Value: bind, Path: oidcCallback, MaxAge: int(oidcFlowTTL.Seconds()),
		HttpOnly: true, Secure: a.cfg.SecureCookie || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, o.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

// Messages of the sign-in page (French; they never quote the provider's answer).
const (
	msgOIDCDown     = "Le service de connexion de l'ENT ne répond pas. Réessayez dans quelques instants."
	msgUnavailable  = "Le service est momentanément indisponible. Réessayez dans quelques instants."
	msgFlowExpired  = "Cette demande de connexion a expiré ou a déjà servi. Recommencez la connexion."
	msgOtherBrowser = "Cette connexion a été commencée dans un autre navigateur. Recommencez la connexion."
	msgIdPRefused   = "L'ENT n'a pas accordé la connexion. Recommencez, ou adressez-vous à l'administrateur de l'ENT."
	msgCodeRefused  = "L'ENT n'a pas confirmé la connexion (code refusé, expiré ou déjà utilisé). Recommencez la connexion."
	msgBadToken     = "La réponse de l'ENT n'a pas pu être vérifiée. Recommencez la connexion ; si cela se reproduit, prévenez l'administrateur."
	msgUnknownRole  = "Votre profil dans l'ENT ne donne pas accès à Parcours."
	msgTooMany      = "Trop de connexions commencées depuis cette adresse. Patientez une minute puis réessayez."
)

// loginError renders sp's sign-in page with an error message.
func (a *App) loginError(w http.ResponseWriter, r *http.Request, sp space, status int, msg string) {
	sp.render(w, r, status, "login", pageData{Title: "Connexion", Flash: &flash{Kind: "error", Text: msg}, OIDC: a.oidc != nil})
}

// oidcSignInAction is the audit action of a sign-in through the ENT.
const oidcSignInAction = "signin.oidc"

// audit writes one sign-in entry; it reports whether the entry is stored (or there is no
// audit log configured).
func (a *App) audit(r *http.Request, actorID, role, outcome, reason string) bool {
	if a.cfg.Audit == nil {
		return true
	}
	if actorID == "" {
		actorID = "addr:" + remoteHost(r)
	}
	if role == "" {
		role = "anonymous"
	}
	detail := "GET " + oidcCallback
	if reason != "" {
		detail += ": " + reason
	}
	ctx, cancel := storeCtx()
	defer cancel()
	err := a.cfg.Audit.AppendAudit(ctx, recommender.AuditEntry{At: a.cfg.Now().UTC(), ActorID: actorID, ActorRole: role,
		Action: oidcSignInAction, Detail: detail, Outcome: outcome})
	if err != nil {
		a.cfg.Logger.Warn("oidc sign-in: audit", "error", err.Error())
		return false
	}
	return true
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// oidcCallbackHandler ends a sign-in: the provider sends the browser here with a code and
// the state.
func (a *App) oidcCallbackHandler(w http.ResponseWriter, r *http.Request) {
	o := a.oidc
	if o == nil {
		a.errorPage(w, r, nil, http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	// Whatever happens, the binding cookie has served.
	http.SetCookie(w, &http.Cookie{Name: oidcBindCookie, Value: "", Path: oidcCallback, MaxAge: -1,
		HttpOnly: true, Secure: a.cfg.SecureCookie || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	sp := a.teacherSpace()
	deny := func(status int, msg, reason string) {
		a.audit(r, "", "", "denied", reason)
		a.cfg.Logger.Info("oidc sign-in refused", "reason", reason)
		a.loginError(w, r, sp, status, msg)
	}
	state := q.Get("state")
	if state == "" || len(state) > 256 {
		deny(http.StatusBadRequest, msgFlowExpired, "no state")
		return
	}
	raw, ok := a.sessions.take(flowKey(state))
	var fl oidcFlow
	if !ok || json.Unmarshal([]byte(raw), &fl) != nil {
		deny(http.StatusBadRequest, msgFlowExpired, "unknown state")
		return
	}
	if fl.Space == spaceAnalyst {
		sp = a.analystSpace()
	}
	bind, err := r.Cookie(oidcBindCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(bindHash(bind.Value)), []byte(fl.Bind)) != 1 {
		deny(http.StatusBadRequest, msgOtherBrowser, "browser binding")
		return
	}
	if q.Get("error") != "" {
		// The provider's error code is a fixed vocabulary (RFC 6749 4.1.2.1); its
		// description is free text and is neither shown nor logged.
		deny(http.StatusUnauthorized, msgIdPRefused, "provider error "+safeCode(q.Get("error")))
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		deny(http.StatusBadRequest, msgCodeRefused, "no code")
		return
	}
	p, verifier, err := o.discover(r.Context())
	if err != nil {
		a.cfg.Logger.Warn("oidc sign-in: provider unreachable", "error", err.Error())
		a.loginError(w, r, sp, http.StatusServiceUnavailable, msgOIDCDown)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := o.oauth(p).Exchange(o.ctx(ctx), code, oauth2.VerifierOption(fl.Verifier))
	if err != nil {
		reason := "token endpoint"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			reason += " " + safeCode(re.ErrorCode) // never the body
		}
		deny(http.StatusUnauthorized, msgCodeRefused, reason)
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		deny(http.StatusUnauthorized, msgBadToken, "no id_token")
		return
	}
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		deny(http.StatusUnauthorized, msgBadToken, "id_token "+verifyReason(err))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(fl.Nonce)) != 1 {
		deny(http.StatusUnauthorized, msgBadToken, "id_token nonce")
		return
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			deny(http.StatusUnauthorized, msgBadToken, "id_token at_hash")
			return
		}
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		deny(http.StatusUnauthorized, msgBadToken, "id_token claims")
		return
	}
	if len(idt.Audience) > 1 {
		if azp, _ := all["azp"].(string); azp != o.cfg.ClientID {
			deny(http.StatusUnauthorized, msgBadToken, "id_token azp")
			return
		}
	}
	cl, reason := o.mapClaims(idt.Subject, all, fl.Space)
	if cl == nil {
		a.audit(r, idt.Subject, "", "denied", reason)
		a.cfg.Logger.Info("oidc sign-in refused", "reason", reason)
		msg := msgUnknownRole
		if reason == "role not allowed here" {
			msg = sp.forbidden
		}
		a.loginError(w, r, sp, http.StatusForbidden, msg)
		return
	}
	cl.ExpiresAt = jwt.NewNumericDate(a.cfg.Now().Add(a.cfg.SessionTTL))
	// Fail closed: a sign-in that cannot be audited opens no session.
	if !a.audit(r, cl.Subject, cl.Role, "ok", "space "+fl.Space) {
		a.loginError(w, r, sp, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	id, s := a.sessions.createSignedIn(cl)
	if s == nil {
		a.loginError(w, r, sp, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	sp.setCookie(w, r, id, int(s.expires.Sub(a.cfg.Now()).Seconds()))
	// A page, not a redirect: the session cookie is SameSite=Strict, and a browser does
	// not send it on a redirect chain that began at the provider's site; the page's own
	// navigation (meta refresh) is same-site.
	a.renderContinue(w, sp.home)
}

// safeCode keeps an OAuth error code loggable: letters, digits and _ only, 40 at most.
func safeCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// verifyReason names why go-oidc refused a token, without quoting it.
func verifyReason(err error) string {
	var exp *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &exp):
		return "expired"
	case strings.Contains(msg, "audience"):
		return "audience"
	case strings.Contains(msg, "different provider"):
		return "issuer"
	case strings.Contains(msg, "signature"), strings.Contains(msg, "malformed"), strings.Contains(msg, "unmarshal"):
		return "signature"
	case strings.Contains(msg, "nbf"):
		return "not yet valid"
	}
	return "invalid"
}

// mapClaims turns the ID token's claims into Parcours claims for space, or says why not.
func (o *oidcClient) mapClaims(sub string, all map[string]any, space string) (*api.Claims, string) {
	if sub == "" || len(sub) > 255 {
		return nil, "no subject"
	}
	values, ok := stringsAt(all, o.cfg.RoleClaim)
	if !ok || len(values) == 0 {
		return nil, "no role claim"
	}
	var roles []string
	for _, v := range values {
		role := v
		if len(o.cfg.RoleMap) > 0 {
			role = o.cfg.RoleMap[v]
		}
		if pageRole(role) && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	if len(roles) == 0 {
		return nil, "unmapped role"
	}
	// The least role that opens the space: a teacher page session is a teacher's, an
	// analyst page session an analyst's unless the person is only an admin.
	var role string
	switch {
	case space == spaceTeacher && slices.Contains(roles, api.RoleTeacher):
		role = api.RoleTeacher
	case space == spaceAnalyst && slices.Contains(roles, api.RoleAnalyst):
		role = api.RoleAnalyst
	case space == spaceAnalyst && slices.Contains(roles, api.RoleAdmin):
		role = api.RoleAdmin
	default:
		return nil, "role not allowed here"
	}
	cl := &api.Claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{Subject: sub}}
	if school, ok := stringsAt(all, o.cfg.SchoolClaim); ok && len(school) == 1 && validID(school[0]) {
		cl.School = school[0]
	}
	if role == api.RoleTeacher {
		classes, _ := stringsAt(all, o.cfg.ClassesClaim)
		for _, c := range classes {
			if validID(c) && !slices.Contains(cl.Classes, c) {
				cl.Classes = append(cl.Classes, c)
			}
		}
		if len(cl.Classes) > maxClasses {
			return nil, "too many classes"
		}
	}
	return cl, ""
}

func validID(s string) bool {
	return s != "" && len(s) <= 128 && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// stringsAt reads the claim at a dotted path as a list of strings: a string is a list of
// one; anything else is absent.
func stringsAt(all map[string]any, path string) ([]string, bool) {
	var cur any = all
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	switch v := cur.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// endSessionURL is where a signed-out OIDC session goes: the provider's end-session
// endpoint (OpenID RP-Initiated Logout, with the client id), else "".
func (o *oidcClient) endSessionURL() string {
	o.mu.Lock()
	end := o.endSess
	o.mu.Unlock()
	if end == "" {
		return ""
	}
	u, err := url.Parse(end)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", o.cfg.ClientID)
	u.RawQuery = q.Encode()
	return u.String()
}

// continuePage takes the browser from the callback to the home page by a same-site
// navigation (see the end of oidcCallbackHandler). No script: CSP allows none inline.
var continuePage = template.Must(template.New("continue").Parse(`<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0;url={{.}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connexion — Parcours</title>
<link rel="stylesheet" href="/teacher/static/app.css">
</head>
<body>
<main id="main"><p>Connexion réussie. <a href="{{.}}">Continuer</a></p></main>
</body>
</html>
`))

func (a *App) renderContinue(w http.ResponseWriter, home string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if err := continuePage.Execute(w, home); err != nil {
		a.cfg.Logger.Error("oidc sign-in: continue page", "error", err.Error())
	}
}
