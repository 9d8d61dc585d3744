package api

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/parcours-ent/parcours/recommender"
)

// bucketOf names the cache bucket holding everything cached about a pupil: dropping it
// invalidates or erases all of it at once.
func bucketOf(studentID string) string { return "p:" + studentID }

// cachedAnswer serves kind/query for a pupil from the cache, or computes it once however
// many identical requests miss together (singleflight), and stores it under the version
// read before computing: the cache refuses it if the pupil's bucket was dropped since.
// The field holds the model version, so a refit makes older entries unreachable.
// A cache failure is counted and the answer computed; it never fails the request.
func cachedAnswer[T any](ctx context.Context, s *Server, kind, studentID, query string,
	compute func(context.Context) (T, error), source func(*T) *string) (T, error) {
	var zero T
	bucket := bucketOf(studentID)
	field := kind + "|" + s.eng.ModelVersion() + "|" + query
	version := ""
	if s.cache != nil {
		v, val, ok, err := s.cache.Lookup(ctx, bucket, field, s.cfg.CacheTTL)
		switch {
		case err != nil:
			s.metrics.cache.WithLabelValues(kind, "error").Inc()
		case ok:
			var t T
			if json.Unmarshal(val, &t) == nil {
				s.metrics.cache.WithLabelValues(kind, "hit").Inc()
				if src := source(&t); *src != recommender.SourceFallback {
					*src = recommender.SourceCache
				}
				return t, nil
			}
			s.metrics.cache.WithLabelValues(kind, "error").Inc()
			version = v
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
			return zero, err
		}
		if version != "" {
			if b, err := json.Marshal(t); err == nil {
				if _, err := s.cache.Store(cctx, bucket, version, field, b, s.cfg.CacheTTL); err != nil {
					s.metrics.cache.WithLabelValues(kind, "error").Inc()
				}
			}
		}
		return t, nil
	})
	if err != nil {
		return zero, err
	}
	return res.(T), nil
}

// invalidate drops the pupils' buckets. A failure is counted and logged: the write that
// caused it has succeeded, and the entries expire within CacheTTL.
func (s *Server) invalidate(ctx context.Context, studentIDs []string) error {
	if s.cache == nil || len(studentIDs) == 0 {
		return nil
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
