package web

import "net/http"

// GuardReads wraps h with the daemon's read rule, for another server of
// facilityd (the portfolio): with mode token (see Config.EffectiveRead), a
// GET of /api/... or /metrics needs a bearer token of auth (any role) and
// is otherwise answered 401, as the daemon answers it; /healthz and static
// files stay open. Every response gets X-Content-Type-Options: nosniff.
// A nil auth accepts no token.
func GuardReads(mode ReadMode, auth *Auth, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if readProtected(r) && mode != ReadOpen {
			if _, ok := auth.authenticate(r); !ok {
				unauthorized(w, r)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// PageHeaders sets the console's security headers on h's responses: a
// Content-Security-Policy that allows only the server's own scripts,
// styles, images and API (no inline script, no CDN, no framing) and no
// referrer.
func PageHeaders(h http.Handler) http.Handler { return dashboardHeaders(h) }
