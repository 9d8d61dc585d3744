package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, versionCmd) }

// buildVersion is what debug.ReadBuildInfo knows of this binary: the module version
// (a tag when built with go install module@version, "(devel)" from a checkout), the VCS
// revision and time and whether the tree was modified (stamped by go build in a
// checkout), and the Go version.
type buildVersion struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Revision string `json:"vcs_revision,omitempty"`
	Time     string `json:"vcs_time,omitempty"`
	Modified bool   `json:"vcs_modified,omitempty"`
	Go       string `json:"go"`
}

func readBuildVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildVersion{Version: "unknown"}
	}
	v := buildVersion{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func versionCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the module version, the VCS revision it was built from and the Go version",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v := readBuildVersion()
			if asJSON {
				return json.NewEncoder(c.OutOrStdout()).Encode(v)
			}
			line := fmt.Sprintf("parcours %s (%s)", v.Version, v.Go)
			if v.Revision != "" {
				line += " revision " + v.Revision
				if v.Modified {
					line += " (modified)"
				}
				if v.Time != "" {
					line += " " + v.Time
				}
			}
			fmt.Fprintln(c.OutOrStdout(), line)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}
