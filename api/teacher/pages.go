package teacher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// pageData is what every template gets.
type pageData struct {
	Title   string
	Session *session
	Flash   *flash
	Crumbs  []crumb
	Body    any
	// Analyst: the page is the analyst's (title, brand, sign-out), not the teacher's.
	Analyst bool
	// OIDC: the sign-in page offers "Se connecter avec l'ENT".
	OIDC bool
}

type crumb struct{ Href, Text string }

// CSRF is the session's token for the forms of the page.
func (p pageData) CSRF() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.csrf
}

// Teacher is the signed-in teacher's id.
func (p pageData) Teacher() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.claims.Subject
}

func parsePages(loc *time.Location) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"pct":  func(p float64) string { return fmt.Sprintf("%d %%", int(math.Round(p*100))) },
		"pctN": func(p float64) int { return int(math.Round(p * 100)) },
		"when": func(t time.Time) string { return t.In(loc).Format("02/01/2006 à 15:04") },
		"pupilURL": func(id, subject, class string) string {
			q := url.Values{}
			if subject != "" {
				q.Set("subject", subject)
			}
			if class != "" {
				q.Set("class", class)
			}
			u := Prefix + "/pupils/" + url.PathEscape(id)
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			return u
		},
		"verb":         func(d string) string { return decisionVerbs[d] },
		"subjectLabel": subjectLabel,
		"classURL":     func(id string) string { return Prefix + "/classes/" + url.PathEscape(id) },
		"classSubjectURL": func(id, subject string) string {
			return Prefix + "/classes/" + url.PathEscape(id) + "?subject=" + url.QueryEscape(subject)
		},
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "home", "class", "pupil", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a whole page, buffered so that a template error is a clean 500.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	var buf bytes.Buffer
	if err := a.pages[page].Execute(&buf, d); err != nil {
		a.cfg.Logger.Error("teacher page: template", "page", page, "error", err.Error())
		http.Error(w, "Erreur interne", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// catalogue is what the page shows of the catalogue.
type catalogue struct {
	comps    map[string]datasets.Competency
	titles   map[string]string
	urls     map[string]string
	subjects []string
}

func (c *catalogue) label(id string) string {
	if comp, ok := c.comps[id]; ok && comp.Label != "" {
		return comp.Label
	}
	return id
}

func (c *catalogue) title(id string) string {
	if t, ok := c.titles[id]; ok && t != "" {
		return t
	}
	return id
}

// catalogueCache keeps the catalogue for a while: it changes with a new data folder only.
type catalogueCache struct {
	src CatalogueSource
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	cur *catalogue
	at  time.Time
}

func (c *catalogueCache) get(ctx context.Context) (*catalogue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.now().Sub(c.at) < c.ttl {
		return c.cur, nil
	}
	comps, res, err := c.src.Catalogue(ctx)
	if err != nil {
		if c.cur != nil { // a stale catalogue beats no page
			return c.cur, nil
		}
		return nil, fmt.Errorf("teacher: catalogue: %w", err)
	}
	cat := &catalogue{comps: make(map[string]datasets.Competency, len(comps)), titles: make(map[string]string, len(res)),
		urls: make(map[string]string)}
	seen := map[string]bool{}
	for _, cp := range comps {
		cat.comps[cp.ID] = cp
		if !seen[cp.Subject] {
			seen[cp.Subject] = true
			cat.subjects = append(cat.subjects, cp.Subject)
		}
	}
	slices.Sort(cat.subjects)
	for _, r := range res {
		cat.titles[r.ID] = r.Title
		if r.URL != "" {
			cat.urls[r.ID] = r.URL
		}
	}
	c.cur, c.at = cat, c.now()
	return cat, nil
}

// Need bands of the heat map: each has a pattern and a word, so colour is never the only
// carrier.
type band struct {
	Class string
	Word  string
}

var (
	bandLow  = band{"need-low", "faible"}
	bandMid  = band{"need-mid", "moyen"}
	bandHigh = band{"need-high", "fort"}
)

func bandOf(need float64) band {
	switch {
	case need >= 0.5:
		return bandHigh
	case need >= 0.2: // the engine's default need threshold for a path
		return bandMid
	}
	return bandLow
}

type heatCell struct {
	Need     float64
	PMastery float64
	Band     band
	Known    bool
}

type heatRow struct {
	StudentID string
	Name      string // display name, "" when the roster has none
	Personal  bool
	Group     int
	Subject   string // subject of the strongest need: where the pupil's link opens
	Cells     []heatCell
}

type heatCol struct{ ID, Label, Subject string }

type groupView struct {
	ID           int
	Label        string
	Competencies []string
	Students     []pupilRef
}

// pupilRef is a pupil as a link shows them: their name, else their id.
type pupilRef struct{ ID, Name string }

type classView struct {
	ClassID  string
	Label    string // the class's label, or "Classe <id>"
	Subject  string // the subject shown, or subjectAll
	Subjects []string
	Cols     []heatCol
	Rows     []heatRow
	Groups   []groupView
	Bands    []band
	// Experiments the class is in (experiments.go).
	Experiments []classExperiment
}

// maxAllColumns is the most competencies the heat map shows at once by default; a class
// with more (several subjects) opens on one subject.
const maxAllColumns = 12

// subjectAll is the subject filter value that shows every competency.
const subjectAll = "toutes"

func (a *App) getClass(w http.ResponseWriter, r *http.Request) {
	ref := sessionOf(r)
	classID := r.PathValue("class")
	cat, err := a.cat.get(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	overview := func(subject string) (recommender.Overview, error) {
		q := url.Values{"lang": {"fr"}}
		if subject != "" && subject != subjectAll {
			q.Set("subject", subject)
		}
		var ov recommender.Overview
		err := a.call(r.Context(), ref.s, http.MethodGet, "/v1/classes/"+url.PathEscape(classID)+"/overview", q, nil, &ov)
		return ov, err
	}
	// Needs and groups are the chosen subject's: the groups of every subject at once
	// would list the shared needs of all of them. Without a choice, one read of every
	// subject picks the one shown (the class's greatest mean need).
	want := r.URL.Query().Get("subject")
	if !slices.Contains(cat.subjects, want) {
		want = ""
	}
	ov, err := overview(want)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := classView{ClassID: classID, Bands: []band{bandLow, bandMid, bandHigh}}
	if v.Experiments, err = a.classExperiments(r.Context(), ref.s, classID); err != nil {
		a.fail(w, r, err)
		return
	}
	if want != "" {
		v.Subject = want
		all, err := overview("")
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.Subjects, _ = classSubjects(&all, cat, want)
	} else {
		v.Subjects, v.Subject = classSubjects(&ov, cat, r.URL.Query().Get("subject"))
		if v.Subject != subjectAll {
			if ov, err = overview(v.Subject); err != nil {
				a.fail(w, r, err)
				return
			}
		}
	}
	// The API answered: this teacher may read these pupils, so their names may show.
	names := a.pupilNames(r.Context(), classID)
	v.Label = a.classLabel(r.Context(), classID)
	var shown []string
	for _, c := range ov.Competencies {
		if v.Subject == subjectAll || cat.comps[c].Subject == v.Subject {
			shown = append(shown, c)
			v.Cols = append(v.Cols, heatCol{ID: c, Label: cat.label(c), Subject: subjectLabel(cat.comps[c].Subject)})
		}
	}
	for _, p := range ov.Pupils {
		row := heatRow{StudentID: p.StudentID, Name: names[p.StudentID], Personal: p.Personal, Group: p.Group}
		byComp := make(map[string]recommender.CompetencyNeed, len(p.Needs))
		for _, n := range p.Needs {
			byComp[n.Competency] = n
		}
		best := -1.0
		for _, c := range shown {
			n, ok := byComp[c]
			row.Cells = append(row.Cells, heatCell{Need: n.Need, PMastery: n.PMastery, Band: bandOf(n.Need), Known: ok})
			if ok && n.Need > best {
				best, row.Subject = n.Need, cat.comps[c].Subject
			}
		}
		if v.Subject != subjectAll {
			row.Subject = v.Subject
		}
		v.Rows = append(v.Rows, row)
	}
	slices.SortStableFunc(v.Rows, func(x, y heatRow) int { return strings.Compare(x.sortKey(), y.sortKey()) })
	for _, g := range ov.Groups {
		gv := groupView{ID: g.ID, Label: g.Label}
		for _, c := range g.Competencies {
			gv.Competencies = append(gv.Competencies, cat.label(c))
		}
		for _, id := range g.Students {
			gv.Students = append(gv.Students, pupilRef{ID: id, Name: names[id]})
		}
		v.Groups = append(v.Groups, gv)
	}
	a.render(w, r, http.StatusOK, "class", pageData{Title: v.Label, Session: ref.s,
		Flash: a.sessions.takeFlash(ref.s), Crumbs: []crumb{{Prefix + "/", "Mes classes"}}, Body: v})
}

// sortKey orders the heat map by name (then id) when names are known.
func (h heatRow) sortKey() string {
	if h.Name != "" {
		return strings.ToLower(h.Name) + "\x00" + h.StudentID
	}
	return "\uffff" + h.StudentID
}

// classSubjects lists the subjects of the overview's competencies and picks the one
// shown: the requested one if valid, else every competency when they fit, else the
// subject where the class's mean need is highest.
func classSubjects(ov *recommender.Overview, cat *catalogue, want string) ([]string, string) {
	sum, n := map[string]float64{}, map[string]int{}
	var subjects []string
	for _, c := range ov.Competencies {
		s := cat.comps[c].Subject
		if _, ok := n[s]; !ok {
			subjects = append(subjects, s)
			n[s] = 0
		}
	}
	slices.Sort(subjects)
	if want == subjectAll || slices.Contains(subjects, want) {
		return subjects, want
	}
	if len(ov.Competencies) <= maxAllColumns || len(subjects) == 0 {
		return subjects, subjectAll
	}
	for _, p := range ov.Pupils {
		for _, nd := range p.Needs {
			s := cat.comps[nd.Competency].Subject
			sum[s] += nd.Need
			n[s]++
		}
	}
	best, bestMean := subjects[0], -1.0
	for _, s := range subjects {
		if n[s] > 0 && sum[s]/float64(n[s]) > bestMean {
			best, bestMean = s, sum[s]/float64(n[s])
		}
	}
	return subjects, best
}

// evidenceCodes are the reasons that state observed facts (grades, missed lessons); the
// others say why the step is a good next one.
var evidenceCodes = map[string]bool{recommender.ReasonWeakCompetency: true, recommender.ReasonMissedLesson: true}

type stepView struct {
	recommender.Step
	CompLabel    string
	StatusLabel  string
	Why          []string
	Evidence     []string
	Alternatives []altView
	DecisionText string
}

// altView is an alternative to a step: the teacher may choose it instead.
type altView struct{ ID, Title, URL string }

// historyEntry is one decision of the pupil's stored history, newest first on the page.
type historyEntry struct {
	recommender.Decision
	Title   string
	InForce bool // the decision in force on its resource: it may be undone
}

type pupilView struct {
	StudentID string
	Name      string // display name, "" when the roster has none
	ClassID   string
	Subject   string
	Subjects  []string
	Fallback  bool
	Generated time.Time
	Steps     []stepView
	History   []historyEntry
}

// Who is how the page names the pupil.
func (v pupilView) Who() string {
	if v.Name != "" {
		return v.Name
	}
	return "l'élève " + v.StudentID
}

var statusLabels = map[string]string{
	recommender.StatusSuggested: "Proposée",
	recommender.StatusApproved:  "Approuvée",
	recommender.StatusPinned:    "Épinglée",
	recommender.StatusRejected:  "Rejetée",
}

var decisionVerbs = map[string]string{
	recommender.DecisionApprove: "Approuvée",
	recommender.DecisionReject:  "Rejetée",
	recommender.DecisionPin:     "Épinglée",
	recommender.DecisionUndo:    "Annulation",
}

// pupilParams reads the subject (one of the catalogue's, default the first) and the
// class the teacher came from (kept only if it is one of theirs: it is a back link).
func pupilParams(r *http.Request, cat *catalogue, classes []string) (subject, class string) {
	subject = r.FormValue("subject")
	if !slices.Contains(cat.subjects, subject) {
		subject = ""
		if len(cat.subjects) > 0 {
			subject = cat.subjects[0]
		}
	}
	if c := r.FormValue("class"); slices.Contains(classes, c) {
		class = c
	}
	return subject, class
}

func (a *App) loadPath(ctx context.Context, s *session, id, subject string) (recommender.Path, error) {
	var p recommender.Path
	err := a.call(ctx, s, http.MethodGet, "/v1/students/"+url.PathEscape(id)+"/path",
		url.Values{"subject": {subject}, "length": {fmt.Sprint(a.cfg.PathLength)}, "lang": {"fr"}}, nil, &p)
	return p, err
}

func (a *App) getPupil(w http.ResponseWriter, r *http.Request) {
	ref := sessionOf(r)
	id := r.PathValue("pupil")
	cat, err := a.cat.get(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	subject, class := pupilParams(r, cat, ref.s.claims.Classes)
	p, err := a.loadPath(r.Context(), ref.s, id, subject)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var hist struct {
		Decisions []recommender.Decision `json:"decisions"`
	}
	if err := a.call(r.Context(), ref.s, http.MethodGet, "/v1/students/"+url.PathEscape(id)+"/path/decisions", nil, nil, &hist); err != nil {
		a.fail(w, r, err)
		return
	}
	// The API answered: this teacher may read this pupil, so the name may show.
	v := pupilView{StudentID: id, Name: a.pupilName(r.Context(), id), ClassID: class, Subject: subject, Subjects: cat.subjects,
		Fallback: p.Source == recommender.SourceFallback, Generated: p.GeneratedAt}
	for _, st := range p.Steps {
		sv := stepView{Step: st, CompLabel: cat.label(st.Competency), StatusLabel: statusLabels[st.Status]}
		if sv.StatusLabel == "" {
			sv.StatusLabel = st.Status
		}
		if sv.URL == "" {
			sv.URL = cat.urls[st.ResourceID]
		}
		for _, rs := range st.Reasons {
			if evidenceCodes[rs.Code] {
				sv.Evidence = append(sv.Evidence, rs.Message)
			} else {
				sv.Why = append(sv.Why, rs.Message)
			}
		}
		for _, alt := range st.Alternatives {
			sv.Alternatives = append(sv.Alternatives, altView{ID: alt, Title: cat.title(alt), URL: cat.urls[alt]})
		}
		if d := st.Decision; d != nil {
			sv.DecisionText = fmt.Sprintf("%s par %s le %s", decisionVerbs[d.Decision], d.TeacherID,
				d.At.In(a.cfg.Location).Format("02/01/2006 à 15:04"))
		}
		v.Steps = append(v.Steps, sv)
	}
	inForce := recommender.LatestDecisions(hist.Decisions)
	for i := len(hist.Decisions) - 1; i >= 0; i-- {
		d := hist.Decisions[i]
		cur, ok := inForce[d.ResourceID]
		v.History = append(v.History, historyEntry{Decision: d, Title: cat.title(d.ResourceID),
			InForce: ok && d.Decision != recommender.DecisionUndo && cur == d})
		if ok && cur == d {
			delete(inForce, d.ResourceID) // only the newest equal entry carries the button
		}
	}
	crumbs := []crumb{{Prefix + "/", "Mes classes"}}
	if class != "" {
		crumbs = append(crumbs, crumb{Prefix + "/classes/" + url.PathEscape(class), a.classLabel(r.Context(), class)})
	}
	a.render(w, r, http.StatusOK, "pupil", pageData{Title: "Parcours de " + v.Who(), Session: ref.s,
		Flash: a.sessions.takeFlash(ref.s), Crumbs: crumbs, Body: v})
}

// decide posts one decision through the API and returns it as stored.
func (a *App) decide(r *http.Request, id, resource, decision, comment string) (recommender.Decision, error) {
	body := struct {
		ResourceID string `json:"resource_id"`
		Decision   string `json:"decision"`
		Comment    string `json:"comment"`
	}{resource, decision, comment}
	var d recommender.Decision
	err := a.call(r.Context(), sessionOf(r).s, http.MethodPost, "/v1/students/"+url.PathEscape(id)+"/path/decisions", nil, body, &d)
	return d, err
}

// backToPupil redirects to the pupil's page on the same subject and class.
func backToPupil(w http.ResponseWriter, r *http.Request, id, subject, class string) {
	q := url.Values{"subject": {subject}}
	if class != "" {
		q.Set("class", class)
	}
	http.Redirect(w, r, Prefix+"/pupils/"+url.PathEscape(id)+"?"+q.Encode()+"#flash", http.StatusSeeOther)
}

func (a *App) postDecision(w http.ResponseWriter, r *http.Request) {
	ref := sessionOf(r)
	id := r.PathValue("pupil")
	cat, err := a.cat.get(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	subject, class := pupilParams(r, cat, ref.s.claims.Classes)
	d, err := a.decide(r, id, r.PostFormValue("resource_id"), r.PostFormValue("decision"), strings.TrimSpace(r.PostFormValue("comment")))
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			a.sessions.setFlash(ref.s, &flash{Kind: "error", Text: "Il n'y a plus de décision à annuler sur cette ressource."})
			backToPupil(w, r, id, subject, class)
			return
		}
		a.fail(w, r, err)
		return
	}
	msg := map[string]string{
		recommender.DecisionApprove: "Étape « %s » approuvée.",
		recommender.DecisionReject:  "Étape « %s » rejetée : le parcours a été recalculé sans elle.",
		recommender.DecisionPin:     "Étape « %s » épinglée : elle restera dans le parcours.",
		recommender.DecisionUndo:    "Décision sur « %s » annulée : le parcours a été recalculé.",
	}[d.Decision]
	a.sessions.setFlash(ref.s, &flash{Kind: "ok", Text: fmt.Sprintf(msg, cat.title(d.ResourceID))})
	backToPupil(w, r, id, subject, class)
}

// postReplace puts an alternative in place of a step: the alternative is pinned (it
// stays in the path), then the step is rejected with a comment naming its replacement.
// Both decisions are in the history and each can be undone.
func (a *App) postReplace(w http.ResponseWriter, r *http.Request) {
	ref := sessionOf(r)
	id := r.PathValue("pupil")
	cat, err := a.cat.get(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	subject, class := pupilParams(r, cat, ref.s.claims.Classes)
	step, alt := r.PostFormValue("resource_id"), r.PostFormValue("alternative")
	if step == "" || alt == "" || step == alt {
		a.errorPage(w, r, ref.s, http.StatusBadRequest)
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if _, err := a.decide(r, id, alt, recommender.DecisionPin, comment); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.decide(r, id, step, recommender.DecisionReject, "Remplacée par « "+cat.title(alt)+" »"); err != nil {
		a.fail(w, r, err)
		return
	}
	a.sessions.setFlash(ref.s, &flash{Kind: "ok", Text: fmt.Sprintf("« %s » remplace « %s » dans le parcours.", cat.title(alt), cat.title(step))})
	backToPupil(w, r, id, subject, class)
}
