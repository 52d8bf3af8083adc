package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// receiver's secret, of the timestamp header's value, a dot and the body.
	HeaderSignature = "X-Facilityd-Signature"
	// HeaderTimestamp is the Unix time of signing; being signed, it lets the
	// receiver refuse replays of old requests.
	HeaderTimestamp = "X-Facilityd-Timestamp"
	// HeaderIdempotencyKey is the notification's id, the same on every retry.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderEvent is the event kind (created, transition, sla_breach…).
	HeaderEvent = "X-Facilityd-Event"
)

// Errors of Verify.
var (
	ErrUnsigned     = errors.New("webhook: request is not signed")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance")
)

// Sign returns the signature header value of body signed at timestamp (Unix
// seconds, as sent in HeaderTimestamp).
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received request's signature against secret, and that it
// was signed within tolerance of now. Receivers written in Go can call it;
// others repeat Sign: HMAC-SHA256 over timestamp + "." + body.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return ErrUnsigned
	}
	got, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return ErrBadSignature
	}
	mac, err := hex.DecodeString(got)
	if err != nil {
		return ErrBadSignature
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, ts, body), "sha256="))
	if !hmac.Equal(mac, want) {
		return ErrBadSignature
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
