package portfolio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// quarterLP is a counter of device meter-1 (or dev) at site rising by rate
// every quarter hour over [from, to], from base, as line protocol; skip
// leaves out the readings in [skipFrom, skipTo).
func quarterLP(b *bytes.Buffer, site, dev string, from, to time.Time, base, rate float64, skipFrom, skipTo time.Time) {
	for i, t := 0, from; !t.After(to); i, t = i+1, t.Add(15*time.Minute) {
		if !t.Before(skipFrom) && t.Before(skipTo) {
			continue
		}
		fmt.Fprintf(b, "energy_meter,site=%s,device=%s import_energy=%v %d\n", site, dev, base+float64(i)*rate, t.Unix())
	}
}

// TestPortfolioIntegration: three sites' meters in a real influxd (same
// device ids at every site) and two sites' tickets and inspections in a
// real PostgreSQL, written by those sites' stores; the API's figures equal
// the hand-computed ones.
func TestPortfolioIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	inf := testenv.StartInfluxd(t)
	pg := testenv.StartPostgres(t)
	dbURL := pg.NewDatabase(t)
	ctx := context.Background()

	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(sh)
	this, last := Periods(now, sh)
	hours := int(this.To.Sub(this.From) / time.Hour)
	lastQuarters := int(last.To.Sub(last.From) / (15 * time.Minute))

	// tower-a: main 1 kWh a quarter hour now, 0.8 a year ago; its HVAC
	// sub-meter 0.25 (inside main: not added). tower-b: 3 kWh, no readings
	// a year ago. tower-c: 2 kWh with six hours of last month missing
	// (the counter still rises across them).
	never := time.Time{}
	var lp bytes.Buffer
	start, end := last.From.Add(-15*time.Minute), now
	lyStart, lyEnd := last.LastYearFrom.Add(-15*time.Minute), this.LastYearTo.Add(time.Hour)
	quarterLP(&lp, "tower-a", "meter-1", start, end, 5000, 1, never, never)
	quarterLP(&lp, "tower-a", "meter-1", lyStart, lyEnd, 10, 0.8, never, never)
	quarterLP(&lp, "tower-a", "meter-2", start, end, 0, 0.25, never, never)
	quarterLP(&lp, "tower-b", "meter-1", start, end, 7, 3, never, never)
	gapFrom := last.From.AddDate(0, 0, 10)
	quarterLP(&lp, "tower-c", "meter-1", start, end, 100, 2, gapFrom, gapFrom.Add(6*time.Hour))
	// tower-a's daemon's baseline expectations (app.ExpectedMeasurement):
	// last month 3.6 kWh each hour, but its first day as one daily point of
	// 84 kWh over 24 h (a refit to a daily fallback), with the hourly points
	// of its hours 1-23 already written under it, which do not count; this
	// month 5 kWh each hour of its first half only (too few to compare).
	// tower-b and tower-c have none.
	expected := func(at time.Time, hours int, kwh float64) {
		fmt.Fprintf(&lp, "energy_expected,site=tower-a,device=meter-1 import_energy_expected=%v,import_energy_hours=%di,import_energy_model=\"towt\",import_energy_unit=\"kWh\" %d\n", kwh, hours, at.Unix())
	}
	lastHours := int(last.To.Sub(last.From) / time.Hour)
	expected(last.From, 24, 84)
	for h := 1; h < lastHours; h++ {
		expected(last.From.Add(time.Duration(h)*time.Hour), 1, 3.6)
	}
	for h := 0; h < hours/2; h++ {
		expected(this.From.Add(time.Duration(h)*time.Hour), 1, 5)
	}
	expected(this.To, 1, 5) // the hour in progress: not in the month so far
	resp, err := http.Post(inf.URL+"/write?db="+inf.DB+"&precision=s", "text/plain", &lp)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %v %v", resp, err)
	}
	resp.Body.Close()

	// Tickets: each site's daemon's store, on a clock two days back.
	t0 := now.Add(-48 * time.Hour)
	at := t0
	clock := func() time.Time { return at }
	open := func(site string) *tickets.Store {
		st, err := tickets.Open(ctx, dbURL, tickets.Config{Site: site}, clock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open("tower-a"), open("tower-b")
	create := func(st *tickets.Store, title, prio string) int64 {
		t.Helper()
		tk, _, err := st.Create(ctx, "ana", tickets.Manual{Title: title, Priority: prio})
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	move := func(st *tickets.Store, id int64, when time.Time, to ...tickets.Status) {
		t.Helper()
		at = when
		for _, s := range to {
			if _, err := st.Transition(ctx, id, s, "ana", "test"); err != nil {
				t.Fatalf("ticket %d to %s: %v", id, s, err)
			}
		}
	}
	a1, a2 := create(a, "a1", "P1"), create(a, "a2", "P2")
	b1, b2 := create(b, "b1", "P1"), create(b, "b2", "P4")
	move(a, a1, t0.Add(20*time.Minute), tickets.StatusAcknowledged)                        // P1 response within 30 min: met
	move(a, a1, t0.Add(2*time.Hour), tickets.StatusInProgress, tickets.StatusResolved)     // within 4 h: met
	move(a, a2, t0.Add(3*time.Hour), tickets.StatusAcknowledged, tickets.StatusInProgress) // P2 response after 1 h: breached; resolution (8 h) passed: breached
	move(b, b1, t0.Add(10*time.Minute), tickets.StatusAcknowledged)                        // met; resolution (4 h) passed: breached
	move(b, b2, t0.Add(10*time.Minute), tickets.StatusCancelled)                           // counts nowhere
	at = now.Add(-10 * time.Minute)
	create(a, "a3", "P3")               // pending: neither met nor breached
	create(open("tower-z"), "z1", "P2") // a site the portfolio does not list
	if err := a.PutInspectionStates(ctx, []tickets.InspectionState{
		{Plan: "pump-service", Device: "pump-1", Status: tickets.InspectionOverdue},
		{Plan: "fire-test", Device: "panel-1", Status: tickets.InspectionDue},
	}, nil); err != nil {
		t.Fatal(err)
	}

	cfgText := fmt.Sprintf(`timezone: Asia/Shanghai
influxdb: {url: %q, bucket: %q}
tickets: {database: %q}
sites:
  - id: tower-a
    name: Tower A
    floor_area_m2: 1000
    meters:
      - {id: main, device: meter-1, counter: import_energy, poll_interval: 15m}
      - {id: hvac, device: meter-2, counter: import_energy, sub_item: hvac, parent: main, poll_interval: 15m}
  - id: tower-b
    floor_area_m2: 2000
    meters: [{id: main, device: meter-1, counter: import_energy, poll_interval: 15m}]
  - id: tower-c
    floor_area_m2: 500
    meters: [{id: main, device: meter-1, counter: import_energy, poll_interval: 15m}]
`, inf.URL, inf.Bucket, dbURL)
	cfg, err := Parse("portfolio.yaml", []byte(cfgText), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st, err := tickets.Open(ctx, dbURL, tickets.Config{NoMigrate: true}, nil) // as Run opens it
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := NewServer(cfg, Options{Energy: NewEnergy(cfg, q), Tickets: StoreTickets(st), Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Serve(sctx, ln)
	r, err := http.Get("http://" + ln.Addr().String() + "/api/v1/portfolio")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var v View
	if err := json.NewDecoder(r.Body).Decode(&v); err != nil || r.StatusCode != 200 {
		t.Fatalf("GET: %d %v", r.StatusCode, err)
	}
	if len(v.Errors) > 0 {
		t.Fatalf("errors: %+v", v.Errors)
	}
	by := map[string]SiteView{}
	for _, sv := range v.Sites {
		by[sv.Site] = sv
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-3 {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	q4 := float64(4 * hours) // quarter hours of this month so far
	lq := float64(lastQuarters)
	for site, want := range map[string]struct{ rate, area, lyRate float64 }{"tower-a": {1, 1000, 0.8}, "tower-b": {3, 2000, 0}, "tower-c": {2, 500, 0}} {
		e := by[site].Energy
		if e == nil {
			t.Fatalf("%s: no energy", site)
		}
		near(site+" this month kWh", e.ThisMonth.KWh, want.rate*q4)
		near(site+" last month kWh", e.LastMonth.KWh, want.rate*lq)
		near(site+" last month kWh/m²", e.LastMonth.KWhPerM2, round(want.rate*lq/want.area, 4))
		if want.lyRate == 0 {
			if e.LastMonth.LastYearKWh != nil || e.LastMonth.ChangePct != nil {
				t.Errorf("%s: a year ago %v, change %v, want none", site, *e.LastMonth.LastYearKWh, e.LastMonth.ChangePct)
			}
			continue
		}
		near(site+" last month a year ago", *e.LastMonth.LastYearKWh, want.lyRate*lq)
		near(site+" last month change", *e.LastMonth.ChangePct, round(100*(want.rate-want.lyRate)/want.lyRate, 1))
		if hours > 0 {
			near(site+" this month a year ago", *e.ThisMonth.LastYearKWh, want.lyRate*q4)
		}
	}
	// Ranking by last month's kWh/m²: a 1·lq/1000, b 3·lq/2000, c 2·lq/500.
	if v.Sites[0].Site != "tower-a" || v.Sites[1].Site != "tower-b" || v.Sites[2].Site != "tower-c" || v.Sites[2].Rank != 3 {
		t.Errorf("ranking: %s, %s, %s", v.Sites[0].Site, v.Sites[1].Site, v.Sites[2].Site)
	}
	// The baseline, by hand: last month 84 + 3.6 for each hour after the
	// first day, all covered, against 4 kWh an hour; this month half the
	// hours covered, so no comparison.
	ea := by["tower-a"].Energy
	wantBase := 84 + 3.6*float64(lastHours-24)
	if lm := ea.LastMonth; lm.BaselineKWh == nil || lm.VsBaselinePct == nil || lm.BaselineActualKWh == nil {
		t.Fatalf("tower-a last month: baseline %v, vs %v", lm.BaselineKWh, lm.VsBaselinePct)
	}
	near("tower-a last month baseline", *ea.LastMonth.BaselineKWh, wantBase)
	near("tower-a last month baseline coverage", ea.LastMonth.BaselineCoveragePct, 100)
	near("tower-a last month actual of the baseline's hours", *ea.LastMonth.BaselineActualKWh, lq)
	near("tower-a last month vs baseline", *ea.LastMonth.VsBaselinePct, round(100*(lq-wantBase)/wantBase, 1))
	if hours > 0 {
		if tm := ea.ThisMonth; tm.BaselineKWh == nil || tm.VsBaselinePct != nil {
			t.Errorf("tower-a this month: baseline %v, vs %v: want a baseline and no comparison", tm.BaselineKWh, tm.VsBaselinePct)
		} else {
			near("tower-a this month baseline", *tm.BaselineKWh, 5*float64(hours/2))
			near("tower-a this month baseline coverage", tm.BaselineCoveragePct, round(100*float64(hours/2)/float64(hours), 1))
		}
	}
	for _, site := range []string{"tower-b", "tower-c"} {
		if e := by[site].Energy; e.LastMonth.BaselineKWh != nil || e.LastMonth.VsBaselinePct != nil || e.LastMonth.BaselineCoveragePct != 0 {
			t.Errorf("%s: baseline %v, vs %v, coverage %v: it has no expectations", site, e.LastMonth.BaselineKWh, e.LastMonth.VsBaselinePct, e.LastMonth.BaselineCoveragePct)
		}
	}
	near("tower-c coverage", by["tower-c"].Energy.LastMonth.CoveragePct, math.Round(1000*(lq-24)/lq)/10)
	near("tower-a coverage", by["tower-a"].Energy.LastMonth.CoveragePct, 100)

	ta, tb, tc := by["tower-a"].Tickets, by["tower-b"].Tickets, by["tower-c"].Tickets
	if ta == nil || tb == nil || tc == nil {
		t.Fatalf("tickets: %v %v %v", ta, tb, tc)
	}
	check := func(site string, got *TicketsView, open map[string]int, total, respDue, respMet, resDue, resMet, overdue int) {
		t.Helper()
		for p, n := range open {
			if got.Open[p] != n {
				t.Errorf("%s open %s: %d, want %d", site, p, got.Open[p], n)
			}
		}
		if got.OpenTotal != total || got.Response.Due != respDue || got.Response.Met != respMet ||
			got.Resolution.Due != resDue || got.Resolution.Met != resMet || got.InspectionsOverdue != overdue {
			t.Errorf("%s: %+v, want open %d, response %d/%d, resolution %d/%d, overdue %d", site, *got, total, respMet, respDue, resMet, resDue, overdue)
		}
	}
	check("tower-a", ta, map[string]int{"P1": 0, "P2": 1, "P3": 1}, 2, 2, 1, 2, 1, 1)
	check("tower-b", tb, map[string]int{"P1": 1, "P4": 0}, 1, 1, 1, 1, 0, 0)
	check("tower-c", tc, nil, 0, 0, 0, 0, 0, 0)
	if ta.Response.Pct == nil || *ta.Response.Pct != 50 || tb.Resolution.Pct == nil || *tb.Resolution.Pct != 0 || tc.Response.Pct != nil {
		t.Errorf("met %%: a response %v, b resolution %v, c response %v", ta.Response.Pct, tb.Resolution.Pct, tc.Response.Pct)
	}
	if v.Totals.OpenTotal != 3 || v.Totals.InspectionsOverdue != 1 {
		t.Errorf("totals: %+v", v.Totals)
	}
	if len(v.UnlistedSites) != 1 || v.UnlistedSites[0] != "tower-z" {
		t.Errorf("unlisted sites: %v, want [tower-z]", v.UnlistedSites)
	}

	// The page over the real figures.
	runPage(t, s, "portfolio-integration", func(b context.Context, check func(string, string)) {
		check("three sites, a first", `document.querySelectorAll("#sites tbody tr").length === 3 &&
			document.querySelector("#sites tbody tr").dataset.site === "tower-a"`)
		check("c's coverage", `document.querySelectorAll("#sites tbody tr")[2].textContent.includes("99.2 %")`)
		check("a's baseline", `document.querySelector("#sites tbody tr").textContent.includes(`+testenv.JSString(fmt.Sprintf("%+.1f %%", *ea.LastMonth.VsBaselinePct))+`)`)
		check("tower-z named", `document.querySelector("#note").textContent.includes("tower-z")`)
	})
	t.Logf("this month %d h, last month %d quarter hours; a %.0f kWh (%.3f kWh/m²; baseline %.1f kWh, %+.1f %%), b %.0f, c %.0f (coverage %.1f %%)", hours, lastQuarters,
		by["tower-a"].Energy.LastMonth.KWh, by["tower-a"].Energy.LastMonth.KWhPerM2, *ea.LastMonth.BaselineKWh, *ea.LastMonth.VsBaselinePct, by["tower-b"].Energy.LastMonth.KWh,
		by["tower-c"].Energy.LastMonth.KWh, by["tower-c"].Energy.LastMonth.CoveragePct)
}
