package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/facilityd/facilityd/internal/secret"
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
	// Generate, with File, makes the daemon write a new random secret to
	// File (mode 0600) at start when the file does not exist yet, so that
	// a first run needs no setup; it logs where, never the secret.
	Generate bool `yaml:"generate"`
}

// Ensure creates the token's file with a random secret when Generate is
// set and the file does not exist, and reports whether it did.
func (t Token) Ensure() (bool, error) {
	if !t.Generate || t.File == "" {
		return false, nil
	}
	if _, err := os.Stat(t.File); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, nil // there (or unreadable: Secret says why)
	}
	if err := os.MkdirAll(filepath.Dir(t.File), 0o700); err != nil {
		return false, fmt.Errorf("http token %q: %w", t.Name, err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	f, err := os.OpenFile(t.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, fmt.Errorf("http token %q: %w", t.Name, err)
	}
	_, err = fmt.Fprintln(f, hex.EncodeToString(b))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("http token %q: %w", t.Name, err)
	}
	return true, nil
}

// MinSecretLen is the shortest token secret accepted.
const MinSecretLen = 16

// Secret reads the token's secret from its file or environment variable.
// The error names the token and where its secret should be, never the
// secret itself.
func (t Token) Secret() (string, error) {
	s, err := secret.Read(t.File, t.Env)
	if err != nil {
		return "", fmt.Errorf("http token %q: %w", t.Name, err)
	}
	if len(s) < MinSecretLen {
		return "", fmt.Errorf("http token %q: secret missing or shorter than %d characters (set file or env)", t.Name, MinSecretLen)
	}
	return s, nil
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

// Messages of a 401: no bearer token at all, or one that is not known.
const (
	msgNoToken     = "this API needs a token: send Authorization: Bearer <token>"
	msgBadToken    = "token not accepted"
	bearerHeader   = "Authorization"
	bearerPrefix   = "Bearer "
	wwwAuthRealm   = `Bearer realm="facilityd"`
	wwwAuthInvalid = `Bearer realm="facilityd", error="invalid_token"`
	// eventsPath is the event stream, which takes ?token= (see bearer).
	eventsPath = "/api/v1/events"
)

// authenticate returns the caller of r, if its bearer token is known.
func (a *Auth) authenticate(r *http.Request) (principal, bool) {
	tok, ok := bearer(r)
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

// bearer returns the token r carries: its Authorization header, or for a
// GET of a calendar feed (a path ending in .ics) or of the event stream
// (/api/v1/events) its token query parameter, since calendar apps and the
// browser's EventSource cannot send headers. Such a token only ever reads
// (require never sees a GET).
func bearer(r *http.Request) (string, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get(bearerHeader), bearerPrefix); ok {
		return tok, true
	}
	if r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, ".ics") || r.URL.Path == eventsPath) {
		if tok := r.URL.Query().Get("token"); tok != "" {
			return tok, true
		}
	}
	return "", false
}

// unauthorized answers 401, saying whether r had no bearer token or one that
// is not accepted.
func unauthorized(w http.ResponseWriter, r *http.Request) {
	if _, ok := bearer(r); !ok {
		w.Header().Set("WWW-Authenticate", wwwAuthRealm)
		writeError(w, http.StatusUnauthorized, msgNoToken)
		return
	}
	w.Header().Set("WWW-Authenticate", wwwAuthInvalid)
	writeError(w, http.StatusUnauthorized, msgBadToken)
}

// require wraps h so that only callers with at least the role reach it; the
// caller's name is passed on as the actor of the change.
func (s *Server) require(role Role, h func(w http.ResponseWriter, r *http.Request, actor string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.auth.authenticate(r)
		if !ok {
			unauthorized(w, r)
			return
		}
		if p.role < role {
			writeError(w, http.StatusForbidden, "token "+p.name+" may not do this")
			return
		}
		h(w, r, p.name)
	}
}

// readProtected says whether a request is a read that, with read: token,
// needs a token: a GET (or HEAD) of /api/... or /metrics. /healthz (for
// probes) and the dashboard's static files stay open.
func readProtected(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/api/")
}

// readMode is the server's read mode now: its Deps.Read, or once Serve knows
// the address it listens on, that address's default. A server that was
// never served (a handler in tests) with Deps.Read unset reads open.
func (s *Server) readMode() ReadMode {
	if m, ok := s.read.Load().(ReadMode); ok {
		return m
	}
	return ReadOpen
}

// whoami answers the caller's token name and role, or 401: the dashboard
// checks a token with it before it keeps it.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	p, ok := s.auth.authenticate(r)
	if !ok {
		unauthorized(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": p.name, "role": p.role.String()})
}

// String is the role's name as the config writes it.
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}
