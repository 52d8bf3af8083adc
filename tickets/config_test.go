package tickets

import (
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
