package mqtt

import (
	"fmt"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/mqttconn"
)

// Config is the publish section of the top-level mqtt section: the topics
// of outbound events; an empty topic is not published. Alert topics may
// contain {device}, {rule} and {severity}; ticket topics {device} and {id};
// device topics {device}.
type Config struct {
	// Alerts receives alert transitions (pending, firing, resolved) as JSON.
	Alerts string `yaml:"alerts"`
	// Tickets receives ticket events as JSON.
	Tickets string `yaml:"tickets"`
	// DeviceStatus receives each device's status, retained; it must
	// contain {device}.
	DeviceStatus string `yaml:"device_status"`
	// DeviceState receives each device's latest point values as one JSON
	// object, retained, at most every StateInterval; it must contain
	// {device}. Home Assistant discovery points its sensors here.
	DeviceState   string        `yaml:"device_state"`
	StateInterval time.Duration `yaml:"state_interval"`
	// HomeAssistant is the discovery prefix (usually homeassistant); when set,
	// every device point is announced to Home Assistant. It needs DeviceState.
	HomeAssistant string `yaml:"homeassistant"`
	// Queue is how many events wait while the broker is unreachable; beyond
	// it the oldest are dropped and counted.
	Queue int `yaml:"queue"`
}

// Defaults used when a Config leaves a field empty.
const (
	DefaultStateInterval = 10 * time.Second
	DefaultQueue         = 1000
)

// WithDefaults returns c with empty fields filled in.
func (c Config) WithDefaults() Config {
	if c.StateInterval == 0 {
		c.StateInterval = DefaultStateInterval
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	return c
}

// Check reports what is wrong with a Config that had its defaults applied;
// it does no I/O. Messages name the key (publish.…) and say what to write
// instead.
func (c *Config) Check() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.StateInterval <= 0 {
		add("publish.state_interval %s must be positive", c.StateInterval)
	}
	if c.Queue <= 0 {
		add("publish.queue %d must be positive", c.Queue)
	}
	for _, t := range []struct {
		key, topic string
		allowed    []string
		need       string
	}{
		{"publish.alerts", c.Alerts, []string{"device", "rule", "severity"}, ""},
		{"publish.tickets", c.Tickets, []string{"device", "id"}, ""},
		{"publish.device_status", c.DeviceStatus, []string{"device"}, "device"},
		{"publish.device_state", c.DeviceState, []string{"device"}, "device"},
	} {
		if t.topic == "" {
			continue
		}
		if err := checkTemplate(t.topic, t.allowed, t.need); err != nil {
			add("%s: %v", t.key, err)
		}
	}
	if c.HomeAssistant != "" {
		if err := mqttconn.CheckTopic(c.HomeAssistant); err != nil {
			add("publish.homeassistant: %v", err)
		}
		if c.DeviceState == "" {
			add("publish.homeassistant needs publish.device_state: Home Assistant reads point values from there")
		}
	}
	return errs
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
	return mqttconn.CheckTopic(t)
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
