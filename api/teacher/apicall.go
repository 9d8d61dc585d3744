package teacher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/parcours-ent/parcours/api"
)

// recorder is the http.ResponseWriter the API's handler writes to when the page calls it
// in-process.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// apiError is a non-2xx answer of the API: its status decides the page shown.
type apiError struct {
	Status int
	Detail string
}

func (e *apiError) Error() string { return fmt.Sprintf("api status %d: %s", e.Status, e.Detail) }

// call runs one request through the JSON API's handler as the session's holder (with
// their token, or with the claims of a session opened through the ENT) and decodes a 2xx
// JSON answer into out. The path is built by the caller with url.PathEscape on every id.
func (a *App) call(ctx context.Context, s *session, method, path string, query url.Values, body, out any) error {
	if s.token == "" {
		ctx = api.WithSignedIn(ctx, s.claims)
	}
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("teacher.call: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("teacher.call: %w", err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = "127.0.0.1:0"
	rec := &recorder{header: http.Header{}}
	a.cfg.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 200 || rec.status > 299 {
		var p struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &p)
		return &apiError{Status: rec.status, Detail: p.Detail}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("teacher.call %s: decode: %w", method, err)
	}
	return nil
}
