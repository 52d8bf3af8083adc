package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// t0 is the start of every test timeline.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

var pumpPoints = map[string]drivers.Kind{
	"running": drivers.KindBool, "fault": drivers.KindBool, "discharge_pressure": drivers.KindFloat,
	"motor_current": drivers.KindFloat, "run_hours": drivers.KindFloat, "mode": drivers.KindFloat,
}

func pump(id, gateway string, tags map[string]string) *Device {
	return &Device{ID: id, Type: "pump", Profile: "booster_pump", Gateway: gateway, Tags: tags, Points: pumpPoints}
}

// parseRules parses a rule file given as text and fails the test on errors.
func parseRules(t testing.TB, text string) *Set {
	t.Helper()
	f, err := ParseFile("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return &Set{Rules: f.Rules(), Inhibit: f.Inhibit}
}

func newTestEngine(t testing.TB, text string, devices ...*Device) *Engine {
	t.Helper()
	set := parseRules(t, text)
	if errs := Check(set, devices); len(errs) > 0 {
		t.Fatalf("check: %v", errs)
	}
	e, err := NewEngine(set, devices, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// poll returns the samples of one poll of a device: name=value pairs, with
// true/false for booleans.
func poll(device string, ts time.Time, kv ...any) []drivers.Sample {
	var out []drivers.Sample
	for i := 0; i+1 < len(kv); i += 2 {
		s := drivers.Sample{Time: ts, Device: device, Measurement: "pump", Point: kv[i].(string)}
		switch v := kv[i+1].(type) {
		case bool:
			s.Value = drivers.Bool(v)
		case float64:
			s.Value = drivers.Float(v)
		case int:
			s.Value = drivers.Float(float64(v))
		default:
			panic(fmt.Sprintf("poll: %T", v))
		}
		out = append(out, s)
	}
	return out
}

func health(device string, ts time.Time, up bool) []drivers.Sample {
	return []drivers.Sample{{Time: ts, Device: device, Measurement: drivers.HealthMeasurement, Point: "up", Value: drivers.Bool(up)}}
}

// summary formats transitions as "rule/subject:from>to[!]" (! = Notify),
// for compact assertions.
func summary(ts []Transition) string {
	var parts []string
	for _, t := range ts {
		s := fmt.Sprintf("%s/%s:%s>%s", t.Alert.Rule, t.Alert.Subject(), t.From, t.To)
		if t.Notify {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func states(e *Engine) string {
	var parts []string
	for _, a := range e.Alerts() {
		parts = append(parts, fmt.Sprintf("%s/%s:%s", a.Rule, a.Subject(), a.State))
	}
	return strings.Join(parts, " ")
}

func expectTransitions(t *testing.T, what string, got []Transition, want string) {
	t.Helper()
	if s := summary(got); s != want {
		t.Errorf("%s: transitions %q, want %q", what, s, want)
	}
}
