package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"

	"github.com/parcours-ent/parcours/api"
)

// maxTokenTTL bounds --ttl: these tokens are for trying the API, not for services.
const maxTokenTTL = 30 * 24 * time.Hour

var tokenRoles = []string{api.RoleStudent, api.RoleParent, api.RoleTeacher, api.RoleAdmin, api.RoleAnalyst, api.RoleService}

func tokenCmd() *cobra.Command {
	var (
		c        api.Claims
		sub      string
		students []string
		classes  []string
		ttl      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token --role R --sub ID [--student ID]... [--class ID]... [--school ID] [--ttl 12h]",
		Short: "Print an HS256 token signed with PARCOURS_JWT_SECRET, for trying the API",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.JWTSecret == "" {
				return badUsage("token: PARCOURS_JWT_SECRET is not set (use the secret `parcours serve` runs with; it prints its random one)")
			}
			if len(cfg.JWTSecret) < 16 {
				return badUsage("token: PARCOURS_JWT_SECRET must be at least 16 bytes")
			}
			if !slices.Contains(tokenRoles, c.Role) {
				return badUsage("token: --role must be one of %v, got %q", tokenRoles, c.Role)
			}
			if sub == "" {
				return badUsage("token: --sub is required")
			}
			if ttl <= 0 || ttl > maxTokenTTL {
				return badUsage("token: --ttl must be within (0, %s], got %s", maxTokenTTL, ttl)
			}
			if c.Role == api.RoleParent && len(students) == 0 {
				return badUsage("token: a parent token needs at least one --student")
			}
			if c.Role == api.RoleTeacher && len(classes) == 0 {
				return badUsage("token: a teacher token needs at least one --class")
			}
			c.Students, c.Classes = students, classes
			c.RegisteredClaims = jwt.RegisteredClaims{Subject: sub}
			tok, err := api.MintToken([]byte(cfg.JWTSecret), c, ttl)
			if err != nil {
				return fmt.Errorf("token: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Role, "role", "", fmt.Sprintf("role, one of %v", tokenRoles))
	f.StringVar(&sub, "sub", "", "subject: the user's id (a student's own id for role student)")
	f.StringArrayVar(&students, "student", nil, "a parent's child (repeatable)")
	f.StringArrayVar(&classes, "class", nil, "a teacher's class (repeatable)")
	f.StringVar(&c.School, "school", "", "the user's school")
	f.DurationVar(&ttl, "ttl", demoTokenTTL, "validity")
	return cmd
}
