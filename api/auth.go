package api

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles of the contract.
const (
	RoleStudent = "student"
	RoleParent  = "parent"
	RoleTeacher = "teacher"
	RoleAdmin   = "admin"
	RoleAnalyst = "analyst"
	RoleService = "service"
)

var roles = []string{RoleStudent, RoleParent, RoleTeacher, RoleAdmin, RoleAnalyst, RoleService}

// Claims are the token claims Parcours reads: sub (in RegisteredClaims), role, a parent's
// students, a teacher's classes, the school.
type Claims struct {
	Role     string   `json:"role"`
	Students []string `json:"students,omitempty"`
	Classes  []string `json:"classes,omitempty"`
	School   string   `json:"school,omitempty"`
	jwt.RegisteredClaims
}

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 30 * time.Second

// Verifier checks a bearer token and returns its claims.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*Claims, error)
}

// ErrToken is wrapped by every verification failure.
var ErrToken = errors.New("invalid token")

// MintToken signs claims with secret (HS256) for ttl from now: what `parcours token` and
// the demo print.
func MintToken(secret []byte, c Claims, ttl time.Duration) (string, error) {
	if len(secret) < 16 {
		return "", errors.New("api.MintToken: secret shorter than 16 bytes")
	}
	if c.Subject == "" || !slices.Contains(roles, c.Role) {
		return "", fmt.Errorf("api.MintToken: need a sub and a role among %v", roles)
	}
	now := time.Now()
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("api.MintToken: %w", err)
	}
	return s, nil
}

// hmacVerifier verifies HS256 tokens with a shared secret.
type hmacVerifier struct {
	secret []byte
	parser *jwt.Parser
}

// NewHS256Verifier verifies tokens signed with secret; no other algorithm is accepted
// (alg "none" and RS/HS confusion are refused by jwt.WithValidMethods).
func NewHS256Verifier(secret []byte) (Verifier, error) {
	if len(secret) < 16 {
		return nil, errors.New("api.NewHS256Verifier: secret shorter than 16 bytes")
	}
	return &hmacVerifier{secret: secret, parser: newParser("HS256")}, nil
}

func newParser(methods ...string) *jwt.Parser {
	return jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithExpirationRequired(),
		jwt.WithLeeway(Leeway), jwt.WithIssuedAt())
}

func (v *hmacVerifier) Verify(_ context.Context, raw string) (*Claims, error) {
	c := &Claims{}
	if _, err := v.parser.ParseWithClaims(raw, c, func(*jwt.Token) (any, error) { return v.secret, nil }); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	return checkClaims(c)
}

func checkClaims(c *Claims) (*Claims, error) {
	switch {
	case c.Subject == "":
		return nil, fmt.Errorf("%w: no sub", ErrToken)
	case !slices.Contains(roles, c.Role):
		return nil, fmt.Errorf("%w: unknown role", ErrToken)
	}
	return c, nil
}

// JWKSVerifier verifies RS256 and ES256 tokens with the keys published at a JWKS URL. Keys
// are cached for MaxAge; a token with an unknown kid triggers at most one refetch every
// MinRefresh, so forged kids cannot make it hammer the ENT.
type JWKSVerifier struct {
	url        string
	client     *http.Client
	parser     *jwt.Parser
	MaxAge     time.Duration
	MinRefresh time.Duration

	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	fetched time.Time
}

// NewJWKSVerifier returns a verifier for the key set at url (fetched on first use).
func NewJWKSVerifier(url string, client *http.Client) *JWKSVerifier {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &JWKSVerifier{url: url, client: client, parser: newParser("RS256", "ES256"),
		MaxAge: 10 * time.Minute, MinRefresh: 30 * time.Second}
}

// Verify implements Verifier.
func (v *JWKSVerifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	c := &Claims{}
	_, err := v.parser.ParseWithClaims(raw, c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, kid)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrToken, err)
	}
	return checkClaims(c)
}

func (v *JWKSVerifier) key(ctx context.Context, kid string) (crypto.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	k, ok := v.keys[kid]
	stale := time.Since(v.fetched) > v.MaxAge
	if ok && !stale {
		return k, nil
	}
	if !stale && time.Since(v.fetched) < v.MinRefresh {
		return nil, errors.New("unknown key id")
	}
	keys, err := fetchJWKS(ctx, v.client, v.url)
	if err != nil {
		if ok { // keep serving the known key while the ENT is unreachable
			return k, nil
		}
		return nil, err
	}
	v.keys, v.fetched = keys, time.Now()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errors.New("unknown key id")
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

func fetchJWKS(ctx context.Context, client *http.Client, url string) (map[string]crypto.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: status %d", resp.StatusCode)
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]crypto.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.publicKey()
		if err != nil {
			continue // one odd key must not hide the others
		}
		keys[k.Kid] = pub
	}
	return keys, nil
}

func (k jwk) publicKey() (crypto.PublicKey, error) {
	b64 := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("RSA key shorter than 2048 bits")
		}
		return pub, nil
	case "EC":
		if k.Crv != "P-256" {
			return nil, errors.New("unsupported curve")
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad EC key")
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	}
	return nil, errors.New("unsupported key type")
}
