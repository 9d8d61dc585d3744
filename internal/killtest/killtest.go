// Package killtest runs a test of the calling test binary as a child process and kills it
// with SIGKILL once it prints a marker line: the way to test what a crash at that point
// leaves behind (no deferred code, no graceful shutdown runs in the child).
package killtest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// AtMarker starts the test binary with -test.run=^child$ and env added to the
// environment, waits up to timeout for a line of its output containing marker, then
// kills it with SIGKILL and waits for it. The test fails if the child ends or times out
// before printing the marker.
func AtMarker(t *testing.T, child string, env []string, marker string, timeout time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), marker) {
				seen <- true
				return
			}
		}
		seen <- false
	}()
	select {
	case ok := <-seen:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("the child %s ended before printing %q", child, marker)
		}
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child %s did not print %q within %s", child, marker, timeout)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code runs
		t.Fatal(err)
	}
	_ = cmd.Wait()
}
