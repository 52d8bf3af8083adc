package tickets

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// leaky is a Notifier whose errors quote a server that echoed credentials,
// as a notifier that forgot to redact would return them.
type leaky struct{ reject bool }

func (l leaky) Notify(context.Context, Notification) error {
	msg := "HTTP 500: Authorization: Bearer bearer-9z8y7x\nGET http://u:pw-5566@h/?api_key=key-1234 " + strings.Repeat("é", 600)
	if l.reject {
		return fmt.Errorf("%w: %s", ErrRejected, msg)
	}
	return fmt.Errorf("%s", msg)
}

// TestOutboxLastErrorRedacted: whatever a notifier returns, the outbox's
// last_error shows no credential-looking value, no newline, and stays short.
func TestOutboxLastErrorRedacted(t *testing.T) { backends(t, testOutboxLastErrorRedacted) }

func testOutboxLastErrorRedacted(t *testing.T) {
	cfg := Config{Receivers: []Receiver{webhookReceiver("retry"), webhookReceiver("drop")}, Outbox: fastOutbox}
	s, _ := openTemp(t, cfg, newClock())
	runDispatcher(t, s, map[string]Notifier{"retry": leaky{}, "drop": leaky{reject: true}}, nil)
	raise(t, s, alert("1"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.Outbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done := len(st) == 2
		for _, o := range st {
			done = done && o.LastError != ""
		}
		if done {
			for _, o := range st {
				for _, bad := range []string{"bearer-9z8y7x", "pw-5566", "key-1234", "\n"} {
					if strings.Contains(o.LastError, bad) {
						t.Errorf("%s: last_error shows %q: %s", o.Receiver, bad, o.LastError)
					}
				}
				if len(o.LastError) > 512 || !strings.Contains(o.LastError, "bytes more)") {
					t.Errorf("%s: last_error not capped (%d bytes): %s", o.Receiver, len(o.LastError), o.LastError)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no last_error recorded: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
