package email

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

func notification() tickets.Notification {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	return tickets.Notification{ID: "a1b2c3-42",
		Event: tickets.Event{ID: 42, At: at, Actor: "facilityd", Kind: tickets.EventCreated, Detail: "opened P1 from rule"},
		Ticket: tickets.Ticket{ID: 7, Title: "Lift 2 stuck\r\nBcc: victim@example.com", Priority: "P1", Status: tickets.StatusOpen,
			Category: "lifts", Location: "Tower A", RespondBy: at.Add(30 * time.Minute), ResolveBy: at.Add(4 * time.Hour)}}
}

func config(t *testing.T, s *smtpd, password string) tickets.EmailConfig {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(password+"\n"), 0o600)
	cfg := tickets.EmailConfig{Host: host, Port: p, CAFile: s.caFile, Username: s.user, PasswordFile: pw,
		From: "facilityd@example.org", To: []string{"fm@example.org", "duty@example.org"}, Timeout: 5 * time.Second}
	if s.implicit {
		cfg.TLS = tickets.TLSImplicit
	}
	return cfg
}

func TestSend(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		t.Run(map[bool]string{false: "starttls", true: "implicit tls"}[implicit], func(t *testing.T) {
			s := startSMTPD(t, implicit)
			e, err := New("office", config(t, s, s.password))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Notify(context.Background(), notification()); err != nil {
				t.Fatal(err)
			}
			msgs := s.got()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages", len(msgs))
			}
			m := msgs[0]
			if m.from != "facilityd@example.org" || strings.Join(m.to, ",") != "fm@example.org,duty@example.org" {
				t.Errorf("envelope %s → %v", m.from, m.to)
			}
			for _, want := range []string{
				"Message-ID: <a1b2c3-42@facilityd>", "X-Facilityd-Id: a1b2c3-42", "X-Facilityd-Event: created",
				"Subject: [facilityd] #7 P1 created: Lift 2 stuck Bcc: victim@example.com", // one line: no injected header
				"Ticket #7", "Respond by: 2026-03-02T08:30:00Z", "Location:   Tower A", "Notification a1b2c3-42",
			} {
				if !strings.Contains(m.data, want) {
					t.Errorf("message lacks %q:\n%s", want, m.data)
				}
			}
			if head, _, _ := strings.Cut(m.data, "\r\n\r\n"); strings.Contains(head, "\r\nBcc:") {
				t.Errorf("the title injected a header:\n%s", m.data)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	s := startSMTPD(t, false)
	const wrong = "wrong-password-8c7b6a"
	e, _ := New("office", config(t, s, wrong))
	err := e.Notify(context.Background(), notification())
	if err == nil || errors.Is(err, tickets.ErrRejected) {
		t.Fatalf("bad login: err %v, want a retryable error (fixing the password fixes it)", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), s.password) {
		t.Errorf("error shows a password: %v", err)
	}
	if len(s.logins) != 1 || s.logins[0] != s.user+":"+wrong {
		t.Errorf("logins %v", s.logins)
	}

	s.mu.Lock()
	s.echo = true // the server now quotes what it was sent
	s.mu.Unlock()
	err = e.Notify(context.Background(), notification())
	if err == nil || strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("echoing server: err %v, want the password redacted", err)
	}
	t.Logf("echoing server: %v", err)
	s.mu.Lock()
	s.echo = false
	s.mu.Unlock()

	cfg := config(t, s, s.password)
	cfg.To = []string{"nobody@elsewhere.test"}
	e, _ = New("office", cfg)
	if err := e.Notify(context.Background(), notification()); !errors.Is(err, tickets.ErrRejected) {
		t.Errorf("unknown recipient: err %v, want ErrRejected", err)
	}

	cfg = config(t, s, s.password)
	cfg.CAFile = ""
	e, _ = New("office", cfg) // the system roots do not know the test CA
	if err := e.Notify(context.Background(), notification()); err == nil || errors.Is(err, tickets.ErrRejected) {
		t.Errorf("untrusted certificate: err %v, want a retryable error", err)
	}
	if n := len(s.got()); n != 0 {
		t.Errorf("%d messages delivered through failures", n)
	}
}
