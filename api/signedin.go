package api

import (
	"context"
	"time"
)

// signedInKey carries the claims of a page session into an in-process API call.
type signedInKey struct{}

// WithSignedIn returns ctx carrying cl: a request made with it through the API's handler
// in-process is authenticated as cl, without a bearer token. The teacher and analyst
// pages use it for sessions opened through the ENT's OpenID Connect sign-in, whose
// claims were read from a verified ID token and mapped by configuration: there is no
// Parcours token to send. A request from the network cannot carry a context value, so
// this opens nothing to a remote caller. cl must have a subject, a known role and an
// expiry; an expired cl is refused as an expired token would be.
func WithSignedIn(ctx context.Context, cl *Claims) context.Context {
	return context.WithValue(ctx, signedInKey{}, cl)
}

// signedIn returns the claims WithSignedIn put in ctx, if any, and whether they are
// usable now.
func signedIn(ctx context.Context, now time.Time) (cl *Claims, present, ok bool) {
	cl, present = ctx.Value(signedInKey{}).(*Claims)
	if !present || cl == nil {
		return nil, present, false
	}
	if cl.ExpiresAt == nil || !now.Before(cl.ExpiresAt.Time) {
		return nil, true, false
	}
	if _, err := checkClaims(cl); err != nil {
		return nil, true, false
	}
	return cl, true, true
}
