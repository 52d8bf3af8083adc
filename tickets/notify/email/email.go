// Package email sends ticket notifications by SMTP, over TLS unless the
// config says none.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/secret"
	"github.com/facilityd/facilityd/tickets"
)

// DefaultSubject and DefaultBody are used when the receiver sets no
// template of its own.
const (
	DefaultSubject = `[facilityd] #{{.Ticket.ID}} {{.Ticket.Priority}} {{.Event.Kind}}: {{.Ticket.Title}}`
	DefaultBody    = `{{.Event.Kind}} by {{.Event.Actor}} at {{rfc3339 .Event.At}}{{with .Event.Detail}}: {{.}}{{end}}

Ticket #{{.Ticket.ID}}: {{.Ticket.Title}}
Status:     {{.Ticket.Status}}{{with .Ticket.Assignee}} ({{.}}){{end}}
Priority:   {{.Ticket.Priority}}{{with .Ticket.Category}}, {{.}}{{end}}
{{with .Ticket.Device}}Device:     {{.}}
{{end}}{{with .Ticket.Location}}Location:   {{.}}
{{end}}Respond by: {{rfc3339 .Ticket.RespondBy}}
Resolve by: {{rfc3339 .Ticket.ResolveBy}}
{{with .Ticket.Description}}
{{.}}
{{end}}
Notification {{.ID}}
`
)

// MaxAttachments is the most a report mail attaches, in bytes: mail
// servers commonly refuse messages over 25 MB, and base64 adds a third.
const MaxAttachments = 15 << 20

// reportMessage is the mail of a scheduled report: the receiver's
// templates are for ticket events, so a report has its own fixed subject
// and body, and its files attached. A file too large, or gone from the
// archive, is linked instead.
func (e *Notifier) reportMessage(n tickets.Notification) (*mail.Msg, error) {
	r := n.Report
	m := mail.NewMsg()
	if err := m.From(e.cfg.From); err != nil {
		return nil, err
	}
	if err := m.To(e.cfg.To...); err != nil {
		return nil, err
	}
	title := fmt.Sprintf("%s report %s", r.Kind, r.Period)
	if r.Building != "" {
		title += " " + r.Building
	}
	if r.Category != "" {
		title += " " + r.Category
	}
	m.Subject(strings.Join(strings.Fields("[facilityd] "+title+" ("+r.Name+")"), " "))
	m.SetMessageIDWithValue(n.ID + "@facilityd")
	m.SetGenHeader(mail.Header("X-Facilityd-Id"), n.ID)
	m.SetGenHeader(mail.Header("X-Facilityd-Event"), "report")
	m.SetDateWithValue(r.GeneratedAt)
	var body strings.Builder
	fmt.Fprintf(&body, "The %s of %s to %s (%s), generated at %s by the schedule %s.\n\n", title,
		r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), r.Lang, r.GeneratedAt.Format(time.RFC3339), r.Name)
	total := 0
	for _, f := range r.Files {
		data, err := os.ReadFile(f.Path)
		switch {
		case err == nil && total+len(data) <= MaxAttachments:
			total += len(data)
			if err := m.AttachReader(f.Name, bytes.NewReader(data), mail.WithFileName(f.Name)); err != nil {
				return nil, err
			}
			fmt.Fprintf(&body, "  %s  attached (%d bytes)\n", f.Name, len(data))
		case err == nil:
			fmt.Fprintf(&body, "  %s  too large to attach: %s\n", f.Name, f.URL)
		default:
			fmt.Fprintf(&body, "  %s  not in the archive any more: %s\n", f.Name, f.URL)
		}
	}
	fmt.Fprintf(&body, "\nNotification %s\n", n.ID)
	m.SetBodyString(mail.TypeTextPlain, body.String())
	return m, nil
}

// Notifier mails the notifications of one receiver.
type Notifier struct {
	name          string
	cfg           tickets.EmailConfig
	password      string
	subject, body *template.Template
	tls           *tls.Config
	red           *redact.Redactor // the password
}

var _ tickets.Notifier = (*Notifier)(nil)

// New builds the notifier of receiver name; it reads the password and CA
// file, and does no other I/O.
func New(name string, cfg tickets.EmailConfig) (*Notifier, error) {
	password, err := secret.Read(cfg.PasswordFile, cfg.PasswordEnv)
	if err != nil {
		return nil, fmt.Errorf("email %s: password: %w", name, err)
	}
	e := &Notifier{name: name, cfg: cfg, password: password, red: redact.New(password,
		// what AUTH PLAIN and AUTH LOGIN send, should the server echo it
		base64.StdEncoding.EncodeToString([]byte("\x00"+cfg.Username+"\x00"+password)),
		base64.StdEncoding.EncodeToString([]byte(password))),
		tls: &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}}
	if e.subject, err = tickets.ParseTemplate("subject", cmpOr(cfg.Subject, DefaultSubject)); err != nil {
		return nil, fmt.Errorf("email %s: %w", name, err)
	}
	if e.body, err = tickets.ParseTemplate("template", cmpOr(cfg.Template, DefaultBody)); err != nil {
		return nil, fmt.Errorf("email %s: %w", name, err)
	}
	if cfg.CAFile != "" {
		pool, err := secret.CertPool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email %s: ca_file: %w", name, err)
		}
		e.tls.RootCAs = pool
	}
	if len(cfg.To) == 0 || cfg.Host == "" {
		return nil, fmt.Errorf("email %s: host and to are required", name)
	}
	return e, nil
}

// Message builds the mail of n: Message-ID and X-Facilityd-Id carry the
// idempotency key.
func (e *Notifier) Message(n tickets.Notification) (*mail.Msg, error) {
	if n.Report != nil {
		return e.reportMessage(n)
	}
	var subject, body bytes.Buffer
	if err := e.subject.Execute(&subject, n); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	if err := e.body.Execute(&body, n); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	m := mail.NewMsg()
	if err := m.From(e.cfg.From); err != nil {
		return nil, err
	}
	if err := m.To(e.cfg.To...); err != nil {
		return nil, err
	}
	// A title from outside must not start headers of its own.
	m.Subject(strings.Join(strings.Fields(subject.String()), " "))
	m.SetMessageIDWithValue(n.ID + "@facilityd")
	m.SetGenHeader(mail.Header("X-Facilityd-Id"), n.ID)
	m.SetGenHeader(mail.Header("X-Facilityd-Event"), string(n.Event.Kind))
	m.SetDateWithValue(n.Event.At)
	m.SetBodyString(mail.TypeTextPlain, body.String())
	return m, nil
}

// Notify sends n. A recipient or message the server refuses for good is
// ErrRejected; anything else (connection, TLS, login) is retried.
// Its errors, which may quote the server's replies, are redacted.
func (e *Notifier) Notify(ctx context.Context, n tickets.Notification) error {
	return e.red.Error(e.notify(ctx, n))
}

func (e *Notifier) notify(ctx context.Context, n tickets.Notification) error {
	m, err := e.Message(n)
	if err != nil {
		return fmt.Errorf("email %s: %w: %v", e.name, tickets.ErrRejected, err)
	}
	timeout := e.cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithTimeout(timeout), mail.WithTLSConfig(e.tls)}
	switch e.cfg.TLS {
	case tickets.TLSImplicit:
		opts = append(opts, mail.WithSSLPort(false))
	case tickets.TLSNone:
		opts = append(opts, mail.WithTLSPortPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	}
	if e.cfg.Port != 0 {
		opts = append(opts, mail.WithPort(e.cfg.Port))
	}
	if e.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(e.cfg.Username), mail.WithPassword(e.password))
	}
	c, err := mail.NewClient(e.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("email %s: %w", e.name, err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && (se.Reason == mail.ErrSMTPRcptTo || se.Reason == mail.ErrSMTPMailFrom ||
			se.Reason == mail.ErrSMTPData || se.Reason == mail.ErrSMTPDataClose) {
			return fmt.Errorf("email %s: %w: %v", e.name, tickets.ErrRejected, err)
		}
		return fmt.Errorf("email %s: %w", e.name, err)
	}
	return nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
