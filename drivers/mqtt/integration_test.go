package mqtt

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/internal/mqttconn"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestBrokerRestart stops Mosquitto mid-stream and starts it again: every
// message published after the restart arrives, because the driver
// reconnects and subscribes again. With persistence the broker also queues
// for facilityd's persistent session what is published while it is away.
func TestBrokerRestart(t *testing.T) {
	cases := []struct {
		broker  int
		persist bool
	}{{0, false}, {0, true}, {1, false}}
	for _, c := range cases {
		bk := brokers[c.broker]
		persist := c.persist
		t.Run(fmt.Sprintf("%s/persistence=%v", bk.name, persist), func(t *testing.T) {
			m := bk.start(t, brokerOptions{persistence: persist})
			drv, err := New(m.config(), []Device{valueDevice("s1")}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			got := newCollector()
			runDriver(t, drv, got)
			waitFor(t, 10*time.Second, "first connection", drv.Connected)
			pub := testClient(t, m.url, "publisher", m.creds)
			send := func(from, to int) {
				var last paho.Token
				for i := from; i < to; i++ {
					last = publish(t, pub, "site/s1/seq", 1, false, fmt.Sprint(i))
				}
				if !last.WaitTimeout(10*time.Second) || last.Error() != nil {
					t.Fatalf("publish: %v", last.Error())
				}
			}
			send(0, 100)
			waitFor(t, 10*time.Second, "100 messages before the restart", func() bool { return len(got.values("seq")) >= 100 })

			m.stop()
			waitFor(t, 10*time.Second, "the driver to notice", func() bool { return !drv.Connected() })
			m.start()
			if !persist {
				// The broker forgot the subscription: wait until the
				// driver has made it again.
				waitFor(t, 10*time.Second, "reconnect", func() bool { return drv.Stats().Connects >= 2 })
			}
			pub = testClient(t, m.url, "publisher-2", m.creds)
			send(100, 300)
			waitFor(t, 15*time.Second, "every message after the restart", func() bool {
				seen := map[int64]bool{}
				for _, s := range got.values("seq") {
					seen[s.Value.I] = true
				}
				for i := int64(100); i < 300; i++ {
					if !seen[i] {
						return false
					}
				}
				return true
			})
			// With a persistent session the broker delivers as soon as
			// the driver is back, a moment before the driver counts the
			// connection: wait for the count rather than read it once.
			waitFor(t, 5*time.Second, "the reconnect to be counted", func() bool { return drv.Stats().Connects >= 2 })
		})
	}
}

// TestMalformedFlood sends 10,000 malformed messages and then good ones:
// every good one arrives, and the malformed ones are counted, with only a
// few log lines.
func TestMalformedFlood(t *testing.T) {
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) { testMalformedFlood(t, bk.start(t, brokerOptions{})) })
	}
}

func testMalformedFlood(t *testing.T, m *testBroker) {
	logs := &lockedWriter{w: new(bytes.Buffer)}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	dev := valueDevice("s2")
	dev.Config.Format = JSON
	drv, err := New(m.config(), []Device{dev}, logger)
	if err != nil {
		t.Fatal(err)
	}
	got := newCollector()
	runDriver(t, drv, got)
	waitFor(t, 10*time.Second, "connection", drv.Connected)
	pub := testClient(t, m.url, "flooder", m.creds)
	const bad, good = 10000, 200
	for i := range bad {
		payload := []string{`{"broken`, `not json`, `{"a":1}{`, "\xff\xfe", `[1,2`}[i%5]
		publish(t, pub, "site/s2/temperature", 1, false, payload)
	}
	var last paho.Token
	for i := range good {
		last = publish(t, pub, "site/s2/seq", 1, false, fmt.Sprint(i))
	}
	last.WaitTimeout(30 * time.Second)
	waitFor(t, 30*time.Second, "every good message", func() bool { return len(got.values("seq")) == good })
	st := drv.Stats()
	if st.Malformed != bad {
		t.Errorf("malformed = %d, want %d", st.Malformed, bad)
	}
	if ts := st.Topics["site/s2/temperature"]; ts.Malformed != bad {
		t.Errorf("per-topic malformed = %d, want %d", ts.Malformed, bad)
	}
	if n := strings.Count(logs.String(), "mqtt message not stored"); n < 1 || n > 5 {
		t.Errorf("%d log lines for %d malformed messages on one topic, want 1 (rate-limited)", n, bad)
	}
}

// TestTLS connects through a TLS listener that requires a client
// certificate, and fails to without one.
func TestTLS(t *testing.T) {
	p := testPKI(t)
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) { testTLS(t, bk.start(t, brokerOptions{pki: &p}), p) })
	}
}

func testTLS(t *testing.T, m *testBroker, p pki) {
	cfg := m.config()
	cfg.TLS = mqttconn.TLSConfig{CAFile: p.CA, CertFile: p.ClientCert, KeyFile: p.ClientKey}
	drv, err := New(cfg, []Device{valueDevice("s3")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := newCollector()
	runDriver(t, drv, got)
	waitFor(t, 10*time.Second, "TLS connection", drv.Connected)
	tc, err := cfg.TLS.Load()
	if err != nil {
		t.Fatal(err)
	}
	pub := testClient(t, m.url, "tls-publisher", func(o *paho.ClientOptions) { m.creds(o); o.SetTLSConfig(tc) })
	publish(t, pub, "site/s3/temperature", 1, false, "21.5").WaitTimeout(5 * time.Second)
	waitFor(t, 10*time.Second, "a message over TLS", func() bool { return len(got.values("temperature")) == 1 })

	noCert := m.config()
	noCert.ClientID = "no-cert"
	noCert.TLS = mqttconn.TLSConfig{CAFile: p.CA}
	drv2, err := New(noCert, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	runDriver(t, drv2, newCollector())
	waitFor(t, 10*time.Second, "a refused attempt", func() bool { return drv2.Stats().ConnectErrors > 0 })
	if drv2.Connected() {
		t.Error("connected without a client certificate")
	}
}

// TestSecretsNotLogged connects with a wrong password read from a file and
// checks that neither the logs nor the stats show it.
func TestSecretsNotLogged(t *testing.T) {
	const secret = "s3cr3t-Pa55w0rd-XYZ"
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{Users: map[string]string{"facilityd": "the-right-one"}})
	logs := &lockedWriter{w: new(bytes.Buffer)}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := testConfig(m.URL)
	cfg.Username, cfg.Password = "facilityd", secret
	drv, err := New(cfg, []Device{valueDevice("s4")}, logger)
	if err != nil {
		t.Fatal(err)
	}
	runDriver(t, drv, newCollector())
	waitFor(t, 10*time.Second, "a refused attempt", func() bool { return drv.Stats().ConnectErrors > 1 })
	logger.Info("config", "mqtt", cfg)
	out := logs.String() + fmt.Sprintf("%v %+v", cfg, drv.Stats())
	if strings.Contains(out, secret) {
		t.Fatalf("the password appears in logs or stats:\n%s", out)
	}
	if !strings.Contains(logs.String(), "mqtt connect failed") {
		t.Errorf("the failure was not logged:\n%s", logs.String())
	}
}
