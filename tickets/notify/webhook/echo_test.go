package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/tickets"
)

// TestAnswerEchoingHeadersHidesSecrets: a receiver that refuses the
// notification (400) or fails (500) and echoes the request's headers, as
// text and as Go's %v, must not get the secret, the signature, a configured
// header's value or the URL's credentials into the error.
func TestAnswerEchoingHeadersHidesSecrets(t *testing.T) {
	const (
		authValue = "Bearer hdr-token-77aa66bb"
		apiKey    = "conf-key-0c0ffee"
		urlPass   = "url-pass-3141"
	)
	for _, code := range []int{http.StatusBadRequest, http.StatusInternalServerError} {
		var sig string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sig = r.Header.Get(HeaderSignature)
			w.WriteHeader(code)
			for k, v := range r.Header {
				fmt.Fprintf(w, "%s: %s\n", k, strings.Join(v, ", "))
			}
			fmt.Fprintf(w, "%v\nseen url: http://bob:%s@%s%s secret %s", r.Header, urlPass, r.Host, r.URL, secret)
		}))
		wh, err := New("r", tickets.WebhookConfig{
			URL:        strings.Replace(srv.URL, "http://", "http://bob:"+urlPass+"@", 1) + "/hook?api_key=q-key-2718",
			SecretFile: secretFile(t),
			Headers:    map[string]string{"Authorization": authValue, "X-Custom": apiKey},
		})
		if err != nil {
			t.Fatal(err)
		}
		err = wh.Notify(context.Background(), notification())
		srv.Close()
		if err == nil {
			t.Fatalf("HTTP %d: no error", code)
		}
		if got := errors.Is(err, tickets.ErrRejected); got != (code == http.StatusBadRequest) {
			t.Errorf("HTTP %d: ErrRejected %v", code, got)
		}
		msg := err.Error()
		if sig == "" {
			t.Fatal("the request was not signed")
		}
		for _, s := range []string{secret, sig, strings.TrimPrefix(sig, "sha256="), "hdr-token-77aa66bb", apiKey, urlPass, "q-key-2718"} {
			if strings.Contains(msg, s) {
				t.Errorf("HTTP %d: error shows %q: %s", code, s, msg)
			}
		}
		if !strings.Contains(msg, fmt.Sprintf("HTTP %d", code)) || !strings.Contains(msg, "[REDACTED]") || strings.Contains(msg, "\n") {
			t.Errorf("HTTP %d: error %q", code, msg)
		}
	}
}
