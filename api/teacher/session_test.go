package teacher

import (
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parcours-ent/parcours/api"
)

func TestSessionLifetime(t *testing.T) {
	now := time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	claims := func(exp time.Duration) *api.Claims {
		return &api.Claims{Role: "teacher", RegisteredClaims: jwt.RegisteredClaims{Subject: "T", ExpiresAt: jwt.NewNumericDate(now.Add(exp))}}
	}
	tests := []struct {
		name     string
		tokenTTL time.Duration
		after    time.Duration
		wantLive bool
	}{
		{"LiveBeforeBothLimits", 2 * time.Hour, time.Hour, true},
		{"EndsWithTheToken", 30 * time.Minute, time.Hour, false},
		{"EndsAfterTheSessionTTL", 24 * time.Hour, 9 * time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSessions(func() time.Time { return now }, nil, nil, slog.New(slog.DiscardHandler))
			start := now
			id, _ := s.create("tok", claims(tc.tokenTTL), 8*time.Hour)
			now = start.Add(tc.after)
			defer func() { now = start }()
			if live := s.get(id) != nil; live != tc.wantLive {
				t.Fatalf("live %v, want %v", live, tc.wantLive)
			}
		})
	}
	t.Run("OnceCodeExpires", func(t *testing.T) {
		s := newSessions(clock, nil, nil, slog.New(slog.DiscardHandler))
		code, _ := s.newOnce("tok", 5*time.Minute)
		start := now
		now = start.Add(6 * time.Minute)
		defer func() { now = start }()
		if _, ok := s.takeOnce(code); ok {
			t.Fatal("an expired one-time code still works")
		}
	})
	t.Run("IDsAreDistinct", func(t *testing.T) {
		s := newSessions(clock, nil, nil, slog.New(slog.DiscardHandler))
		a, sa := s.create("tok", claims(time.Hour), time.Hour)
		b, sb := s.create("tok", claims(time.Hour), time.Hour)
		if a == b || sa.csrf == sb.csrf || len(a) < 40 {
			t.Fatalf("ids %q %q or CSRF tokens repeat", a, b)
		}
	})
}

func TestLogoutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, mint(t, "teacher", classMine))
	_, page, _ := get(t, c, e.server.URL+"/teacher/")
	u, _ := url.Parse(e.server.URL + "/teacher/")
	old := c.Jar.Cookies(u)
	if len(old) != 1 {
		t.Fatalf("%d cookies before logout, want 1", len(old))
	}
	status, _, h := post(t, c, e.server.URL+"/teacher/logout", e.server.URL, url.Values{"csrf": {csrfOf(t, page)}})
	if status != http.StatusSeeOther || h.Get("Location") != "/teacher/login" {
		t.Fatalf("logout: status %d to %q", status, h.Get("Location"))
	}
	// Replay the old cookie: the server must have forgotten the session, not only the jar.
	replay := e.client(t)
	replay.Jar.SetCookies(u, old)
	if status, _, h := get(t, replay, e.server.URL+"/teacher/classes/"+classMine); status != http.StatusSeeOther || h.Get("Location") != "/teacher/login" {
		t.Fatalf("old cookie after logout: status %d to %q, want back to sign-in", status, h.Get("Location"))
	}
}
