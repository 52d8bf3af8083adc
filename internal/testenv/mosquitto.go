package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mosquittoBin is where Debian's mosquitto package installs the broker.
const mosquittoBin = "/usr/sbin/mosquitto"

// MosquittoOptions change how StartMosquitto configures the broker.
type MosquittoOptions struct {
	// Persistence keeps sessions, subscriptions and queued QoS 1 messages
	// across Stop and Start, as a production broker would.
	Persistence bool
	// Users, when set, turns anonymous access off; username → password.
	Users map[string]string
	// CAFile, CertFile and KeyFile make the listener TLS; with
	// RequireClientCert the client must present a certificate signed by CAFile.
	CAFile, CertFile, KeyFile string
	RequireClientCert         bool
}

// Mosquitto is a mosquitto process owned by one test, listening on a free
// loopback port. Stop and Start take it away and bring it back on the same
// port (with its persistence file, if enabled).
type Mosquitto struct {
	// Addr is host:port; URL is tcp://Addr, or ssl://Addr for TLS.
	Addr string
	URL  string

	conf string
	proc process
}

// StartMosquitto starts /usr/sbin/mosquitto for t with a temporary config
// and data directory and stops it when the test ends. A missing binary
// skips the test, or fails it when CI=true.
func StartMosquitto(t testing.TB, opts MosquittoOptions) *Mosquitto {
	t.Helper()
	bin := mosquittoBin
	if p := os.Getenv("FACILITYD_MOSQUITTO"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: mosquitto not found at %s (CI=true, so this fails instead of skipping): apt-get install -y mosquitto", bin)
		}
		t.Skipf("testenv: mosquitto not found at %s: apt-get install -y mosquitto", bin)
	}
	dir := t.TempDir()
	m := &Mosquitto{conf: filepath.Join(dir, "mosquitto.conf")}
	m.proc = process{
		t:       t,
		name:    "mosquitto",
		argv:    []string{bin, "-c", m.conf},
		logPath: filepath.Join(dir, "mosquitto.log"),
		ready:   m.listening,
	}
	t.Cleanup(m.Stop)
	m.proc.launch(func() error {
		port := FreePort(t)
		m.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		m.URL = "tcp://" + m.Addr
		if opts.CertFile != "" {
			m.URL = "ssl://" + m.Addr
		}
		return m.configure(dir, port, opts)
	})
	return m
}

func (m *Mosquitto) configure(dir string, port int, o MosquittoOptions) error {
	var b strings.Builder
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", port)
	if os.Geteuid() == 0 {
		b.WriteString("user root\n") // else it drops to user mosquitto, who cannot read the temp dir
	}
	b.WriteString("log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n")
	b.WriteString("max_queued_messages 100000\nmax_inflight_messages 100\n")
	if o.Persistence {
		fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval 1\n", dir)
	}
	if len(o.Users) > 0 {
		pw := filepath.Join(dir, "passwd")
		if err := os.WriteFile(pw, nil, 0o600); err != nil {
			return err
		}
		tool, err := exec.LookPath("mosquitto_passwd")
		if err != nil {
			tool = "/usr/bin/mosquitto_passwd"
		}
		for u, p := range o.Users {
			if out, err := exec.Command(tool, "-b", pw, u, p).CombinedOutput(); err != nil {
				return fmt.Errorf("mosquitto_passwd: %v: %s", err, out)
			}
		}
		fmt.Fprintf(&b, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		b.WriteString("allow_anonymous true\n")
	}
	if o.CertFile != "" {
		fmt.Fprintf(&b, "certfile %s\nkeyfile %s\n", o.CertFile, o.KeyFile)
		if o.CAFile != "" {
			fmt.Fprintf(&b, "cafile %s\n", o.CAFile)
		}
		if o.RequireClientCert {
			b.WriteString("require_certificate true\n")
		}
	}
	return os.WriteFile(m.conf, []byte(b.String()), 0o600)
}

// Start brings a stopped mosquitto back on the same port. It does nothing
// when mosquitto is running.
func (m *Mosquitto) Start() {
	m.proc.t.Helper()
	m.proc.restart()
}

// Stop terminates mosquitto (SIGTERM, which saves its persistence file)
// and waits for it to exit. It does nothing when it is not running.
func (m *Mosquitto) Stop() { m.proc.stop() }

// listening reports whether mosquitto accepts connections on its port.
func (m *Mosquitto) listening(ctx context.Context) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// LogTail returns the end of mosquitto's output, for failure messages.
func (m *Mosquitto) LogTail() string { return m.proc.logTail() }
