package usage

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestRollupEqualsReadings rolls the synthetic meters of
// TestConsumptionInfluxd (a reset, a rollover, a swap, gaps, a power meter,
// a hierarchy) up to a time in the middle of a day and of an hour, then
// asks the rollup-aware engine for every interval: each slot equals raw
// arithmetic and the raw engine's answer (amount, samples, coverage, events,
// remainders). A day left out of the rollup is computed from the readings.
func TestRollupEqualsReadings(t *testing.T) {
	inf := testenv.StartInfluxd(t)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	series := makeSynth(sh)
	var lp bytes.Buffer
	cfg := &Config{}
	for _, s := range series {
		s.lineProtocol(&lp)
		cfg.Meters = append(cfg.Meters, s.meter)
	}
	pm := &Meter{ID: "p-1", Device: "p-1", Measurement: "energy_meter", Power: "total_power", Unit: W, Category: Electricity,
		SubItem: HVAC, Site: "hq", Building: "A", PollInterval: 5 * time.Minute}
	cfg.Meters = append(cfg.Meters, pm)
	var power []Reading
	for t := time.Date(2025, 1, 29, 23, 0, 0, 0, sh); t.Before(time.Date(2025, 2, 2, 1, 0, 0, 0, sh)); t = t.Add(5 * time.Minute) {
		w := 3000 + 2000*math.Abs(math.Sin(float64(t.Unix())/7200))
		power = append(power, Reading{t, w})
		fmt.Fprintf(&lp, "energy_meter,device=p-1,site=hq total_power=%v %d\n", w, t.Unix())
	}
	writeLP(t, inf, lp.Bytes())
	q, err := store.NewQuerier(store.Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)

	raw := NewEngine(q, cfg)
	want := checkConsumption(t, raw, series, pm, power, sh)

	// Rolled through 10:30 in Shanghai on Jan 31 (02:30 UTC), after the
	// reset at 10:00; the swap, the m-gap gap and the m-off2 gap come after.
	through := time.Date(2025, 1, 31, 10, 30, 0, 0, sh)
	rows, err := raw.Roll(t.Context(), time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC), through)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rollup rows")
	}
	var rl bytes.Buffer
	for _, r := range rows {
		if r.Day.Equal(time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)) && r.Quarters != 10 {
			t.Errorf("%s: the day of the roll's end holds %d quarters, want 10 (to 02:30 UTC)", r.Meter, r.Quarters)
		}
		rl.WriteString(r.LineProtocol())
	}
	writeLPns(t, inf, rl.Bytes())
	rolled := NewEngine(q, cfg).UseRollup()
	t.Run("rolled", func(t *testing.T) {
		got := checkConsumption(t, rolled, series, pm, power, sh)
		sameUsage(t, want, got)
	})

	// A day missing in the middle: roll on to the end, then delete Jan 30.
	rows, err = raw.Roll(t.Context(), time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	rl.Reset()
	for _, r := range rows {
		rl.WriteString(r.LineProtocol())
	}
	writeLPns(t, inf, rl.Bytes())
	jan30 := time.Date(2025, 1, 30, 0, 0, 0, 0, time.UTC)
	if err := q.QueryInfluxQL(t.Context(), fmt.Sprintf(`DELETE FROM %s WHERE time >= %d AND time < %d`, RollupMeasurement, jan30.UnixNano(), jan30.Add(day).UnixNano()),
		func(store.InfluxQLSeries) error { return nil }); err != nil {
		t.Fatal(err)
	}
	days, err := rolled.RolledDays(t.Context(), jan30.Add(-day), jan30.Add(3*day), "m-reset")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := days["m-reset"][jan30]; ok || len(days["m-reset"]) != 3 {
		t.Fatalf("rolled days of m-reset: %v, want Jan 29, 31 and Feb 1 without Jan 30", days["m-reset"])
	}
	t.Run("hole", func(t *testing.T) {
		got := checkConsumption(t, rolled, series, pm, power, sh)
		sameUsage(t, want, got)
	})
}

// TestRollupStale writes readings into a rolled day: Stale names it, and
// rolling it again makes the rollup agree with the readings.
func TestRollupStale(t *testing.T) {
	inf := testenv.StartInfluxd(t)
	m := &Meter{ID: "m-1", Device: "m-1", Measurement: "energy_meter", Counter: "import_energy", Unit: KWh, Category: Electricity,
		Site: "hq", PollInterval: 15 * time.Minute}
	cfg := &Config{Meters: []*Meter{m}}
	d0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var lp bytes.Buffer
	v := 0.0
	for t := d0; t.Before(d0.Add(2 * day)); t = t.Add(15 * time.Minute) {
		if t.Hour() == 5 && t.Before(d0.Add(day)) {
			continue // a morning of the first day arrives late
		}
		v = float64(t.Sub(d0)/time.Minute) / 15
		fmt.Fprintf(&lp, "energy_meter,device=m-1,site=hq import_energy=%v %d\n", v, t.UnixNano())
	}
	writeLPns(t, inf, lp.Bytes())
	q, err := store.NewQuerier(store.Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	e := NewEngine(q, cfg).UseRollup()
	roll := func(from, to time.Time) {
		t.Helper()
		rows, err := e.Roll(t.Context(), from, to)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, r := range rows {
			b.WriteString(r.LineProtocol())
		}
		writeLPns(t, inf, b.Bytes())
	}
	roll(d0, d0.Add(2*day))
	stale, err := e.Stale(t.Context(), d0, d0.Add(2*day))
	if err != nil || len(stale) != 0 {
		t.Fatalf("stale after the roll: %v %v, want none", stale, err)
	}
	lp.Reset()
	for t := d0.Add(5 * time.Hour); t.Before(d0.Add(6 * time.Hour)); t = t.Add(15 * time.Minute) {
		fmt.Fprintf(&lp, "energy_meter,device=m-1,site=hq import_energy=%v %d\n", float64(t.Sub(d0)/time.Minute)/15, t.UnixNano())
	}
	writeLPns(t, inf, lp.Bytes())
	stale, err = e.Stale(t.Context(), d0, d0.Add(2*day))
	if err != nil || len(stale["m-1"]) != 1 || !stale["m-1"][0].Equal(d0) {
		t.Fatalf("stale after late readings: %v %v, want m-1's first day", stale, err)
	}
	before, err := e.Consumption(t.Context(), Query{From: d0, To: d0.Add(day), Interval: Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !before.FromRollup {
		t.Error("a day the rollup holds whole: FromRollup false")
	}
	if got := before.Meters[0].Slots[5].Samples; got != 0 {
		t.Fatalf("hour 5 from the stale rollup has %d readings, want 0 (the rollup is read, not the readings)", got)
	}
	roll(d0, d0.Add(day))
	after, err := e.Consumption(t.Context(), Query{From: d0, To: d0.Add(day), Interval: Hour})
	if err != nil {
		t.Fatal(err)
	}
	rawRep, err := NewEngine(q, cfg).Consumption(t.Context(), Query{From: d0, To: d0.Add(day), Interval: Hour})
	if err != nil {
		t.Fatal(err)
	}
	sameUsage(t, rawRep.Meters, after.Meters)
	if rawRep.FromRollup {
		t.Error("an engine without UseRollup: FromRollup true")
	}
	if got := after.Meters[0].Slots[5].Samples; got != 4 {
		t.Errorf("hour 5 after the re-roll has %d readings, want 4", got)
	}
	if stale, err := e.Stale(t.Context(), d0, d0.Add(2*day)); err != nil || len(stale) != 0 {
		t.Errorf("stale after the re-roll: %v %v", stale, err)
	}
}

func TestRollupCodec(t *testing.T) {
	d := time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC)
	s := series{
		Windows: []windowAgg{{Start: d.Add(-quarter), Count: 3, Sum: 9}, {Start: d, Count: 15, Sum: 0.25}, {Start: d.Add(95 * quarter), Count: 2, Sum: -1e-300}},
		Drops:   []step{{Time: d.Add(time.Hour + time.Second), Delta: -99.5, After: 0.5, Elapsed: time.Minute}},
		Gaps:    []step{{Time: d.Add(2 * time.Hour), Delta: 3.25, After: 7, Elapsed: 3 * time.Hour}, {Time: d.Add(day), Delta: 1, After: 1, Elapsed: time.Hour}},
	}
	data, n := encodeRollup(s, d, quartersPerDay, quarter)
	if n != 17 {
		t.Errorf("samples %d, want 17 (the windows of the day only)", n)
	}
	got, err := decodeRollup(data, d, quartersPerDay, quarter)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.s.Windows) != 2 || got.s.Windows[0] != s.Windows[1] || got.s.Windows[1] != s.Windows[2] {
		t.Errorf("windows %+v", got.s.Windows)
	}
	if len(got.s.Drops) != 1 || !got.s.Drops[0].Time.Equal(s.Drops[0].Time) || got.s.Drops[0].Delta != -99.5 || got.s.Drops[0].Elapsed != time.Minute {
		t.Errorf("drops %+v", got.s.Drops)
	}
	if len(got.s.Gaps) != 1 || got.s.Gaps[0].After != 7 {
		t.Errorf("gaps %+v: want the one of the day", got.s.Gaps)
	}
	for _, bad := range []string{"", "r0;;", "r1;1:2;", "r1;1:2:x;", "r1;;x:1:2:3:4", "r1;96:1:1;"} {
		if _, err := decodeRollup(bad, d, quartersPerDay, quarter); err == nil {
			t.Errorf("decodeRollup(%q) took it", bad)
		}
	}
}

func writeLPns(t testing.TB, inf *testenv.Influxd, body []byte) {
	t.Helper()
	resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=ns", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("write: %s %s", resp.Status, b)
	}
}
