package web

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Role is what a token may do: viewers read, operators work tickets and
// silences, admins change everything.
type Role int

// Roles, weakest first.
const (
	RoleViewer Role = iota + 1
	RoleOperator
	RoleAdmin
)

// Token is one API token from the config. The secret comes from a file or an
// environment variable, never from the config text itself.
type Token struct {
	Name string `yaml:"name"`
	Role string `yaml:"role"` // viewer, operator, admin
	// File holds the secret (one line); Env names a variable holding it.
	File string `yaml:"file"`
	Env  string `yaml:"env"`
}

// MinSecretLen is the shortest token secret accepted.
const MinSecretLen = 16

// Secret reads the token's secret from its file or environment variable.
// The error names the token and where its secret should be, never the
// secret itself.
func (t Token) Secret() (string, error) {
	var secret string
	switch {
	case t.File != "":
		b, err := os.ReadFile(t.File)
		if err != nil {
			return "", fmt.Errorf("http token %q: %w", t.Name, err)
		}
		secret = strings.TrimSpace(string(b))
	case t.Env != "":
		secret = os.Getenv(t.Env)
	}
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("http token %q: secret missing or shorter than %d characters (set file or env)", t.Name, MinSecretLen)
	}
	return secret, nil
}

// ParseRole parses viewer, operator or admin.
func ParseRole(s string) (Role, error) {
	switch s {
	case "viewer":
		return RoleViewer, nil
	case "operator":
		return RoleOperator, nil
	case "admin":
		return RoleAdmin, nil
	}
	return 0, fmt.Errorf("unknown role %q: use viewer, operator or admin", s)
}

// principal is an authenticated caller.
type principal struct {
	name string
	role Role
}

// Auth checks bearer tokens.
type Auth struct {
	tokens []struct {
		secret []byte
		p      principal
	}
}

// NewAuth reads the tokens' secrets. A token without a secret is an error
// naming the token, not its secret.
func NewAuth(tokens []Token) (*Auth, error) {
	a := &Auth{}
	for _, t := range tokens {
		role, err := ParseRole(t.Role)
		if err != nil {
			return nil, fmt.Errorf("http token %q: %w", t.Name, err)
		}
		secret, err := t.Secret()
		if err != nil {
			return nil, err
		}
		a.tokens = append(a.tokens, struct {
			secret []byte
			p      principal
		}{[]byte(secret), principal{name: t.Name, role: role}})
	}
	return a, nil
}

// authenticate returns the caller of r, if its bearer token is known.
func (a *Auth) authenticate(r *http.Request) (principal, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || a == nil {
		return principal{}, false
	}
	found := -1
	for i, t := range a.tokens { // compare with every token: constant time per token
		if subtle.ConstantTimeCompare(t.secret, []byte(tok)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return principal{}, false
	}
	return a.tokens[found].p, true
}

// require wraps h so that only callers with at least the role reach it; the
// caller's name is passed on as the actor of the change.
func (s *Server) require(role Role, h func(w http.ResponseWriter, r *http.Request, actor string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.auth.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="facilityd"`)
			writeError(w, http.StatusUnauthorized, "a bearer token is required for this request")
			return
		}
		if p.role < role {
			writeError(w, http.StatusForbidden, "token "+p.name+" may not do this")
			return
		}
		h(w, r, p.name)
	}
}
