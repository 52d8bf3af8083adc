// Package mqttconn is facilityd's one way to an MQTT broker: connect
// options from the config (credentials read at every connect, TLS through
// internal/secret), a connection kept up for ever with the back-off of
// internal/retry, and facilityd's availability (a retained online, and
// offline as the last will). The MQTT input driver, the outbound events and
// the MQTT ticket notifier all connect through it; paho stays behind its
// Client interface.
package mqttconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/secret"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Session says whether the broker keeps the client's subscriptions and
// queued QoS 1 messages while it is away.
type Session string

// Sessions.
const (
	// Persistent asks the broker to keep the session (clean session off), so
	// QoS 1 messages published while facilityd reconnects are delivered.
	Persistent Session = "persistent"
	// Clean starts every connection afresh.
	Clean Session = "clean"
)

// UnmarshalYAML accepts persistent or clean.
func (s *Session) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "session", Persistent, Clean)
	*s = v
	return err
}

// Config is a connection to the broker: the connection keys of the
// top-level mqtt section of the config file.
type Config struct {
	// Broker is the broker's URL: tcp://host:1883 (or mqtt://), ssl://host:8883
	// (or mqtts://, tls://), ws:// or wss://.
	Broker string `yaml:"broker"`
	// ClientID is fixed so that the broker can keep a persistent session.
	ClientID string `yaml:"client_id"`
	// Username and Password authenticate; PasswordFile, when set, is read
	// at every connect instead, so the secret stays out of the config file.
	Username     string    `yaml:"username"`
	Password     string    `yaml:"password"`
	PasswordFile string    `yaml:"password_file"`
	TLS          TLSConfig `yaml:"tls"`
	// QoS of the subscriptions and outbound messages: 0 or 1 (1 when unset).
	QoS     *int    `yaml:"qos"`
	Session Session `yaml:"session"`
	// KeepAlive is the MQTT keep-alive; ConnectTimeout bounds one attempt.
	KeepAlive      time.Duration `yaml:"keep_alive"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// ReconnectMin is the first wait after a failed or lost connection; the
	// wait doubles up to ReconnectMax and stays there, for ever.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// AvailabilityTopic carries "online" while facilityd is connected and
	// "offline" (the last will) otherwise, retained. Empty: no will, no
	// announcements (the ticket notifier's connections).
	AvailabilityTopic string `yaml:"availability_topic"`
}

// TLSConfig names the files of a TLS connection. Files are read at each
// connect, so renewed certificates are picked up without a restart.
type TLSConfig struct {
	// CAFile verifies the broker (system roots when empty).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate, for brokers that
	// require one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked against the broker's certificate.
	ServerName string `yaml:"server_name"`
}

// Enabled reports whether any TLS file is set.
func (t TLSConfig) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// Load builds the tls.Config from the files.
func (t TLSConfig) Load() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pool, err := secret.CertPool(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Defaults used when a Config leaves a field empty.
const (
	DefaultQoS            = 1
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultReconnectMin   = time.Second
	DefaultReconnectMax   = time.Minute
)

// WithDefaults returns c with empty fields filled in. The client id and
// availability topic default from site.
func (c Config) WithDefaults(site string) Config {
	if site == "" {
		site = "default"
	}
	if c.ClientID == "" {
		c.ClientID = "facilityd-" + site
	}
	if c.QoS == nil {
		q := DefaultQoS
		c.QoS = &q
	}
	if c.Session == "" {
		c.Session = Persistent
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	if c.AvailabilityTopic == "" {
		c.AvailabilityTopic = "facilityd/" + site + "/status"
	}
	return c
}

// secureSchemes are the broker URL schemes that use TLS.
var secureSchemes = map[string]bool{"ssl": true, "tls": true, "mqtts": true, "wss": true, "tcps": true}

// Secure reports whether a broker URL's scheme uses TLS.
func Secure(broker string) bool {
	scheme, _, _ := strings.Cut(broker, "://")
	return secureSchemes[scheme]
}

// Check reports what is wrong with a Config that had its defaults applied;
// it does no I/O. Messages name the key and say what to write instead.
func (c *Config) Check() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	u, err := url.Parse(c.Broker)
	switch {
	case c.Broker == "":
		add("broker is required, e.g. tcp://127.0.0.1:1883 or ssl://broker.example:8883 (or configure the embedded broker)")
	case err != nil:
		add("broker %q is not a URL: write e.g. tcp://127.0.0.1:1883", redact.URL(c.Broker))
	default:
		switch u.Scheme {
		case "tcp", "mqtt", "ws", "ssl", "tls", "mqtts", "wss", "tcps":
		default:
			add("broker %q: unknown scheme %q: use tcp://, ssl:// (mqtts://), ws:// or wss://", redact.URL(c.Broker), u.Scheme)
		}
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			add("broker %q: want host:port, e.g. tcp://127.0.0.1:1883", redact.URL(c.Broker))
		}
		if u.User != nil {
			add("broker %q: put credentials in username and password_file, not in the URL", redact.URL(c.Broker))
		}
		if c.TLS.Enabled() && !secureSchemes[u.Scheme] {
			add("tls files are set but broker %q is not a TLS URL: use ssl://, mqtts:// or wss://", redact.URL(c.Broker))
		}
	}
	if c.ClientID == "" {
		add("client_id is required: the broker keeps the persistent session under it")
	}
	if c.QoS != nil && (*c.QoS < 0 || *c.QoS > 1) {
		add("qos %d: use 0 or 1 (QoS 2 is not supported)", *c.QoS)
	}
	switch c.Session {
	case Persistent, Clean:
	default:
		add("unknown session %q: use persistent or clean", c.Session)
	}
	if c.Password != "" && c.PasswordFile != "" {
		add("password and password_file are both set: keep one (password_file keeps the secret out of the config)")
	}
	if (c.Password != "" || c.PasswordFile != "") && c.Username == "" {
		add("a password is set without a username")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls: cert_file and key_file go together: set both for a client certificate, or neither")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"keep_alive", c.KeepAlive}, {"connect_timeout", c.ConnectTimeout}, {"reconnect_min", c.ReconnectMin},
		{"reconnect_max", c.ReconnectMax},
	} {
		if d.v <= 0 {
			add("%s %s must be positive", d.name, d.v)
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		add("reconnect_max %s is shorter than reconnect_min %s", c.ReconnectMax, c.ReconnectMin)
	}
	if err := CheckTopic(c.AvailabilityTopic); err != nil {
		add("availability_topic: %v", err)
	}
	return errs
}

// CheckTopic checks a topic to publish to: no wildcards, not empty.
func CheckTopic(t string) error {
	switch {
	case t == "":
		return errors.New("topic is empty")
	case strings.ContainsAny(t, "+#\x00"):
		return fmt.Errorf("topic %q: + and # are for subscriptions, not for publishing", t)
	}
	return nil
}

// QoSLevel returns the configured QoS as a byte (DefaultQoS when unset).
func (c *Config) QoSLevel() byte {
	if c.QoS == nil {
		return DefaultQoS
	}
	return byte(*c.QoS)
}

// Secret returns the configured password, reading password_file if set, for
// every client of the broker (the connection itself, the simulator). Errors
// name the file, never its content.
func (c *Config) Secret() (string, error) {
	if c.PasswordFile == "" {
		return c.Password, nil
	}
	pw, err := secret.Read(c.PasswordFile, "")
	if err != nil {
		return "", fmt.Errorf("password_file: %w", err)
	}
	return pw, nil
}

// LogValue keeps the password out of logs: a Config handed to slog shows
// whether a password is set, never the password.
func (c Config) LogValue() slog.Value {
	pw := "unset"
	if c.Password != "" {
		pw = "set"
	}
	return slog.GroupValue(
		slog.String("broker", redact.URL(c.Broker)),
		slog.String("client_id", c.ClientID),
		slog.String("username", c.Username),
		slog.String("password", pw),
		slog.String("password_file", c.PasswordFile),
		slog.Bool("tls", c.TLS.Enabled()),
		slog.String("session", string(c.Session)),
	)
}

// String formats the config like LogValue, so %v cannot leak the password.
func (c Config) String() string { return c.LogValue().String() }
