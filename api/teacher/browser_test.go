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
	shoot(tb, ctx, name, chromedp.FullScreenshot(100))
}

// screenshotViewport is what the window shows (a full-page capture would lay the page
// out again at its full size, losing the phone's width and the scroll positions).
func screenshotViewport(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	shoot(tb, ctx, name, chromedp.CaptureScreenshot())
}

func shoot(tb testing.TB, ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	tb.Helper()
	dir := os.Getenv("PARCOURS_SCREENSHOTS")
	if dir == "" {
		dir = tb.TempDir()
	}
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, capture)
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
	if first := eval[string](t, ctx, `document.querySelector("table.heat tbody th a").textContent`); !strings.Contains(first, "Élève-"+classMine) {
		t.Fatalf("the heat map's first pupil shows as %q, want their name", first)
	}
	rows := eval[int](t, ctx, `document.querySelectorAll("table.heat tbody tr").length`)
	headers := eval[int](t, ctx, `document.querySelectorAll("table.heat th[scope=col]").length`)
	numbers := eval[int](t, ctx, `document.querySelectorAll("table.heat td.cell .need").length`)
	if rows != 10 || headers < 3 || numbers == 0 {
		t.Fatalf("heat map: %d rows (want 10), %d column headers, %d cells with a number", rows, headers, numbers)
	}
	// One subject: its groups share its needs only.
	step(t, ctx, "show maths only",
		chromedp.Click(chromedp.CSS(`nav.subjects a[href$="subject=MATHS"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.subjects a[aria-current][href$="subject=MATHS"]`)),
	)
	shared := eval[string](t, ctx, `Array.from(document.querySelectorAll(".groups li.card > p:first-of-type")).map(p => p.textContent).join(" ")`)
	if strings.Contains(shared, "Lecture") || strings.Contains(shared, "Grammaire") {
		t.Fatalf("maths groups name French needs: %q", shared)
	}
	if cols := eval[int](t, ctx, `document.querySelectorAll("table.heat thead th").length`); cols != 2+5 {
		t.Fatalf("maths heat map has %d columns, want pupil, group and 5 competencies", cols)
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

	href := eval[string](t, ctx, `document.querySelector("#step-1 h2 a.open").href`)
	if href != resourceURL(before[0]) {
		t.Fatalf("the first step links to %q, want the resource's url %q", href, resourceURL(before[0]))
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("li.step .no-prediction").length`); n != 0 {
		t.Fatalf("a consenting pupil's steps say %d times there is no prediction", n)
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

	// Choose an alternative in place of the third step.
	third := now[2]
	alt := eval[string](t, ctx, `document.querySelector("#step-3 button.choose").dataset.alternative`)
	step(t, ctx, "choose an alternative for the third step",
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true; undefined`),
		chromedp.Click(chromedp.CSS(`#step-3 button.choose`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	replaced := eval[[]string](t, ctx, stepsJS)
	if slices.Contains(replaced, third) || !slices.Contains(replaced, alt) {
		t.Fatalf("after choosing %s instead of %s: steps %v", alt, third, replaced)
	}

	// The history is stored: a new browser session (another sign-in) sees it, and undoes
	// the rejection from it.
	ctx2 := browser(t, 1280, 900)
	link, err := e.app.OneTimeLink(base, mint(t, "teacher", classMine))
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx2, "sign in again elsewhere", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`a.class-link`)))
	step(t, ctx2, "open the pupil",
		chromedp.Navigate(base+"/teacher/pupils/"+url.PathEscape(pupilMine)+"?subject=MATHS&class="+classMine),
		chromedp.WaitVisible(chromedp.CSS(`table.log`)),
	)
	step(t, ctx2, "undo the rejection from the history",
		chromedp.Click(chromedp.CSS(`table.log button.undo[data-undo="`+rejected+`"]`)),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if back := eval[[]string](t, ctx2, stepsJS); !slices.Contains(back, rejected) {
		t.Fatalf("after undoing the rejection of %s: steps %v", rejected, back)
	}
	if log := eval[string](t, ctx2, `document.querySelector("table.log tbody tr").textContent`); !strings.Contains(log, "Annulation") {
		t.Fatalf("the history's newest line %q is not the undo", log)
	}
	screenshot(t, ctx2, "teacher-path.png")

	// A pupil without consent: no personalised prediction, said so instead of 0 %.
	step(t, ctx, "open a pupil without consent",
		chromedp.Navigate(base+"/teacher/pupils/"+url.PathEscape(pupilNoConsent)+"?subject=MATHS&class="+classMine),
		chromedp.WaitVisible(chromedp.CSS(`ol.steps`)),
	)
	if txt := eval[string](t, ctx, `document.querySelector("ol.steps").textContent`); strings.Contains(txt, "Réussite prévue") || !strings.Contains(txt, "Pas de prédiction personnalisée") {
		t.Fatalf("a pupil without consent: %q", txt)
	}

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

// TestHeatMapKeepsThePupilColumnOnAPhone: at 390 px the heat map scrolls sideways inside
// its region and the pupil column stays in view.
func TestHeatMapKeepsThePupilColumnOnAPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t)
	ctx := browser(t, 390, 844)
	link, err := e.app.OneTimeLink(e.server.URL, mint(t, "teacher", classMine))
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "sign in", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`a.class-link`)))
	step(t, ctx, "open the class", chromedp.Navigate(e.server.URL+"/teacher/classes/"+classMine+"?subject=toutes"),
		chromedp.WaitVisible(chromedp.CSS(`table.heat`)))
	if over := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		t.Errorf("the class page is %d px wider than the phone", over)
	}
	scroll := eval[int](t, ctx, `(() => { const w = document.querySelector(".table-wrap"); w.scrollLeft = 400; return w.scrollLeft; })()`)
	if scroll < 100 {
		t.Fatalf("the heat map scrolled by %d px only: nothing to check", scroll)
	}
	shift := eval[float64](t, ctx, `(() => { const w = document.querySelector(".table-wrap").getBoundingClientRect();
		const c = document.querySelector("table.heat tbody th.pupil-col").getBoundingClientRect(); return c.left - w.left; })()`)
	if shift < -1 || shift > 2 {
		t.Fatalf("the pupil column moved %.1f px away from the region's edge while the map scrolled %d px", shift, scroll)
	}
	name := eval[string](t, ctx, `(() => { const c = document.querySelector("table.heat tbody th.pupil-col").getBoundingClientRect();
		const el = document.elementFromPoint(c.left + 5, c.top + c.height / 2); return el ? el.textContent : ""; })()`)
	if !strings.Contains(name, "Élève-") {
		t.Fatalf("over the pupil column the page shows %q, want the pupil's name (a cell scrolled over it?)", name)
	}
	eval[bool](t, ctx, `(() => { document.querySelector("table.heat").scrollIntoView(); window.scrollBy(0, -8); return true; })()`)
	screenshotViewport(t, ctx, "teacher-phone.png")
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
