package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestVersionPrintsTheModuleAndGoVersions(t *testing.T) {
	code, out, _ := runCLI(t, "version", "--json")
	var v buildVersion
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
		t.Fatalf("exit %d, output %q: want one JSON object", code, out)
	}
	if v.Version == "" || !strings.HasPrefix(v.Go, "go1.") {
		t.Fatalf("version %+v: want a module version and the Go version", v)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "parcours ") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}
