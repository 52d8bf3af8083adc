// Package webhook delivers ticket notifications by HTTP POST: JSON, or a
// template's output to match the receiver's own format, signed with
// HMAC-SHA256 and carrying an idempotency key.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"text/template"
	"time"

	"github.com/facilityd/facilityd/internal/redact"
	secrets "github.com/facilityd/facilityd/internal/secret"
	"github.com/facilityd/facilityd/tickets"
)

// Notifier posts notifications to one receiver.
type Notifier struct {
	name        string
	url         string
	secret      []byte
	tmpl        *template.Template
	contentType string
	headers     map[string]string
	client      *http.Client
	now         func() time.Time
	red         *redact.Redactor // the secret, header values, the URL's password
}

var _ tickets.Notifier = (*Notifier)(nil)

// New builds the notifier of receiver name; it reads the secret, and does
// no other I/O.
func New(name string, cfg tickets.WebhookConfig) (*Notifier, error) {
	secret, err := secrets.Read(cfg.SecretFile, cfg.SecretEnv)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", name, err)
	}
	tmpl, err := tickets.ParseTemplate("template", cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", name, err)
	}
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook %s: url must be an http or https URL", name)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ct := cfg.ContentType
	if ct == "" {
		ct = "application/json"
	}
	known := []string{secret}
	for _, v := range cfg.Headers {
		known = append(known, v)
	}
	if u, _ := url.Parse(cfg.URL); u != nil {
		if p, ok := u.User.Password(); ok {
			known = append(known, p)
		}
	}
	return &Notifier{
		name: name, url: cfg.URL, secret: []byte(secret), tmpl: tmpl, contentType: ct, headers: cfg.Headers, now: time.Now,
		red: redact.New(known...),
		client: &http.Client{
			Timeout: timeout,
			// A redirect of a POST would become a GET: treat it as an answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// Body returns what Notify posts for n.
func (w *Notifier) Body(n tickets.Notification) ([]byte, error) {
	if n.Report != nil {
		// The template is for ticket events; a report is its JSON, with
		// links and without the daemon's paths.
		r := *n.Report
		r.Files = slices.Clone(r.Files)
		for i := range r.Files {
			r.Files[i].Path = ""
		}
		n.Report = &r
		return json.Marshal(n)
	}
	if w.tmpl == nil {
		return json.Marshal(n)
	}
	var b bytes.Buffer
	if err := w.tmpl.Execute(&b, n); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Notify posts n. A 2xx answer is success; 408, 425, 429 and 5xx answers
// and network errors are worth a retry; any other answer is ErrRejected.
// Errors never contain the URL, which may carry a token, nor the secret,
// nor a configured header's value, nor what looks like a credential in the
// receiver's answer (which may echo the request's headers).
func (w *Notifier) Notify(ctx context.Context, n tickets.Notification) error {
	return w.red.Error(w.notify(ctx, n))
}

func (w *Notifier) notify(ctx context.Context, n tickets.Notification) error {
	body, err := w.Body(n)
	if err != nil {
		// The template fails on this notification, and would again.
		return fmt.Errorf("webhook %s: %w: template: %v", w.name, tickets.ErrRejected, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: building the request failed", w.name)
	}
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", w.contentType)
	req.Header.Set("User-Agent", "facilityd")
	req.Header.Set(HeaderIdempotencyKey, n.ID)
	if n.Report != nil {
		req.Header.Set(HeaderEvent, "report")
	} else {
		req.Header.Set(HeaderEvent, string(n.Event.Kind))
	}
	if len(w.secret) > 0 {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(w.secret, ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL
		}
		return fmt.Errorf("webhook %s: %w", w.name, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	code := resp.StatusCode
	// Redacted before quoting, which would escape a secret out of sight.
	answer := w.red.WithMax(300).String(string(bytes.TrimSpace(snippet)))
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("webhook %s: HTTP %d: %q", w.name, code, answer)
	}
	return fmt.Errorf("webhook %s: %w: HTTP %d: %q", w.name, tickets.ErrRejected, code, answer)
}
