package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

// TestReportAllSites: three sites built alike in one influxd (the same
// device ids at each; south has no water meter) and `report energy --site
// all`: one report naming every site, each meter's month equal to its
// counter's hand-computed rise, south's missing meter said, and the HTML's
// per-site totals.
func TestReportAllSites(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	t.Setenv("FACILITYD_INFLUXDB_URL", influx.URL)
	t.Setenv("FACILITYD_INFLUXDB_BUCKET", influx.Bucket)
	t.Setenv("FACILITYD_STATE_DIR", t.TempDir())
	sh, _ := time.LoadLocation("Asia/Shanghai")
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, sh)
	to := from.AddDate(0, 1, 0)
	// Per quarter hour: electricity kWh and water m³ by site (0: no meter).
	rates := map[string][2]float64{"north": {1, 0.1}, "south": {2, 0}, "east": {3, 0.2}}
	var lp bytes.Buffer
	for site, r := range rates {
		for i, ts := 0, from.Add(-time.Hour); !ts.After(to.Add(time.Hour)); i, ts = i+1, ts.Add(15*time.Minute) {
			fmt.Fprintf(&lp, "energy_meter,site=%s,device=meter-1,building=A import_energy=%v %d\n", site, 100+float64(i)*r[0], ts.Unix())
			if r[1] > 0 {
				fmt.Fprintf(&lp, "water_meter,site=%s,device=water-meter-1,building=A total_volume=%v %d\n", site, 10+float64(i)*r[1], ts.Unix())
			}
		}
	}
	resp, err := http.Post(influx.URL+"/write?db="+influx.DB+"&precision=s", "text/plain", &lp)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %v %v", resp, err)
	}
	resp.Body.Close()

	dir := t.TempDir()
	var out, errOut bytes.Buffer
	for _, f := range []string{"csv", "html"} {
		args := []string{"report", "energy", "-c", "testdata/report-sites.yaml", "--site", "all", "--period", "2026-10", "-o", filepath.Join(dir, "all."+f)}
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("%s: exit %d\n%s", f, code, errOut.String())
		}
	}
	if !strings.Contains(errOut.String(), `site "south" has no series of meter "water-main"`) || !strings.Contains(errOut.String(), "sites east, north, south") {
		t.Errorf("stderr does not name the sites and south's missing meter:\n%s", errOut.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[4], 64)
		sums[r[0]] += v
	}
	quarters := to.Sub(from).Hours() * 4 // 31 days
	want := map[string]float64{}
	for site, r := range rates {
		want[site+"/electricity-main"] = quarters * r[0]
		if r[1] > 0 {
			want[site+"/water-main"] = quarters * r[1]
		}
	}
	if len(sums) != len(want) {
		t.Errorf("meters in the CSV: %v, want %v", sums, want)
	}
	for m, w := range want {
		if math.Abs(sums[m]-w) > 1e-6*w {
			t.Errorf("%s: %.4f in the CSV, the counter rose %.4f", m, sums[m], w)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "all.html"))
	for _, want := range []string{"<h2>Sites</h2>", "<td>north</td>", "<td>south</td>", "<td>east</td>", "Site: all sites", "<td>east</td><td>Electricity</td><td class=\"n\">1</td><td class=\"n\">8,928.0</td>"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("the HTML lacks %q", want)
		}
	}

	// One other site by name: only its meters.
	errOut.Reset()
	args := []string{"report", "energy", "-c", "testdata/report-sites.yaml", "--site", "east", "--period", "2026-10", "-o", filepath.Join(dir, "east.csv")}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("--site east: exit %d\n%s", code, errOut.String())
	}
	east, _ := os.ReadFile(filepath.Join(dir, "east.csv"))
	if !bytes.Contains(east, []byte("east/water-main")) || bytes.Contains(east, []byte("north/")) {
		t.Errorf("--site east:\n%.500s", east)
	}
	errOut.Reset()
	args = []string{"report", "energy", "-c", "testdata/report-sites.yaml", "--site", "west", "--period", "2026-10", "-o", filepath.Join(dir, "west.csv")}
	if code := run(args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no site in") {
		t.Errorf("--site west (none in the bucket): exit %d\n%s", code, errOut.String())
	}
}
