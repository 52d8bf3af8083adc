package mqtt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/drivers/mqtt/broker"
	"github.com/facilityd/facilityd/internal/testenv"
)

// testBroker is a broker a test can stop and start again on the same
// address: Mosquitto, or the embedded broker.
type testBroker struct {
	name       string
	url        string
	user, pass string
	stop       func()
	start      func()
}

func (tb *testBroker) config() Config {
	c := testConfig(tb.url)
	c.Username, c.Password = tb.user, tb.pass
	return c
}

func (tb *testBroker) creds(o *paho.ClientOptions) {
	if tb.user != "" {
		o.SetUsername(tb.user).SetPassword(tb.pass)
	}
}

type brokerOptions struct {
	persistence bool
	pki         *pki
}

// brokers starts each kind of broker for a subtest.
var brokers = []struct {
	name  string
	start func(t testing.TB, o brokerOptions) *testBroker
}{
	{"mosquitto", startMosquitto},
	{"embedded", startEmbedded},
}

func startMosquitto(t testing.TB, o brokerOptions) *testBroker {
	mo := testenv.MosquittoOptions{Persistence: o.persistence}
	if o.pki != nil {
		mo.CAFile, mo.CertFile, mo.KeyFile, mo.RequireClientCert = o.pki.CA, o.pki.ServerCert, o.pki.ServerKey, true
	}
	m := testenv.StartMosquitto(t, mo)
	return &testBroker{name: "mosquitto", url: m.URL, stop: m.Stop, start: m.Start}
}

// startEmbedded runs the embedded broker with one user whose password is
// in a file; it keeps sessions in memory only, so persistence is ignored.
func startEmbedded(t testing.TB, o brokerOptions) *testBroker {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("embedded-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := broker.Config{Listen: "127.0.0.1:0", Users: []broker.User{{Username: "facilityd", PasswordFile: pwFile}}}
	scheme := "tcp://"
	if o.pki != nil {
		cfg.TLS = broker.TLSConfig{CertFile: o.pki.ServerCert, KeyFile: o.pki.ServerKey, ClientCAFile: o.pki.CA}
		scheme = "ssl://"
	}
	tb := &testBroker{name: "embedded", user: "facilityd", pass: "embedded-pw"}
	var cancel context.CancelFunc
	var done chan struct{}
	tb.start = func() {
		b, err := broker.New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, c := context.WithCancel(context.Background())
		cancel, done = c, make(chan struct{})
		errc := make(chan error, 1)
		go func() { defer close(done); errc <- b.Run(ctx) }()
		select {
		case <-b.Ready():
		case err := <-errc:
			t.Fatalf("embedded broker: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("embedded broker not ready")
		}
		cfg.Listen = b.Addr() // the same port after a restart
		tb.url = scheme + b.Addr()
	}
	tb.stop = func() {
		if cancel != nil {
			cancel()
			<-done
			cancel = nil
		}
	}
	tb.start()
	t.Cleanup(tb.stop)
	return tb
}

// TestGoldenEndToEnd publishes every golden case through each broker and
// expects the output of TestGolden.
func TestGoldenEndToEnd(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/case.yaml")
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) {
			tb := bk.start(t, brokerOptions{})
			for _, file := range files {
				want, err := os.ReadFile(filepath.Join(filepath.Dir(file), "expected.txt"))
				if err != nil || strings.HasPrefix(string(want), "error:") {
					continue
				}
				t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
					// TestGolden checks the direct run against expected.txt.
					want := runGolden(t, file, nil, tb.name)
					if got := runGolden(t, file, tb, tb.name); got != want {
						t.Errorf("output differs (-want +got):\n%s", diffLines(want, got))
					}
				})
			}
		})
	}
}
