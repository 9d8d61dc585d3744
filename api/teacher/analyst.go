package teacher

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/recommender/experiment"
)

// The analyst's page: experiments, their arms, weekly uptake and each arm's effect with
// its interval, as plots. It shares the teacher page's sessions, headers (CSP), Origin and
// CSRF checks; it has its own cookie (path /analyst/) and accepts only analyst and admin
// tokens. Everything it shows comes from GET /v1/experiments[/{id}] called with the
// analyst's token: aggregates only, arms under 10 pupils suppressed by the analysis.

// AnalystPrefix is where the analyst's page lives.
const AnalystPrefix = "/analyst"

const analystCookie = "parcours_analyst"

// analystView is the JSON the page reads (api's experimentView, which is unexported).
type analystView struct {
	experiment.Experiment
	Counts map[string]struct {
		Classes  int `json:"classes"`
		OptedOut int `json:"opted_out"`
	} `json:"arm_counts"`
	Analysis *experiment.Analysis `json:"analysis,omitempty"`
}

// MountAnalyst returns a handler serving the analyst's page under /analyst/ and passing
// every other request to rest (e.g. a.Mount(api)).
func (a *App) MountAnalyst(rest http.Handler) http.Handler {
	m := a.analystRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == AnalystPrefix || strings.HasPrefix(r.URL.Path, AnalystPrefix+"/") {
			m.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}

func (a *App) analystRoutes() *http.ServeMux {
	m := http.NewServeMux()
	p := AnalystPrefix
	m.Handle("GET "+p, http.RedirectHandler(p+"/", http.StatusSeeOther))
	m.Handle("GET "+p+"/login", a.headers(http.HandlerFunc(a.getAnalystLogin)))
	m.Handle("POST "+p+"/login", a.headers(a.sameOrigin(http.HandlerFunc(a.postAnalystLogin))))
	m.Handle("GET "+p+"/oidc/login", a.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.startOIDC(w, r, a.analystSpace(), spaceAnalyst)
	})))
	m.Handle("POST "+p+"/logout", a.headers(a.sameOrigin(a.analystSignedIn(a.checkCSRF(a.postAnalystLogout)))))
	m.Handle("GET "+p+"/{$}", a.headers(a.analystSignedIn(a.getExperiments)))
	m.Handle("GET "+p+"/experiments/{id}", a.headers(a.analystSignedIn(a.getExperimentPage)))
	m.Handle("GET "+p+"/experiments/{id}/uptake.png", a.headers(a.analystSignedIn(a.getPlot(uptakePlot))))
	m.Handle("GET "+p+"/experiments/{id}/effect.png", a.headers(a.analystSignedIn(a.getPlot(effectPlot))))
	m.Handle(p+"/", a.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.analystPage(w, r, http.StatusNotFound, "error", pageData{Title: "Page introuvable", Body: errorText(http.StatusNotFound)})
	})))
	return m
}

func (a *App) setAnalystCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: analystCookie, Value: value, Path: AnalystPrefix + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.cfg.SecureCookie || r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// analystSignedIn sends a visitor without a live analyst or admin session to sign-in.
func (a *App) analystSignedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if c, err := r.Cookie(analystCookie); err == nil {
			id = c.Value
		}
		s := a.sessions.get(id)
		if s == nil || !analystRole(s.claims) {
			http.Redirect(w, r, AnalystPrefix+"/login", http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &sessionRef{id: id, s: s})))
	})
}

func analystRole(cl *api.Claims) bool {
	return cl != nil && (cl.Role == api.RoleAnalyst || cl.Role == api.RoleAdmin)
}

func (a *App) getAnalystLogin(w http.ResponseWriter, r *http.Request) {
	a.analystPage(w, r, http.StatusOK, "login", pageData{Title: "Connexion", OIDC: a.oidc != nil})
}

func (a *App) analystSpace() space {
	return space{render: a.analystPage, allowed: analystRole,
		forbidden: "Cette page est réservée aux analystes et aux administrateurs.", setCookie: a.setAnalystCookie,
		home: AnalystPrefix + "/"}
}

func (a *App) postAnalystLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	a.signIn(w, r, strings.TrimSpace(r.PostFormValue("token")), a.analystSpace())
}

func (a *App) postAnalystLogout(w http.ResponseWriter, r *http.Request) {
	a.signOut(w, r, a.setAnalystCookie, AnalystPrefix+"/login")
}

// analystFail turns an API error into a page; 401 ends the session.
func (a *App) analystFail(w http.ResponseWriter, r *http.Request, err error) {
	ref := sessionOf(r)
	status := http.StatusServiceUnavailable
	if ae, ok := err.(*apiError); ok {
		status = ae.Status
		if status == http.StatusUnauthorized {
			a.sessions.end(ref.id)
			a.setAnalystCookie(w, r, "", -1)
			http.Redirect(w, r, AnalystPrefix+"/login", http.StatusSeeOther)
			return
		}
	}
	if status >= 500 {
		a.cfg.Logger.Warn("analyst page: upstream error", "route", routeOf(r), "error", err.Error())
		status = http.StatusServiceUnavailable
	}
	a.analystPage(w, r, status, "error", pageData{Title: http.StatusText(status), Session: ref.s, Body: errorText(status)})
}

func (a *App) getExperiments(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	var list struct {
		Experiments []analystView `json:"experiments"`
	}
	if err := a.call(r.Context(), s, http.MethodGet, "/v1/experiments", nil, nil, &list); err != nil {
		a.analystFail(w, r, err)
		return
	}
	a.analystPage(w, r, http.StatusOK, "list", pageData{Title: "Expériences", Session: s, Body: list.Experiments})
}

// armRow is one arm on the experiment's page.
type armRow struct {
	Name, Policy                       string
	Control, Suppressed                bool
	Classes, Assigned, OptedOut        int
	Pupils, Uptake, Effect, CI, Rejets string
}

type experimentPage struct {
	X        analystView
	Arms     []armRow
	Verdict  string
	MinGroup int
	HasPlots bool
}

func (a *App) loadExperiment(r *http.Request) (analystView, error) {
	var v analystView
	err := a.call(r.Context(), sessionOf(r).s, http.MethodGet, "/v1/experiments/"+url.PathEscape(r.PathValue("id")), nil, nil, &v)
	return v, err
}

func (a *App) getExperimentPage(w http.ResponseWriter, r *http.Request) {
	v, err := a.loadExperiment(r)
	if err != nil {
		a.analystFail(w, r, err)
		return
	}
	pg := experimentPage{X: v, Arms: armRows(v)}
	if v.Analysis != nil {
		pg.Verdict, pg.MinGroup, pg.HasPlots = v.Analysis.Verdict, v.Analysis.MinGroup, true
	}
	a.analystPage(w, r, http.StatusOK, "experiment", pageData{Title: v.Name, Session: sessionOf(r).s,
		Crumbs: []crumb{{Href: AnalystPrefix + "/", Text: "Expériences"}}, Body: pg})
}

// armRows is the table of arms: counts from the assignment, the rest from the analysis
// (arms it suppressed show "moins de N" pupils and no effect).
func armRows(v analystView) []armRow {
	var rows []armRow
	for _, arm := range v.Arms {
		row := armRow{Name: arm.Name, Policy: policyText(arm), Classes: v.Counts[arm.Name].Classes, OptedOut: v.Counts[arm.Name].OptedOut,
			Pupils: "—", Uptake: "—", Effect: "—", CI: "—", Rejets: "—"}
		if an := v.Analysis; an != nil {
			res := an.Arms[arm.Name]
			row.Control, row.Suppressed, row.Assigned = res.Control, res.Suppressed, res.AssignedClasses
			if res.Suppressed {
				row.Pupils = fmt.Sprintf("moins de %d", an.MinGroup)
			} else if res.Pupils != nil {
				row.Pupils = fmt.Sprint(*res.Pupils)
			}
			row.Uptake, row.Rejets = pctOf(res.Uptake), pctOf(res.RejectionRate)
			if res.Control {
				row.Effect, row.CI = "référence", "—"
			} else if res.Effect != nil && res.CILow != nil && res.CIHigh != nil {
				row.Effect = signedPts(*res.Effect)
				row.CI = "[" + signedPts(*res.CILow) + " ; " + signedPts(*res.CIHigh) + "]"
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func policyText(arm experiment.Arm) string {
	var parts []string
	if arm.TargetSuccess > 0 {
		parts = append(parts, fmt.Sprintf("réussite visée %d %%", int(math.Round(arm.TargetSuccess*100))))
	}
	if arm.Explore != nil {
		if *arm.Explore {
			parts = append(parts, "exploration")
		} else {
			parts = append(parts, "sans exploration")
		}
	}
	if arm.Ranker != "" {
		parts = append(parts, "classement "+arm.Ranker)
	}
	if len(parts) == 0 {
		return "réglages du service"
	}
	return strings.Join(parts, ", ")
}

func pctOf(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f %%", *p*100)
}

// signedPts writes a difference of success rates in percentage points.
func signedPts(x float64) string {
	return strings.Replace(fmt.Sprintf("%+.1f pt", x*100), ".", ",", 1)
}

// getPlot serves one of the experiment's plots as PNG (img-src 'self' in the CSP).
func (a *App) getPlot(draw func(v analystView) ([]byte, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := a.loadExperiment(r)
		if err != nil {
			a.analystFail(w, r, err)
			return
		}
		if v.Analysis == nil {
			a.analystFail(w, r, &apiError{Status: http.StatusNotFound})
			return
		}
		png, err := draw(v)
		if err != nil {
			a.cfg.Logger.Error("analyst page: plot", "error", err.Error())
			http.Error(w, "Erreur interne", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}
}

// analystPages holds the parsed templates per time zone (the App's own fields belong to
// the teacher's page).
var analystPages struct {
	sync.Mutex
	byLoc map[*time.Location]map[string]*template.Template
}

func analystPagesFor(loc *time.Location) (map[string]*template.Template, error) {
	analystPages.Lock()
	defer analystPages.Unlock()
	if p, ok := analystPages.byLoc[loc]; ok {
		return p, nil
	}
	p, err := parseAnalystPages(loc)
	if err != nil {
		return nil, err
	}
	if analystPages.byLoc == nil {
		analystPages.byLoc = map[*time.Location]map[string]*template.Template{}
	}
	analystPages.byLoc[loc] = p
	return p, nil
}

func parseAnalystPages(loc *time.Location) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"day": func(t time.Time) string { return t.In(loc).Format("02/01/2006") },
		"experimentURL": func(id string) string {
			return AnalystPrefix + "/experiments/" + url.PathEscape(id)
		},
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "list", "experiment", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/analyst_"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template analyst_%s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func (a *App) analystPage(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	pages, err := analystPagesFor(a.cfg.Location)
	if err != nil {
		a.cfg.Logger.Error("analyst page: templates", "error", err.Error())
		http.Error(w, "Erreur interne", http.StatusInternalServerError)
		return
	}
	d.Analyst = true
	var buf bytes.Buffer
	if err := pages[page].Execute(&buf, d); err != nil {
		a.cfg.Logger.Error("analyst page: template", "page", page, "error", err.Error())
		http.Error(w, "Erreur interne", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
