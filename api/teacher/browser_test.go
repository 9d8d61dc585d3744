package teacher

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium; without it the browser tests skip, except under
// CI=true where they fail.
func chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("chromium not installed (scripts/provision.sh installs it)")
	}
	tb.Skip("chromium not installed")
	return ""
}

// browser starts a fresh headless Chromium (own profile, nothing from the network) and
// returns a context for one tab.
func browser(tb testing.TB, width, height int) context.Context {
	tb.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(tb)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "fr-FR"),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser on a context without timeout: a timeout there would stop it.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions under a deadline, failing the test with what was being done.
func step(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) time.Duration {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(c, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return time.Since(start)
}

func eval[T any](tb testing.TB, ctx context.Context, js string) T {
	tb.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		tb.Fatalf("evaluate %q: %v", js, err)
	}
	return v
}

func screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	dir := os.Getenv("PARCOURS_SCREENSHOTS")
	if dir == "" {
		dir = tb.TempDir()
	}
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("screenshot %s (%d bytes)", filepath.Join(dir, name), len(png))
}

const stepsJS = `Array.from(document.querySelectorAll("li.step")).map(e => e.dataset.resource)`

// TestTeacherReviewsAPathInABrowser is the scenario in headless Chromium: sign in
// with a teacher token, open the class, open a pupil, reject a step and see it replaced,
// pin another and see it stay, and be refused a pupil of another class.
func TestTeacherReviewsAPathInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t)
	ctx := browser(t, 1280, 900)
	base := e.server.URL

	d := step(t, ctx, "open the sign-in form",
		chromedp.Navigate(base+"/teacher/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
	)
	t.Logf("first page (sign-in form) shown in %v", d)
	// The token is pasted (set at once), not typed: typing sends three events per character.
	step(t, ctx, "paste the token", chromedp.SetValue(chromedp.ID("token"), mint(t, "teacher", classMine, "5C")))
	d = step(t, ctx, "sign in with the form",
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.class-link`)),
	)
	t.Logf("sign-in to class picker: %v", d)
	if u := eval[string](t, ctx, `location.href`); strings.Contains(u, "token") || strings.Contains(u, "eyJ") {
		t.Fatalf("the token shows in the URL %q", u)
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Fatalf("the session cookie is readable from script: %q", c)
	}

	d = step(t, ctx, "open the class",
		chromedp.Click(chromedp.CSS(`a.class-link[href="/teacher/classes/`+classMine+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.heat`)),
	)
	t.Logf("class overview shown in %v", d)
	rows := eval[int](t, ctx, `document.querySelectorAll("table.heat tbody tr").length`)
	headers := eval[int](t, ctx, `document.querySelectorAll("table.heat th[scope=col]").length`)
	numbers := eval[int](t, ctx, `document.querySelectorAll("table.heat td.cell .need").length`)
	if rows != 10 || headers < 3 || numbers == 0 {
		t.Fatalf("heat map: %d rows (want 10), %d column headers, %d cells with a number", rows, headers, numbers)
	}
	screenshot(t, ctx, "teacher-overview.png")

	d = step(t, ctx, "open a pupil",
		chromedp.Click(chromedp.CSS(`a.pupil-link[href^="/teacher/pupils/`+pupilMine+`?"]`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.steps`)),
	)
	t.Logf("pupil path shown in %v", d)
	before := eval[[]string](t, ctx, stepsJS)
	if len(before) < 3 {
		t.Fatalf("path has %d steps, want at least 3", len(before))
	}
	if eval[int](t, ctx, `document.querySelectorAll("li.step h3").length`) < 3*len(before) {
		t.Fatal("steps lack their reasons, evidence and alternatives sections")
	}

	rejected := before[0]
	step(t, ctx, "reject the first step",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true; undefined`),
		chromedp.SendKeys(chromedp.ID("comment-1"), "Déjà travaillé en classe"),
		chromedp.Click(chromedp.CSS(`#step-1 button.reject`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	after := eval[[]string](t, ctx, stepsJS)
	if slices.Contains(after, rejected) || len(after) != len(before) {
		t.Fatalf("after rejecting %s: steps %v (before %v): want it gone and replaced", rejected, after, before)
	}
	if f := eval[string](t, ctx, `document.activeElement.id`); f != "flash" {
		t.Errorf("focus on %q after the decision, want the confirmation", f)
	}

	// Pin with the keyboard only: focus the button, press Enter.
	pinned := after[1]
	step(t, ctx, "pin the second step with the keyboard",
		chromedp.Navigate(base+"/teacher/pupils/"+url.PathEscape(pupilMine)+"?subject=MATHS&class="+classMine),
		chromedp.WaitVisible(chromedp.CSS(`ol.steps`)),
		chromedp.SendKeys(chromedp.ID("comment-2"), "À faire avant le contrôle"),
		chromedp.Focus(chromedp.CSS(`#step-2 button.pin`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	step(t, ctx, "reload the path", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`ol.steps`)))
	now := eval[[]string](t, ctx, stepsJS)
	if !slices.Contains(now, pinned) || slices.Contains(now, rejected) {
		t.Fatalf("after pinning %s and reloading: steps %v", pinned, now)
	}
	who := eval[string](t, ctx, `document.querySelector('li.step[data-resource="`+pinned+`"] .decision').textContent`)
	if !strings.Contains(who, "Épinglée par "+teacherID) || !strings.Contains(who, "À faire avant le contrôle") {
		t.Fatalf("pinned step says %q: want who, when and the comment", who)
	}
	log := eval[string](t, ctx, `document.querySelector("table.log tbody").textContent`)
	if !strings.Contains(log, "Rejetée") || !strings.Contains(log, "Déjà travaillé en classe") {
		t.Fatalf("decision log %q lacks the rejection", log)
	}
	screenshot(t, ctx, "teacher-path.png")

	step(t, ctx, "open a pupil of another class",
		chromedp.Navigate(base+"/teacher/pupils/"+url.PathEscape(pupilOther)+"?subject=MATHS"),
		chromedp.WaitVisible(chromedp.ID("error-heading")),
	)
	if h := eval[string](t, ctx, `document.getElementById("error-heading").textContent`); h != "Accès refusé" {
		t.Fatalf("other class's pupil: heading %q, want Accès refusé", h)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("li.step").length`); n != 0 {
		t.Fatalf("refused page shows %d steps", n)
	}
}

// TestPagesFitATablet checks that the class and pupil pages need no sideways scrolling
// of the page itself on a 768-px-wide tablet (the heat map scrolls inside its region).
func TestPagesFitATablet(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t)
	ctx := browser(t, 768, 1024)
	link, err := e.app.OneTimeLink(e.server.URL, mint(t, "teacher", classMine))
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "sign in with the one-time link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`a.class-link`)))
	for _, path := range []string{"/teacher/classes/" + classMine, "/teacher/pupils/" + pupilMine + "?subject=MATHS"} {
		step(t, ctx, "open "+path, chromedp.Navigate(e.server.URL+path), chromedp.WaitVisible(chromedp.ID("main")))
		if over := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			t.Errorf("%s is %d px wider than a tablet", path, over)
		}
	}
}
