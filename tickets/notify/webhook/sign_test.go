package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	body := []byte(`{"id":"a1-7"}`)
	now := time.Unix(1_772_438_400, 0)
	signed := func(ts time.Time, b []byte, key []byte) http.Header {
		h := http.Header{}
		s := strconv.FormatInt(ts.Unix(), 10)
		h.Set(HeaderTimestamp, s)
		h.Set(HeaderSignature, Sign(key, s, b))
		return h
	}
	// Computed independently with openssl, so Sign matches other languages:
	// printf '1772438400.{"id":"a1-7"}' | openssl dgst -sha256 -hmac 0123456789abcdef0123
	if got, want := Sign(secret, "1772438400", body),
		"sha256=7188d00441844b9272010acce8a8795ed648659460c55b601e039b305b482ad3"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	tampered := signed(now, body, secret)
	for _, tt := range []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"good", signed(now, body, secret), body, nil},
		{"a minute old", signed(now.Add(-time.Minute), body, secret), body, nil},
		{"other body", signed(now, body, secret), []byte(`{"id":"a1-8"}`), ErrBadSignature},
		{"other secret", signed(now, body, []byte("another-secret-value")), body, ErrBadSignature},
		{"old", signed(now.Add(-10*time.Minute), body, secret), body, ErrStale},
		{"future", signed(now.Add(10*time.Minute), body, secret), body, ErrStale},
		{"unsigned", http.Header{}, body, ErrUnsigned},
		{"no prefix", http.Header{HeaderTimestamp: {"1"}, HeaderSignature: {"abc"}}, body, ErrBadSignature},
		{"not hex", http.Header{HeaderTimestamp: {"1"}, HeaderSignature: {"sha256=zz"}}, body, ErrBadSignature},
		{"timestamp changed", func() http.Header {
			tampered.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return tampered
		}(), body, ErrBadSignature},
	} {
		if err := Verify(secret, tt.h, tt.body, now, 5*time.Minute); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}
