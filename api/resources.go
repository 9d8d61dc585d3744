package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"

	"github.com/parcours-ent/parcours/recommender"
)

// The ENT page API around resources: similar resources, and resources a teacher hides
// from their class (or an admin from everyone), which recommendations and paths then
// leave out.

// similarFinder is the engine's optional similar-resources capability (*recommender.Engine
// has it; test fakes need not).
type similarFinder interface {
	Similar(ctx context.Context, id string, k int, lang string, hidden []string) (recommender.Similar, error)
}

func (s *Server) getSimilar(c *gin.Context) {
	id := c.Param("id")
	if p := checkID("id", id); p != nil {
		writeProblem(c, p)
		return
	}
	k, p1 := queryInt(c, "k", 10, 1, s.cfg.MaxK)
	lang, p2 := langOf(c)
	if p := firstProblem(p1, p2); p != nil {
		writeProblem(c, p)
		return
	}
	if err := s.authorize(c.Request.Context(), claimsOf(c), actSimilar, target{}); err != nil {
		s.fail(c, err)
		return
	}
	sf, ok := s.eng.(similarFinder)
	if !ok {
		writeProblem(c, newProblem(http.StatusNotFound, "similar resources are not available"))
		return
	}
	hidden, err := s.hidden.forClass(c.Request.Context(), "")
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := sf.Similar(c.Request.Context(), id, k, lang, hidden)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

type hiddenBody struct {
	ClassID string `json:"class_id"`
}

// putHidden hides (POST) or shows again (DELETE) a resource: for {class_id}, a teacher of
// that class or an admin; for everyone (no class_id), an admin. 204.
func (s *Server) setHidden(hide bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Param("id")
		if p := checkID("id", id); p != nil {
			writeProblem(c, p)
			return
		}
		var b hiddenBody
		if c.Request.ContentLength != 0 {
			body, err := io.ReadAll(c.Request.Body)
			if err != nil {
				s.fail(c, jsonProblem(err))
				return
			}
			if len(bytes.TrimSpace(body)) > 0 {
				c.Request.Body = io.NopCloser(bytes.NewReader(body))
				if err := decodeJSON(c, &b); err != nil {
					s.fail(c, err)
					return
				}
			}
		}
		if b.ClassID != "" {
			if p := checkID("/class_id", b.ClassID); p != nil {
				writeProblem(c, p)
				return
			}
		}
		cl := claimsOf(c)
		if err := s.authorize(c.Request.Context(), cl, actHide, target{ClassID: b.ClassID}); err != nil {
			s.fail(c, err)
			return
		}
		if s.hidden.store == nil {
			writeProblem(c, newProblem(http.StatusNotFound, "hiding resources is not available on this store"))
			return
		}
		h := recommender.Hidden{ResourceID: id, ClassID: b.ClassID, By: cl.Role + ":" + cl.Subject, At: time.Now().UTC().Truncate(time.Microsecond)}
		if err := s.hidden.store.SetHidden(c.Request.Context(), h, hide); err != nil {
			s.fail(c, err)
			return
		}
		s.hidden.forget()
		c.Status(http.StatusNoContent)
	}
}

// hiddenView reads the hidden resources of a class, remembering them for a moment:
// recommendations and paths ask on every request. A change made through this replica
// is seen at once; one made through another replica within hiddenTTL.
type hiddenView struct {
	store recommender.HiddenStore // nil: nothing is ever hidden

	mu sync.Mutex
	m  map[string]hiddenEntry
}

type hiddenEntry struct {
	ids []string
	at  time.Time
}

const hiddenTTL = 2 * time.Second

func newHiddenView(store any) *hiddenView {
	hs, _ := store.(recommender.HiddenStore)
	return &hiddenView{store: hs, m: map[string]hiddenEntry{}}
}

func (h *hiddenView) forClass(ctx context.Context, classID string) ([]string, error) {
	if h.store == nil {
		return nil, nil
	}
	now := time.Now()
	h.mu.Lock()
	e, ok := h.m[classID]
	h.mu.Unlock()
	if ok && now.Sub(e.at) < hiddenTTL {
		return e.ids, nil
	}
	ids, err := h.store.HiddenFor(ctx, classID)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if len(h.m) > 10_000 {
		clear(h.m)
	}
	h.m[classID] = hiddenEntry{ids: ids, at: now}
	h.mu.Unlock()
	return ids, nil
}

func (h *hiddenView) forget() {
	h.mu.Lock()
	clear(h.m)
	h.mu.Unlock()
}

// withoutHidden removes hidden resources from an answer as sent (JSON), keeping at most
// keep items: the engine was asked for more to make up for them. A path's hidden step
// goes (the engine's longer path brings the next one), hidden alternatives too, and
// positions follow.
func withoutHidden(body []byte, kind string, hidden []string, keep int) ([]byte, error) {
	if len(hidden) == 0 {
		return body, nil
	}
	switch kind {
	case "recommendations":
		var r recommender.Recommendations
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		r.Items = slices.DeleteFunc(r.Items, func(it recommender.Item) bool { return slices.Contains(hidden, it.ResourceID) })
		r.Items = r.Items[:min(keep, len(r.Items))]
		return json.Marshal(r)
	default:
		var p recommender.Path
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, err
		}
		steps := p.Steps[:0]
		for _, st := range p.Steps {
			st.Alternatives = slices.DeleteFunc(st.Alternatives, func(a string) bool { return slices.Contains(hidden, a) })
			if slices.Contains(hidden, st.ResourceID) {
				continue
			}
			st.Position = len(steps) + 1
			steps = append(steps, st)
		}
		p.Steps = steps[:min(keep, len(steps))]
		return json.Marshal(p)
	}
}

// langOf is the request's language: the lang query parameter, else the best of fr and en
// in Accept-Language, else French.
func langOf(c *gin.Context) (string, *Problem) {
	if c.Query("lang") != "" {
		return queryLang(c)
	}
	tags, _, err := language.ParseAcceptLanguage(c.GetHeader("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "fr", nil
	}
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return "fr", nil
	}
	return []string{"fr", "en"}[i], nil
}

var langMatcher = language.NewMatcher([]language.Tag{language.French, language.English})

// contentLanguage says which language the answer speaks, and that it varies with the
// request's Accept-Language.
func contentLanguage(c *gin.Context, lang string) {
	c.Header("Content-Language", lang)
	c.Writer.Header().Add("Vary", "Accept-Language")
}

// corsFor lets the ENT's pages at origins call the API from the browser: bearer tokens
// in the Authorization header (no cookies: credentials are not allowed), and the headers
// a page needs to read (Retry-After on 429 and 503, Content-Language).
func corsFor(origins []string) gin.HandlerFunc {
	return cors.New(cors.Config{
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowHeaders:  []string{"Authorization", "Content-Type", "Accept-Language", "X-Experience-API-Version"},
		ExposeHeaders: []string{"Retry-After", "Content-Language", "X-Experience-API-Version"},
		MaxAge:        10 * time.Minute,
	})
}
