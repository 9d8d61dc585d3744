package teacher

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/parcours-ent/parcours/api"
)

// session is one signed-in teacher.
type session struct {
	token   string
	claims  *api.Claims
	csrf    string
	expires time.Time
	flash   *flash
	log     []decisionLog // this session's decisions, newest first
}

// flash is a message shown once, on the page the teacher is redirected to.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

// decisionLog is one decision made in this session: rejected steps leave the path, so
// the page keeps them here to show who rejected what and when.
type decisionLog struct {
	StudentID string
	Resource  string
	Title     string
	Decision  string
	Comment   string
	TeacherID string
	At        time.Time
}

const (
	maxSessions    = 10000
	maxOnce        = 1000
	maxLogPerPupil = 20
)

// sessions maps opaque ids to sessions and one-time codes to tokens, in memory.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	once map[string]onceCode
	now  func() time.Time
}

type onceCode struct {
	token   string
	expires time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, once: map[string]onceCode{}, now: now}
}

// randomID returns 32 random bytes, base64url: unguessable, safe in a cookie or a URL.
func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for a verified token, ending at the token's expiry or after
// ttl, whichever comes first.
func (s *sessions) create(token string, cl *api.Claims, ttl time.Duration) (string, *session) {
	now := s.now()
	exp := now.Add(ttl)
	if cl.ExpiresAt != nil && cl.ExpiresAt.Before(exp) {
		exp = cl.ExpiresAt.Time
	}
	ss := &session{token: token, claims: cl, csrf: randomID(), expires: exp}
	id := randomID()
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
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// setFlash and takeFlash pass one message to the next page of the session.
func (s *sessions) setFlash(ss *session, f *flash) {
	s.mu.Lock()
	ss.flash = f
	s.mu.Unlock()
}

func (s *sessions) takeFlash(ss *session) *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := ss.flash
	ss.flash = nil
	return f
}

func (s *sessions) addLog(ss *session, d decisionLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.log = append([]decisionLog{d}, ss.log...)
	n := 0
	kept := ss.log[:0]
	for _, e := range ss.log {
		if e.StudentID == d.StudentID {
			if n == maxLogPerPupil {
				continue
			}
			n++
		}
		kept = append(kept, e)
	}
	ss.log = kept
}

func (s *sessions) logFor(ss *session, studentID string) []decisionLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []decisionLog
	for _, e := range ss.log {
		if e.StudentID == studentID {
			out = append(out, e)
		}
	}
	return out
}

// newOnce stores token under a fresh one-time code valid for ttl.
func (s *sessions) newOnce(token string, ttl time.Duration) string {
	code := randomID()
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
	s.once[code] = onceCode{token: token, expires: now.Add(ttl)}
	return code
}

// takeOnce returns the token of a live code and forgets the code: it works once.
func (s *sessions) takeOnce(code string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc, ok := s.once[code]
	if !ok {
		return "", false
	}
	delete(s.once, code)
	if !s.now().Before(oc.expires) {
		return "", false
	}
	return oc.token, true
}

func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
