package tickets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigProblems(t *testing.T) {
	good := Config{
		OnAlertResolved: OnResolvedResolve, FollowUp: FollowUpOptional, ReopenWithin: time.Hour,
		Escalation: Escalation{Priority: EscalateRaise, Notify: []string{"duty"}},
		Receivers: []Receiver{
			{Name: "duty", MQTT: &MQTTConfig{Broker: "tcp://127.0.0.1:1883", Topic: "facilityd/tickets/{{.Ticket.ID}}"}},
			{Name: "cmms", Events: []string{"created", "transition"}, Webhook: &WebhookConfig{URL: "https://cmms.example/api",
				Template: `{"ref": {{json .ID}}, "title": {{json .Ticket.Title}}}`}},
			{Name: "office", Email: &EmailConfig{Host: "smtp.example", From: "facilityd@example.org", To: []string{"fm@example.org"}}},
		},
	}
	if ps := good.Problems(); len(ps) != 0 {
		t.Fatalf("good config: %+v", ps)
	}
	bad := Config{
		OnAlertResolved: "close", FollowUp: "yes",
		Escalation: Escalation{Priority: "up", Notify: []string{"nobody"}, CheckInterval: -time.Second},
		Outbox:     Outbox{RetryMin: -1},
		Receivers: []Receiver{
			{Name: "twice", Webhook: &WebhookConfig{URL: "ftp://x"}, MQTT: &MQTTConfig{Broker: "tcp://x:1", Topic: "t", QoS: 3}},
			{Name: "twice", Events: []string{"opened"}, Priorities: []string{"P5"},
				Webhook: &WebhookConfig{URL: "http://x", SecretFile: "a", SecretEnv: "B", Template: "{{.Ticket.Title"}},
			{Email: &EmailConfig{From: "not an address", TLS: "ssl"}},
		},
	}
	ps := bad.Problems()
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.Msg)
		if p.At == nil {
			t.Errorf("problem %q has no position", p.Msg)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`on_alert_resolved: unknown value "close", want record or resolve`,
		`follow_up: unknown value "yes"`,
		`priority: unknown value "up", want keep or raise`,
		`escalation: notify: unknown receiver "nobody"`,
		"check_interval -1s must not be negative",
		"retry_min -1ns must not be negative",
		`receiver "twice": set exactly one of webhook, mqtt or email`,
		`receiver "twice": webhook: url must be an http or https URL`,
		`receiver "twice": mqtt: qos 3`,
		`receiver "twice": defined twice`,
		`receiver "twice": unknown event kind "opened"`,
		`receiver "twice": unknown priority "P5"`,
		`receiver "twice": set secret_file or secret_env, not both`,
		`receiver "twice": template: template: template:1: unclosed action`,
		"receivers[2]: name is required",
		"receivers[2]: email: host is required",
		`receivers[2]: email: tls: unknown value "ssl"`,
		`receivers[2]: email: from "not an address"`,
		"receivers[2]: email: to needs at least one address",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	for _, p := range ps {
		if strings.Contains(p.Msg, "name is required") && p.At != &bad.Receivers[2] {
			t.Errorf("%q points at %T %p, want the receiver %p", p.Msg, p.At, p.At, &bad.Receivers[2])
		}
		if strings.Contains(p.Msg, "email: host") && p.At != bad.Receivers[2].Email {
			t.Errorf("%q points at %T %p, want the email section", p.Msg, p.At, p.At)
		}
	}
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "tickets: ") {
		t.Errorf("Validate: %v", err)
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	os.WriteFile(file, []byte("s3cr3t-value\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("FACILITYD_TEST_SECRET", "from-env")
	for _, tt := range []struct {
		file, env, want, err string
	}{
		{file: file, want: "s3cr3t-value"},
		{env: "FACILITYD_TEST_SECRET", want: "from-env"},
		{},
		{file: empty, err: "is empty"},
		{file: filepath.Join(dir, "missing"), err: "no such file"},
		{env: "FACILITYD_TEST_UNSET", err: "FACILITYD_TEST_UNSET is unset"},
	} {
		got, err := ReadSecret(tt.file, tt.env)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ReadSecret(%q, %q) = %q, %v; want %q, %q", tt.file, tt.env, got, err, tt.want, tt.err)
		}
	}
}

func TestTemplateFuncs(t *testing.T) {
	tmpl, err := ParseTemplate("t", `{"title": {{json .Ticket.Title}}, "at": {{json (rfc3339 .Event.At)}}, "p": "{{lower .Ticket.Priority}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := Notification{Ticket: Ticket{Title: `Pump "2" <tripped>`, Priority: "P1"},
		Event: Event{At: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}}
	if err := tmpl.Execute(&b, n); err != nil {
		t.Fatal(err)
	}
	if want := `{"title": "Pump \"2\" \u003ctripped\u003e", "at": "2026-03-02T08:00:00Z", "p": "p1"}`; b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
	if tmpl, err := ParseTemplate("t", ""); tmpl != nil || err != nil {
		t.Errorf("empty template: %v %v", tmpl, err)
	}
}
