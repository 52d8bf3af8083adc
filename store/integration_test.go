package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/testenv"
)

// Integration tests against a real influxd (see internal/testenv). Starting
// one costs ~5 s of CPU (Flux), so the tests that only write and read share
// one (TestInfluxd), and the tests that stop it share another
// (TestOutages, outage_test.go): never more than two at once.

var siteTags = map[string]map[string]string{
	"pump-1":  {"site": "hq", "building": "A", "floor": "2"},
	"meter-1": {"site": "hq", "building": "B"},
}

func tagsOf(id string) map[string]string { return siteTags[id] }

func newTestWriter(t testing.TB, inf *testenv.Influxd, cfg Config, spoolDir string) *Writer {
	t.Helper()
	cfg.URL, cfg.Bucket = inf.URL, inf.Bucket
	w, err := NewWriter(cfg, WriterOptions{Tags: tagsOf, SpoolDir: spoolDir})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newTestQuerier(t testing.TB, inf *testenv.Influxd) *Querier {
	t.Helper()
	q, err := NewQuerier(Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pointEqual(a, b Point) bool { return a.Time.Equal(b.Time) && a.Value == b.Value }

func TestInfluxd(t *testing.T) {
	t.Parallel()
	inf := testenv.StartInfluxd(t)
	w := newTestWriter(t, inf, Config{FlushInterval: 50 * time.Millisecond}, t.TempDir())
	stop := start(t, w)
	defer stop()
	q := newTestQuerier(t, inf)
	t.Run("ReadBack", func(t *testing.T) { testReadBack(t, inf, w, q) })
	t.Run("Queries", func(t *testing.T) { testQueries(t, w, q) })
	t.Run("RefusedPoints", func(t *testing.T) { testRefusedPoints(t, w, q) })
	t.Run("ConflictOnFieldNamedBucket", func(t *testing.T) { testConflictOnFieldNamedBucket(t, w, q) })
}

// put writes batch and waits until the writer has settled it.
func put(t *testing.T, w *Writer, batch []drivers.Sample) {
	t.Helper()
	w.Put(t.Context(), batch)
	waitFor(t, 10*time.Second, "the batch to be settled", func() bool { return w.Stats().Pending == 0 })
}

func testReadBack(t *testing.T, inf *testenv.Influxd, w *Writer, q *Querier) {
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	t1 := t0.Add(time.Second)
	hostile := []string{`pump"-1`, `a\b`, `${x}`, `x" or true or "`, "sp ace,comma=eq", "ümlaut"}
	batch := []drivers.Sample{
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(12.5)},
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "starts", Value: drivers.Int(42)},
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "running", Value: drivers.Bool(true)},
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "mode", Value: drivers.String("auto \"eco\"\\\nline 2")},
		{Time: t1, Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(13.25), Quality: drivers.Uncertain},
		{Time: t1, Device: "pump-1", Measurement: "pump", Point: "starts", Value: drivers.Int(-1), Quality: drivers.Bad},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "kwh", Value: drivers.Float(1234.5)},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "pulses", Value: drivers.Int(7)},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "alarm", Value: drivers.Bool(false)},
		{Time: t0, Device: "meter-1", Measurement: "energy_meter", Point: "big", Value: drivers.Float(1.2345678901234567e300)},
	}
	for i, dev := range hostile {
		batch = append(batch, drivers.Sample{Time: t0, Device: dev, Measurement: "pump", Point: "flow", Value: drivers.Float(float64(i))})
	}
	before := w.Stats()
	put(t, w, batch)
	if st := w.Stats(); st.Written-before.Written != int64(len(batch)-1) || st.Skipped != 1 || st.Dropped != 0 {
		t.Fatalf("Stats() = %+v", st)
	}

	last := func(meas, dev string) map[string]any {
		t.Helper()
		got, err := q.Last(t.Context(), meas, dev)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := map[string]any{"flow": 13.25, "starts": int64(42), "running": true, "mode": "auto \"eco\"\\\nline 2"}
	if got := last("pump", "pump-1"); !maps.Equal(got, want) {
		t.Errorf("Last(pump-1) = %#v, want %#v", got, want)
	}
	want = map[string]any{"kwh": 1234.5, "pulses": int64(7), "alarm": false, "big": 1.2345678901234567e300}
	if got := last("energy_meter", "meter-1"); !maps.Equal(got, want) {
		t.Errorf("Last(meter-1) = %#v, want %#v", got, want)
	}
	for i, dev := range hostile {
		if got := last("pump", dev); !maps.Equal(got, map[string]any{"flow": float64(i)}) {
			t.Errorf("Last(%q) = %#v, want flow=%d only", dev, got, i)
		}
	}
	if got := last("pump", "nobody"); len(got) != 0 {
		t.Errorf("Last(nobody) = %#v, want empty", got)
	}
	got, err := q.Range(t.Context(), "pump", "pump-1", "flow", t0.Add(-time.Second), t1.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if wantR := []Point{{t0, 12.5}, {t1, 13.25}}; !slices.EqualFunc(got, wantR, pointEqual) {
		t.Errorf("Range(flow) = %v, want %v", got, wantR)
	}

	// Tags: device plus the device's own, on every point.
	res, err := q.queryAPI().Query(t.Context(), fmt.Sprintf(`from(bucket: %s) |> range(start: -1h)
	  |> filter(fn: (r) => r._measurement == "pump" or r._measurement == "energy_meter") |> last()`, fluxString(inf.Bucket)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	seen := 0
	for res.Next() {
		r := res.Record()
		dev, _ := r.ValueByKey("device").(string)
		wantTags := siteTags[dev]
		if wantTags == nil {
			continue
		}
		seen++
		for k, v := range wantTags {
			if r.ValueByKey(k) != v {
				t.Errorf("%s %s.%s: tag %s = %v, want %s", dev, r.Measurement(), r.Field(), k, r.ValueByKey(k), v)
			}
		}
		if dev == "meter-1" && r.ValueByKey("floor") != nil {
			t.Errorf("meter-1 has floor tag %v", r.ValueByKey("floor"))
		}
	}
	if err := res.Err(); err != nil || seen != 8 {
		t.Errorf("tag check saw %d fields (want 8), err %v", seen, err)
	}
}

// testQueries writes known series and reads them back raw, aggregated per
// window and as counter increases, for a device with a hostile name.
func testQueries(t *testing.T, w *Writer, q *Querier) {
	dev := `q"dev ${x} \n`
	t0 := time.Now().Add(-time.Hour).Truncate(time.Hour)
	var batch []drivers.Sample
	energy := []float64{100, 110, 125, 5, 20, 4294967290, 4294967295, 3, 13, 13, 40, 41} // a reset, then a wrap
	for i, e := range energy {
		ts := t0.Add(time.Duration(i) * 5 * time.Minute)
		batch = append(batch,
			drivers.Sample{Time: ts, Device: dev, Measurement: "meter", Point: "temp", Value: drivers.Float(float64(i))},
			drivers.Sample{Time: ts, Device: dev, Measurement: "meter", Point: "kwh", Value: drivers.Float(e)},
			drivers.Sample{Time: ts, Device: "other", Measurement: "meter", Point: "temp", Value: drivers.Float(-1)})
	}
	put(t, w, batch)
	ctx := context.Background()
	stop := t0.Add(time.Hour)

	series, err := q.Series(ctx, Selector{Measurement: "meter", Device: dev}, t0, stop)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Device != dev || len(series[0].Points) != 12 || len(series[1].Points) != 12 {
		t.Fatalf("Series = %+v", series)
	}
	all, err := q.Series(ctx, Selector{Measurement: "meter", Field: "temp"}, t0, stop)
	if err != nil || len(all) != 2 {
		t.Fatalf("Series(every device) = %+v, %v", all, err)
	}

	for fn, want := range map[Agg][]float64{
		AggMean: {1.5, 5.5, 9.5}, AggMin: {0, 4, 8}, AggMax: {3, 7, 11}, AggSum: {6, 22, 38}, AggCount: {4, 4, 4},
		AggFirst: {0, 4, 8}, AggLast: {3, 7, 11},
	} {
		got, err := q.Aggregate(ctx, Selector{Measurement: "meter", Device: dev, Field: "temp"}, t0, stop, 20*time.Minute, fn)
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d series", fn, len(got))
		}
		var vals []float64
		for i, p := range got[0].Points {
			vals = append(vals, p.Value)
			if end := t0.Add(time.Duration(i+1) * 20 * time.Minute); !p.Time.Equal(end) {
				t.Errorf("%s: window %d at %v, want its end %v", fn, i, p.Time, end)
			}
		}
		if !slices.Equal(vals, want) {
			t.Errorf("%s per 20 min = %v, want %v", fn, vals, want)
		}
	}
	if _, err := q.Aggregate(ctx, Selector{Measurement: "meter"}, t0, stop, time.Minute, "median) |> drop("); err == nil {
		t.Error("an unknown aggregate was accepted")
	}

	inc, err := q.Increase(ctx, Selector{Measurement: "meter", Device: dev, Field: "kwh"}, t0, stop,
		CounterOptions{Rollover: 1 << 32, Every: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// 10+15, reset: 5, +15, +4294967270, +5, wrap: +1+3, +10, +0, +27, +1
	if len(inc) != 1 || inc[0].Total != 25+5+15+4294967270+5+4+10+27+1 || inc[0].Resets != 1 || inc[0].Rollovers != 1 ||
		len(inc[0].Windows) != 2 || inc[0].Windows[1].Value != 5+4+10+27+1 {
		t.Errorf("Increase = %+v", inc)
	}
}

// testRefusedPoints sends batches with points InfluxDB 1.8 refuses (a
// field named "time", a field whose type conflicts with what is stored):
// those alone are dropped and counted; the rest of each batch arrives.
func testRefusedPoints(t *testing.T, w *Writer, q *Querier) {
	t0 := time.Now().Add(-20 * time.Minute).Truncate(time.Second)
	put(t, w, []drivers.Sample{{Time: t0, Device: "conflict", Measurement: "pump", Point: "flow", Value: drivers.Float(1)}})
	before := w.Status()
	var batch []drivers.Sample
	for i := range 40 {
		s := drivers.Sample{Time: t0.Add(time.Duration(i+1) * time.Second), Device: "conflict", Measurement: "pump", Point: "seq", Value: drivers.Int(int64(i))}
		switch i {
		case 7:
			s.Point = "time"
		case 23:
			s.Point, s.Value = "flow", drivers.String("not a float")
		}
		batch = append(batch, s)
	}
	put(t, w, batch)
	after := w.Status()
	if got := after.DroppedBy["rejected"] - before.DroppedBy["rejected"]; got != 2 {
		t.Errorf("dropped %d as rejected, want 2; status %+v", got, after)
	}
	if got := after.Samples.Written - before.Samples.Written; got != 38 {
		t.Errorf("written %d, want 38", got)
	}
	if !strings.Contains(after.LastError, "partial write") {
		t.Errorf("last error %q", after.LastError)
	}
	s, err := q.Series(context.Background(), Selector{Measurement: "pump", Device: "conflict", Field: "seq"}, t0, t0.Add(time.Minute))
	if err != nil || len(s) != 1 || len(s[0].Points) != 38 {
		t.Errorf("InfluxDB holds %+v, %v; want 38 seq values", s, err)
	}
}

// testConflictOnFieldNamedBucket: a field type conflict on a field whose
// name speaks of buckets (bucket_level) is the points' fault like any other:
// the conflicting lines are dropped and counted as refused, and the batches
// behind them are delivered instead of waiting forever for a "missing
// bucket".
func testConflictOnFieldNamedBucket(t *testing.T, w *Writer, q *Querier) {
	t0 := time.Now().Add(-25 * time.Minute).Truncate(time.Second)
	level := func(i int, v drivers.Value) drivers.Sample {
		return drivers.Sample{Time: t0.Add(time.Duration(i) * time.Second), Device: "tank-1", Measurement: "tank", Point: "bucket_level", Value: v}
	}
	put(t, w, []drivers.Sample{level(0, drivers.Float(0.5))})
	before := w.Status()
	put(t, w, []drivers.Sample{level(1, drivers.Float(0.6)), level(2, drivers.String("half full")), level(3, drivers.Float(0.7))})
	put(t, w, []drivers.Sample{level(4, drivers.Float(0.8)), level(5, drivers.Float(0.9))})
	after := w.Status()
	if got := after.DroppedBy["rejected"] - before.DroppedBy["rejected"]; got != 1 {
		t.Errorf("dropped %d as rejected, want 1; status %+v", got, after)
	}
	if got := after.Samples.Written - before.Samples.Written; got != 4 {
		t.Errorf("written %d, want 4", got)
	}
	if after.State != "ok" || after.ErrorsBy["not_found"] != before.ErrorsBy["not_found"] {
		t.Errorf("a type conflict was read as a target problem: %+v", after)
	}
	s, err := q.Series(t.Context(), Selector{Measurement: "tank", Device: "tank-1", Field: "bucket_level"}, t0, t0.Add(time.Minute))
	if err != nil || len(s) != 1 || len(s[0].Points) != 5 {
		t.Errorf("InfluxDB holds %+v, %v; want 5 bucket_level values", s, err)
	}
}
