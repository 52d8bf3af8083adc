package redact

import (
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Marker replaces whatever is hidden.
const Marker = "[REDACTED]"

// MaxText is how long a Text (or a Redactor's output) may be, suffix
// included, unless the Redactor says otherwise.
const MaxText = 512

// minSecret is the shortest known secret looked for: shorter ones would
// blank out ordinary words.
const minSecret = 4

// scanLimit caps how much of a text is examined at all: anything past it
// is cut anyway.
const scanLimit = 8 << 10

// value is a secret-looking value: a marker already there (so that
// redacting twice changes nothing), else a run up to a quote, space,
// separator or bracket.
const value = `\[REDACTED\]|[^\s"',;\[\]{}<>]+`

var patterns = []*regexp.Regexp{
	// Echoed credential headers, as text ("Authorization: Bearer x"), as
	// JSON ("Authorization":["Token x"]) or as Go's %v of http.Header
	// (Authorization:[Basic x]). The scheme, when there is one, is kept.
	regexp.MustCompile(`(?i)((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|x-access-token|[\w-]*signature)["']?\s*:\s*(?:\[REDACTED\]|[\["']*\s*(?:(?:bearer|token|basic|digest)\s+)?(` + value + `))`),
	// SMTP authentication echoed: AUTH PLAIN <base64>.
	regexp.MustCompile(`(?i)\bAUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER)\s+(` + value + `)`),
	// Credentials written into a URL: scheme://user:password@host.
	regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@?#"']*:(` + `\[REDACTED\]|[^\s/@"']+` + `)@`),
	// Query or form parameters named like a secret: ?api_key=x&token=y.
	regexp.MustCompile(`(?i)(?:^|[?&;\s"'{(,])[\w.-]*(?:token|api_?key|key|secret|password|passwd|pwd|signature|sig|auth)=(\[REDACTED\]|[^&\s"'#;,)}<>]+)`),
	// JSON fields named like a secret: "password":"x".
	regexp.MustCompile(`(?i)"[\w.-]*(?:token|api_?key|secret|password|passwd|signature|authorization)"\s*:\s*"((?:[^"\\]|\\.)*)"`),
}

// Redactor hides the known secrets of one component (a token, a password,
// configured header values) and anything that looks like a credential in
// text a server sent back, and keeps that text short and on one line. The
// zero value and a nil *Redactor look for patterns only.
type Redactor struct {
	secrets []string // longest first
	max     int
}

// New returns a Redactor for these secrets; those shorter than 4 bytes are
// ignored. A secret is also looked for URL-encoded, and, when it is
// user:password (InfluxDB 1.8's token, Basic credentials), so is the
// password alone.
func New(secrets ...string) *Redactor {
	r := &Redactor{max: MaxText}
	seen := map[string]bool{}
	add := func(s string) {
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			v = oneLine(v)
			if len(v) >= minSecret && !seen[v] {
				seen[v] = true
				r.secrets = append(r.secrets, v)
			}
		}
	}
	for _, s := range secrets {
		add(s)
		if _, pass, ok := strings.Cut(s, ":"); ok {
			add(pass)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// WithMax returns a copy of r whose output is at most n bytes (n >= 64).
func (r *Redactor) WithMax(n int) *Redactor {
	c := Redactor{max: MaxText}
	if r != nil {
		c = *r
	}
	c.max = max(n, 64)
	return &c
}

// Text redacts s with patterns only (no known secrets), as the last guard
// before text is stored or shown.
func Text(s string) string { return (*Redactor)(nil).String(s) }

// String returns s with newlines and tabs turned into spaces, every known
// secret and every credential-looking value replaced by [REDACTED], cut to
// the Redactor's length on a UTF-8 boundary with "… (N bytes more)".
func (r *Redactor) String(s string) string {
	limit := MaxText
	if r != nil && r.max > 0 {
		limit = r.max
	}
	rest := 0
	if len(s) > scanLimit {
		cut := runeCut(s, scanLimit)
		rest = len(s) - cut
		s = s[:cut]
	}
	s = oneLine(s)
	var spans [][2]int
	if r != nil {
		for _, sec := range r.secrets {
			for i := 0; i+len(sec) <= len(s); {
				j := strings.Index(s[i:], sec)
				if j < 0 {
					break
				}
				spans = append(spans, [2]int{i + j, i + j + len(sec)})
				i += j + 1 // overlapping occurrences too
			}
		}
	}
	for _, re := range patterns {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			if lo, hi := m[len(m)-2], m[len(m)-1]; lo >= 0 && hi > lo {
				spans = append(spans, [2]int{lo, hi})
			}
		}
	}
	if len(spans) > 0 {
		s = replace(s, spans)
	}
	return capText(s, limit, rest)
}

// Error returns err with its message redacted by r; errors.Is and
// errors.As still see err. It returns nil for nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &Redacted{msg: r.String(err.Error()), err: err}
}

// Redacted is an error whose message has been redacted.
type Redacted struct {
	msg string
	err error
}

func (e *Redacted) Error() string { return e.msg }
func (e *Redacted) Unwrap() error { return e.err }

// replace puts Marker in place of the union of spans.
func replace(s string, spans [][2]int) string {
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	pos := 0
	for k := 0; k < len(spans); {
		lo, hi := spans[k][0], spans[k][1]
		for k++; k < len(spans) && spans[k][0] <= hi; k++ {
			hi = max(hi, spans[k][1])
		}
		if s[lo:hi] == Marker {
			continue // already redacted: keep as is
		}
		b.WriteString(s[pos:lo])
		b.WriteString(Marker)
		pos = hi
	}
	b.WriteString(s[pos:])
	return b.String()
}

// oneLine turns CR, LF and tabs into spaces, byte for byte.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' || c == '\t' {
			b[i] = ' '
		}
	}
	return string(b)
}

// capText cuts s so that it and the suffix telling how much was cut (plus
// rest bytes never looked at) fit in limit bytes. It does not cut inside a
// rune or a Marker.
func capText(s string, limit, rest int) string {
	if len(s) <= limit && rest == 0 {
		return s
	}
	worst := suffix(len(s) + rest)
	cut := runeCut(s, max(limit-len(worst), 0))
	if i := strings.LastIndex(s[:cut], "["); i >= 0 && i+len(Marker) > cut && strings.HasPrefix(s[i:], Marker) {
		cut = i
	}
	return s[:cut] + suffix(len(s)-cut+rest)
}

func suffix(n int) string { return "… (" + strconv.Itoa(n) + " bytes more)" }

// runeCut returns the largest i <= n that does not split a UTF-8 rune.
func runeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}
