package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// collect is a sink that keeps copies of what it is given.
type collect struct{ samples []drivers.Sample }

func (c *collect) Put(_ context.Context, s []drivers.Sample) { c.samples = append(c.samples, s...) }

var _ drivers.Sink = (*collect)(nil)

func TestBackfill(t *testing.T) {
	to := time.Date(2026, 3, 10, 14, 0, 30, 0, time.UTC) // off the grid on purpose
	from := to.Add(-48 * time.Hour)
	devs := []BackfillDevice{{ID: "meter-1", Profile: meterProfile()}, {ID: "pump-1", Profile: pumpProfile()}}
	faults := []Fault{{Device: "pump-1", Kind: "low_pressure", After: 6 * time.Hour}}
	b, err := NewBackfill(BackfillConfig{Devices: devs, From: from, To: to, Seed: 1}, faults)
	if err != nil {
		t.Fatal(err)
	}
	first, last, steps := b.Span()
	if want := from.Truncate(time.Minute).Add(time.Minute); !first.Equal(want) || !last.Equal(to.Truncate(time.Minute)) || steps != 48*60 {
		t.Fatalf("span %s .. %s, %d steps; want %s .. %s, %d", first, last, steps, want, to.Truncate(time.Minute), 48*60)
	}
	var sink collect
	var reports int
	n, err := b.Run(context.Background(), &sink, func(BackfillProgress) { reports++ })
	if err != nil {
		t.Fatal(err)
	}
	perStep := len(meterProfile().Points) + len(pumpProfile().Points)
	if n != int64(len(sink.samples)) || len(sink.samples) != steps*perStep {
		t.Fatalf("%d samples (reported %d), want %d", len(sink.samples), n, steps*perStep)
	}
	if reports < 20 || reports > 21 {
		t.Errorf("%d progress reports, want about 20", reports)
	}

	type key struct{ dev, point string }
	prev := map[key]drivers.Sample{}
	counters := map[key]bool{
		{"meter-1", "import_energy"}: true, {"meter-1", "total_energy"}: true, {"meter-1", "max_demand"}: true,
		{"pump-1", "run_hours"}: true, {"pump-1", "starts"}: true,
	}
	firstVal := map[key]float64{}
	for _, s := range sink.samples {
		if !s.Time.Equal(s.Time.Truncate(time.Minute)) || s.Time.Before(first) || s.Time.After(last) {
			t.Fatalf("sample %s %s at %s: off the grid or the span", s.Device, s.Point, s.Time)
		}
		if want := map[string]string{"meter-1": "energy_meter", "pump-1": "pump"}[s.Device]; s.Measurement != want {
			t.Fatalf("sample of %s in measurement %q, want %q", s.Device, s.Measurement, want)
		}
		k := key{s.Device, s.Point}
		if s.Point == "running" || s.Point == "fault" {
			continue // the pump profile has each twice, a bit and a coil
		}
		if p, ok := prev[k]; ok {
			if !s.Time.After(p.Time) {
				t.Fatalf("%v: %s after %s", k, s.Time, p.Time)
			}
			if counters[k] && s.Value.Float64() < p.Value.Float64() {
				t.Fatalf("counter %v went down at %s: %v -> %v", k, s.Time, p.Value.Float64(), s.Value.Float64())
			}
		} else {
			firstVal[k] = s.Value.Float64()
		}
		prev[k] = s
		if k == (key{"pump-1", "discharge_pressure"}) {
			p := s.Value.Float64()
			switch before := s.Time.Sub(first) < 6*time.Hour; {
			case before && p < 2.5:
				t.Fatalf("discharge %.2f bar at %s, before the fault", p, s.Time)
			case !before && p > 1.5:
				t.Fatalf("discharge %.2f bar at %s, after the fault", p, s.Time)
			}
		}
	}
	for k := range counters {
		if k.point == "starts" {
			continue // a running pump does not restart
		}
		if got := prev[k].Value.Float64(); got <= firstVal[k] {
			t.Errorf("counter %v did not rise: %v -> %v", k, firstVal[k], got)
		}
	}
	if got := prev[key{"pump-1", "run_hours"}].Value.Float64() - firstVal[key{"pump-1", "run_hours"}]; got < 47.9 || got > 48.1 {
		t.Errorf("run hours rose by %.3f h over 48 h of running", got)
	}

	// The live simulator carries on from where the history ends.
	state := b.State()
	s, err := New(Config{Addr: "127.0.0.1:0", Devices: building(), Seed: 2, Tick: -1, State: state}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Step(to)
	s.Step(to.Add(time.Minute))
	for _, p := range []string{"import_energy", "max_demand"} {
		got, _ := s.Value("meter-1", p)
		if end := state["meter-1"][p]; got < end || p == "import_energy" && got > end+5 {
			t.Errorf("live %s = %v, want from the backfill's %v on", p, got, end)
		}
	}
	if got, end := func() (float64, float64) {
		v, _ := s.Value("pump-1", "run_hours")
		return v, state["pump-1"]["run_hours"]
	}(); got < end || got > end+0.1 {
		t.Errorf("live run_hours = %v, want from the backfill's %v on", got, end)
	}
}

func TestBackfillOfflineAndErrors(t *testing.T) {
	to := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	b, err := NewBackfill(BackfillConfig{Devices: []BackfillDevice{{ID: "pump-1", Profile: pumpProfile()}},
		From: to.Add(-time.Hour), To: to, Step: 10 * time.Second}, []Fault{{Device: "pump-1", Kind: FaultOffline, After: 30 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	var sink collect
	if _, err := b.Run(context.Background(), &sink, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range sink.samples {
		if s.Time.Sub(to.Add(-time.Hour)) >= 30*time.Minute {
			t.Fatalf("an offline device wrote %s at %s", s.Point, s.Time)
		}
	}
	if want := 180 * len(pumpProfile().Points); len(sink.samples) != want {
		t.Errorf("%d samples, want %d (30 min at 10 s)", len(sink.samples), want)
	}

	_, err = NewBackfill(BackfillConfig{Devices: []BackfillDevice{{ID: "x", Profile: &drivers.Profile{Type: "chiller"}}},
		From: to, To: to.Add(-time.Hour)}, []Fault{{Device: "nope", Kind: "trip"}})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"not before", `device "x": no model`, `no device "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// discard is a sink that only counts.
type discard struct{ n int }

func (d *discard) Put(_ context.Context, s []drivers.Sample) { d.n += len(s) }

// BenchmarkBackfill generates a day of a meter and a pump at one-minute
// steps, without storage: the generator's share of a backfill.
func BenchmarkBackfill(b *testing.B) {
	to := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	devs := []BackfillDevice{{ID: "meter-1", Profile: meterProfile()}, {ID: "pump-1", Profile: pumpProfile()}}
	var samples int
	for b.Loop() {
		bf, err := NewBackfill(BackfillConfig{Devices: devs, From: to.Add(-24 * time.Hour), To: to}, nil)
		if err != nil {
			b.Fatal(err)
		}
		var sink discard
		if _, err := bf.Run(context.Background(), &sink, nil); err != nil {
			b.Fatal(err)
		}
		samples += sink.n
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
}

func TestMQTTValue(t *testing.T) {
	f := func(p drivers.Point, v float64, want drivers.Value, wantOK bool) {
		t.Helper()
		got, ok := mqttValue(&p, v)
		if ok != wantOK || ok && got != want {
			t.Errorf("%s (%s) of %v = %+v, %v; want %+v, %v", p.Name, p.Type, v, got, ok, want, wantOK)
		}
	}
	f(drivers.Point{Name: "total_volume", Type: drivers.TypeFloat64}, 12.5, drivers.Float(12.5), true)
	f(drivers.Point{Name: "total_volume", Type: drivers.TypeUint32, Scale: 0.5}, 12.5, drivers.Float(12.5), true)
	f(drivers.Point{Name: "starts", Type: drivers.TypeUint32}, 12, drivers.Int(12), true)
	f(drivers.Point{Name: "starts", Type: drivers.TypeUint32}, 12.5, drivers.Value{}, false)
	f(drivers.Point{Name: "running", Type: drivers.TypeBool}, 1, drivers.Bool(true), true)
	f(drivers.Point{Name: "mode", Type: drivers.TypeUint16, Enum: map[int64]string{2: "auto"}}, 2, drivers.String("auto"), true)
	f(drivers.Point{Name: "mode", Type: drivers.TypeUint16, Enum: map[int64]string{2: "auto"}}, 7, drivers.String("unknown(7)"), true)
}

// TestBackfillTiers: history older than the recent span is written at the
// old step, the rest at the step, with no overlap or gap, and the energy
// faults of the history are listed with their place in it.
func TestBackfillTiers(t *testing.T) {
	to := time.Date(2026, 3, 10, 14, 0, 30, 0, time.UTC)
	from := to.Add(-30 * 24 * time.Hour)
	devs := []BackfillDevice{{ID: "meter-1", Profile: meterProfile()}}
	faults := []Fault{{Device: "meter-1", Kind: FaultHVACNight, After: 24 * time.Hour, Until: 48 * time.Hour, Size: 8}}
	b, err := NewBackfill(BackfillConfig{Devices: devs, From: from, To: to, Seed: 1}, faults)
	if err != nil {
		t.Fatal(err)
	}
	first, last, steps := b.Span()
	split := to.Add(-7 * 24 * time.Hour).Truncate(15 * time.Minute)
	wantSteps := int(split.Sub(first)/(15*time.Minute)) + int(last.Sub(split)/time.Minute) + 1
	if !first.Equal(from.Truncate(15*time.Minute).Add(15*time.Minute)) || !last.Equal(to.Truncate(time.Minute)) || steps != wantSteps {
		t.Fatalf("span %s .. %s, %d steps; want %d", first, last, steps, wantSteps)
	}
	var sink collect
	if _, err := b.Run(context.Background(), &sink, nil); err != nil {
		t.Fatal(err)
	}
	var prev time.Time
	var n int
	for _, s := range sink.samples {
		if s.Point != "import_energy" {
			continue
		}
		n++
		if !prev.IsZero() {
			want := 15 * time.Minute
			if !s.Time.Before(split.Add(time.Minute)) {
				want = time.Minute
			}
			if d := s.Time.Sub(prev); d != want {
				t.Fatalf("sample at %s is %s after the one before, want %s", s.Time, d, want)
			}
		}
		prev = s.Time
	}
	if n != steps {
		t.Errorf("%d samples of import_energy, want %d", n, steps)
	}
	gt := b.GroundTruth()
	if len(gt) != 1 || !gt[0].Start.Equal(first.Add(24*time.Hour)) || !gt[0].End.Equal(first.Add(48*time.Hour)) || gt[0].Size != 8 || gt[0].Unit != "kW" {
		t.Errorf("ground truth %+v", gt)
	}
}
