package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/api"
	"github.com/parcours-ent/parcours/features"
	"github.com/parcours-ent/parcours/recommender"
)

// demoTokenTTL is how long the tokens printed by serve stay valid: a working day.
const demoTokenTTL = 12 * time.Hour

func init() {
	commands = append(commands, serveCmd, tokenCmd, purgeCmd)
}

func serveCmd() *cobra.Command {
	var addr, data string
	c := &cobra.Command{
		Use:   "serve [--addr A] [--data DIR]",
		Short: "Serve the HTTP API (on a generated demo académie when nothing else is configured)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.Addr = addr
			}
			m := &Main{Config: cfg, DataDir: data, Stdout: c.OutOrStdout(), Logger: newLogger(c.ErrOrStderr())}
			if _, err := m.Start(c.Context()); err != nil {
				if c.Context().Err() != nil {
					return nil // interrupted while loading: nothing was served
				}
				return err
			}
			select {
			case <-c.Context().Done():
				m.Logger.Info("shutting down", "timeout_s", shutdownTimeout.Seconds())
			case err = <-m.Err():
			}
			return errors.Join(err, m.Close())
		},
	}
	c.Flags().StringVar(&addr, "addr", "", "listen address (default $PARCOURS_ADDR, 127.0.0.1:8080)")
	c.Flags().StringVar(&data, "data", "", "serve this data folder from the embedded store instead of a generated académie")
	return c
}

// Demo is what the banner shows: real ids from the served data and tokens for them.
type Demo struct {
	StudentID  string // a consenting pupil with a profile
	ClassID    string
	SchoolID   string
	Subject    string // a subject of the pupil's learning path
	ResourceID string // the first step of that path, for the decision example
	EraseID    string // another pupil, for the erasure example
	// TeacherLink signs the teacher in to the review page once.
	TeacherLink string
	Tokens      map[string]string
	Curls       []Curl
}

// Curl is one printed example request.
type Curl struct {
	What string
	Line string // a shell command line, quoted to work as printed
}

// pickDemo chooses a consenting pupil with a fitted profile among the first pupils (by id),
// and mints a token per role for them. It reads only: no recommendation is served (that
// would be logged as served to the pupil). The erasure example is offered only when
// withErasure (the embedded store, whose data vanish with the process anyway).
func pickDemo(ctx context.Context, store recommender.Store, eng *recommender.Engine, secret []byte, ttl time.Duration, withErasure bool) (*Demo, error) {
	ids, err := store.StudentIDs(ctx)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	profiles, err := store.Profiles(ctx, ids[:min(len(ids), 500)])
	if err != nil {
		return nil, err
	}
	for _, p := range profiles {
		if len(p.Competencies) == 0 {
			continue
		}
		st, err := store.Student(ctx, p.StudentID)
		if err != nil {
			return nil, err
		}
		if !st.Consent {
			continue
		}
		d := &Demo{StudentID: st.ID, ClassID: st.ClassID, SchoolID: st.SchoolID}
		if err := d.choosePath(ctx, eng, p.Subjects); err != nil {
			return nil, err
		}
		for i := len(ids) - 1; i >= 0 && withErasure; i-- {
			if ids[i] != st.ID {
				d.EraseID = ids[i]
				break
			}
		}
		if err := d.mint(secret, ttl); err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, nil
}

// choosePath picks the subject (MATHS first, then the pupil's graded subjects in order)
// whose learning path has a step, and that step's resource.
func (d *Demo) choosePath(ctx context.Context, eng *recommender.Engine, graded map[string]features.GradeSummary) error {
	subjects := []string{"MATHS"}
	for s := range graded {
		subjects = append(subjects, s)
	}
	slices.Sort(subjects[1:])
	for _, s := range subjects {
		p, err := eng.Path(ctx, recommender.PathRequest{StudentID: d.StudentID, Subject: s, Length: 5})
		if err != nil {
			return err
		}
		if len(p.Steps) > 0 {
			d.Subject, d.ResourceID = s, p.Steps[0].ResourceID
			return nil
		}
	}
	return nil
}

func (d *Demo) mint(secret []byte, ttl time.Duration) error {
	claims := map[string]api.Claims{
		api.RoleStudent: {Role: api.RoleStudent, School: d.SchoolID},
		api.RoleParent:  {Role: api.RoleParent, Students: []string{d.StudentID}},
		api.RoleTeacher: {Role: api.RoleTeacher, Classes: []string{d.ClassID}, School: d.SchoolID},
		api.RoleAnalyst: {Role: api.RoleAnalyst},
		api.RoleAdmin:   {Role: api.RoleAdmin},
	}
	subjects := map[string]string{
		api.RoleStudent: d.StudentID,
		api.RoleParent:  "parent-demo-1",
		api.RoleTeacher: "enseignant-demo-1",
		api.RoleAnalyst: "analyste-demo-1",
		api.RoleAdmin:   "admin-demo-1",
	}
	d.Tokens = make(map[string]string, len(claims))
	for role, c := range claims {
		c.RegisteredClaims = jwt.RegisteredClaims{Subject: subjects[role]}
		tok, err := api.MintToken(secret, c, ttl)
		if err != nil {
			return fmt.Errorf("minting the %s token: %w", role, err)
		}
		d.Tokens[role] = tok
	}
	return nil
}

// curls are the README tour, in an order that works when run top to bottom: read, decide,
// read again, then the RGPD side. The erasure targets another pupil than the demo one.
func (d *Demo) curls(base string) []Curl {
	get := func(role, path string) string {
		return "curl -sS -H " + shellQuote("Authorization: Bearer "+d.Tokens[role]) + " " + shellQuote(base+path)
	}
	s := "/v1/students/" + d.StudentID
	cs := []Curl{
		{"the student's recommendations", get(api.RoleStudent, s+"/recommendations?k=5")},
		{"the teacher's class overview", get(api.RoleTeacher, "/v1/classes/"+d.ClassID+"/overview")},
	}
	if d.Subject != "" {
		cs = append(cs, Curl{"the learning path", get(api.RoleStudent, s+"/path?subject="+d.Subject+"&length=5")})
		body, _ := json.Marshal(map[string]string{"resource_id": d.ResourceID, "decision": recommender.DecisionPin, "comment": "À faire avant le contrôle"})
		cs = append(cs, Curl{"the teacher pins the first step", "curl -sS -X POST -H " +
			shellQuote("Authorization: Bearer "+d.Tokens[api.RoleTeacher]) + " -H 'Content-Type: application/json' -d " +
			shellQuote(string(body)) + " " + shellQuote(base+s+"/path/decisions")})
	}
	cs = append(cs,
		Curl{"the parent exports the child's data (RGPD access)", get(api.RoleParent, s+"/export")},
		Curl{"the analyst's aggregates (no pupil ids)", get(api.RoleAnalyst, "/v1/analytics/overview?school="+d.SchoolID)},
		Curl{"the audit trail of the demo pupil", get(api.RoleAdmin, "/v1/audit?student="+d.StudentID)},
	)
	if d.EraseID != "" {
		cs = append(cs, Curl{"the admin erases another pupil (RGPD erasure; prints 204)",
			"curl -sS -o /dev/null -w '%{http_code}\\n' -X DELETE -H " +
				shellQuote("Authorization: Bearer "+d.Tokens[api.RoleAdmin]) + " " + shellQuote(base+"/v1/students/"+d.EraseID)})
	}
	return cs
}

func (m *Main) printBanner(loaded string, elapsed time.Duration) {
	w := m.Stdout
	fmt.Fprintf(w, "Parcours is serving %s\n", m.URL)
	fmt.Fprintf(w, "  store: %s (%s), cache: %s, model %s, ready in %.2fs\n",
		m.storeKind(), loaded, m.cacheKind(), m.Engine.ModelVersion(), elapsed.Seconds())
	if m.Config.OIDCIssuer != "" {
		fmt.Fprintf(w, "  sign-in through the ENT (%s): %s/teacher/oidc/login, %s/analyst/oidc/login\n", m.Config.OIDCIssuer, m.URL, m.URL)
	}
	if m.Config.JWKSURL != "" {
		fmt.Fprintf(w, "  tokens: verified with the keys at %s (no demo tokens)\n", m.Config.JWKSURL)
		return
	}
	if m.Config.JWTSecret == "" {
		fmt.Fprintf(w, "  JWT secret of this run (for `parcours token`): export PARCOURS_JWT_SECRET=%s\n", m.secret)
	}
	if !m.showsDemo() {
		fmt.Fprintln(w, "  no demo tokens on a database: mint one with `parcours token --role R --sub ID`")
		if ids, err := m.Store.StudentIDs(context.Background()); err == nil && len(ids) == 0 {
			fmt.Fprintln(w, "  the database holds no pupil: load a folder with `parcours ingest --data DIR`")
		}
		return
	}
	if m.Demo == nil {
		fmt.Fprintln(w, "  no consenting pupil with data to show: load a folder with `parcours ingest --data DIR`")
		return
	}
	d := m.Demo
	fmt.Fprintf(w, "\nDemo tokens (valid %.0f h):\n", demoTokenTTL.Hours())
	who := map[string]string{
		api.RoleStudent: d.StudentID,
		api.RoleParent:  "parent of " + d.StudentID,
		api.RoleTeacher: "teacher of class " + d.ClassID,
		api.RoleAnalyst: "académie analyst",
		api.RoleAdmin:   "admin",
	}
	for _, role := range []string{api.RoleStudent, api.RoleParent, api.RoleTeacher, api.RoleAnalyst, api.RoleAdmin} {
		fmt.Fprintf(w, "  %-8s %-30s %s\n", role, who[role], d.Tokens[role])
	}
	if link, err := m.teacher.OneTimeLink(m.URL, d.Tokens[api.RoleTeacher]); err == nil {
		fmt.Fprintf(w, "\nThe teacher's review page (this link signs in once, within 5 minutes; then paste the teacher token at %s/teacher/login):\n  %s\n", m.URL, link)
		d.TeacherLink = link
	}
	fmt.Fprintln(w, "\nTry (each line works as printed):")
	for _, c := range d.Curls {
		fmt.Fprintf(w, "# %s\n%s\n", c.What, c.Line)
	}
	fmt.Fprintln(w)
}

// shellQuote quotes s for a POSIX shell: single quotes, with each ' written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
