package usage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/store"
)

// fakeFlux answers every query, Flux or InfluxQL, with no rows, or with err.
type fakeFlux struct {
	queries int
	err     error
}

var (
	_ Flux     = (*fakeFlux)(nil)
	_ InfluxQL = (*fakeFlux)(nil)
)

func (f *fakeFlux) Bucket() string { return "b" }
func (f *fakeFlux) QueryRows(context.Context, string, func(map[string]any) error) error {
	f.queries++
	return f.err
}
func (f *fakeFlux) QueryInfluxQL(context.Context, string, func(store.InfluxQLSeries) error) error {
	f.queries++
	return f.err
}

// fluxOnly is a source without InfluxQL.
type fluxOnly struct{ fakeFlux }

func (fluxOnly) QueryInfluxQL() {} // hides the embedded method

// TestHandlerStatus: the status follows the kind of error, not its text.
func TestHandlerStatus(t *testing.T) {
	cfg := &Config{Meters: []*Meter{{ID: "m", Device: "d", Measurement: "energy_meter", Counter: "kwh", Unit: KWh, Category: Electricity, PollInterval: 60e9}}}
	const q = "/api/v1/energy/consumption?from=2025-06-01&to=2025-06-02"
	for _, c := range []struct {
		name string
		e    *Engine
		code int
	}{
		// An InfluxDB error that happens to mention slots and unknown
		// meters is still InfluxDB's.
		{"influxdb fails", NewEngine(&fakeFlux{err: errors.New("unknown meter: 3 slots")}, cfg), http.StatusBadGateway},
		{"flux fails", NewEngine(&fakeFlux{err: errors.New("timeout")}, &Config{Meters: cfg.Meters, Query: FluxBackend}), http.StatusBadGateway},
		{"no influxql", NewEngine(&fluxOnly{}, cfg), http.StatusInternalServerError},
		{"flux only, flux asked", NewEngine(&fluxOnly{}, &Config{Meters: cfg.Meters, Query: FluxBackend}), http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		NewHandler(c.e, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q, nil))
		if rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.code)
		}
	}
	_, err := NewEngine(&fakeFlux{}, cfg).Consumption(t.Context(), Query{Meters: []string{"nope"}, From: time.Unix(0, 0), To: time.Unix(3600, 0), Interval: Hour})
	if !errors.Is(err, ErrBadQuery) || errors.Is(err, ErrSource) {
		t.Errorf("unknown meter: %v is not only ErrBadQuery", err)
	}
}

func TestHandler(t *testing.T) {
	cfg := &Config{Meters: []*Meter{{ID: "m", Device: "d", Measurement: "energy_meter", Counter: "kwh", Unit: KWh, Category: Electricity, PollInterval: 60e9}}}
	f := &fakeFlux{}
	h := NewHandler(NewEngine(f, cfg), nil)
	for _, c := range []struct {
		query string
		code  int
	}{
		{"from=2025-06-01&to=2025-06-02&interval=1h&tz=Asia/Shanghai", 200},
		{"from=2025-06-01&to=2025-06-02&interval=2h", 400},
		{"from=2025-06-02&to=2025-06-01", 400},
		{"from=2025-06-01&to=2025-06-02&meter=nope", 400},
		{"from=2025-06-01&to=2025-06-02&category=steam", 400},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/energy/consumption?"+c.query, nil))
		if rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.query, rec.Code, rec.Body, c.code)
			continue
		}
		if c.code == 200 {
			var rep Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil || len(rep.Meters) != 1 || len(rep.Meters[0].Slots) != 24 || rep.Zone != "Asia/Shanghai" {
				t.Errorf("%s: %v %s", c.query, err, rec.Body)
			}
		}
	}
}

func TestDecode(t *testing.T) {
	_, err := Decode("m.yaml", []byte("meters:\n  - id: a\n    devize: x\n    category: eletricity\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`m.yaml:3:5: unknown field "devize"`, `did you mean "device"?`, "m.yaml:4:15:", `did you mean "electricity"?`} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	c, err := Decode("m.yaml", []byte("meters:\n  - {id: main, device: d1, counter: import_energy}\n  - {id: sub, device: d2, counter: import_energy, parent: mian, sub_item: hvac}\n  - {id: w, device: d3, counter: total_volume, sub_item: hvac}\n"))
	if err != nil {
		t.Fatal(err)
	}
	devs := map[string]Device{
		"d1": {Measurement: "energy_meter", Tags: map[string]string{"category": "electricity", "building": "A"}},
		"d2": {Measurement: "energy_meter", Tags: map[string]string{"category": "electricity"}},
		"d3": {Measurement: "water_meter", Tags: map[string]string{"category": "water"}},
	}
	err = c.Resolve(func(id string) (Device, bool) { d, ok := devs[id]; return d, ok })
	for _, want := range []string{`m.yaml:3:`, `unknown parent "mian" (did you mean "main"?)`, `m.yaml:4:`, "sub_item is for electricity only"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("Resolve error %v lacks %q", err, want)
		}
	}
	if c.Meters[0].Building != "A" || c.Meters[0].Unit != KWh || c.Meters[2].Unit != M3 {
		t.Errorf("defaults not filled: %+v %+v", c.Meters[0], c.Meters[2])
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
