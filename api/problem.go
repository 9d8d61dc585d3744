package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/parcours-ent/parcours/datasets"
	"github.com/parcours-ent/parcours/recommender"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Field names the bad input of a 400: a query parameter, a path parameter, a JSON
	// pointer (/3/score) or a CSV column.
	Field string `json:"field,omitempty"`
	// Line is the CSV line or the JSON array element index + 1 of a bad batch row.
	Line int `json:"line,omitempty"`
}

// problemTypes gives each status its stable type URI and title.
var problemTypes = map[int][2]string{
	http.StatusBadRequest:            {"bad-request", "Bad request"},
	http.StatusUnauthorized:          {"unauthorized", "Missing or invalid token"},
	http.StatusForbidden:             {"forbidden", "Not allowed"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"conflict", "Conflicting ids"},
	http.StatusRequestEntityTooLarge: {"too-large", "Request body too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusTooManyRequests:       {"rate-limited", "Too many requests"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
	http.StatusServiceUnavailable:    {"unavailable", "Service unavailable"},
}

func newProblem(status int, detail string) *Problem {
	t, ok := problemTypes[status]
	if !ok {
		t = [2]string{strconv.Itoa(status), http.StatusText(status)}
	}
	return &Problem{Type: "urn:parcours:problem:" + t[0], Title: t[1], Status: status, Detail: detail}
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func badRequest(field, detail string) *Problem {
	p := newProblem(http.StatusBadRequest, detail)
	p.Field = field
	return p
}

var (
	errForbidden   = newProblem(http.StatusForbidden, "this token does not give access to this resource")
	errTooLarge    = newProblem(http.StatusRequestEntityTooLarge, "the request body exceeds the limit of this endpoint")
	errUnavailable = newProblem(http.StatusServiceUnavailable, "a store is unreachable and no cached answer can serve this request; retry later")
)

// writeProblem answers with p as application/problem+json and aborts the chain.
func writeProblem(c *gin.Context, p *Problem) {
	q := *p
	q.Instance = c.Request.URL.Path
	c.Header("Content-Type", "application/problem+json")
	if q.Status == http.StatusTooManyRequests {
		c.Header("Retry-After", "1")
	}
	if q.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="parcours"`)
	}
	c.AbortWithStatusJSON(q.Status, q)
}

// fail maps any error to a problem: the one place where domain errors become statuses.
// Internal details go to the log, never to the client.
func (s *Server) fail(c *gin.Context, err error) {
	var p *Problem
	var re *datasets.RowError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &mbe):
		p = errTooLarge
	case errors.As(err, &re):
		field := re.Field
		if field == "" {
			field = "body"
		}
		p = badRequest(field, re.Msg)
		p.Line = re.Line
		if re.File != "" {
			p.Detail = re.File + ": " + re.Msg
		}
	case errors.Is(err, recommender.ErrNotFound):
		p = newProblem(http.StatusNotFound, "no such resource")
	case errors.Is(err, recommender.ErrConflict):
		p = newProblem(http.StatusConflict, clientDetail(err))
	case errors.Is(err, recommender.ErrInvalid), errors.Is(err, datasets.ErrInvalid):
		detail := clientDetail(err)
		p = badRequest(fieldHint(c, detail), detail)
	case errors.Is(err, recommender.ErrUnavailable):
		s.metrics.storeErrors.WithLabelValues(c.FullPath()).Inc()
		p = errUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		p = newProblem(http.StatusServiceUnavailable, "the request took longer than the service allows; retry later")
	case errors.Is(err, context.Canceled):
		p = newProblem(http.StatusServiceUnavailable, "the request was cancelled")
	default:
		s.log.Error("internal error", "route", c.FullPath(), "method", c.Request.Method, "err", err.Error())
		p = newProblem(http.StatusInternalServerError, "")
	}
	writeProblem(c, p)
}

var callSite = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[A-Za-z_][A-Za-z0-9_]*)+: `)

// clientDetail strips the call chain ("recommender.Decide: ") from a domain error, leaving
// the domain's own words about the input.
func clientDetail(err error) string {
	msg := err.Error()
	for {
		loc := callSite.FindStringIndex(msg)
		if loc == nil {
			return msg
		}
		msg = msg[loc[1]:]
	}
}

// fieldHint names the input an engine's validation error is about, when the message says
// it: the engine speaks of subjects and resources, the client sent query parameters or a
// JSON body.
func fieldHint(c *gin.Context, detail string) string {
	d := strings.ToLower(detail)
	switch {
	case strings.Contains(d, "subject"):
		return "subject"
	case strings.Contains(d, "resource"):
		return "/resource_id"
	case strings.Contains(d, "decision"):
		return "/decision"
	case strings.Contains(d, "length"):
		return "length"
	case c.Request.Method == http.MethodGet:
		return "query"
	}
	return "body"
}
