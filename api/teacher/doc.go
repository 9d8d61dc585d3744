// Package teacher is the teacher's review page of Parcours: a small server-rendered web
// application (html/template, one plain JavaScript file, no build step) under /teacher/,
// in French, where a teacher picks one of their classes, reads its heat map of needs and
// its groups, opens a pupil's learning path and approves, rejects or pins its steps.
//
// It holds no access rule and no domain logic of its own: every read and every decision
// goes through the JSON API's handler in-process, with the teacher's own bearer token, so
// the page gets exactly the API's authorisation policy, audit trail, cache and rate
// limits. The catalogue (competency labels, resource titles, subjects) is read directly:
// it holds no personal data.
//
// It must never put a token in a URL, log one, render anything outside html/template's
// escaping, run inline script, or change state on a request that fails the CSRF checks
// (per-session token in the form, SameSite=Strict cookie, Origin check).
//
// Sign-in: through the ENT's OpenID provider when configured (Config.OIDC: authorization
// code flow with PKCE and a nonce, the ID token's role and classes mapped by
// configuration; oidc.go), by a one-time link (the demo), or by pasting a token.
//
// Sessions: the session cookie holds an opaque random id; what it stands for (the token,
// or the claims mapped from the ENT's ID token) lives in Config.Sessions (Redis in serve
// with REDIS_URL, shared by every replica) or, without one, in this process's memory. A
// session ends with the token's expiry, at the latest after Config.SessionTTL.
package teacher
