package usage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: whatever the meter file holds, Decode returns a config or an
// error at file:line:col, never panics, and Resolve on what it returns
// neither panics.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"meters:\n  - {id: main, device: d1, counter: import_energy, rollover: 99999999}\n  - {id: sub, device: d2, counter: import_energy, parent: main, sub_item: hvac}\n",
		"meters:\n  - id: p\n    device: d3\n    power: total_power\n    unit: kW\n    max_gap: 10m\n    poll_interval: 1m\nquery: flux\n",
		"query: influxql\nmeters: []\n",
		"meters:\n  - id: a\n    devize: x\n    category: eletricity\n",
		"meters:\n  - null\n  - {id: a, id: b}\n",
		"meters: {a: 1}\n",
		"query: sql\n",
		"",
		"---\nmeters: []\n---\nmeters: []\n",
		"meters:\n  - &m {id: a, device: d1, counter: c}\n  - *m\n",
	} {
		f.Add(seed)
	}
	devices := func(id string) (Device, bool) {
		if !strings.HasPrefix(id, "d") {
			return Device{}, false
		}
		return Device{Measurement: "energy_meter", Tags: map[string]string{"category": "electricity", "site": "hq"}}, true
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Decode("m.yaml", []byte(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "m.yaml:") {
				t.Fatalf("error without its place: %v", err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(data) {
				t.Fatalf("error is not UTF-8: %q", err)
			}
			return
		}
		if c == nil {
			t.Fatal("nil config without an error")
		}
		if err := c.Resolve(devices); err != nil && !strings.HasPrefix(err.Error(), "m.yaml:") {
			t.Fatalf("Resolve error without its place: %v", err)
		}
		switch c.Query {
		case "", InfluxQLBackend, FluxBackend:
		default:
			t.Fatalf("query %q decoded", c.Query)
		}
	})
}
