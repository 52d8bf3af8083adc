package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestScheduledReports: a daemon with a schedule whose last period has no
// report makes it at start (html and csv), archives it, and a webhook
// receiver gets its links through the outbox; GET /api/v1/reports lists the
// archive in its documented shape, the links serve the files, and
// /api/v1/reports/energy makes a past month's report on demand once, then
// serves the archived one under its archive name; the month not over yet is
// served under a name that says partial, and never archived.
func TestScheduledReports(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	influx := testenv.StartInfluxd(t)
	var mu sync.Mutex
	var hooks []tickets.Notification
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n tickets.Notification
		json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		hooks = append(hooks, n)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg, httpAddr, _ := siteConfig(t, influx, "test-site", `http:
  listen: "{http}"
  read: open
devices:
  - id: water-meter-1
    profile: water_meter
    tags: {building: A, category: water}
    modbus: {address: "{dead}", unit_id: 5, interval: 5s, timeout: 200ms}
energy:
  meters:
    - {id: water-main, device: water-meter-1, counter: total_volume, max_gap: 20m}
tickets:
  outbox: {retry_min: 50ms, retry_max: 1s, poll_interval: 100ms}
  receivers:
    - {name: hook, events: [created], webhook: {url: "`+hook.URL+`"}}
reports:
  tariffs_file: "{root}/configs/tariffs/shanghai-commercial.yaml"
  schedules:
    - name: daily-water
      schedule: "0 8 * * *"
      period: previous_day
      formats: [html, csv]
      receivers: [hook]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now()
	backfillEnergy(t, ctx, cfg, now.AddDate(0, 0, -40), now)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	stop := startDaemonAllowingUnhealthy(t, ctx, cfg, logger, httpAddr)
	defer func() { stop() }()

	var got tickets.Notification
	waitFor(t, 60*time.Second, "the report's webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range hooks {
			if n.Report != nil {
				got = n
				return true
			}
		}
		return false
	})
	yesterday := now.In(cfg.Zone).AddDate(0, 0, -1).Format(time.DateOnly)
	if r := got.Report; r.Name != "daily-water" || !strings.Contains(r.Period, yesterday) || len(r.Files) != 2 || r.Files[0].Path != "" {
		t.Fatalf("webhook got %+v", r)
	}
	for _, f := range got.Report.Files {
		if !strings.HasPrefix(f.URL, "http://"+httpAddr+"/api/v1/reports/files/") {
			t.Fatalf("link %q", f.URL)
		}
		body := getBody(t, f.URL, http.StatusOK)
		if int64(len(body)) != f.Size || f.Size == 0 {
			t.Errorf("%s: %d bytes, want %d", f.URL, len(body), f.Size)
		}
	}

	list := func() []map[string]any {
		var body struct{ Reports []map[string]any }
		getJSON(t, "http://"+httpAddr+"/api/v1/reports", &body)
		return body.Reports
	}
	rs := list()
	if len(rs) != 2 {
		t.Fatalf("archive %v, want 2 files", rs)
	}
	keys := []string{"name", "kind", "period", "from", "to", "format", "lang", "generated_at", "size", "url"}
	for _, r := range rs {
		var have []string
		for k := range r {
			have = append(have, k)
		}
		slices.Sort(have)
		want := slices.Sorted(slices.Values(keys))
		if !slices.Equal(have, want) || r["kind"] != "energy" || r["lang"] != "en" {
			t.Fatalf("listing entry %v: keys %v, want %v", r, have, want)
		}
	}

	month := now.In(cfg.Zone).AddDate(0, -1, 0).Format("2006-01")
	url := "http://" + httpAddr + "/api/v1/reports/energy?period=" + month + "&format=csv"
	first := getBody(t, url, http.StatusOK)
	if !strings.HasPrefix(string(first), "\ufeff") || !strings.Contains(string(first), "water-main") {
		t.Fatalf("on-demand csv: %.200q", first)
	}
	if n := len(list()); n != 3 {
		t.Fatalf("archive holds %d files after the on-demand report, want 3", n)
	}
	if again := getBody(t, url, http.StatusOK); string(again) != string(first) {
		t.Error("the second request made the report again instead of serving the archived one")
	}
	if n := len(list()); n != 3 {
		t.Fatalf("archive holds %d files after the second request, want 3", n)
	}
	// The download's name is the archive's: the API serves it.
	if name := downloadName(t, url); string(getBody(t, "http://"+httpAddr+"/api/v1/reports/files/"+name, http.StatusOK)) != string(first) {
		t.Errorf("the on-demand report's file name %s does not serve it", name)
	}

	getBody(t, "http://"+httpAddr+"/api/v1/reports/energy?period="+month+"&format=docx", http.StatusBadRequest)
	getBody(t, "http://"+httpAddr+"/api/v1/reports/files/..%2Findex.json", http.StatusNotFound)

	// The month not over yet is made at each request, marked partial in
	// its name (with the time its data runs to) and never archived.
	thisMonth := now.In(cfg.Zone).Format("2006-01")
	if now.In(cfg.Zone).Day() == 1 && now.In(cfg.Zone).Hour() == 0 {
		return // too early in the month for a quarter hour of it
	}
	partialURL := "http://" + httpAddr + "/api/v1/reports/energy?period=" + thisMonth + "&format=csv"
	name := downloadName(t, partialURL)
	if !regexp.MustCompile(`^on-demand-energy-` + thisMonth + `-en-partial-to-\d{8}T\d{4}\.csv$`).MatchString(name) {
		t.Errorf("the partial report is named %q, want on-demand-energy-%s-en-partial-to-YYYYMMDDTHHMM.csv", name, thisMonth)
	}
	if n := len(list()); n != 3 {
		t.Fatalf("archive holds %d files after the partial report, want 3", n)
	}
	getBody(t, "http://"+httpAddr+"/api/v1/reports/files/"+name, http.StatusNotFound)
}

// downloadName is the file name the report at url is served under.
func downloadName(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %s, Content-Disposition %q: %v", url, resp.Status, resp.Header.Get("Content-Disposition"), err)
	}
	return params["filename"]
}

func getBody(t *testing.T, url string, code int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, b, code)
	}
	return b
}
