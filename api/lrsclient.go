package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/parcours-ent/parcours/recommender"
)

// LRS clients (Moodle's log store, an H5P host) authenticate with HTTP Basic: a key
// (the user name) and a secret (the password), created by `parcours clients add`. The
// secret is stored only as an Argon2id hash (RFC 9106), in the PHC string format.

// Argon2id parameters: OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane). The
// secrets are 256-bit random strings, so the hash guards a leaked table, not a guessable
// password; verified secrets are remembered (basicAuth) so that a client posting often
// pays the hash once.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// NewLRSClient returns a new client named name and its secret, shown once.
func NewLRSClient(name string) (recommender.Client, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return recommender.Client{}, "", errors.New("api.NewLRSClient: a name of 1 to 200 bytes is needed")
	}
	key := make([]byte, 12)
	secret := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return recommender.Client{}, "", fmt.Errorf("api.NewLRSClient: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return recommender.Client{}, "", fmt.Errorf("api.NewLRSClient: %w", err)
	}
	sec := base64.RawURLEncoding.EncodeToString(secret)
	h, err := HashSecret(sec)
	if err != nil {
		return recommender.Client{}, "", err
	}
	c := recommender.Client{Key: "lrs-" + hex.EncodeToString(key), Name: name, SecretHash: h, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	return c, sec, nil
}

// HashSecret returns the Argon2id PHC string of secret, with a random salt.
func HashSecret(secret string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("api.HashSecret: %w", err)
	}
	sum := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

// VerifySecret reports whether secret matches a HashSecret string, in constant time.
func VerifySecret(phc, secret string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// basicAuth checks LRS client credentials against the store, remembering for a while
// the keyed SHA-256 of secrets that verified, so that the Argon2id cost is paid once per
// client and not per request. A client deleted from the store stays accepted for at most
// verifiedTTL.
type basicAuth struct {
	store  recommender.ClientStore
	pepper [32]byte // keys the remembered digests: a memory dump shows no secret's hash

	mu sync.Mutex
	ok map[string]verified
}

type verified struct {
	digest [32]byte
	until  time.Time
}

const verifiedTTL = 5 * time.Minute

func newBasicAuth(store recommender.ClientStore) *basicAuth {
	b := &basicAuth{store: store, ok: map[string]verified{}}
	_, _ = rand.Read(b.pepper[:])
	return b
}

func (b *basicAuth) digest(key, secret string) [32]byte {
	h := sha256.New()
	h.Write(b.pepper[:])
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

func (b *basicAuth) verify(ctx context.Context, key, secret string) bool {
	if key == "" || secret == "" || len(key) > 128 || len(secret) > 256 {
		return false
	}
	d := b.digest(key, secret)
	now := time.Now()
	b.mu.Lock()
	v, hit := b.ok[key]
	b.mu.Unlock()
	if hit && now.Before(v.until) {
		return subtle.ConstantTimeCompare(v.digest[:], d[:]) == 1
	}
	c, err := b.store.Client(ctx, key)
	if err != nil || !VerifySecret(c.SecretHash, secret) {
		return false
	}
	b.mu.Lock()
	if len(b.ok) >= 1024 {
		clear(b.ok)
	}
	b.ok[key] = verified{digest: d, until: now.Add(verifiedTTL)}
	b.mu.Unlock()
	return true
}
