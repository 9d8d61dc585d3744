package teacher

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the page lives.
const Prefix = "/teacher"

const cookieName = "parcours_teacher"

// CatalogueSource gives the catalogue (memstore and pgstore implement it).
type CatalogueSource interface {
	Catalogue(ctx context.Context) ([]datasets.Competency, []datasets.Resource, error)
}

// Config holds the page's settings; zero fields take the documented defaults.
type Config struct {
	// API is the JSON API's handler (api.Server.Handler()): every read and decision goes
	// through it. Required.
	API http.Handler
	// Verifier checks the token given at sign-in (the API's own). Required.
	Verifier api.Verifier
	// Catalogue gives competency labels, resource titles and subjects. Required.
	Catalogue CatalogueSource
	// SessionTTL bounds a session (default 8h; never beyond the token's expiry).
	SessionTTL time.Duration
	// OnceTTL is how long a one-time sign-in link works (default 5 minutes).
	OnceTTL time.Duration
	// PathLength is the number of steps shown (default 5).
	PathLength int
	// PublicOrigin, when set (e.g. "https://ent.example.fr"), is the only Origin a
	// state-changing request may come from; otherwise the request's own host.
	PublicOrigin string
	// SecureCookie forces the Secure flag on the session cookie (it is set anyway on TLS
	// requests); set it when TLS ends at a proxy.
	SecureCookie bool
	// Location is where dates are shown (default Europe/Paris, else UTC).
	Location *time.Location
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives errors without personal data (default: discarded).
	Logger *slog.Logger
	// Sessions keeps sessions and one-time codes where every replica reads them
	// (cache.RedisKV in serve with REDIS_URL); nil: in this process's memory.
	Sessions SessionStore
	// Roster gives pupils' display names and classes' labels; nil: ids are shown.
	Roster Roster
	// OIDC, when set, signs teachers and analysts in through the ENT's OpenID provider
	// (oidc.go); the token form and the one-time link stay.
	OIDC *OIDC
	// Audit receives an entry per sign-in through the ENT, granted or refused (the
	// store's audit log in serve); nil: not audited.
	Audit recommender.AuditAppender
	// SignInLimiter bounds the sign-ins through the ENT started per client address: each
	// start writes a flow record to Sessions for ten minutes, so an unbounded flood would
	// fill the store (serve: a Redis limiter when REDIS_URL is set). nil: no limit (the
	// in-memory store caps its records itself).
	SignInLimiter api.SharedLimiter
}

// App is the teacher's page.
type App struct {
	cfg      Config
	sessions *sessions
	pages    map[string]*template.Template
	cat      catalogueCache
	mux      *http.ServeMux
	oidc     *oidcClient // nil: no sign-in through the ENT
}

// New builds the page.
func New(cfg Config) (*App, error) {
	if cfg.API == nil || cfg.Verifier == nil || cfg.Catalogue == nil {
		return nil, errors.New("teacher.New: API, Verifier and Catalogue are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.OnceTTL <= 0 {
		cfg.OnceTTL = 5 * time.Minute
	}
	if cfg.PathLength <= 0 {
		cfg.PathLength = 5
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			loc = time.UTC
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages(cfg.Location)
	if err != nil {
		return nil, fmt.Errorf("teacher.New: %w", err)
	}
	a := &App{cfg: cfg, sessions: newSessions(cfg.Now, cfg.Sessions, cfg.Verifier, cfg.Logger), pages: pages}
	if cfg.OIDC != nil {
		if a.oidc, err = newOIDCClient(*cfg.OIDC, cfg.Now); err != nil {
			return nil, fmt.Errorf("teacher.New: %w", err)
		}
	}
	a.cat = catalogueCache{src: cfg.Catalogue, ttl: time.Minute, now: cfg.Now}
	a.mux = a.routes()
	return a, nil
}

// Handler serves the page's own paths (everything under /teacher/).
func (a *App) Handler() http.Handler { return a.mux }

// Mount returns a handler that serves the page under /teacher/ and passes every other
// request to rest (usually the API's handler): what `parcours serve` listens with.
func (a *App) Mount(rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix || strings.HasPrefix(r.URL.Path, Prefix+"/") {
			a.mux.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

// OneTimeLink returns a sign-in link for token under baseURL (e.g.
// "http://localhost:8080"): /teacher/login?once=<code>. The code is random, works once,
// for Config.OnceTTL, so the link may be printed or logged; the token never appears in it.
// The token must be a valid teacher token.
func (a *App) OneTimeLink(baseURL, token string) (string, error) {
	cl, err := a.cfg.Verifier.Verify(context.Background(), token)
	if err != nil {
		return "", fmt.Errorf("teacher.OneTimeLink: %w", err)
	}
	if cl.Role != api.RoleTeacher {
		return "", errors.New("teacher.OneTimeLink: not a teacher token")
	}
	code, err := a.sessions.newOnce(token, a.cfg.OnceTTL)
	if err != nil {
		return "", fmt.Errorf("teacher.OneTimeLink: %w", err)
	}
	return strings.TrimRight(baseURL, "/") + Prefix + "/login?once=" + url.QueryEscape(code), nil
}

func (a *App) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	m.Handle("GET "+Prefix+"/static/", a.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	m.Handle("GET "+Prefix, http.RedirectHandler(Prefix+"/", http.StatusSeeOther))
	m.Handle("GET "+Prefix+"/login", a.headers(http.HandlerFunc(a.getLogin)))
	m.Handle("POST "+Prefix+"/login", a.headers(a.sameOrigin(http.HandlerFunc(a.postLogin))))
	m.Handle("GET "+Prefix+"/oidc/login", a.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.startOIDC(w, r, a.teacherSpace(), spaceTeacher)
	})))
	m.Handle("GET "+oidcCallback, a.headers(http.HandlerFunc(a.oidcCallbackHandler)))
	m.Handle("POST "+Prefix+"/logout", a.headers(a.sameOrigin(a.signedIn(a.checkCSRF(a.postLogout)))))
	m.Handle("GET "+Prefix+"/{$}", a.headers(a.signedIn(a.getHome)))
	m.Handle("GET "+Prefix+"/classes/{class}", a.headers(a.signedIn(a.getClass)))
	m.Handle("GET "+Prefix+"/pupils/{pupil}", a.headers(a.signedIn(a.getPupil)))
	m.Handle("POST "+Prefix+"/pupils/{pupil}/decisions", a.headers(a.sameOrigin(a.signedIn(a.checkCSRF(a.postDecision)))))
	m.Handle("POST "+Prefix+"/classes/{class}/experiments/{experiment}", a.headers(a.sameOrigin(a.signedIn(a.checkCSRF(a.postOptOut)))))
	m.Handle("POST "+Prefix+"/pupils/{pupil}/replace", a.headers(a.sameOrigin(a.signedIn(a.checkCSRF(a.postReplace)))))
	m.Handle(Prefix+"/", a.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.errorPage(w, r, nil, http.StatusNotFound)
	})))
	return m
}

// csp allows only this origin's files: no inline script or style, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func (a *App) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
		// form posts, and the Origin check needs the real one.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses a state-changing request whose Origin (or, without one,
// Sec-Fetch-Site) says it comes from another site.
func (a *App) sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.originOK(r) {
			a.errorPage(w, r, nil, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) originOK(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		sfs := r.Header.Get("Sec-Fetch-Site")
		return sfs == "" || sfs == "same-origin" || sfs == "none"
	}
	if a.cfg.PublicOrigin != "" {
		return origin == strings.TrimRight(a.cfg.PublicOrigin, "/")
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == r.Host && (u.Scheme == "http" || u.Scheme == "https")
}

type ctxKey struct{}

type sessionRef struct {
	id string
	s  *session
}

func sessionOf(r *http.Request) *sessionRef {
	v, _ := r.Context().Value(ctxKey{}).(*sessionRef)
	return v
}

// signedIn sends a visitor without a live session to the sign-in form.
func (a *App) signedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if c, err := r.Cookie(cookieName); err == nil {
			id = c.Value
		}
		s := a.sessions.get(id)
		// Analysts' sessions live in the same store under another cookie: a session id
		// carried to this page under the teacher's cookie opens nothing.
		if s == nil || s.claims == nil || s.claims.Role != api.RoleTeacher {
			http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &sessionRef{id: id, s: s})))
	})
}

func (a *App) checkCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if !sameSecret(sessionOf(r).s.csrf, r.PostFormValue("csrf")) {
			a.errorPage(w, r, nil, http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

func (a *App) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: Prefix + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.cfg.SecureCookie || r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

func (a *App) getLogin(w http.ResponseWriter, r *http.Request) {
	if code := r.URL.Query().Get("once"); code != "" {
		token, ok := a.sessions.takeOnce(code)
		if !ok {
			a.loginError(w, r, a.teacherSpace(), http.StatusUnauthorized, "Ce lien de connexion a déjà servi ou a expiré. Connectez-vous ci-dessous.")
			return
		}
		a.startSession(w, r, token)
		return
	}
	a.render(w, r, http.StatusOK, "login", pageData{Title: "Connexion", OIDC: a.oidc != nil})
}

func (a *App) postLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	a.startSession(w, r, strings.TrimSpace(r.PostFormValue("token")))
}

// space is one signed-in area of the page (the teacher's, the analyst's): who may enter,
// how its pages render, and its session cookie.
type space struct {
	render    func(w http.ResponseWriter, r *http.Request, status int, name string, d pageData)
	allowed   func(*api.Claims) bool
	forbidden string // the sign-in page's message to another role
	setCookie func(w http.ResponseWriter, r *http.Request, value string, maxAge int)
	home      string
}

func (a *App) teacherSpace() space {
	return space{render: a.render, allowed: func(cl *api.Claims) bool { return cl.Role == api.RoleTeacher },
		forbidden: "Cette page est réservée aux enseignants.", setCookie: a.setCookie, home: Prefix + "/"}
}

// startSession verifies a teacher token, opens a session and goes to the class picker.
func (a *App) startSession(w http.ResponseWriter, r *http.Request, token string) {
	a.signIn(w, r, token, a.teacherSpace())
}

// signIn verifies a token, checks that its role may enter sp, opens a session and goes to
// sp's home page; every refusal re-renders the sign-in page with a message in French.
func (a *App) signIn(w http.ResponseWriter, r *http.Request, token string, sp space) {
	fail := func(status int, msg string) { a.loginError(w, r, sp, status, msg) }
	if token == "" || len(token) > 8<<10 {
		fail(http.StatusUnauthorized, "Collez votre jeton de connexion.")
		return
	}
	cl, err := a.cfg.Verifier.Verify(r.Context(), token)
	if err != nil {
		fail(http.StatusUnauthorized, "Ce jeton n'est pas valide ou a expiré.")
		return
	}
	if !sp.allowed(cl) {
		fail(http.StatusForbidden, sp.forbidden)
		return
	}
	id, s := a.sessions.create(token, cl, a.cfg.SessionTTL)
	if s == nil {
		fail(http.StatusServiceUnavailable, "Le service est momentanément indisponible. Réessayez dans quelques instants.")
		return
	}
	sp.setCookie(w, r, id, int(time.Until(s.expires).Seconds()))
	http.Redirect(w, r, sp.home, http.StatusSeeOther)
}

func (a *App) postLogout(w http.ResponseWriter, r *http.Request) {
	a.signOut(w, r, a.setCookie, Prefix+"/login")
}

// signOut ends the session and clears its cookie; a session opened through the ENT then
// goes to the provider's end-session endpoint when it has one (the ENT's own session
// ends too, else the next "Se connecter avec l'ENT" would sign straight back in), else to
// the sign-in page.
func (a *App) signOut(w http.ResponseWriter, r *http.Request, setCookie func(http.ResponseWriter, *http.Request, string, int), login string) {
	ref := sessionOf(r)
	a.sessions.end(ref.id)
	setCookie(w, r, "", -1)
	if ref.s.token == "" && a.oidc != nil {
		if end := a.oidc.endSessionURL(); end != "" {
			login = end
		}
	}
	http.Redirect(w, r, login, http.StatusSeeOther)
}

// classLink is one of the teacher's classes on the home page.
type classLink struct{ ID, Label string }

func (a *App) getHome(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	ids := slices.Clone(s.claims.Classes)
	slices.Sort(ids)
	labels := a.classLabels(r.Context(), ids)
	classes := make([]classLink, len(ids))
	for i, id := range ids {
		classes[i] = classLink{ID: id, Label: labels[id]}
	}
	a.render(w, r, http.StatusOK, "home", pageData{Title: "Mes classes", Session: s,
		Flash: a.sessions.takeFlash(s), Body: classes})
}

// errorPage answers status with a French page; err, if any, is logged without personal
// data.
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, s *session, status int) {
	a.render(w, r, status, "error", pageData{Title: http.StatusText(status), Session: s, Body: errorText(status)})
}

type errorInfo struct {
	Status  int
	Heading string
	Text    string
}

func errorText(status int) errorInfo {
	switch status {
	case http.StatusForbidden:
		return errorInfo{status, "Accès refusé", "Vous n'avez pas accès à cette page : elle concerne un élève ou une classe qui n'est pas la vôtre, ou la demande ne vient pas de cette page."}
	case http.StatusNotFound:
		return errorInfo{status, "Page introuvable", "Cette page n'existe pas."}
	case http.StatusBadRequest:
		return errorInfo{status, "Demande incorrecte", "La demande n'a pas pu être comprise."}
	case http.StatusTooManyRequests:
		return errorInfo{status, "Trop de demandes", "Patientez quelques secondes puis réessayez."}
	}
	return errorInfo{status, "Service momentanément indisponible", "Réessayez dans quelques instants."}
}

// fail turns an error of an API call into a page: 401 sends back to sign-in.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	ref := sessionOf(r)
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			a.sessions.end(ref.id)
			a.setCookie(w, r, "", -1)
			http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
			return
		case http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest, http.StatusTooManyRequests:
			a.errorPage(w, r, ref.s, ae.Status)
			return
		}
	}
	a.cfg.Logger.Warn("teacher page: upstream error", "route", routeOf(r), "error", err.Error())
	a.errorPage(w, r, ref.s, http.StatusServiceUnavailable)
}

// routeOf names the route without its ids, for logs.
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return "teacher"
}
