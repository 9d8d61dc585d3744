package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/parcours-ent/parcours/recommender"
)

// bucketOf names the cache bucket holding everything cached about a pupil: dropping it
// invalidates or erases all of it at once.
func bucketOf(studentID string) string { return "p:" + studentID }

// cachedAnswer serves kind/query for a pupil from the cache, or computes it once however
// many identical requests miss together (singleflight), and stores it under the version
// read before computing: the cache refuses it if the pupil's bucket was dropped since.
// The field holds the model version and the pupil's generation as the store of record
// has it now (acc, read by this request), so a refit, and any change to the pupil's
// class, consent, profile or decisions by whoever made it, make older entries
// unreachable even when the cache could not be cleared. A cache failure is counted and
// the answer computed; it never fails the request.
//
// It returns the answer as JSON. What the cache holds is the answer as a hit sends it
// (asHit(answer): its source "cache" instead of "computed"), encoded once when computed,
// so that a hit sends the stored bytes untouched and costs no decoding.
func cachedAnswer[T any](ctx context.Context, s *Server, kind string, acc recommender.Access, query string,
	compute func(context.Context) (T, error), asHit func(T) T) ([]byte, error) {
	return cachedAnswerAhead(ctx, s, kind, acc, query, compute, asHit, nil, "")
}

// cachedAnswerAhead is cachedAnswer taking the result of a lookahead (speculate.go) when
// it looked up the very field this read needs, and remembering the field under hint
// (when not empty) for the pupil's next read.
func cachedAnswerAhead[T any](ctx context.Context, s *Server, kind string, acc recommender.Access, query string,
	compute func(context.Context) (T, error), asHit func(T) T, la *lookahead, hint string) ([]byte, error) {
	bucket := bucketOf(acc.StudentID)
	field := kind + "|" + s.eng.ModelVersion() + "|g" + strconv.FormatInt(acc.Generation, 36) + "|" + query
	version := ""
	if s.cache != nil {
		v, val, ok, err, used := la.result(bucket, field)
		if used {
			s.metrics.cache.WithLabelValues(kind, "lookahead").Inc()
		} else {
			v, val, ok, err = s.cache.Lookup(ctx, bucket, field, s.cfg.CacheTTL)
		}
		if hint != "" && s.hints != nil && !used {
			s.hints.put(acc.StudentID, kind+"\x00"+hint, field)
		}
		switch {
		case err != nil:
			s.metrics.cache.WithLabelValues(kind, "error").Inc()
		case ok:
			s.metrics.cache.WithLabelValues(kind, "hit").Inc()
			return val, nil
		default:
			s.metrics.cache.WithLabelValues(kind, "miss").Inc()
			version = v
		}
	}
	key := bucket + "\x00" + version + "\x00" + field
	res, err, _ := s.flight.Do(key, func() (any, error) {
		// Detached from the first caller's cancellation: others wait on the same result.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RequestTimeout)
		defer cancel()
		t, err := compute(cctx)
		if err != nil {
			if errors.Is(err, recommender.ErrNotFound) && s.cache != nil {
				// Lookup created the bucket; an unknown (or erased) pupil keeps no key.
				_ = s.cache.Drop(cctx, bucket)
			}
			return nil, err
		}
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		if version != "" {
			hit, err := json.Marshal(asHit(t))
			if err != nil {
				return nil, err
			}
			if _, err := s.cache.Store(cctx, bucket, version, field, hit, s.cfg.CacheTTL); err != nil {
				s.metrics.cache.WithLabelValues(kind, "error").Inc()
			}
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return res.([]byte), nil
}

// hitSource is the source a cached answer is sent with: a computed answer comes from the
// cache; a fallback (non-personalised) answer says so whatever served it.
func hitSource(computed string) string {
	if computed == recommender.SourceComputed {
		return recommender.SourceCache
	}
	return computed
}

// recsHit and pathHit are the answers as a cache hit sends them.
func recsHit(r recommender.Recommendations) recommender.Recommendations {
	r.Source = hitSource(r.Source)
	return r
}

func pathHit(p recommender.Path) recommender.Path {
	p.Source = hitSource(p.Source)
	return p
}

// invalidate drops the pupils' buckets. A failure is counted, logged and returned: writes
// that change access or consent fail with errCacheUnclear, the others go on (the
// generation keeps their pupils' old answers unreachable anyway).
func (s *Server) invalidate(ctx context.Context, studentIDs []string) error {
	if s.cache == nil || len(studentIDs) == 0 {
		return nil
	}
	if s.hints != nil {
		s.hints.forget(studentIDs)
	}
	buckets := make([]string, len(studentIDs))
	for i, id := range studentIDs {
		buckets[i] = bucketOf(id)
	}
	if err := s.cache.Drop(ctx, buckets...); err != nil {
		s.metrics.cache.WithLabelValues("invalidate", "error").Inc()
		s.log.Error("cache invalidation failed", "pupils", len(studentIDs), "err", err.Error())
		return err
	}
	return nil
}

// errCacheUnclear answers a write that changes access or consent when the cache cannot be
// cleared: nothing was changed, the client retries.
var errCacheUnclear = newProblem(http.StatusServiceUnavailable, "the cache cannot be cleared; nothing was changed; retry later")

// errCacheUnclearAfter answers such a write that was stored but whose cache could not be
// cleared afterwards (the generation keeps stale answers unreachable): the write is
// idempotent, the client retries until it succeeds.
var errCacheUnclearAfter = newProblem(http.StatusServiceUnavailable, "stored, but the cache could not be cleared; retry the same request")
