package teacher

import (
	"net/http/cookiejar"

	"github.com/golang-jwt/jwt/v5"
)

func newJar() *cookiejar.Jar {
	j, _ := cookiejar.New(nil)
	return j
}

func jwtSubject(sub string) jwt.RegisteredClaims { return jwt.RegisteredClaims{Subject: sub} }
