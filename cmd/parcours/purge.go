package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func purgeCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "purge [--json]",
		Short: "Apply the retention periods: remove old audit entries and school data from DATABASE_URL",
		Long: "purge removes audit entries older than PARCOURS_AUDIT_RETENTION and grades, absences,\n" +
			"statements and lessons that ended before PARCOURS_DATA_RETENTION, in one transaction.\n" +
			"The embedded store keeps nothing between runs, so purge needs DATABASE_URL.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, cfg, err := openDatabase(ctx, "purge", "the embedded store keeps nothing to purge", false)
			if err != nil {
				return err
			}
			defer store.Close()
			now := time.Now().UTC()
			auditBefore, dataBefore := now.Add(-cfg.AuditRetention), now.Add(-cfg.DataRetention)
			n, err := store.Purge(ctx, auditBefore, dataBefore)
			if err != nil {
				return fmt.Errorf("purge: %w", err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(struct {
					AuditBefore time.Time `json:"audit_before"`
					DataBefore  time.Time `json:"data_before"`
					Removed     any       `json:"removed"`
				}{auditBefore, dataBefore, n})
			}
			_, err = fmt.Fprintf(out, "purged audit entries before %s: %d\npurged school data before %s: %d grades, %d absences, %d statements, %d lessons\n",
				auditBefore.Format(time.RFC3339), n.Audit, dataBefore.Format(time.RFC3339), n.Grades, n.Absences, n.Statements, n.Lessons)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
