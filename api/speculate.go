package api

import (
	"context"
	"sync"
	"time"
)

// A cached read needs the pupil's access row from the store of record (class, consent,
// generation) before it knows which cache field holds its answer: the field names the
// generation, so that nothing stale is ever taken. Done one after the other, that is a
// PostgreSQL round trip then a Redis one on every read.
//
// The speculation overlaps them. Each replica remembers, per pupil and request, the field
// its last read of that request used (fieldHints). The next read starts the cache lookup
// of that remembered field at once, while the access row is being read; once the row is
// read and the requester authorised, the field is computed from the row as always, and
// the speculative lookup's answer is used only when it looked up exactly that field. A
// changed generation, class (hidden resources) or model version gives another field: the
// speculation is thrown away and the lookup made again. So the guarantee is unchanged:
// no cached answer is used unless its field names the generation just read from the
// store of record, and nothing is sent before the requester is authorised.
//
// The hints hold a pupil id and a field (kind, model version, generation, query): no
// answer. They are bounded (cleared when full), expire with the cache's TTL, and a
// pupil's are dropped when this replica invalidates the pupil.

// fieldHints maps pupil -> kind|request -> the cache field last used for it.
type fieldHints struct {
	mu  sync.Mutex
	m   map[string]map[string]fieldHint
	ttl time.Duration
}

type fieldHint struct {
	field string
	at    time.Time
}

// maxHintPupils bounds the pupils remembered (a few hundred bytes each).
const maxHintPupils = 1 << 19

func newFieldHints(ttl time.Duration) *fieldHints {
	return &fieldHints{m: map[string]map[string]fieldHint{}, ttl: ttl}
}

func (h *fieldHints) get(studentID, key string) (string, bool) {
	h.mu.Lock()
	e, ok := h.m[studentID][key]
	h.mu.Unlock()
	if !ok || (h.ttl > 0 && time.Since(e.at) > h.ttl) {
		return "", false
	}
	return e.field, true
}

func (h *fieldHints) put(studentID, key, field string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.m[studentID]
	if p == nil {
		if len(h.m) >= maxHintPupils {
			clear(h.m)
		}
		p = map[string]fieldHint{}
		h.m[studentID] = p
	}
	p[key] = fieldHint{field: field, at: time.Now()}
}

// forget drops every hint about the pupils (erasure, invalidation through this replica).
func (h *fieldHints) forget(studentIDs []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range studentIDs {
		delete(h.m, id)
	}
}

// lookahead is a cache lookup started before the access row was read.
type lookahead struct {
	bucket, field string
	done          chan struct{}
	version       string
	val           []byte
	ok            bool
	err           error
}

// startLookahead looks up the field last used for this pupil and request, if any, in the
// background. It returns nil when there is nothing to speculate on.
func (s *Server) startLookahead(ctx context.Context, kind, studentID, request string) *lookahead {
	if s.cache == nil || s.hints == nil || checkID("id", studentID) != nil {
		return nil
	}
	field, ok := s.hints.get(studentID, kind+"\x00"+request)
	if !ok {
		return nil
	}
	la := &lookahead{bucket: bucketOf(studentID), field: field, done: make(chan struct{})}
	go func() {
		defer close(la.done)
		la.version, la.val, la.ok, la.err = s.cache.Lookup(ctx, la.bucket, la.field, s.cfg.CacheTTL)
	}()
	return la
}

// result waits for the lookup when it looked up bucket/field, and says whether it did.
func (la *lookahead) result(bucket, field string) (version string, val []byte, ok bool, err error, used bool) {
	if la == nil || la.bucket != bucket || la.field != field {
		return "", nil, false, nil, false
	}
	<-la.done
	return la.version, la.val, la.ok, la.err, true
}
