package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// The statement resource of xAPI 1.0.3, as far as a learning-record consumer needs:
// POST and PUT of statements, GET of one statement by id, and /about. Statements are
// validated as the spec says (a bad field fails the whole batch with its JSON pointer);
// valid statements about pupils or activities Parcours does not know are kept unmapped,
// never refused.

// xapiVersions are the X-Experience-API-Version values accepted: 1.0 is read as 1.0.0,
// as the spec asks.
var xapiVersions = []string{"1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3"}

// lrs is the xAPI side of the server: what it looks statements up in, its clients, and
// its counters.
type lrs struct {
	dir     recommender.XAPIDirectory // nil when the store has none: no mapping, no GET
	clients *basicAuth
	counted *prometheus.CounterVec
}

// newLRS finds the store's optional xAPI capabilities by type assertion, as
// database/sql finds a driver's.
func newLRS(store any, reg prometheus.Registerer) *lrs {
	l := &lrs{counted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parcours_xapi_statements_total",
		Help: "xAPI statements stored, by outcome: mapped to a pupil and a resource, or kept unmapped (unknown_actor, unknown_activity, unknown_statement).",
	}, []string{"outcome"})}
	reg.MustRegister(l.counted)
	l.dir, _ = store.(recommender.XAPIDirectory)
	if cs, ok := store.(recommender.ClientStore); ok {
		l.clients = newBasicAuth(cs)
	}
	return l
}

func (s *Server) xapiRoutes(r *gin.Engine, big gin.HandlerFunc) {
	x := r.Group("/xapi", xapiVersionHeader)
	x.GET("/about", s.getAbout)
	auth := x.Group("", s.authenticateXAPI, s.rateLimit, s.timeout, checkXAPIVersion)
	auth.POST("/statements", big, s.postStatements)
	auth.PUT("/statements", big, s.putStatement)
	auth.GET("/statements", s.getStatement)
}

func xapiVersionHeader(c *gin.Context) {
	c.Header("X-Experience-API-Version", datasets.XAPIVersion)
	c.Next()
}

func checkXAPIVersion(c *gin.Context) {
	if v := strings.TrimSpace(c.GetHeader("X-Experience-API-Version")); !slices.Contains(xapiVersions, v) {
		writeProblem(c, badRequest("X-Experience-API-Version", "send the header X-Experience-API-Version with one of "+strings.Join(xapiVersions, ", ")))
		return
	}
	c.Next()
}

// getAbout answers GET /xapi/about: the versions spoken. Public, as the spec allows.
func (s *Server) getAbout(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"version": []string{"1.0.3", "1.0.2", "1.0.1", "1.0.0"}})
}

// authenticateXAPI takes an LRS client's HTTP Basic credentials or, failing that, a
// bearer token.
func (s *Server) authenticateXAPI(c *gin.Context) {
	key, secret, ok := c.Request.BasicAuth()
	if !ok {
		if !strings.HasPrefix(c.GetHeader("Authorization"), "Bearer ") {
			c.Writer.Header().Add("WWW-Authenticate", `Basic realm="parcours-lrs"`)
		}
		s.authenticate(c)
		return
	}
	if s.lrs.clients == nil || !s.lrs.clients.verify(c.Request.Context(), key, secret) {
		c.Writer.Header().Add("WWW-Authenticate", `Basic realm="parcours-lrs"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, "unknown LRS client key or wrong secret"))
		return
	}
	cl := &Claims{Role: RoleService}
	cl.Subject = "lrs:" + key
	c.Set(claimsKey, cl)
	c.Next()
}

func (s *Server) readStatementBody(c *gin.Context) ([]byte, bool) {
	if err := s.authorize(c.Request.Context(), claimsOf(c), actXAPI, target{}); err != nil {
		s.fail(c, err)
		return nil, false
	}
	if ct := c.ContentType(); ct != "application/json" && ct != "" {
		writeProblem(c, newProblem(http.StatusUnsupportedMediaType, "send application/json"))
		return nil, false
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, jsonProblem(err))
		return nil, false
	}
	if p := invalidUTF8(body); p != nil {
		writeProblem(c, p)
		return nil, false
	}
	return body, true
}

// postStatements stores one statement or an array of them; the answer is the array of
// their ids, in order (assigned to those sent without one).
func (s *Server) postStatements(c *gin.Context) {
	body, ok := s.readStatementBody(c)
	if !ok {
		return
	}
	sts, err := datasets.ParseStatementsJSON(body, time.Now().UTC())
	if err != nil {
		s.fail(c, err)
		return
	}
	if !s.storeStatements(c, sts, len(body) > 0 && bytes.TrimSpace(body)[0] != '[') {
		return
	}
	ids := make([]string, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	c.JSON(http.StatusOK, ids)
}

// putStatement stores one statement under the id given in statementId; 204.
func (s *Server) putStatement(c *gin.Context) {
	id := strings.ToLower(c.Query("statementId"))
	if !uuidRE.MatchString(id) {
		writeProblem(c, badRequest("statementId", "give the statement's id (a UUID) as statementId"))
		return
	}
	body, ok := s.readStatementBody(c)
	if !ok {
		return
	}
	if t := strings.TrimSpace(string(body)); strings.HasPrefix(t, "[") {
		writeProblem(c, badRequest("/", "PUT takes one statement, not an array"))
		return
	}
	st, err := datasets.ParseStatementJSON(body, time.Now().UTC())
	if err != nil {
		s.fail(c, err)
		return
	}
	if !st.Ref.IDAssigned && st.ID != id {
		writeProblem(c, badRequest("/id", fmt.Sprintf("id %q differs from statementId %q", st.ID, id)))
		return
	}
	st.ID, st.Ref.IDAssigned = id, false // the client named it
	if !s.storeStatements(c, []datasets.Statement{st}, true) {
		return
	}
	c.Status(http.StatusNoContent)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// storeStatements maps a parsed batch to pupils and resources and ingests it whole.
func (s *Server) storeStatements(c *gin.Context, sts []datasets.Statement, single bool) bool {
	ctx := c.Request.Context()
	index := make(map[string]int, len(sts)) // statement id -> its index in the body
	for i, st := range sts {
		index[st.ID] = i
	}
	d := &datasets.Dataset{Statements: sts}
	if s.lrs.dir != nil {
		if err := s.keepStoredTimestamps(ctx, sts); err != nil {
			s.fail(c, err)
			return false
		}
		dir, err := recommender.LookUpXAPI(ctx, s.lrs.dir, sts)
		if err != nil {
			s.fail(c, err)
			return false
		}
		datasets.MapStatements(d, dir)
	}
	if _, err := s.ingest(ctx, d); err != nil {
		s.fail(c, xapiError(err, d, index, single))
		return false
	}
	s.lrs.counted.WithLabelValues("mapped").Add(float64(len(d.Statements)))
	for _, u := range d.Unmapped {
		s.lrs.counted.WithLabelValues(u.Reason).Inc()
	}
	return true
}

// keepStoredTimestamps gives a statement sent again without timestamp the timestamp it
// was stored with: the first time it was taken from the time stored, which is the LRS's
// to set, not part of what the client sent, so the second sending is the same statement.
func (s *Server) keepStoredTimestamps(ctx context.Context, sts []datasets.Statement) error {
	var ids []string
	at := map[string]int{}
	for i, st := range sts {
		if st.Ref != nil && st.Ref.TimestampAssigned && !st.Ref.IDAssigned {
			ids = append(ids, st.ID)
			at[st.ID] = i
		}
	}
	if len(ids) == 0 {
		return nil
	}
	mapped, unmapped, err := s.lrs.dir.StatementsByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, m := range mapped {
		sts[at[m.ID]].Timestamp = m.Timestamp
	}
	for _, u := range unmapped {
		sts[at[u.ID]].Timestamp = u.Timestamp
	}
	return nil
}

// xapiError rewords a store's batch error for an HTTP client: the stores name the data
// folder's file (usage.jsonl) and a line in the mapped-then-unmapped batch; a request
// has no file, and its statements are named by their index in the body and a JSON
// pointer.
func xapiError(err error, d *datasets.Dataset, index map[string]int, single bool) error {
	var de *datasets.Error
	if !errors.As(err, &de) || de.File != datasets.UsageFile {
		return err
	}
	e := *de
	e.File, e.Err = datasets.StatementsSource, nil
	id, i := "", e.Line-1
	switch {
	case i >= 0 && i < len(d.Statements):
		id = d.Statements[i].ID
	case i >= len(d.Statements) && i < len(d.Statements)+len(d.Unmapped):
		id = d.Unmapped[i-len(d.Statements)].ID
	}
	e.Line, e.Field = 0, ""
	if at, ok := index[id]; ok {
		e.Line = at + 1
		prefix := "/" + strconv.Itoa(at)
		if single {
			prefix = ""
		}
		e.Field = prefix + "/" + strings.ReplaceAll(de.Field, ".", "/")
	}
	return &e
}

// getStatement answers GET /xapi/statements?statementId=: the statement as Parcours
// keeps it (the contract's fields; everything else was never stored).
func (s *Server) getStatement(c *gin.Context) {
	if err := s.authorize(c.Request.Context(), claimsOf(c), actXAPI, target{}); err != nil {
		s.fail(c, err)
		return
	}
	id := strings.ToLower(c.Query("statementId"))
	if !uuidRE.MatchString(id) {
		writeProblem(c, badRequest("statementId", "this LRS answers one statement by id: give statementId (a UUID)"))
		return
	}
	if s.lrs.dir == nil {
		writeProblem(c, newProblem(http.StatusNotFound, "no such statement"))
		return
	}
	mapped, unmapped, err := s.lrs.dir.StatementsByID(c.Request.Context(), []string{id})
	if err != nil {
		s.fail(c, err)
		return
	}
	var out xapiStatement
	switch {
	case len(mapped) == 1:
		if err := s.audit(c, actXAPIRead, mapped[0].StudentID); err != nil {
			s.fail(c, err)
			return
		}
		out = wireOf(mapped[0], "account:"+datasets.AccountHomePage+"|"+mapped[0].StudentID)
	case len(unmapped) == 1:
		if err := s.audit(c, actXAPIRead, unmapped[0].StudentID); err != nil {
			s.fail(c, err)
			return
		}
		out = wireOf(unmapped[0].Statement, unmapped[0].Actor)
	default:
		writeProblem(c, newProblem(http.StatusNotFound, "no such statement"))
		return
	}
	c.JSON(http.StatusOK, out)
}

// xapiStatement is the JSON form of a kept statement.
type xapiStatement struct {
	ID        string         `json:"id"`
	Actor     map[string]any `json:"actor"`
	Verb      map[string]any `json:"verb"`
	Object    map[string]any `json:"object"`
	Result    map[string]any `json:"result,omitempty"`
	Timestamp string         `json:"timestamp"`
	Version   string         `json:"version"`
}

func wireOf(st datasets.Statement, actor string) xapiStatement {
	out := xapiStatement{ID: st.ID, Verb: map[string]any{"id": st.Verb}, Timestamp: datasets.FormatTime(st.Timestamp), Version: "1.0.0"}
	switch kind, rest, _ := strings.Cut(actor, ":"); kind {
	case "account":
		home, name, _ := strings.Cut(rest, "|")
		out.Actor = map[string]any{"objectType": "Agent", "account": map[string]string{"homePage": home, "name": name}}
	case "mbox_sha1sum", "openid":
		out.Actor = map[string]any{"objectType": "Agent", kind: rest}
	default:
		out.Actor = map[string]any{"objectType": "Group", "member": []any{}}
	}
	if st.Verb == datasets.VerbVoided {
		out.Object = map[string]any{"objectType": "StatementRef", "id": st.ObjectID}
	} else {
		out.Object = map[string]any{"objectType": "Activity", "id": st.ObjectID}
	}
	if st.Scaled != nil || st.Success != nil || st.Completion != nil || st.Duration != nil {
		out.Result = map[string]any{}
		if st.Scaled != nil {
			out.Result["score"] = map[string]float64{"scaled": *st.Scaled}
		}
		if st.Success != nil {
			out.Result["success"] = *st.Success
		}
		if st.Completion != nil {
			out.Result["completion"] = *st.Completion
		}
		if st.Duration != nil {
			if d, err := datasets.FormatISODuration(*st.Duration); err == nil {
				out.Result["duration"] = d
			}
		}
	}
	return out
}
