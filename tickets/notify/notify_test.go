package notify

import (
	"strings"
	"testing"

	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/notify/email"
	"github.com/facilityd/facilityd/tickets/notify/mqtt"
	"github.com/facilityd/facilityd/tickets/notify/webhook"
)

func TestBuild(t *testing.T) {
	ns, err := Build([]tickets.Receiver{
		{Name: "w", Webhook: &tickets.WebhookConfig{URL: "http://127.0.0.1:1/"}},
		{Name: "m", MQTT: &tickets.MQTTConfig{Broker: "tcp://127.0.0.1:1", Topic: "t"}},
		{Name: "e", Email: &tickets.EmailConfig{Host: "127.0.0.1", From: "a@example.org", To: []string{"b@example.org"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ns["w"].(*webhook.Notifier); !ok {
		t.Errorf("w is %T", ns["w"])
	}
	if _, ok := ns["m"].(*mqtt.Notifier); !ok {
		t.Errorf("m is %T", ns["m"])
	}
	if _, ok := ns["e"].(*email.Notifier); !ok {
		t.Errorf("e is %T", ns["e"])
	}
	_, err = Build([]tickets.Receiver{
		{Name: "a", Webhook: &tickets.WebhookConfig{URL: "http://x/", SecretEnv: "FACILITYD_TEST_UNSET_SECRET"}},
		{Name: "b"},
	})
	if err == nil || !strings.Contains(err.Error(), "FACILITYD_TEST_UNSET_SECRET") || !strings.Contains(err.Error(), `receiver "b"`) {
		t.Errorf("err %v, want both receivers named", err)
	}
}
