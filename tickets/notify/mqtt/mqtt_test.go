package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/facilityd/facilityd/tickets"
)

const password = "mqtt-password-7e6d5c"

type message struct {
	topic   string
	payload []byte
	qos     byte
}

// broker starts an embedded broker on a free loopback port that admits
// user facilityd with password, and returns its URL and what it receives.
func broker(t *testing.T) (string, <-chan message) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	err = srv.AddHook(new(auth.Hook), &auth.Options{Ledger: &auth.Ledger{
		Auth: auth.AuthRules{{Username: "facilityd", Password: password, Allow: true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	got := make(chan message, 10)
	err = srv.Subscribe("facilityd/#", 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		got <- message{pk.TopicName, append([]byte(nil), pk.Payload...), pk.FixedHeader.Qos}
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return "tcp://" + addr, got
}

func passwordFile(t *testing.T, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(p, []byte(pw+"\n"), 0o600)
	return p
}

func notification(id string) tickets.Notification {
	return tickets.Notification{ID: id, Event: tickets.Event{ID: 9, Kind: tickets.EventCreated},
		Ticket: tickets.Ticket{ID: 7, Title: "Lift 2 stuck between floors", Priority: "P1", Category: "lifts"}}
}

func TestPublishToBroker(t *testing.T) {
	url, got := broker(t)
	m, err := New("duty", tickets.MQTTConfig{Broker: url, Topic: "facilityd/tickets/{{.Ticket.Category}}/{{.Ticket.ID}}",
		Username: "facilityd", PasswordFile: passwordFile(t, password), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	for _, id := range []string{"x-1", "x-2"} { // the second reuses the connection
		if err := m.Notify(ctx, notification(id)); err != nil {
			t.Fatal(err)
		}
		select {
		case msg := <-got:
			var n tickets.Notification
			if err := json.Unmarshal(msg.payload, &n); err != nil || n.ID != id || n.Ticket.Title != "Lift 2 stuck between floors" {
				t.Fatalf("payload %s: %v", msg.payload, err)
			}
			if msg.topic != "facilityd/tickets/lifts/7" || msg.qos != 1 {
				t.Fatalf("topic %q qos %d", msg.topic, msg.qos)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the broker got nothing")
		}
	}
}

func TestWrongPassword(t *testing.T) {
	url, _ := broker(t)
	const wrong = "wrong-password-1a2b3c"
	m, err := New("duty", tickets.MQTTConfig{Broker: url, Topic: "facilityd/t", Username: "facilityd",
		PasswordFile: passwordFile(t, wrong), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Notify(context.Background(), notification("x-1"))
	if err == nil || errors.Is(err, tickets.ErrRejected) {
		t.Fatalf("wrong password: err %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), password) {
		t.Fatalf("error shows the password: %v", err)
	}
}

// fakeConn fails its publishes while broken.
type fakeConn struct {
	broken bool
	closed bool
	sent   []string
}

var _ Conn = (*fakeConn)(nil)

func (f *fakeConn) Publish(_ context.Context, topic string, _ byte, payload []byte) error {
	if f.broken {
		return errors.New("connection lost")
	}
	f.sent = append(f.sent, topic+" "+string(payload))
	return nil
}

func (f *fakeConn) Close() { f.closed = true }

func TestReconnectsAfterFailure(t *testing.T) {
	var conns []*fakeConn
	dial := func(context.Context) (Conn, error) {
		c := &fakeConn{broken: len(conns) == 0}
		conns = append(conns, c)
		return c, nil
	}
	m, err := NewWithDialer("duty", tickets.MQTTConfig{Topic: "t/{{.Event.Kind}}", Template: "{{.ID}}", QoS: 2}, dial)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Notify(ctx, notification("a")); err == nil {
		t.Fatal("publish on a broken connection succeeded")
	}
	if !conns[0].closed {
		t.Error("broken connection not closed")
	}
	if err := m.Notify(ctx, notification("a")); err != nil || len(conns) != 2 || conns[1].sent[0] != "t/created a" {
		t.Fatalf("retry: err %v, conns %d %+v", err, len(conns), conns)
	}
	if _, err := NewWithDialer("x", tickets.MQTTConfig{Topic: "t", QoS: 3}, dial); err == nil {
		t.Error("qos 3 accepted")
	}
}
