package mqtt

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/mqttconn"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/*/expected.txt")

// goldenCase is testdata/<case>/case.yaml: profiles, devices and the
// messages that arrive, in order.
type goldenCase struct {
	MaxPayload int                         `yaml:"max_payload"`
	Profiles   map[string]*drivers.Profile `yaml:"profiles"`
	Devices    []struct {
		ID      string       `yaml:"id"`
		Profile string       `yaml:"profile"`
		MQTT    DeviceConfig `yaml:"mqtt"`
	} `yaml:"devices"`
	Messages []struct {
		Topic   string `yaml:"topic"`
		Payload string `yaml:"payload"`
		// NotOn names brokers that do not deliver the message.
		NotOn []string `yaml:"not_on"`
	} `yaml:"messages"`
}

// arrival is the clock of golden cases: samples without a timestamp of
// their own carry it.
var arrival = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestGolden reads every testdata/<case>/case.yaml, feeds its messages to a
// driver and compares the samples and problems with expected.txt (or the
// construction error with expected.txt when New fails). Run with -update to
// rewrite the expected files after a deliberate change.
func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/case.yaml")
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := runGolden(t, file, nil, "")
			want := filepath.Join(dir, "expected.txt")
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if got != string(b) {
				t.Errorf("output differs from %s (-want +got):\n%s", want, diffLines(string(b), got))
			}
		})
	}
}

// runGolden runs one case. With a nil broker the messages go straight to
// the driver's handler; otherwise the driver runs against the broker and
// each message is published and waited for in turn. With skipFor set (a
// broker's name), messages that broker would not deliver are left out.
func runGolden(t *testing.T, file string, tb *testBroker, skipFor string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var gc goldenCase
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&gc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var devs []Device
	for _, d := range gc.Devices {
		devs = append(devs, Device{ID: d.ID, Profile: gc.Profiles[d.Profile], Config: d.MQTT})
	}
	cfg := Config{Config: mqttconn.Config{Broker: "tcp://127.0.0.1:1883"}, MaxPayload: gc.MaxPayload}.WithDefaults("golden")
	if tb != nil {
		cfg = tb.config()
		cfg.MaxPayload = gc.MaxPayload
		cfg = cfg.WithDefaults("golden")
	}
	drv, err := New(cfg, devs, nil)
	if err != nil {
		return "error: " + strings.ReplaceAll(err.Error(), "\n", "\nerror: ") + "\n"
	}
	var b strings.Builder
	drv.now = func() time.Time { return arrival }
	drv.ctx = context.Background()
	sink := drivers.SinkFunc(func(_ context.Context, ss []drivers.Sample) {
		for _, s := range ss {
			if s.Measurement == drivers.HealthMeasurement {
				continue
			}
			fmt.Fprintf(&b, "  %s %s %s %s=%s %s\n", s.Device, s.Measurement, s.Point, kindName(s.Value.Kind), s.Value, s.Time.UTC().Format(time.RFC3339Nano))
		}
	})
	drv.sink = sink
	feed := drv.onMessage
	if tb != nil {
		runDriver(t, drv, sink)
		waitFor(t, 10*time.Second, "connection", drv.Connected)
		pub := testClient(t, tb.url, "golden-publisher", tb.creds)
		feed = func(topic string, payload []byte) {
			n := drv.Stats().Messages
			publish(t, pub, topic, 1, false, string(payload)).WaitTimeout(5 * time.Second)
			waitFor(t, 5*time.Second, "message on "+topic, func() bool { return drv.Stats().Messages > n })
		}
	}
	for _, m := range gc.Messages {
		if skipFor != "" && !delivered(drv, m.Topic, m.NotOn, skipFor) {
			continue
		}
		before := drv.Stats()
		fmt.Fprintf(&b, "%s %s\n", m.Topic, clip(strings.TrimSpace(m.Payload)))
		feed(m.Topic, []byte(m.Payload))
		after := drv.Stats()
		ts := after.Topics[m.Topic]
		switch {
		case after.Malformed > before.Malformed:
			fmt.Fprintf(&b, "  ! malformed: %s\n", ts.LastError)
		case after.Oversize > before.Oversize:
			fmt.Fprintf(&b, "  ! oversize: %s\n", ts.LastError)
		case after.Unmatched > before.Unmatched:
			fmt.Fprintf(&b, "  ! unmatched\n")
		}
	}
	fmt.Fprintf(&b, "states:\n")
	states := drv.States()
	for _, dev := range drv.order {
		st := states[dev.ID]
		fmt.Fprintf(&b, "  %s %s messages=%d errors=%d skipped=%d\n", dev.ID, st.Status, st.Messages, st.Errors, st.Skipped)
	}
	return b.String()
}

func kindName(k drivers.Kind) string {
	return [...]string{"float", "int", "bool", "string"}[k]
}

// diffLines shows the lines that differ, for golden failures.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// delivered reports whether a broker delivers a message on topic to the
// driver: brokers do not take $ topics from clients, do not send what no
// subscription matches, and some miss a few cases (not_on).
func delivered(d *Driver, topic string, notOn []string, broker string) bool {
	if strings.HasPrefix(topic, "$") || slices.Contains(notOn, broker) {
		return false
	}
	for _, r := range d.routes {
		if _, _, ok := r.f.match(topic); ok {
			return true
		}
	}
	return false
}
