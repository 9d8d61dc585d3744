package teacher

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parcours-ent/parcours/api"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestNamesShowOnlyToThePupilsTeacherAndAreNeverLogged(t *testing.T) {
	var logs lockedBuffer
	e := newEnvLogged(t, api.Config{}, nil, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	c := e.login(t, mint(t, "teacher", classMine))
	mine, other := pupilName(classMine, 0), pupilName(classOther, 0)

	_, home, _ := get(t, c, e.server.URL+"/teacher/")
	if !strings.Contains(home, "6e A — Mme Dupont") {
		t.Fatal("the class picker does not show the class's label")
	}
	status, page, _ := get(t, c, e.server.URL+"/teacher/classes/"+classMine)
	if status != http.StatusOK || !strings.Contains(page, mine) || strings.Contains(page, ">"+pupilMine+"<") {
		t.Fatalf("class page (%d): want names, not ids, in the heat map", status)
	}
	status, page, _ = get(t, c, pupilPage(e, pupilMine))
	if status != http.StatusOK || !strings.Contains(page, "Parcours de "+mine) {
		t.Fatalf("pupil page (%d) does not name the pupil", status)
	}
	for _, path := range []string{"/teacher/classes/" + classOther, "/teacher/pupils/" + pupilOther + "?subject=MATHS"} {
		status, page, _ := get(t, c, e.server.URL+path)
		if status != http.StatusForbidden || strings.Contains(page, other) || strings.Contains(page, "6e B") {
			t.Fatalf("%s: %d; another class's names or label must not show", path, status)
		}
	}
	// A decision with a comment, and an undo: still no name in any log line.
	_, page, _ = get(t, c, pupilPage(e, pupilMine))
	steps := resourceRE.FindAllStringSubmatch(page, -1)
	csrf := csrfRE.FindStringSubmatch(page)[1]
	form := map[string][]string{"csrf": {csrf}, "resource_id": {steps[0][1]}, "decision": {"reject"}, "subject": {"MATHS"}, "class": {classMine}}
	if status, _, _ := post(t, c, e.server.URL+"/teacher/pupils/"+pupilMine+"/decisions", e.server.URL, form); status != http.StatusSeeOther {
		t.Fatalf("reject: %d", status)
	}
	if logs.String() == "" {
		t.Fatal("nothing was logged: the check below would prove nothing")
	}
	for _, name := range []string{mine, other, "Élève-"} {
		if strings.Contains(logs.String(), name) {
			t.Fatalf("a display name (%q) is in the logs", name)
		}
	}
}
