package main

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestOIDCConfiguration(t *testing.T) {
	good := map[string]string{
		"PARCOURS_OIDC_ISSUER":        "https://connexion.ent.example.fr",
		"PARCOURS_OIDC_CLIENT_ID":     "parcours",
		"PARCOURS_OIDC_CLIENT_SECRET": "s3cret",
		"PARCOURS_OIDC_REDIRECT_URL":  "https://parcours.example.fr/teacher/oidc/callback",
		"PARCOURS_OIDC_ROLE_MAP":      "National_ENS=teacher,National_DOC=teacher,ACAD_ANALYSTE=analyst",
		"PARCOURS_OIDC_ROLE_CLAIM":    "profiles",
		"PARCOURS_OIDC_SCOPES":        "profile,ent",
	}
	with := func(k, v string) map[string]string {
		m := maps.Clone(good)
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		bad  string // the setting the error names; "" when valid
	}{
		{"AFullConfigurationIsRead", good, ""},
		{"ARoleMappedToStudentIsBadUsage", with("PARCOURS_OIDC_ROLE_MAP", "National_ELV=student"), "OIDC_ROLE_MAP"},
		{"ARedirectElsewhereIsBadUsage", with("PARCOURS_OIDC_REDIRECT_URL", "https://parcours.example.fr/callback"), "OIDC_REDIRECT_URL"},
		{"NoClientIDIsBadUsage", with("PARCOURS_OIDC_CLIENT_ID", ""), "OIDC_CLIENT_ID"},
		{"AClientWithoutIssuerIsBadUsage", with("PARCOURS_OIDC_ISSUER", ""), "OIDC_ISSUER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := loadConfig()
			if tc.bad != "" {
				var u usageError
				if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("err %v, want bad usage naming %s", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o, err := cfg.oidc()
			if err != nil || o == nil {
				t.Fatalf("oidc: %v", err)
			}
			if o.RoleMap["National_DOC"] != "teacher" || o.RoleMap["ACAD_ANALYSTE"] != "analyst" || len(o.RoleMap) != 3 ||
				o.RoleClaim != "profiles" || o.ClassesClaim != "classes" || len(o.Scopes) != 2 || o.ClientSecret != "s3cret" {
				t.Fatalf("read %+v", o)
			}
		})
	}
}
