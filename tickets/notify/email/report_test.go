package email

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// TestReportThroughOutboxOutage: a report queued while the mail server is
// down is not lost: the dispatcher retries, the daemon restarts, and once
// the server is back the mail arrives once, with the archived file
// attached byte for byte.
func TestReportThroughOutboxOutage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pdf := filepath.Join(dir, "monthly-2026-11-en.pdf")
	content := []byte("%PDF-1.4 test report\x00\x01\x02")
	if err := os.WriteFile(pdf, content, 0o644); err != nil {
		t.Fatal(err)
	}
	// A free port with nothing behind it: the outage.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	probe := &smtpd{addr: addr, user: "facilityd", password: "smtp-password-4f3e2d"}
	down := startSMTPD(t, false) // only for its CA and user: the notifier points at addr
	probe.caFile = down.caFile
	cfg := config(t, probe, probe.password)
	receiver := tickets.Receiver{Name: "manager", Email: &cfg}
	tcfg := tickets.Config{Receivers: []tickets.Receiver{receiver},
		Outbox: tickets.Outbox{RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond}}
	db := filepath.Join(dir, "tickets.db")
	s1, err := tickets.Open(ctx, db, tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	n := tickets.ReportNotice{Name: "monthly", Kind: "energy", Period: "2026-11", Lang: "en", GeneratedAt: gen,
		From: gen.AddDate(0, -1, 0), To: gen,
		Files: []tickets.ReportFile{{Format: "pdf", Name: filepath.Base(pdf), Path: pdf, Size: int64(len(content)), URL: "http://h/x.pdf"}}}
	if k, err := s1.EnqueueReport(ctx, "monthly-2026-11-en", []string{"manager"}, n); err != nil || k != 1 {
		t.Fatalf("EnqueueReport: %d %v", k, err)
	}
	run := func(s *tickets.Store) (stop func()) {
		e, err := New("manager", cfg)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Dispatcher(map[string]tickets.Notifier{"manager": e}, nil).Run(rctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := run(s1)
	waitOutbox(t, s1, func(o tickets.OutboxState) bool { return o.Pending == 1 && o.LastError != "" })
	stop()
	s1.Close()

	srv := startSMTPDAt(t, false, addr) // the server is back, after the restart
	cfg.CAFile = srv.caFile             // with a certificate of its own
	s2, err := tickets.Open(ctx, db, tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	defer run(s2)()
	waitOutbox(t, s2, func(o tickets.OutboxState) bool { return o.Pending == 0 && o.Delivered == 1 })
	msgs := srv.got()
	if len(msgs) != 1 {
		t.Fatalf("server got %d mails, want 1", len(msgs))
	}
	m, err := mail.ReadMessage(strings.NewReader(msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if subj := m.Header.Get("Subject"); !strings.Contains(subj, "energy report 2026-11") || m.Header.Get("X-Facilityd-Event") != "report" {
		t.Errorf("subject %q, headers %v", subj, m.Header)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var attached []byte
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if p.FileName() == filepath.Base(pdf) {
			attached, _ = io.ReadAll(p) // multipart decodes quoted-printable, not base64
			if p.Header.Get("Content-Transfer-Encoding") == "base64" {
				attached = decodeBase64(t, attached)
			}
		}
	}
	if string(attached) != string(content) {
		t.Fatalf("attachment %q, want %q", attached, content)
	}
}

func waitOutbox(t *testing.T, s *tickets.Store, ok func(tickets.OutboxState) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := s.Outbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(st) == 1 && ok(st[0]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decodeBase64(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
