package teacher

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/api"
)

// SessionStore keeps sessions and one-time codes outside the process, so that replicas
// behind a load balancer need no sticky sessions (cache.RedisKV: serve with REDIS_URL).
// Without one, the page keeps them in its own memory.
type SessionStore interface {
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Take returns and deletes in one atomic step: a one-time code works once, whichever
	// replica takes it.
	Take(ctx context.Context, key string) ([]byte, bool, error)
	Delete(ctx context.Context, key string) error
}

// storeTimeout bounds one session-store call: the page answers a sign-in form rather
// than wait on a slow store.
const storeTimeout = 2 * time.Second

// session is one signed-in teacher (or analyst).
type session struct {
	id string
	// token is the bearer token signed in with (form or one-time link); "" for a
	// session opened through the ENT's OpenID provider, whose claims were mapped from a
	// verified ID token and are passed to the API in-process (api.WithSignedIn).
	token   string
	claims  *api.Claims
	csrf    string
	expires time.Time
	flash   *flash
}

// flash is a message shown once, on the page the teacher is redirected to.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

const (
	maxSessions = 10000
	maxOnce     = 1000
)

// sessions maps opaque ids to sessions and one-time codes to tokens: in store when there
// is one (each request reads its session afresh, each change is written back), else in
// memory.
type sessions struct {
	mu     sync.Mutex
	byID   map[string]*session
	once   map[string]onceCode
	now    func() time.Time
	store  SessionStore
	verify api.Verifier // re-reads a stored session's claims from its token
	log    *slog.Logger
}

// storedSession is a session as the store holds it. A token session's claims are not
// stored: they are read again from the token, which the store holds anyway. A session
// opened through the ENT holds its mapped claims and no token.
type storedSession struct {
	Token   string      `json:"token,omitempty"`
	Claims  *api.Claims `json:"claims,omitempty"`
	CSRF    string      `json:"csrf"`
	Expires time.Time   `json:"expires"`
	Flash   *flash      `json:"flash,omitempty"`
}

func sessionKey(id string) string { return "teacher:session:" + id }
func onceKey(code string) string  { return "teacher:once:" + code }

func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// save writes ss back to the store (when there is one) until it expires.
func (s *sessions) save(ss *session) bool {
	if s.store == nil {
		return true
	}
	st := storedSession{Token: ss.token, CSRF: ss.csrf, Expires: ss.expires, Flash: ss.flash}
	if ss.token == "" {
		st.Claims = ss.claims
	}
	b, err := json.Marshal(st)
	if err == nil {
		ctx, cancel := storeCtx()
		defer cancel()
		err = s.store.Set(ctx, sessionKey(ss.id), b, ss.expires.Sub(s.now()))
	}
	if err != nil {
		s.log.Warn("teacher page: session store", "op", "set", "error", err.Error())
		return false
	}
	return true
}

// load reads the session id from the store, or nil.
func (s *sessions) load(id string) *session {
	ctx, cancel := storeCtx()
	defer cancel()
	b, ok, err := s.store.Get(ctx, sessionKey(id))
	if err != nil {
		s.log.Warn("teacher page: session store", "op", "get", "error", err.Error())
		return nil
	}
	if !ok {
		return nil
	}
	var st storedSession
	if json.Unmarshal(b, &st) != nil || !s.now().Before(st.Expires) {
		return nil
	}
	cl := st.Claims
	if st.Token != "" {
		if cl, err = s.verify.Verify(ctx, st.Token); err != nil {
			return nil
		}
	} else if cl == nil || cl.Subject == "" {
		return nil
	}
	return &session{id: id, token: st.Token, claims: cl, csrf: st.CSRF, expires: st.Expires, flash: st.Flash}
}

type onceCode struct {
	token   string
	expires time.Time
}

func newSessions(now func() time.Time, store SessionStore, verify api.Verifier, log *slog.Logger) *sessions {
	return &sessions{byID: map[string]*session{}, once: map[string]onceCode{}, now: now, store: store, verify: verify, log: log}
}

// randomID returns 32 random bytes, base64url: unguessable, safe in a cookie or a URL.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for a verified token, ending at the token's expiry or after
// ttl, whichever comes first; nil when the store cannot take it.
func (s *sessions) create(token string, cl *api.Claims, ttl time.Duration) (string, *session) {
	now := s.now()
	exp := now.Add(ttl)
	if cl.ExpiresAt != nil && cl.ExpiresAt.Before(exp) {
		exp = cl.ExpiresAt.Time
	}
	id := randomID()
	ss := &session{id: id, token: token, claims: cl, csrf: randomID(), expires: exp}
	if s.store != nil {
		if !s.save(ss) {
			return "", nil
		}
		return id, ss
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= maxSessions {
		s.sweepLocked(now)
	}
	if len(s.byID) >= maxSessions { // still full of live sessions: drop an arbitrary one
		for k := range s.byID {
			delete(s.byID, k)
			break
		}
	}
	s.byID[id] = ss
	return id, ss
}

// createSignedIn starts a session for claims mapped from a verified ID token, ending at
// their expiry; nil when the store cannot take it.
func (s *sessions) createSignedIn(cl *api.Claims) (string, *session) {
	return s.create("", cl, cl.ExpiresAt.Sub(s.now()))
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, v := range s.byID {
		if !now.Before(v.expires) {
			delete(s.byID, k)
		}
	}
	for k, v := range s.once {
		if !now.Before(v.expires) {
			delete(s.once, k)
		}
	}
}

// get returns the live session of id, or nil.
func (s *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	if s.store != nil {
		return s.load(id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil
	}
	if !s.now().Before(ss.expires) {
		delete(s.byID, id)
		return nil
	}
	return ss
}

func (s *sessions) end(id string) {
	if s.store != nil {
		ctx, cancel := storeCtx()
		defer cancel()
		if err := s.store.Delete(ctx, sessionKey(id)); err != nil {
			s.log.Warn("teacher page: session store", "op", "delete", "error", err.Error())
		}
		return
	}
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// setFlash and takeFlash pass one message to the next page of the session.
func (s *sessions) setFlash(ss *session, f *flash) {
	s.mu.Lock()
	ss.flash = f
	s.mu.Unlock()
	s.save(ss)
}

func (s *sessions) takeFlash(ss *session) *flash {
	s.mu.Lock()
	f := ss.flash
	ss.flash = nil
	s.mu.Unlock()
	if f != nil {
		s.save(ss)
	}
	return f
}

// newOnce stores token under a fresh one-time code valid for ttl.
func (s *sessions) newOnce(token string, ttl time.Duration) (string, error) {
	code := randomID()
	return code, s.put(onceKey(code), token, ttl)
}

// takeOnce returns the token of a live code and forgets the code: it works once.
func (s *sessions) takeOnce(code string) (string, bool) { return s.take(onceKey(code)) }

// put stores val under key for ttl, to be taken once (one-time codes, sign-in flows).
func (s *sessions) put(key, val string, ttl time.Duration) error {
	if s.store != nil {
		ctx, cancel := storeCtx()
		defer cancel()
		return s.store.Set(ctx, key, []byte(val), ttl)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.once) >= maxOnce {
		s.sweepLocked(now)
	}
	if len(s.once) >= maxOnce {
		for k := range s.once {
			delete(s.once, k)
			break
		}
	}
	s.once[key] = onceCode{token: val, expires: now.Add(ttl)}
	return nil
}

// take returns the live value under key and forgets it, in one step: it works once,
// whichever replica takes it.
func (s *sessions) take(key string) (string, bool) {
	if s.store != nil {
		ctx, cancel := storeCtx()
		defer cancel()
		b, ok, err := s.store.Take(ctx, key)
		if err != nil {
			s.log.Warn("teacher page: session store", "op", "take", "error", err.Error())
		}
		return string(b), ok && err == nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	oc, ok := s.once[key]
	if !ok {
		return "", false
	}
	delete(s.once, key)
	if !s.now().Before(oc.expires) {
		return "", false
	}
	return oc.token, true
}

func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
