package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours-ent/parcours/api"
)

const testSecret = "token-test-secret-0123456789"

func TestTokenRoundTrip(t *testing.T) {
	t.Setenv("PARCOURS_JWT_SECRET", testSecret)
	v, err := api.NewHS256Verifier([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want api.Claims
		ttl  time.Duration
	}{
		{"StudentGetsTheDefaultTwelveHours", []string{"--role", "student", "--sub", "eleve-000001", "--school", "etab-0001"},
			api.Claims{Role: "student", School: "etab-0001"}, 12 * time.Hour},
		{"ParentKeepsEveryChild", []string{"--role", "parent", "--sub", "p1", "--student", "eleve-1", "--student", "eleve-2", "--ttl", "1h"},
			api.Claims{Role: "parent", Students: []string{"eleve-1", "eleve-2"}}, time.Hour},
		{"TeacherKeepsEveryClass", []string{"--role", "teacher", "--sub", "prof-1", "--class", "c-6eA", "--class", "c-5eB"},
			api.Claims{Role: "teacher", Classes: []string{"c-6eA", "c-5eB"}}, 12 * time.Hour},
		{"ServiceToken", []string{"--role", "service", "--sub", "pronote-sync", "--ttl", "30m"},
			api.Claims{Role: "service"}, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"token"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			tok := strings.TrimSuffix(stdout, "\n")
			if strings.ContainsAny(tok, " \n") {
				t.Fatalf("stdout is not one token: %q", stdout)
			}
			c, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("the printed token does not verify: %v", err)
			}
			if c.Subject != tt.args[3] || c.Role != tt.want.Role || c.School != tt.want.School ||
				!slices.Equal(c.Students, tt.want.Students) || !slices.Equal(c.Classes, tt.want.Classes) {
				t.Errorf("claims = %+v, want %+v with sub %s", c, tt.want, tt.args[3])
			}
			if left := time.Until(c.ExpiresAt.Time); left > tt.ttl || left < tt.ttl-time.Minute {
				t.Errorf("expires in %v, want %v", left, tt.ttl)
			}
		})
	}
	t.Run("AnotherSecretRejectsIt", func(t *testing.T) {
		_, stdout, _ := runCLI(t, "token", "--role", "admin", "--sub", "a")
		other, _ := api.NewHS256Verifier([]byte("another-secret-0123456789"))
		if _, err := other.Verify(context.Background(), strings.TrimSpace(stdout)); err == nil {
			t.Fatal("a token verified with a secret it was not signed with")
		}
	})
}

func TestTokenBadUsageExitsTwo(t *testing.T) {
	tests := []struct {
		name, secret string
		args         []string
		want         string
	}{
		{"WithoutSecret", "", []string{"--role", "admin", "--sub", "a"}, "PARCOURS_JWT_SECRET is not set"},
		{"ShortSecret", "short", []string{"--role", "admin", "--sub", "a"}, "at least 16 bytes"},
		{"UnknownRole", testSecret, []string{"--role", "superuser", "--sub", "a"}, "--role must be one of"},
		{"NoSub", testSecret, []string{"--role", "admin"}, "--sub is required"},
		{"ParentWithoutChild", testSecret, []string{"--role", "parent", "--sub", "p"}, "--student"},
		{"TeacherWithoutClass", testSecret, []string{"--role", "teacher", "--sub", "t"}, "--class"},
		{"NegativeTTL", testSecret, []string{"--role", "admin", "--sub", "a", "--ttl", "-1h"}, "--ttl"},
		{"HugeTTL", testSecret, []string{"--role", "admin", "--sub", "a", "--ttl", "9000h"}, "--ttl"},
		{"UnknownFlag", testSecret, []string{"--role", "admin", "--sub", "a", "--admin"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PARCOURS_JWT_SECRET", tt.secret)
			code, stdout, stderr := runCLI(t, append([]string{"token"}, tt.args...)...)
			if code != exitBadUse || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q: want 2 and %q", code, stdout, stderr, tt.want)
			}
		})
	}
}
