package redact

import (
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTextPatterns(t *testing.T) {
	for in, want := range map[string]string{
		"Authorization: Bearer abc.def-ghi":                  "Authorization: Bearer [REDACTED]",
		"authorization: Token s3cr3tt0ken==":                 "authorization: Token [REDACTED]",
		"Authorization: Basic dXNlcjpwYXNz":                  "Authorization: Basic [REDACTED]",
		`{"Authorization":["Token abc123"],"X":["y"]}`:       `{"Authorization":["Token [REDACTED]"],"X":["y"]}`,
		"map[Authorization:[Basic dXNlcjpwYXNz] Accept:[*]]": "map[Authorization:[Basic [REDACTED]] Accept:[*]]",
		"535 AUTH PLAIN AHVzZXIAcGFzcw== failed":             "535 AUTH PLAIN [REDACTED] failed",
		"Proxy-Authorization: xyzzy1234":                     "Proxy-Authorization: [REDACTED]",
		"X-Facilityd-Signature: sha256=0123abcd":             "X-Facilityd-Signature: [REDACTED]",
		"X-Api-Key: k-123456":                                "X-Api-Key: [REDACTED]",
		"dial http://admin:hunter2@db:8086/x failed":         "dial http://admin:[REDACTED]@db:8086/x failed",
		"GET /a?api_key=AK1&x=1&token=T2 404":                "GET /a?api_key=[REDACTED]&x=1&token=[REDACTED] 404",
		"/b?apikey=1;key=2&secret=3&password=4&passwd=5":     "/b?apikey=[REDACTED];key=[REDACTED]&secret=[REDACTED]&password=[REDACTED]&passwd=[REDACTED]",
		"/c?access_token=zz&signature=ss&page=2":             "/c?access_token=[REDACTED]&signature=[REDACTED]&page=2",
		`{"password":"p\"w","user":"bob"}`:                   `{"password":"[REDACTED]","user":"bob"}`,
		"line one\nline two\r\n\tend":                        "line one line two   end",
		"nothing to hide: token expired":                     "nothing to hide: token expired",
		"":                                                   "",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q)\n got %q\nwant %q", in, got, want)
		}
		if got := Text(Text(in)); got != Text(in) {
			t.Errorf("Text is not idempotent on %q: %q", in, got)
		}
	}
}

func TestKnownSecrets(t *testing.T) {
	r := New("tok-SECRET-1", "abc", "user:pa ss/word", "line\nbreak")
	for in, want := range map[string]string{
		"echo tok-SECRET-1 echo":          "echo [REDACTED] echo",
		"twice tok-SECRET-1tok-SECRET-1.": "twice [REDACTED].",
		"abc is too short to look for":    "abc is too short to look for",
		"raw user:pa ss/word":             "raw [REDACTED]",
		"pass alone pa ss/word!":          "pass alone [REDACTED]!",
		"escaped pa+ss%2Fword":            "escaped [REDACTED]",
		"path pa%20ss%2Fword":             "path [REDACTED]",
		"folded line\nbreak":              "folded [REDACTED]",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	var nilR *Redactor
	if got := nilR.String("Authorization: Token x1234"); got != "Authorization: Token [REDACTED]" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestCap(t *testing.T) {
	in := strings.Repeat("a", 1000)
	got := Text(in)
	if len(got) > MaxText {
		t.Fatalf("len %d > %d", len(got), MaxText)
	}
	if !strings.HasSuffix(got, " bytes more)") || !strings.HasPrefix(got, "aaaa") {
		t.Fatalf("got %q", got)
	}
	if Text(got) != got {
		t.Errorf("capping twice changed the text")
	}
	// Multi-byte runes are never split.
	in = strings.Repeat("é€😀", 200)
	for n := 64; n < 80; n++ {
		got := New().WithMax(n).String(in)
		body, _, _ := strings.Cut(got, "… (")
		if !utf8.ValidString(body) || len(got) > n {
			t.Errorf("max %d: %q (%d bytes)", n, got, len(got))
		}
	}
	// A marker is not cut in half.
	in = strings.Repeat("x", 40) + " Authorization: Token " + strings.Repeat("y", 100)
	got = New().WithMax(64).String(in)
	if strings.Contains(got, "[RED") && !strings.Contains(got, Marker) {
		t.Errorf("marker cut: %q", got)
	}
	// Huge input: only the start is looked at, the rest is counted.
	got = Text(strings.Repeat("b", 1<<20))
	if len(got) > MaxText || !strings.Contains(got, "bytes more") {
		t.Errorf("huge: %q", got)
	}
}

func TestError(t *testing.T) {
	r := New("hunter22")
	if r.Error(nil) != nil {
		t.Fatal("Error(nil) != nil")
	}
	err := r.Error(errors.Join(io.ErrUnexpectedEOF, errors.New("said hunter22")))
	if !errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "hunter22") {
		t.Errorf("got %v", err)
	}
}

// pieces returns the parts of out that came from the input: out without
// the length suffix, split at markers.
func pieces(out string) []string {
	if i := strings.LastIndex(out, "… ("); i >= 0 && strings.HasSuffix(out, " bytes more)") {
		out = out[:i]
	}
	return strings.Split(out, Marker)
}

func FuzzRedact(f *testing.F) {
	f.Add("Authorization: Bearer tokentoken\nX: y", "tokentoken", 100)
	f.Add("http://u:pw12@h/?api_key=1&x=2", "pw12", 64)
	f.Add(strings.Repeat("€", 300)+"secretsecret", "secretsecret", 512)
	f.Add("aa[REa[RE", "a[RE", 70)
	f.Fuzz(func(t *testing.T, text, secret string, n int) {
		r := New(secret)
		if n%3 == 0 {
			r = r.WithMax(n)
		}
		out := r.String(text)
		limit := MaxText
		if n%3 == 0 {
			limit = max(n, 64)
		}
		if len(out) > limit {
			t.Fatalf("len %d > %d: %q", len(out), limit, out)
		}
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("newline in %q", out)
		}
		if len(oneLine(secret)) >= minSecret {
			for _, p := range pieces(out) {
				if strings.Contains(p, secret) || strings.Contains(p, oneLine(secret)) {
					t.Fatalf("secret %q left in %q", secret, out)
				}
			}
		}
	})
}
