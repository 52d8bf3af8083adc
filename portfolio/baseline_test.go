package portfolio

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
)

// TestExpectedBothLanguages reads one meter's expectations from a real
// influxd in InfluxQL and in Flux: the same slots, in order, only the
// meter's (not another site's, nor another point's); covered counts a day
// written over hours once and leaves out a slot that runs past the span.
func TestExpectedBothLanguages(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	inf := testenv.StartInfluxd(t)
	ctx := context.Background()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, sh)
	var lp bytes.Buffer
	point := func(site, dev, field string, at time.Time, hours int, kwh float64) {
		fmt.Fprintf(&lp, "energy_expected,site=%s,device=%s %s_expected=%v,%s_hours=%di,%s_model=\"towt\" %d\n", site, dev, field, kwh, field, hours, field, at.Unix())
	}
	for h := range 30 {
		point("tower-a", "meter-1", "import_energy", day.Add(time.Duration(h)*time.Hour), 1, 2)
	}
	point("tower-a", "meter-1", "import_energy", day, 24, 40)                     // a refit to a daily model: over the hours 0-23
	point("tower-a", "meter-1", "import_energy", day.Add(30*time.Hour), 24, 1000) // runs past the span
	point("tower-a", "meter-1", "export_energy", day.Add(time.Hour), 1, 500)      // another point
	point("tower-b", "meter-1", "import_energy", day.Add(2*time.Hour), 1, 700)    // another site
	resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=s", "text/plain", &lp)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %v %v", resp, err)
	}
	resp.Body.Close()
	q, err := store.NewQuerier(store.Config{URL: inf.URL, Bucket: inf.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	m := &usage.Meter{ID: "main", Device: "meter-1", Counter: "import_energy"}
	from, to := day, day.Add(48*time.Hour)
	var got [2][]Expected
	for i, lang := range []usage.Backend{usage.InfluxQLBackend, usage.FluxBackend} {
		e := influxEnergy{engines: siteEngines{"tower-a": usage.NewEngine(q, &usage.Config{Query: lang, Meters: []*usage.Meter{m}})}, src: q}
		got[i], err = e.Expected(ctx, "tower-a", m, from, to)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if len(got[i]) != 31 { // 30 hours and the day over them share 00:00: one point; and the day past the span
			t.Fatalf("%s: %d slots, want 31: %+v", lang, len(got[i]), got[i])
		}
		hours := map[int64]bool{}
		// Day 1: 40 over 24 h (its hour 0 overwritten by the day); hours
		// 24-29 of 2 each; the day from hour 30 runs past to−18 h.
		if kwh := covered(got[i], from, to.Add(-18*time.Hour), hours); kwh != 40+6*2 || len(hours) != 30 {
			t.Errorf("%s: covered %v kWh over %d h, want 52 over 30", lang, kwh, len(hours))
		}
	}
	for k := range got[0] {
		a, b := got[0][k], got[1][k]
		if !a.Start.Equal(b.Start) || a.Hours != b.Hours || a.KWh != b.KWh {
			t.Errorf("slot %d: InfluxQL %+v, Flux %+v", k, a, b)
		}
	}
}
