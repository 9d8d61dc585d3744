package teacher

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parcours-ent/parcours/api"
)

func get(tb testing.TB, c *http.Client, u string) (int, string, http.Header) {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func post(tb testing.TB, c *http.Client, u, origin string, form url.Values) (int, string, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var (
	csrfRE     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	resourceRE = regexp.MustCompile(`data-resource="([^"]+)"`)
)

func csrfOf(tb testing.TB, page string) string {
	tb.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		tb.Fatal("no CSRF token in the page")
	}
	return m[1]
}

func pupilPage(e *testEnv, id string) string {
	return e.server.URL + "/teacher/pupils/" + url.PathEscape(id) + "?subject=MATHS&class=" + classMine
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	teacher := mint(t, "teacher", classMine)
	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantCookie bool
	}{
		{"TeacherTokenOpensASession", teacher, http.StatusSeeOther, true},
		{"ForgedTokenIsRefused", teacher[:len(teacher)-4] + "AAAA", http.StatusUnauthorized, false},
		{"StudentTokenIsRefused", mint(t, "student"), http.StatusForbidden, false},
		{"EmptyTokenIsRefused", "", http.StatusUnauthorized, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, h := post(t, e.client(t), e.server.URL+"/teacher/login", "", url.Values{"token": {tc.token}})
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d", status, tc.wantStatus)
			}
			sc := h.Get("Set-Cookie")
			if (sc != "") != tc.wantCookie {
				t.Fatalf("Set-Cookie %q, want a cookie: %v", sc, tc.wantCookie)
			}
			if tc.wantCookie {
				for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/teacher/"} {
					if !strings.Contains(sc, attr) {
						t.Errorf("cookie %q lacks %s", sc, attr)
					}
				}
				if strings.Contains(sc, tc.token[:20]) {
					t.Error("the cookie carries the token")
				}
			}
		})
	}
	t.Run("TokenInTheURLIsIgnored", func(t *testing.T) {
		status, _, h := get(t, e.client(t), e.server.URL+"/teacher/login?token="+url.QueryEscape(teacher))
		if status != http.StatusOK || h.Get("Set-Cookie") != "" {
			t.Fatalf("status %d, Set-Cookie %q: a token in a URL must not sign in", status, h.Get("Set-Cookie"))
		}
	})
	t.Run("CrossSiteSignInIsRefused", func(t *testing.T) {
		status, _, _ := post(t, e.client(t), e.server.URL+"/teacher/login", "https://evil.example", url.Values{"token": {teacher}})
		if status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", status)
		}
	})
	t.Run("NoSessionGoesToSignIn", func(t *testing.T) {
		status, _, h := get(t, e.client(t), e.server.URL+"/teacher/classes/"+classMine)
		if status != http.StatusSeeOther || h.Get("Location") != "/teacher/login" {
			t.Fatalf("status %d to %q, want 303 to /teacher/login", status, h.Get("Location"))
		}
	})
}

func TestOneTimeLink(t *testing.T) {
	e := newEnv(t)
	teacher := mint(t, "teacher", classMine)
	link, err := e.app.OneTimeLink(e.server.URL, teacher)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(link, teacher) || !strings.HasPrefix(link, e.server.URL+"/teacher/login?once=") {
		t.Fatalf("link %q: want /teacher/login?once=<code> without the token", link)
	}
	t.Run("FirstUseSignsIn", func(t *testing.T) {
		c := e.client(t)
		status, _, h := get(t, c, link)
		if status != http.StatusSeeOther || h.Get("Set-Cookie") == "" {
			t.Fatalf("status %d, cookie %q", status, h.Get("Set-Cookie"))
		}
		if status, body, _ := get(t, c, e.server.URL+"/teacher/"); status != http.StatusOK || !strings.Contains(body, classLabels[classMine]) {
			t.Fatalf("class picker: status %d", status)
		}
	})
	t.Run("SecondUseIsRefused", func(t *testing.T) {
		status, _, h := get(t, e.client(t), link)
		if status != http.StatusUnauthorized || h.Get("Set-Cookie") != "" {
			t.Fatalf("status %d, cookie %q: a one-time code must work once", status, h.Get("Set-Cookie"))
		}
	})
	t.Run("StudentTokenGetsNoLink", func(t *testing.T) {
		if _, err := e.app.OneTimeLink(e.server.URL, mint(t, "student")); err == nil {
			t.Fatal("OneTimeLink accepted a student token")
		}
	})
}

func TestPagesApplyTheAPIPolicy(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, mint(t, "teacher", classMine))
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantText   string
	}{
		{"OwnClassShowsItsPupils", "/teacher/classes/" + classMine, http.StatusOK, pupilMine},
		{"OtherClassIsRefused", "/teacher/classes/" + classOther, http.StatusForbidden, "Accès refusé"},
		{"OwnPupilShowsThePath", "/teacher/pupils/" + pupilMine + "?subject=MATHS", http.StatusOK, "Étape 1"},
		{"OtherClassPupilIsRefused", "/teacher/pupils/" + pupilOther + "?subject=MATHS", http.StatusForbidden, "Accès refusé"},
		{"UnknownPupilIsRefusedNotFound", "/teacher/pupils/P-NOBODY", http.StatusForbidden, "Accès refusé"},
		{"UnknownPageIs404", "/teacher/nothing/here", http.StatusNotFound, "Page introuvable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := get(t, c, e.server.URL+tc.path)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantText) {
				t.Fatalf("status %d (want %d), contains %q: %v", status, tc.wantStatus, tc.wantText, strings.Contains(body, tc.wantText))
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("CSP %q", h.Get("Content-Security-Policy"))
			}
			if strings.Contains(body, "<script>") || !strings.Contains(body, `<html lang="fr">`) {
				t.Error("inline script, or no lang=fr")
			}
		})
	}
}

func TestDecisions(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, mint(t, "teacher", classMine))
	_, page, _ := get(t, c, pupilPage(e, pupilMine))
	csrf := csrfOf(t, page)
	steps := resourceRE.FindAllStringSubmatch(page, -1)
	if len(steps) < 2 {
		t.Fatalf("path has %d steps, want at least 2", len(steps))
	}
	first, second := steps[0][1], steps[1][1]
	action := e.server.URL + "/teacher/pupils/" + pupilMine + "/decisions"
	form := func(res, decision, comment, token string) url.Values {
		return url.Values{"csrf": {token}, "resource_id": {res}, "decision": {decision}, "comment": {comment}, "subject": {"MATHS"}, "class": {classMine}}
	}
	refused := []struct {
		name   string
		origin string
		form   url.Values
	}{
		{"NoCSRFTokenIsRefused", "", form(first, "reject", "", "")},
		{"WrongCSRFTokenIsRefused", "", form(first, "reject", "", csrf+"x")},
		{"OtherOriginIsRefused", "https://evil.example", form(first, "reject", "", csrf)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if status, _, _ := post(t, c, action, tc.origin, tc.form); status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", status)
			}
			if _, page, _ := get(t, c, pupilPage(e, pupilMine)); !strings.Contains(page, `data-resource="`+first+`"`) {
				t.Fatal("a refused request changed the path")
			}
		})
	}
	t.Run("RejectReplacesTheStep", func(t *testing.T) {
		status, _, h := post(t, c, action, e.server.URL, form(first, "reject", "déjà vu en classe", csrf))
		if status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", status)
		}
		_, page, _ := get(t, c, e.server.URL+h.Get("Location"))
		if strings.Contains(page, `data-resource="`+first+`"`) {
			t.Fatal("the rejected step is still in the path")
		}
		if !strings.Contains(page, "rejetée") || !strings.Contains(page, "déjà vu en classe") {
			t.Fatal("no confirmation or no record of the rejection")
		}
		if n := len(resourceRE.FindAllString(page, -1)); n != len(steps) {
			t.Fatalf("path has %d steps after the rejection, want %d (replaced)", n, len(steps))
		}
	})
	t.Run("PinStaysWithWhoAndComment", func(t *testing.T) {
		comment := `<script>alert("x")</script>`
		if status, _, _ := post(t, c, action, e.server.URL, form(second, "pin", comment, csrf)); status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", status)
		}
		_, page, _ := get(t, c, pupilPage(e, pupilMine))
		if !strings.Contains(page, `data-resource="`+second+`"`) || !strings.Contains(page, "Épinglée par "+teacherID) {
			t.Fatal("the pinned step is gone or does not say who pinned it")
		}
		if strings.Contains(page, comment) || !strings.Contains(page, "&lt;script&gt;") {
			t.Fatal("the comment is not escaped")
		}
	})
	t.Run("DecisionOnOtherClassPupilIsRefused", func(t *testing.T) {
		status, _, _ := post(t, c, e.server.URL+"/teacher/pupils/"+pupilOther+"/decisions", e.server.URL, form(first, "pin", "", csrf))
		if status != http.StatusForbidden {
			t.Fatalf("status %d, want 403", status)
		}
	})
}

// BenchmarkPages measures a signed-in teacher's class overview and pupil path, server
// side (the JSON API in-process, the real engine, no cache; rate limit lifted).
func BenchmarkPages(b *testing.B) {
	e := newEnvWith(b, api.Config{RateLimit: 1e9, RateBurst: 1e9})
	c := e.login(b, mint(b, "teacher", classMine))
	for _, bc := range []struct{ name, path string }{
		{"ClassOverview", "/teacher/classes/" + classMine},
		{"PupilPath", "/teacher/pupils/" + pupilMine + "?subject=MATHS"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if status, _, _ := get(b, c, e.server.URL+bc.path); status != http.StatusOK {
					b.Fatalf("status %d", status)
				}
			}
		})
	}
}

func TestClassSubjectFilter(t *testing.T) {
	e := newEnv(t)
	c := e.login(t, mint(t, "teacher", classMine))
	tests := []struct {
		name     string
		query    string
		wantCols int
	}{
		{"SmallClassShowsEveryCompetency", "", 7},
		{"SubjectShowsItsCompetenciesOnly", "?subject=FRANCAIS", 2},
		{"AllShowsEveryCompetency", "?subject=toutes", 7},
		{"UnknownSubjectFallsBackToAll", "?subject=%3Cb%3E", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := get(t, c, e.server.URL+"/teacher/classes/"+classMine+tc.query)
			if n := strings.Count(body, `<span class="comp">`); status != http.StatusOK || n != tc.wantCols {
				t.Fatalf("status %d, %d competency columns, want %d", status, n, tc.wantCols)
			}
		})
	}
}
