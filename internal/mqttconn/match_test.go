package mqttconn

import "testing"

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"homeassistant/status", "homeassistant/status", true},
		{"homeassistant/status", "homeassistant/status/x", false},
		{"site/+/+", "site/p1/temp", true},
		{"site/+/+", "site/p1", false},
		{"site/#", "site", true},
		{"site/#", "site/a/b/c", true},
		{"#", "anything/at/all", true},
		{"#", "$SYS/broker", false},
		{"+/x", "$SYS/x", false},
		{"a/+", "a/", true},
		{"a/b", "a/c", false},
	} {
		if got := Match(c.filter, c.topic); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}
