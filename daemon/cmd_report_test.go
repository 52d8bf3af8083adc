package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
	energyreport "github.com/facilityd/facilityd/report/energy"
	"github.com/facilityd/facilityd/store"
)

func TestReportHelp(t *testing.T) {
	for _, args := range [][]string{{"report", "--help"}, {"report", "energy", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 || !strings.Contains(out.String()+errOut.String(), "facilityd report energy -c FILE") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"report", "energy", "-c", "../configs/demo.yaml", "--period", "2026-13", "-o", "x.csv"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `period "2026-13"`) {
		t.Errorf("a bad period: exit %d\n%s", code, errOut.String())
	}
	t.Setenv("FACILITYD_CHROMIUM", "/nonexistent/chromium")
	errOut.Reset()
	if code := run([]string{"report", "energy", "-c", "../configs/demo.yaml", "--period", "2026-11", "-o", "x.pdf"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "no Chromium at /nonexistent/chromium") {
		t.Errorf("pdf without Chromium: exit %d\n%s", code, errOut.String())
	}
}

// TestReportEnergy backfills 45 days of the demo building into a real
// influxd and writes the last full month's report in every format: the CSV's
// electricity equals the counter's rise over the month read straight from
// InfluxDB.
func TestReportEnergy(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	t.Setenv("FACILITYD_INFLUXDB_URL", influx.URL)
	t.Setenv("FACILITYD_INFLUXDB_BUCKET", influx.Bucket)
	t.Setenv("FACILITYD_STATE_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	if code := run([]string{"sim", "-c", "../configs/demo.yaml", "--backfill", "45d", "--backfill-only"}, &out, &errOut); code != 0 {
		t.Fatalf("sim --backfill: exit %d\n%s", code, errOut.String())
	}
	cfg, err := config.Load("../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(cfg.Zone)
	month := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, cfg.Zone)
	if now.Day() == 1 && now.Hour() == 0 {
		t.Skip("the month has only just ended: readings of its last quarter hour may still be missing")
	}
	dir := os.Getenv("FACILITYD_ARTIFACTS") // to look at the reports
	if dir == "" {
		dir = t.TempDir()
	}
	formats := []string{"csv", "xlsx", "html"}
	if _, err := energyreport.FindChromium(); err == nil {
		formats = append(formats, "pdf")
	}
	for _, f := range formats {
		errOut.Reset()
		args := []string{"report", "energy", "-c", "../configs/demo.yaml", "--period", month.Format("2006-01"),
			"--tariffs", "../configs/tariffs/shanghai-commercial.yaml", "--lang", "zh-CN", "-o", filepath.Join(dir, "r."+f)}
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("report %s: exit %d\n%s", f, code, errOut.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "r.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	kwh, days := 0.0, 0
	for _, r := range rows[1:] {
		if r[0] == "electricity-main" {
			v, _ := strconv.ParseFloat(r[4], 64)
			kwh += v
			days++
		}
	}
	next := month.AddDate(0, 1, 0)
	if want := next.Sub(month).Hours() / 24; float64(days) < want-0.5 || float64(days) > want+0.5 {
		t.Errorf("%d days of electricity-main, want %.0f", days, want)
	}
	q, err := store.NewQuerier(store.Config{URL: influx.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pts, err := q.Range(ctx, "energy_meter", "meter-1", "import_energy", month.Add(-30*time.Minute), next.Add(time.Second))
	if err != nil || len(pts) < 2 {
		t.Fatalf("%d readings, %v", len(pts), err)
	}
	// The rise from the last reading at or before the month's start to the
	// last one at or before its end.
	var first, last float64
	for _, p := range pts {
		if !p.Time.After(month) {
			first = p.Value
		}
		if !p.Time.After(next) {
			last = p.Value
		}
	}
	if math.Abs(kwh-(last-first)) > 1e-3*math.Max(1, last-first) {
		t.Errorf("the report's electricity-main is %.3f kWh, the counter rose %.3f", kwh, last-first)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "r.html"))
	for _, want := range []string{"能耗报告", "electricity-main", "峰"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	t.Logf("%s: electricity-main %.1f kWh; %s", month.Format("2006-01"), kwh, strings.TrimSpace(errOut.String()))

	// The other kinds of period, with the filters: this year so far
	// (partial), an ISO week of water, a quarter of building A.
	y, w := now.AddDate(0, 0, -7).ISOWeek()
	for _, extra := range [][]string{
		{"--period", now.Format("2006"), "-o", filepath.Join(dir, "year.xlsx")},
		{"--period", fmt.Sprintf("%d-W%02d", y, w), "--category", "water", "-o", filepath.Join(dir, "week.csv")},
		{"--period", fmt.Sprintf("%d-Q%d", now.Year(), (int(now.Month())-1)/3+1), "--building", "A", "--format", "html", "-o", filepath.Join(dir, "quarter.html")},
		{"--from", month.Format(time.DateOnly), "--to", month.AddDate(0, 0, 10).Format(time.DateOnly), "-o", filepath.Join(dir, "range.csv")},
	} {
		errOut.Reset()
		start := time.Now()
		args := append([]string{"report", "energy", "-c", "../configs/demo.yaml", "--tariffs", "../configs/tariffs/shanghai-commercial.yaml"}, extra...)
		if code := run(args, &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d\n%s", extra, code, errOut.String())
			continue
		}
		t.Logf("%v in %s", extra[:2], time.Since(start).Round(time.Millisecond))
	}
	week, err := os.ReadFile(filepath.Join(dir, "week.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(week, []byte("electricity-main")) || !bytes.Contains(week, []byte("water-main")) {
		t.Errorf("--category water kept other meters:\n%s", week)
	}
	quarter, _ := os.ReadFile(filepath.Join(dir, "quarter.html"))
	if !bytes.Contains(quarter, []byte("Partial period")) {
		t.Error("this quarter is not marked partial")
	}
}
