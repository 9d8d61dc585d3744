package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func claims(role, sub string) Claims {
	c := Claims{Role: role}
	c.Subject = sub
	return c
}

func TestTokensRefused(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now()
	valid := func(c Claims) Claims {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
		c.IssuedAt = jwt.NewNumericDate(now)
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c Claims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	admin := claims(RoleAdmin, "A1")
	expired := admin
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
	expired.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour))
	noExp := admin
	noExp.IssuedAt = jwt.NewNumericDate(now)
	future := valid(admin)
	future.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
	noneTok := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid(admin))
	good := sign(jwt.SigningMethodHS256, testSecret, valid(admin))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"role":"admin","sub":"A1","exp":9999999999}`)) + "." + parts[2]

	tests := []struct{ name, header string }{
		{"NoHeader", ""},
		{"NotBearer", "Basic YWRtaW46YWRtaW4="},
		{"Garbage", "Bearer not.a.jwt"},
		{"WrongSecret", "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-of-16-bytes!"), valid(admin))},
		{"Expired", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, expired)},
		{"WithoutExp", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, noExp)},
		{"IssuedInTheFuture", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, future)},
		{"AlgNone", "Bearer " + noneTok},
		{"RS256WhereHS256Expected", "Bearer " + sign(jwt.SigningMethodRS256, rsaKey, valid(admin))},
		{"HS384", "Bearer " + sign(jwt.SigningMethodHS384, testSecret, valid(admin))},
		{"TamperedPayload", "Bearer " + tampered},
		{"UnknownRole", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, valid(claims("root", "A1")))},
		{"NoSubject", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, valid(claims(RoleAdmin, "")))},
		{"HugeToken", "Bearer " + strings.Repeat("a", 10000)},
	}
	env := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name+"Is401", func(t *testing.T) {
			hr := httptest.NewRequest("GET", "/v1/audit?student=S1", nil)
			if tc.header != "" {
				hr.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			env.h.ServeHTTP(w, hr)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", w.Code, w.Body.String())
			}
			problemOf(t, w)
			if w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("ExpiredSaysSo", func(t *testing.T) {
		w := env.do(t, req{method: "GET", path: "/v1/audit?student=S1", token: sign(jwt.SigningMethodHS256, testSecret, expired)})
		if p := problemOf(t, w); !strings.Contains(p.Detail, "expired") {
			t.Fatalf("detail %q", p.Detail)
		}
	})
	t.Run("ValidTokenAccepted", func(t *testing.T) {
		if w := env.do(t, req{method: "GET", path: "/v1/audit?student=S1", token: good}); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
	})
}

func TestHostileInputRefusedCleanly(t *testing.T) {
	admin := token(t, RoleAdmin, "A1")
	teacher := token(t, RoleTeacher, "T1", classes("C1"))
	service := token(t, RoleService, "moodle")
	hostileIDs := []string{
		"1' OR '1'='1", "S1'; DROP TABLE students;--", "<script>alert(1)</script>", "S1\" onmouseover=\"x",
		"../../etc/passwd", "S1%00", "%E2%80%AE", "${jndi:ldap://x}", strings.Repeat("A", 300), " S1", "S1;S2",
	}
	for _, id := range hostileIDs {
		for _, tc := range []struct{ role, tok, method, path string }{
			{"admin", admin, "GET", "/v1/students/%s/export"},
			{"teacher", teacher, "GET", "/v1/students/%s/recommendations"},
			{"admin", admin, "DELETE", "/v1/students/%s"},
			{"admin", admin, "GET", "/v1/audit?student=%s"},
			{"teacher", teacher, "GET", "/v1/classes/%s/overview"},
		} {
			esc := url.PathEscape(id)
			if strings.Contains(tc.path, "?") {
				esc = url.QueryEscape(id)
			}
			path := strings.Replace(tc.path, "%s", esc, 1)
			t.Run(tc.method+path, func(t *testing.T) {
				env := newEnv(t)
				w := env.do(t, req{method: tc.method, path: path, token: tc.tok})
				if strings.HasPrefix(path, "/v1/audit") && w.Code == http.StatusOK {
					// An admin may read the audit of any id, erased pupils' included.
					if !strings.Contains(w.Body.String(), `"entries":[]`) {
						t.Fatalf("audit of a hostile id found entries: %s", w.Body.String())
					}
					return
				}
				if w.Code >= 500 || w.Code < 400 {
					t.Fatalf("status %d, want a clean 4xx: %s", w.Code, w.Body.String())
				}
				p := problemOf(t, w)
				if strings.Contains(p.Detail, "<script>") || strings.Contains(p.Title, "<") {
					t.Fatalf("problem echoes the input: %+v", p)
				}
				if _, err := env.store.Student(t.Context(), "S1"); err != nil {
					t.Fatalf("fixture damaged: %v", err)
				}
			})
		}
	}

	bodies := []struct {
		name, method, path, tok, body, ctype string
		want                                 int
		header                               map[string]string
	}{
		{"OversizedDecisionIs413", "POST", "/v1/students/S1/path/decisions", teacher, `{"resource_id":"R1","decision":"pin","comment":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413, nil},
		{"OversizedIngestIs413", "POST", "/v1/ingest/grades", service, "[" + strings.Repeat(`{"grade_id":"x"},`, 1<<20) + "{}]", "", 413, nil},
		{"OversizedXAPIIs413", "POST", "/xapi/statements", service, "[" + strings.Repeat(" ", 17<<20) + "]", "", 413, map[string]string{"X-Experience-API-Version": "1.0.3"}},
		{"DecisionWrongTypeIs400", "POST", "/v1/students/S1/path/decisions", teacher, `{"resource_id":42,"decision":"pin"}`, "", 400, nil},
		{"DecisionUnknownValueIs400", "POST", "/v1/students/S1/path/decisions", teacher, `{"resource_id":"R1","decision":"delete"}`, "", 400, nil},
		{"DecisionUnknownFieldIs400", "POST", "/v1/students/S1/path/decisions", teacher, `{"resource_id":"R1","decision":"pin","teacher_id":"T2"}`, "", 400, nil},
		{"DecisionTrailingGarbageIs400", "POST", "/v1/students/S1/path/decisions", teacher, `{"resource_id":"R1","decision":"pin"} {}`, "", 400, nil},
		{"DecisionMalformedJSONIs400", "POST", "/v1/students/S1/path/decisions", teacher, `{"resource_id":`, "", 400, nil},
		{"DecisionAsFormIs415", "POST", "/v1/students/S1/path/decisions", teacher, `resource_id=R1`, "application/x-www-form-urlencoded", 415, nil},
		{"ConsentStringIs400", "PUT", "/v1/students/S1/consent", admin, `{"personalization":"yes"}`, "", 400, nil},
		{"ConsentMissingIs400", "PUT", "/v1/students/S1/consent", admin, `{}`, "", 400, nil},
		{"NegativeKIs400", "GET", "/v1/students/S1/recommendations?k=-1", teacher, "", "", 400, nil},
		{"HugeKIs400", "GET", "/v1/students/S1/recommendations?k=100000", teacher, "", "", 400, nil},
		{"TextKIs400", "GET", "/v1/students/S1/recommendations?k=ten", teacher, "", "", 400, nil},
		{"ScriptSubjectIs400", "GET", "/v1/students/S1/recommendations?subject=%3Cscript%3E", teacher, "", "", 400, nil},
		{"PathWithoutSubjectIs400", "GET", "/v1/students/S1/path", teacher, "", "", 400, nil},
		{"UnknownLangIs400", "GET", "/v1/students/S1/path?subject=MATHS&lang=de", teacher, "", "", 400, nil},
		{"BadSinceIs400", "GET", "/v1/audit?student=S1&since=yesterday", admin, "", "", 400, nil},
		{"UnknownRouteIs404", "GET", "/v1/admin/shell", admin, "", "", 404, nil},
		{"WrongMethodIs405", "PATCH", "/v1/students/S1", admin, "", "", 405, nil},
	}
	for _, tc := range bodies {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			w := env.do(t, req{method: tc.method, path: tc.path, token: tc.tok, body: tc.body, ctype: tc.ctype, header: tc.header})
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %.300s", w.Code, tc.want, w.Body.String())
			}
			p := problemOf(t, w)
			if tc.want == 400 && p.Field == "" {
				t.Fatalf("400 without a field: %+v", p)
			}
		})
	}
}

func TestSecurityHeadersAndNoPersonalDataInLogs(t *testing.T) {
	var logs strings.Builder
	env := newEnv(t)
	env.srv = New(Config{Verifier: env.srv.cfg.Verifier}, env.eng, env.store, env.cache, newTestLogger(&logs))
	env.h = env.srv.Handler()
	tok := token(t, RoleStudent, "S1")
	w := env.do(t, req{method: "GET", path: "/v1/students/S1/recommendations?subject=MATHS", token: tok})
	for _, h := range []string{"X-Content-Type-Options", "Content-Security-Policy", "X-Frame-Options", "Cache-Control"} {
		if w.Header().Get(h) == "" {
			t.Fatalf("missing %s", h)
		}
	}
	env.do(t, req{method: "GET", path: "/v1/students/S3/recommendations", token: tok})
	out := logs.String()
	if !strings.Contains(out, "/v1/students/:id/recommendations") {
		t.Fatalf("request not logged by route: %s", out)
	}
	for _, leak := range []string{"S1", "S3", tok[:20], "MATHS"} {
		if strings.Contains(out, leak) {
			t.Fatalf("log holds %q: %s", leak, out)
		}
	}
}

func TestRateLimitPerToken(t *testing.T) {
	env := newEnv(t, withConfig(func(c *Config) { c.RateLimit, c.RateBurst = 1, 3 }))
	a, b := token(t, RoleStudent, "S1"), token(t, RoleStudent, "S2")
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, env.do(t, req{method: "GET", path: "/v1/students/S1/path?subject=MATHS", token: a}).Code)
	}
	if codes[0] != 200 || codes[4] != http.StatusTooManyRequests {
		t.Fatalf("codes %v: want 200 first and 429 past the burst", codes)
	}
	w := env.do(t, req{method: "GET", path: "/v1/students/S1/path?subject=MATHS", token: a})
	if problemOf(t, w); w.Header().Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if w := env.do(t, req{method: "GET", path: "/v1/students/S2/path?subject=MATHS", token: b}); w.Code != 200 {
		t.Fatalf("another subject was limited: %d", w.Code)
	}
}

func TestJWKSVerifier(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := base64.RawURLEncoding
	ecPub, _ := ecKey.PublicKey.Bytes() // 0x04 || X || Y
	fetches := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
			{"kty": "RSA", "kid": "r1", "use": "sig", "n": b64.EncodeToString(rsaKey.N.Bytes()), "e": "AQAB"},
			{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64.EncodeToString(ecPub[1:33]), "y": b64.EncodeToString(ecPub[33:])},
		}})
	}))
	defer ts.Close()
	v := NewJWKSVerifier(ts.URL, ts.Client())
	mk := func(m jwt.SigningMethod, kid string, key any) string {
		c := claims(RoleTeacher, "T1")
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
		tk := jwt.NewWithClaims(m, c)
		tk.Header["kid"] = kid
		s, err := tk.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"RS256WithKnownKidAccepted", mk(jwt.SigningMethodRS256, "r1", rsaKey), true},
		{"ES256WithKnownKidAccepted", mk(jwt.SigningMethodES256, "e1", ecKey), true},
		{"RS256SignedByAnotherKeyRefused", mk(jwt.SigningMethodRS256, "r1", otherRSA), false},
		{"UnknownKidRefused", mk(jwt.SigningMethodRS256, "zz", rsaKey), false},
		{"HS256RefusedOnJWKS", mk(jwt.SigningMethodHS256, "r1", testSecret), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(t.Context(), tc.tok)
			if tc.ok && (err != nil || c.Subject != "T1") {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if fetches > 2 {
		t.Fatalf("%d JWKS fetches: unknown kids must not trigger a fetch each", fetches)
	}
}

func TestMetricsExposeRoutesAndCache(t *testing.T) {
	env := newEnv(t)
	tok := token(t, RoleStudent, "S1")
	recsOf(t, env, tok, "S1")
	recsOf(t, env, tok, "S1")
	w := env.do(t, req{method: "GET", path: "/metrics"})
	body := w.Body.String()
	for _, want := range []string{
		`parcours_http_request_duration_seconds_bucket{method="GET",route="/v1/students/:id/recommendations",status="200"`,
		`parcours_cache_requests_total{kind="recommendations",result="hit"} 1`,
		`parcours_cache_requests_total{kind="recommendations",result="miss"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "S1") {
		t.Fatal("metrics hold a pupil id")
	}
}

func TestVerifiedTokenStillExpires(t *testing.T) {
	env := newEnv(t)
	c := claims(RoleAdmin, "A1")
	c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-Leeway + 1500*time.Millisecond))
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if w := env.do(t, req{method: "GET", path: "/v1/audit?student=S1", token: tok}); w.Code != 200 {
		t.Fatalf("fresh token: %d", w.Code)
	}
	time.Sleep(2 * time.Second)
	if w := env.do(t, req{method: "GET", path: "/v1/audit?student=S1", token: tok}); w.Code != http.StatusUnauthorized {
		t.Fatalf("expired token remembered as valid: %d", w.Code)
	}
}

func TestStreamedOversizedBodiesAre413(t *testing.T) {
	env := newEnv(t, withConfig(func(c *Config) { c.MaxIngestBytes = 4 << 10 }))
	service := token(t, RoleService, "pronote")
	rows := "grade_id,student_id,subject,competencies,assessment_id,date,score,out_of,coefficient,status\n"
	grades := "["
	for i := 0; len(rows) < 16<<10; i++ {
		rows += fmt.Sprintf("GX%d,S1,MATHS,K1,A%d,2026-09-11T08:00:00Z,10,20,1,\n", i, i)
		grades += strings.Replace(strings.Trim(newGrade, "[]"), `"G2"`, fmt.Sprintf(`"GX%d"`, i), 1) + ","
	}
	grades = strings.TrimSuffix(grades, ",") + "]" // distinct ids: only the size is wrong
	for _, tc := range []struct{ name, path, ctype, body string }{
		{"CSV", "/v1/ingest/grades", "text/csv", rows},
		{"JSON", "/v1/ingest/grades", "application/json", grades},
		{"XAPI", "/xapi/statements", "application/json", "[" + strings.Repeat(statement("0b1c2d3e-1111-4000-8000-000000000001", "S1", completed, "R1")+",", 60) + "{}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body))
			hr.ContentLength = -1 // chunked: the limit must hold while streaming
			hr.Header.Set("Content-Type", tc.ctype)
			hr.Header.Set("Authorization", "Bearer "+service)
			hr.Header.Set("X-Experience-API-Version", "1.0.3")
			w := httptest.NewRecorder()
			env.h.ServeHTTP(w, hr)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413: %.200s", w.Code, w.Body.String())
			}
			if n := statementCount(t, env, "S1"); n != 0 {
				t.Fatal("part of an oversized batch was stored")
			}
		})
	}
}
