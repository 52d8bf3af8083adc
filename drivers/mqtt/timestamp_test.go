package mqtt

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/drivers"
)

// TestTimestampWindow feeds a device a payload stamped a day ahead and one
// stamped at unix_ms -1e17: both are rejected and counted as malformed,
// and the normal payload after them is stored with its own time and gives
// a finite, non-negative latency_ms.
func TestTimestampWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dev := Device{ID: "p1", Profile: &drivers.Profile{Type: "pump", Points: []drivers.Point{{Name: "pressure", Path: "p"}}},
		Config: DeviceConfig{Topic: "pumps/p1", Timestamp: TimestampConfig{Path: "ts", Format: TimeUnixMs}}}
	drv, err := New(testConfig("tcp://127.0.0.1:1883"), []Device{dev}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := newCollector()
	drv.now = func() time.Time { return now }
	drv.ctx, drv.sink, drv.started = context.Background(), got, now

	bad := []struct{ payload, reason string }{
		{fmt.Sprintf(`{"p": 1, "ts": %d}`, now.Add(24*time.Hour).UnixMilli()), "timestamp 2026-03-02T12:00:00Z is 1d in the future of arrival (max_future 5m)"},
		{`{"p": 2, "ts": -100000000000000000}`, "timestamp -100000000000000000 (unix_ms) is out of range"},
	}
	for i, b := range bad {
		drv.onMessage("pumps/p1", []byte(b.payload))
		if s := got.values("pressure"); len(s) != 0 {
			t.Fatalf("%s: stored %v, want it rejected", b.payload, s)
		}
		st, ds := drv.Stats(), drv.States()["p1"]
		if st.Malformed != int64(i+1) || ds.Errors != int64(i+1) || st.Topics["pumps/p1"].Malformed != int64(i+1) {
			t.Errorf("%s: malformed %d, device errors %d, topic malformed %d; want %d", b.payload, st.Malformed, ds.Errors, st.Topics["pumps/p1"].Malformed, i+1)
		}
		if !strings.HasPrefix(ds.LastError, b.reason) {
			t.Errorf("%s: last error %q, want %q", b.payload, ds.LastError, b.reason)
		}
		if ds.Latency != 0 {
			t.Errorf("%s: latency %v from a rejected sample", b.payload, ds.Latency)
		}
	}

	stamp := now.Add(-1500 * time.Millisecond)
	drv.onMessage("pumps/p1", fmt.Appendf(nil, `{"p": 3, "ts": %d}`, stamp.UnixMilli()))
	s := got.values("pressure")
	if len(s) != 1 || s[0].Value.F != 3 || !s[0].Time.Equal(stamp) {
		t.Fatalf("after the bad payloads stored %v, want pressure 3 at %s", s, stamp)
	}
	drv.healthTick()
	lat := got.health(drivers.HealthLatency)
	if len(lat) != 1 {
		t.Fatalf("latency samples %v, want one", lat)
	}
	if ms := lat[0].Value.F; math.IsInf(ms, 0) || math.IsNaN(ms) || ms < 0 || ms != 1500 {
		t.Errorf("latency_ms = %v, want 1500", ms)
	}
	if errs := got.health(drivers.HealthErrors); len(errs) != 1 || errs[0].Value.I != 2 {
		t.Errorf("health errors %v, want 2", errs)
	}
}

// TestTimestampWindowPerRecord rejects only the records and lines whose
// timestamps are out of the window: the rest of the payload is stored.
func TestTimestampWindowPerRecord(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := &drivers.Profile{Type: "pump", Points: []drivers.Point{{Name: "pressure", Path: "p"}}}
	recs, err := newDevice(Device{ID: "r", Profile: p, Config: DeviceConfig{Topic: "x", Records: "rows",
		Timestamp: TimestampConfig{Path: "ts", Format: TimeUnix, MaxFuture: time.Minute, MaxAge: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	influx, err := newDevice(Device{ID: "i", Profile: p, Config: DeviceConfig{Topic: "x", Format: Influx, Timestamp: TimestampConfig{Format: TimeUnixMs}}})
	if err != nil {
		t.Fatal(err)
	}
	u := now.Unix()
	for _, c := range []struct {
		d       *device
		payload string
		want    []float64
		err     string
	}{
		{recs, fmt.Sprintf(`{"rows": [{"p": 1, "ts": %d}, {"p": 2, "ts": %d}, {"p": 3, "ts": %d}, {"p": 4, "ts": %d}]}`, u+61, u-30, u-3601, u+60),
			[]float64{2, 4}, "is 1m1s in the future of arrival (max_future 1m)"},
		{recs, fmt.Sprintf(`{"rows": [{"p": 1, "ts": %d}, {"p": 2, "ts": %d}]}`, u-3601, u), []float64{2}, "is 1h0m1s older than arrival (max_age 1h)"},
		{influx, fmt.Sprintf("m pressure=1 %d\nm pressure=2 %d\nm pressure=3 -100000000000000000\nm pressure=4\n", now.Add(time.Hour).UnixMilli(), now.UnixMilli()),
			[]float64{2, 4}, "in the future of arrival (max_future 5m)"},
	} {
		ss, res := c.d.parse([]byte(c.payload), "", now, nil)
		var vals []float64
		for _, s := range ss {
			vals = append(vals, s.Value.F)
		}
		if fmt.Sprint(vals) != fmt.Sprint(c.want) || res.err == nil || !strings.Contains(res.err.Error(), c.err) {
			t.Errorf("%s: stored %v with error %v; want %v and %q", c.payload, vals, res.err, c.want, c.err)
		}
	}
}

// TestParseUnixRange: unix values beyond int64 nanoseconds are errors, not
// times that wrapped around; the extremes that fit are read exactly.
func TestParseUnixRange(t *testing.T) {
	for _, c := range []struct {
		format string
		v      any
		want   time.Time // zero: an error
	}{
		{TimeUnixMs, "100000000000000000", time.Time{}},
		{TimeUnixMs, "-100000000000000000", time.Time{}},
		{TimeUnixMs, "99999999999999999999", time.Time{}},
		{TimeUnixMs, "-99999999999999999999", time.Time{}},
		{TimeUnix, "9300000000", time.Time{}},
		{TimeUnix, "9223372036.854775808", time.Time{}},
		{TimeUnix, "99999999999999999999.5", time.Time{}},
		{TimeUnixUs, int64(math.MaxInt64), time.Time{}},
		{TimeUnixMs, int64(math.MinInt64), time.Time{}},
		{TimeUnix, "9223372036.854775807", time.Unix(0, math.MaxInt64)},
		{TimeUnix, "-9223372036.854775808", time.Unix(0, math.MinInt64)},
		{TimeUnixNs, int64(math.MaxInt64), time.Unix(0, math.MaxInt64)},
		{TimeUnixNs, "-9223372036854775808", time.Unix(0, math.MinInt64)},
		{TimeUnixMs, "1772366400123", time.UnixMilli(1772366400123)},
		{TimeUnix, "1772366403.25", time.Unix(1772366403, 250e6)},
	} {
		tp, err := newTimeParser(c.format, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := tp.parse(c.v)
		switch {
		case c.want.IsZero() && err == nil:
			t.Errorf("%s %v: got %s, want an error", c.format, c.v, got)
		case c.want.IsZero() && !strings.Contains(err.Error(), "out of range"):
			t.Errorf("%s %v: error %v, want out of range", c.format, c.v, err)
		case !c.want.IsZero() && (err != nil || !got.Equal(c.want)):
			t.Errorf("%s %v: got %s, %v; want %s", c.format, c.v, got, err, c.want)
		}
	}
}

// TestTimestampLimitsConfig: max_future and max_age default to 5m and 7
// days, are read from YAML, and negative values are reported by New,
// naming the device.
func TestTimestampLimitsConfig(t *testing.T) {
	c := DeviceConfig{Topic: "x"}.WithDefaults()
	if c.Timestamp.MaxFuture != 5*time.Minute || c.Timestamp.MaxAge != 7*24*time.Hour {
		t.Errorf("defaults: max_future %s, max_age %s; want 5m and 168h", c.Timestamp.MaxFuture, c.Timestamp.MaxAge)
	}
	var dc DeviceConfig
	if err := yaml.Unmarshal([]byte("{topic: x, timestamp: {path: ts, format: unix, max_future: 30s, max_age: 720h}}"), &dc); err != nil {
		t.Fatal(err)
	}
	if dc = dc.WithDefaults(); dc.Timestamp.MaxFuture != 30*time.Second || dc.Timestamp.MaxAge != 720*time.Hour {
		t.Errorf("from YAML: max_future %s, max_age %s; want 30s and 720h", dc.Timestamp.MaxFuture, dc.Timestamp.MaxAge)
	}
	p := &drivers.Profile{Type: "pump", Points: []drivers.Point{{Name: "pressure"}}}
	d, err := newDevice(Device{ID: "d", Profile: p, Config: dc})
	if err != nil {
		t.Fatal(err)
	}
	if d.window != (window{30 * time.Second, 720 * time.Hour}) {
		t.Errorf("device window %+v", d.window)
	}
	cfg := testConfig("tcp://127.0.0.1:1883")
	_, err = New(cfg, []Device{{ID: "neg", Profile: p, Config: DeviceConfig{Topic: "x", Timestamp: TimestampConfig{Path: "ts", Format: TimeUnix, MaxFuture: -time.Second, MaxAge: -time.Hour}}}}, nil)
	want := []string{`device "neg": timestamp: max_future -1s must not be negative`, `device "neg": timestamp: max_age -1h0m0s must not be negative`}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New: %v, want %q", err, w)
		}
	}
	if _, err := New(cfg, []Device{{ID: "influx", Profile: p, Config: DeviceConfig{Topic: "x", Format: Influx, Timestamp: TimestampConfig{MaxAge: -1}}}}, nil); err == nil || !strings.Contains(err.Error(), "max_age") {
		t.Errorf("influx device with negative max_age: %v, want an error", err)
	}
}

// TestSpan checks the lengths of time in rejection messages.
func TestSpan(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		a    time.Time
		want string
	}{
		{time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC), "100y"},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "7974y"},
		{base.Add(36 * time.Hour), "1.5d"},
		{base.Add(90 * time.Minute), "1h30m"},
		{base.Add(time.Hour), "1h"},
		{base.Add(250 * time.Millisecond), "250ms"},
	} {
		if got := span(c.a, base); got != c.want {
			t.Errorf("span %s: %s, want %s", c.a, got, c.want)
		}
	}
	if got := (window{5 * time.Minute, 7 * 24 * time.Hour}).check(time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC), base); got == nil ||
		got.Error() != "timestamp 2126-01-01T00:00:00Z is 100y in the future of arrival (max_future 5m)" {
		t.Errorf("check: %v", got)
	}
}
