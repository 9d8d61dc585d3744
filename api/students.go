package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// checkID applies the contract's rule for opaque ids (the same as the data files'):
// non-empty, at most datasets.MaxIDBytes, valid UTF-8, no control character, no
// surrounding space, no list separator. Anything else is opaque and only ever compared.
func checkID(field, s string) *Problem {
	switch {
	case s == "":
		return badRequest(field, "missing id")
	case len(s) > datasets.MaxIDBytes:
		return badRequest(field, "id longer than "+strconv.Itoa(datasets.MaxIDBytes)+" bytes")
	case !utf8.ValidString(s):
		return badRequest(field, "id is not valid UTF-8")
	case strings.TrimSpace(s) != s, strings.Contains(s, datasets.ListSep):
		return badRequest(field, "id with surrounding spaces or a list separator")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return badRequest(field, "id with a control character")
	}
	return nil
}

const jsonType = "application/json; charset=utf-8"

var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// queryInt reads an integer query parameter within [lo, hi], def when absent.
func queryInt(c *gin.Context, name string, def, lo, hi int) (int, *Problem) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name, name+" must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

func querySubject(c *gin.Context) (string, *Problem) {
	s := c.Query("subject")
	if s != "" && !codeRE.MatchString(s) {
		return "", badRequest("subject", "subject must be a code such as MATHS")
	}
	return s, nil
}

func queryLang(c *gin.Context) (string, *Problem) {
	switch l := c.Query("lang"); l {
	case "":
		return "fr", nil
	case "fr", "en":
		return l, nil
	}
	return "", badRequest("lang", "lang must be fr or en")
}

// pupilID validates the :id path parameter and authorises act on that pupil.
func (s *Server) pupilID(c *gin.Context, act action) (string, bool) {
	id := c.Param("id")
	if p := checkID("id", id); p != nil {
		writeProblem(c, p)
		return "", false
	}
	if err := s.authorize(c.Request.Context(), claimsOf(c), act, target{StudentID: id}); err != nil {
		if errors.Is(err, errForbidden) {
			s.auditDenied(c, act, id)
		}
		s.fail(c, err)
		return "", false
	}
	return id, true
}

// readablePupil validates the :id path parameter, reads the pupil's access row from the
// store of record (class, consent, generation: one primary-key read) and authorises act
// with it. An unknown pupil is 403 to whom may not know (teachers), 404 to whom may.
func (s *Server) readablePupil(c *gin.Context, act action) (recommender.Access, bool) {
	id := c.Param("id")
	if p := checkID("id", id); p != nil {
		writeProblem(c, p)
		return recommender.Access{}, false
	}
	ctx := c.Request.Context()
	acc, err := s.store.Access(ctx, id)
	known := err == nil
	if err != nil && !errors.Is(err, recommender.ErrNotFound) {
		s.fail(c, err)
		return recommender.Access{}, false
	}
	t := target{StudentID: id, accessRead: true}
	if known {
		t.access = &acc
	}
	if err := s.authorize(ctx, claimsOf(c), act, t); err != nil {
		if errors.Is(err, errForbidden) {
			s.auditDenied(c, act, id)
		}
		s.fail(c, err)
		return recommender.Access{}, false
	}
	if !known {
		s.fail(c, err)
		return recommender.Access{}, false
	}
	return acc, true
}

func firstProblem(ps ...*Problem) *Problem {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func (s *Server) getRecommendations(c *gin.Context) {
	k, p1 := queryInt(c, "k", 10, 1, s.cfg.MaxK)
	subject, p2 := querySubject(c)
	lang, p3 := langOf(c)
	if p := firstProblem(p1, p2, p3); p != nil {
		writeProblem(c, p)
		return
	}
	// The request as the pupil's hint knows it (speculate.go): what the field depends on
	// besides the access row.
	hint := "k=" + strconv.Itoa(k) + "&subject=" + subject + "&lang=" + lang
	la := s.startLookahead(c.Request.Context(), "recommendations", c.Param("id"), hint)
	acc, ok := s.readablePupil(c, actReadPupil)
	if !ok {
		return
	}
	hidden, err := s.hidden.forClass(c.Request.Context(), acc.ClassID)
	if err != nil {
		s.fail(c, err)
		return
	}
	pol, ce, armKey, err := s.armOf(c.Request.Context(), acc)
	if err != nil {
		s.fail(c, err)
		return
	}
	ek := min(k+len(hidden), s.cfg.MaxK) // room for the hidden ones, left out after
	req := recommender.Request{StudentID: acc.StudentID, K: ek, Subject: subject, Lang: lang, Policy: pol}
	query := "k=" + strconv.Itoa(ek) + "&subject=" + subject + "&lang=" + lang + armKey
	contentLanguage(c, lang)
	var sent func(body []byte)
	if pol != nil {
		sent = func(body []byte) { s.logExposure(c.Request.Context(), acc, ce, body) }
	}
	serveCachedRead(c, s, "recommendations", acc, query,
		func(ctx context.Context) (recommender.Recommendations, error) {
			rec, err := s.eng.Recommend(ctx, req)
			if err == nil && pol != nil {
				rec.ListID = listID(rec.StudentID, rec.ModelVersion, pol.Name, rec.GeneratedAt)
			}
			return rec, err
		},
		recsHit, hidden, k, sent, la, hint)
}

func (s *Server) getPath(c *gin.Context) {
	length, p1 := queryInt(c, "length", 5, 1, s.cfg.MaxPathLength)
	subject, p2 := querySubject(c)
	if subject == "" && p2 == nil {
		p2 = badRequest("subject", "a path is per subject: give subject, e.g. subject=MATHS")
	}
	lang, p3 := langOf(c)
	if p := firstProblem(p1, p2, p3); p != nil {
		writeProblem(c, p)
		return
	}
	hint := "length=" + strconv.Itoa(length) + "&subject=" + subject + "&lang=" + lang
	la := s.startLookahead(c.Request.Context(), "path", c.Param("id"), hint)
	acc, ok := s.readablePupil(c, actReadPupil)
	if !ok {
		return
	}
	hidden, err := s.hidden.forClass(c.Request.Context(), acc.ClassID)
	if err != nil {
		s.fail(c, err)
		return
	}
	el := min(length+len(hidden), s.cfg.MaxPathLength)
	req := recommender.PathRequest{StudentID: acc.StudentID, Subject: subject, Length: el, Lang: lang}
	query := "length=" + strconv.Itoa(el) + "&subject=" + subject + "&lang=" + lang
	contentLanguage(c, lang)
	serveCachedRead(c, s, "path", acc, query,
		func(ctx context.Context) (recommender.Path, error) { return s.eng.Path(ctx, req) },
		pathHit, hidden, length, nil, la, hint)
}

// serveCachedRead answers a read of a pupil's computed data (kind "recommendations" or
// "path") from the cache or by computing it, audits the read as kind+".read" before the
// answer leaves, and sends it. asHit gives the answer as a cache hit sends it; sent, when
// set, is told the body sent (an experiment's exposure log); la and hint are the
// lookahead (speculate.go).
//
// The audit entry is written while the answer is looked up or computed, not after: the
// requester is authorised by then, and the answer is sent only once the entry is
// durable, so a read that was answered is always in the log (one that then failed may
// be too, as a read abandoned by its client may). The durable commit and the cache's
// round trip overlap instead of adding up.
func serveCachedRead[T any](c *gin.Context, s *Server, kind string, acc recommender.Access, query string,
	compute func(context.Context) (T, error), asHit func(T) T, hidden []string, keep int, sent func([]byte), la *lookahead, hint string) {
	audited := s.auditAsync(c, action(kind+".read"), acc.StudentID)
	body, err := cachedAnswerAhead(c.Request.Context(), s, kind, acc, query, compute, asHit, la, hint)
	aerr := <-audited
	if err != nil {
		s.fail(c, err)
		return
	}
	if body, err = withoutHidden(body, kind, hidden, keep); err != nil {
		s.fail(c, err)
		return
	}
	if aerr != nil {
		s.fail(c, aerr)
		return
	}
	if sent != nil {
		sent(body)
	}
	c.Data(http.StatusOK, jsonType, body)
}

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing data and
// wrong types with a problem naming the field.
func decodeJSON(c *gin.Context, v any) error {
	if ct := c.ContentType(); ct != "" && ct != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "send application/json")
	}
	body, err := io.ReadAll(c.Request.Body) // bounded by bodyLimit
	if err != nil {
		return jsonProblem(err)
	}
	if p := invalidUTF8(body); p != nil {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body", "trailing data after the JSON object")
	}
	return nil
}

func jsonProblem(err error) error {
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.As(err, &te):
		return badRequest("/"+strings.ReplaceAll(te.Field, ".", "/"), "wrong type: want "+te.Type.String())
	case errors.As(err, &se):
		return badRequest("body", "malformed JSON at byte "+strconv.FormatInt(se.Offset, 10))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "empty or truncated JSON body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest("/"+f, "unknown field")
	}
	return badRequest("body", "malformed JSON")
}

type decisionBody struct {
	ResourceID string `json:"resource_id"`
	Decision   string `json:"decision"`
	Comment    string `json:"comment"`
}

func (s *Server) postDecision(c *gin.Context) {
	var b decisionBody
	if err := decodeJSON(c, &b); err != nil {
		s.fail(c, err)
		return
	}
	if p := checkID("/resource_id", b.ResourceID); p != nil {
		writeProblem(c, p)
		return
	}
	if !recommender.ValidDecision(b.Decision) {
		writeProblem(c, badRequest("/decision", "decision must be approve, reject, pin or undo"))
		return
	}
	if len(b.Comment) > 2000 || strings.IndexFunc(b.Comment, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0 {
		writeProblem(c, badRequest("/comment", "comment must be at most 2000 bytes of text"))
		return
	}
	id, ok := s.pupilID(c, actDecide)
	if !ok {
		return
	}
	d := recommender.Decision{StudentID: id, ResourceID: b.ResourceID, Decision: b.Decision,
		Comment: b.Comment, TeacherID: claimsOf(c).Subject, At: time.Now().UTC()}
	err := s.eng.Decide(c.Request.Context(), d)
	if aerr := s.auditResult(c, actDecide, err, id); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	_ = s.invalidate(c.Request.Context(), []string{id}) // the generation changed with the decision
	c.JSON(http.StatusCreated, d)
}

// getDecisions answers the pupil's decision history, oldest first (undos included), for
// the teachers who may decide on the pupil's path.
func (s *Server) getDecisions(c *gin.Context) {
	id, ok := s.pupilID(c, actDecisionsRead)
	if !ok {
		return
	}
	ds, err := s.store.Decisions(c.Request.Context(), id)
	if err == nil {
		err = s.audit(c, actDecisionsRead, id)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, decisionHistory{StudentID: id, Decisions: ds})
}

type decisionHistory struct {
	StudentID string                 `json:"student_id"`
	Decisions []recommender.Decision `json:"decisions"`
}

func (s *Server) getOverview(c *gin.Context) {
	lang, p := langOf(c)
	if p != nil {
		writeProblem(c, p)
		return
	}
	subject, p := querySubject(c)
	if p != nil {
		writeProblem(c, p)
		return
	}
	id := c.Param("id")
	if p := checkID("id", id); p != nil {
		writeProblem(c, p)
		return
	}
	if err := s.authorize(c.Request.Context(), claimsOf(c), actOverview, target{ClassID: id}); err != nil {
		s.fail(c, err)
		return
	}
	ov, err := s.eng.ClassOverviewFor(c.Request.Context(), id, subject, lang)
	if err != nil {
		s.fail(c, err)
		return
	}
	ids := make([]string, len(ov.Pupils))
	for i, p := range ov.Pupils {
		ids[i] = p.StudentID
	}
	if len(ids) > 0 {
		if err := s.audit(c, actOverview, ids...); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, ov)
}
