package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/parcours-ent/parcours/datasets"
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

// retryAfterUnavailable is the Retry-After of every 503, in seconds: long enough for a
// circuit breaker to probe again or a PostgreSQL failover to finish, short enough that a
// page retries while its reader waits.
const retryAfterUnavailable = "5"

// writeProblem answers with p as application/problem+json and aborts the chain.
func writeProblem(c *gin.Context, p *Problem) {
	q := *p
	q.Instance = c.Request.URL.Path
	c.Header("Content-Type", "application/problem+json")
	switch q.Status {
	case http.StatusTooManyRequests:
		c.Header("Retry-After", "1")
	case http.StatusServiceUnavailable:
		c.Header("Retry-After", retryAfterUnavailable)
	}
	if q.Status == http.StatusUnauthorized {
		c.Writer.Header().Add("WWW-Authenticate", `Bearer realm="parcours"`) // the xAPI routes add Basic
	}
	c.AbortWithStatusJSON(q.Status, q)
}

// fail maps any error to a problem: the one place where domain errors become statuses.
// Internal details go to the log, never to the client: a client sees the message of a
// *datasets.Error, and only a fixed sentence for an error that merely wraps a code.
func (s *Server) fail(c *gin.Context, err error) {
	var p *Problem
	var mbe *http.MaxBytesError
	var de *datasets.Error
	code, domain := datasets.CodeOf(err)
	switch {
	case errors.As(err, &p):
	case errors.As(err, &mbe):
		p = errTooLarge
	case domain && code == datasets.ErrUnavailable:
		s.metrics.storeErrors.WithLabelValues(c.FullPath()).Inc()
		s.log.Warn("store unavailable", "route", c.FullPath(), "method", c.Request.Method, "err", err.Error())
		p = errUnavailable
	case domain && code == datasets.ErrNotFound:
		p = newProblem(http.StatusNotFound, "no such resource")
	case domain && errors.As(err, &de):
		p = domainProblem(c, de)
	case domain:
		// A code without a *datasets.Error: a store's constraint or a caller's wrap, whose
		// text is not written for clients.
		s.log.Info("domain error without a client message", "route", c.FullPath(), "method", c.Request.Method, "err", err.Error())
		p = domainProblem(c, &datasets.Error{Code: code, Msg: code.Error()})
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

// domainProblem is the 400 or 409 for bad input: the field it names (the request's
// "query" or "body" as a whole when it names none), the line of a batch, and the message.
func domainProblem(c *gin.Context, e *datasets.Error) *Problem {
	status := http.StatusBadRequest
	if e.Code == datasets.ErrConflict {
		status = http.StatusConflict
	}
	p := newProblem(status, e.Msg)
	if e.File != "" {
		p.Detail = e.File + ": " + e.Msg
	}
	p.Line = e.Line
	p.Field = e.Field
	if p.Field == "" && status == http.StatusBadRequest {
		p.Field = "body"
		if c.Request.Method == http.MethodGet {
			p.Field = "query"
		}
	}
	return p
}
