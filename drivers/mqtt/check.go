package mqtt

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/redact"
)

// secureSchemes are the broker URL schemes that use TLS.
var secureSchemes = map[string]bool{"ssl": true, "tls": true, "mqtts": true, "wss": true, "tcps": true}

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
		{"reconnect_max", c.ReconnectMax}, {"health_interval", c.HealthInterval}, {"publish.state_interval", c.Publish.StateInterval},
	} {
		if d.v <= 0 {
			add("%s %s must be positive", d.name, d.v)
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		add("reconnect_max %s is shorter than reconnect_min %s", c.ReconnectMax, c.ReconnectMin)
	}
	if c.MaxPayload <= 0 {
		add("max_payload %d must be positive (bytes)", c.MaxPayload)
	}
	if c.Publish.Queue <= 0 {
		add("publish.queue %d must be positive", c.Publish.Queue)
	}
	if err := checkTopicName(c.AvailabilityTopic); err != nil {
		add("availability_topic: %v", err)
	}
	p := c.Publish
	for _, t := range []struct {
		key, topic string
		allowed    []string
		need       string
	}{
		{"publish.alerts", p.Alerts, []string{"device", "rule", "severity"}, ""},
		{"publish.tickets", p.Tickets, []string{"device", "id"}, ""},
		{"publish.device_status", p.DeviceStatus, []string{"device"}, "device"},
		{"publish.device_state", p.DeviceState, []string{"device"}, "device"},
	} {
		if t.topic == "" {
			continue
		}
		if err := checkTemplate(t.topic, t.allowed, t.need); err != nil {
			add("%s: %v", t.key, err)
		}
	}
	if p.HomeAssistant != "" {
		if err := checkTopicName(p.HomeAssistant); err != nil {
			add("publish.homeassistant: %v", err)
		}
		if p.DeviceState == "" {
			add("publish.homeassistant needs publish.device_state: Home Assistant reads point values from there")
		}
	}
	return errs
}

// checkTopicName checks a topic to publish to: no wildcards, not empty.
func checkTopicName(t string) error {
	switch {
	case t == "":
		return errors.New("topic is empty")
	case strings.ContainsAny(t, "+#\x00"):
		return fmt.Errorf("topic %q: + and # are for subscriptions, not for publishing", t)
	}
	return nil
}

// checkTemplate checks a topic with {placeholders}.
func checkTemplate(t string, allowed []string, need string) error {
	rest := t
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("topic %q: { without }", t)
		}
		name := rest[i+1 : i+j]
		found := false
		for _, a := range allowed {
			found = found || a == name
		}
		if !found {
			return fmt.Errorf("topic %q: unknown placeholder {%s}: use {%s}", t, name, strings.Join(allowed, "}, {"))
		}
		rest = rest[i+j+1:]
	}
	if need != "" && !strings.Contains(t, "{"+need+"}") {
		return fmt.Errorf("topic %q must contain {%s}", t, need)
	}
	return checkTopicName(t)
}

// expand fills a topic template; values are made safe as topic levels.
func expand(t string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		t = strings.ReplaceAll(t, "{"+kv[i]+"}", topicSafe(kv[i+1]))
	}
	return t
}

// topicSafe replaces what would change a topic's structure.
func topicSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '/', '+', '#', 0:
			return '_'
		}
		return r
	}, s)
}
