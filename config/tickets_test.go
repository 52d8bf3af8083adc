package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTicketsSection(t *testing.T) {
	dir := t.TempDir()
	write := func(tickets string) string {
		p := filepath.Join(dir, "c.yaml")
		text := "site: t\nstate_dir: " + dir + "\ninfluxdb: {url: \"http://127.0.0.1:1\", bucket: f/a}\ntickets:\n" + tickets
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := Load(write(`  reopen_within: 2h
  on_alert_resolved: resolve
  follow_up: optional
  escalation: {priority: raise, notify: [duty], check_interval: 30s}
  sla:
    P1: {respond_within: 15m, resolve_within: 2h, follow_up_within: 24h}
  outbox: {retry_min: 2s, retry_max: 10m, give_up_after: 72h}
  receivers:
    - name: duty
      events: [created, sla_breach]
      mqtt: {broker: "tcp://127.0.0.1:1883", topic: "facilityd/tickets/{{.Ticket.ID}}", qos: 2}
    - name: cmms
      priorities: [P1, P2]
      webhook:
        url: https://cmms.example/api/work-orders
        secret_file: /run/secrets/cmms
        headers: {Authorization: "Bearer ${CMMS_TOKEN:-t}"}
        template: |
          {"ref": {{json .ID}}, "title": {{json .Ticket.Title}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Tickets
	if tc.ReopenWithin != 2*time.Hour || tc.Escalation.Notify[0] != "duty" || tc.SLA["P1"].RespondWithin != 15*time.Minute ||
		tc.Receivers[0].MQTT.QoS != 2 || tc.Receivers[1].Webhook.SecretFile != "/run/secrets/cmms" ||
		!strings.Contains(tc.Receivers[1].Webhook.Template, "{{json .ID}}") || tc.Outbox.GiveUpAfter != 72*time.Hour {
		t.Fatalf("decoded %+v", tc)
	}
	_, err = Load(write(`  follow_up: yes
  receivers:
    - name: cmms
      webhook: {url: "ftp://x", secret_env: X, secret_file: y}
`))
	if err == nil {
		t.Fatal("bad tickets section accepted")
	}
	p := filepath.Join(dir, "c.yaml")
	for _, want := range []string{
		p + `:5:14: tickets: follow_up: unknown value "yes", want required or optional`,
		p + `:8:22: tickets: receiver "cmms": webhook: url must be an http or https URL`,
		`tickets: receiver "cmms": set secret_file or secret_env, not both`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
