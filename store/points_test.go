package store

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

func TestToPointsGroups(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	t1 := t0.Add(time.Second)
	tags := map[string]map[string]string{
		"pump-1": {"site": "hq", "building": "A", "floor": "", "device": "spoofed"},
		"pump-2": {"site": "hq", "building": "B"},
	}
	calls := map[string]int{}
	tagsOf := func(id string) map[string]string { calls[id]++; return tags[id] }
	s := func(dev, meas, point string, v drivers.Value, ts time.Time) drivers.Sample {
		return drivers.Sample{Time: ts, Device: dev, Measurement: meas, Point: point, Value: v}
	}
	batch := []drivers.Sample{
		s("pump-1", "pump", "flow", drivers.Float(12.5), t0),
		s("pump-1", "pump", "running", drivers.Bool(true), t0),
		s("pump-2", "pump", "flow", drivers.Float(3), t0),
		s("pump-1", "pump", "starts", drivers.Int(42), t0),
		s("pump-1", "pump", "flow", drivers.Float(12.75), t1),
		s("pump-1", "device_health", "up", drivers.Bool(true), t0),
		s("pump-2", "pump", "mode", drivers.String(`auto "eco"`), t0),
		s("pump-1", "pump", "flow", drivers.Float(13), t0), // repeat: last wins
	}
	var lines []string
	for _, p := range toPoints(batch, tagsOf) {
		lines = append(lines, write.PointToLineProtocol(p, time.Nanosecond))
	}
	want := []string{
		`pump,building=A,device=pump-1,site=hq flow=13,running=true,starts=42i 1700000000000000000`,
		`pump,building=B,device=pump-2,site=hq flow=3,mode="auto \"eco\"" 1700000000000000000`,
		`pump,building=A,device=pump-1,site=hq flow=12.75 1700000001000000000`,
		`device_health,building=A,device=pump-1,site=hq up=true 1700000000000000000`,
	}
	got := strings.TrimSpace(strings.Join(lines, ""))
	if got != strings.Join(want, "\n") {
		t.Errorf("line protocol:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if calls["pump-1"] != 1 || calls["pump-2"] != 1 {
		t.Errorf("tags called %v, want once per device", calls)
	}
}

func TestToPointsNilTags(t *testing.T) {
	batch := []drivers.Sample{{Time: time.Unix(1, 0), Device: "m1", Measurement: "energy_meter", Point: "kwh", Value: drivers.Float(1)}}
	got := strings.TrimSpace(write.PointToLineProtocol(toPoints(batch, nil)[0], time.Nanosecond))
	if want := "energy_meter,device=m1 kwh=1 1000000000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStorable(t *testing.T) {
	ok := drivers.Sample{Time: time.Now(), Device: "d", Measurement: "m", Point: "p", Value: drivers.Float(1)}
	cases := map[string]struct {
		edit func(*drivers.Sample)
		want bool
	}{
		"good":        {func(*drivers.Sample) {}, true},
		"uncertain":   {func(s *drivers.Sample) { s.Quality = drivers.Uncertain }, true},
		"zero time":   {func(s *drivers.Sample) { s.Time = time.Time{} }, true},
		"bad":         {func(s *drivers.Sample) { s.Quality = drivers.Bad }, false},
		"nan":         {func(s *drivers.Sample) { s.Value = drivers.Float(math.NaN()) }, false},
		"inf":         {func(s *drivers.Sample) { s.Value = drivers.Float(math.Inf(-1)) }, false},
		"no device":   {func(s *drivers.Sample) { s.Device = "" }, false},
		"no point":    {func(s *drivers.Sample) { s.Point = "" }, false},
		"no meas":     {func(s *drivers.Sample) { s.Measurement = "" }, false},
		"year 1600":   {func(s *drivers.Sample) { s.Time = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		"year 2300":   {func(s *drivers.Sample) { s.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		"odd kind":    {func(s *drivers.Sample) { s.Value.Kind = 9 }, false},
		"text":        {func(s *drivers.Sample) { s.Value = drivers.String("x") }, true},
		"empty text":  {func(s *drivers.Sample) { s.Value = drivers.String("") }, true},
		"negative ok": {func(s *drivers.Sample) { s.Value = drivers.Int(-5) }, true},
	}
	for name, c := range cases {
		s := ok
		c.edit(&s)
		if got := storable(&s); got != c.want {
			t.Errorf("%s: storable = %v, want %v", name, got, c.want)
		}
	}
}
