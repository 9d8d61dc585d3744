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
// Sessions: the session cookie holds an opaque random id; the token it stands for lives
// in this process's memory only, so behind several replicas the load balancer must keep a
// teacher on one replica (or the teacher signs in again), and a restart signs everyone
// out. A session ends with the token's expiry, at the latest after Config.SessionTTL.
package teacher
