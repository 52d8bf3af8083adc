package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

// TestEnergyBaselineFromInflux backfills 40 days of the demo building and
// fits the electricity meter's hourly model from InfluxDB, as
// `energy baseline -c FILE --device ID --temperature DEVICE.POINT` does.
func TestEnergyBaselineFromInflux(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.StartInfluxd(t)
	t.Setenv("FACILITYD_INFLUXDB_URL", influx.URL)
	t.Setenv("FACILITYD_INFLUXDB_BUCKET", influx.Bucket)
	t.Setenv("FACILITYD_STATE_DIR", t.TempDir())
	var out, errOut bytes.Buffer
	if code := run([]string{"sim", "-c", "../configs/demo.yaml", "--backfill", "40d", "--backfill-only"}, &out, &errOut); code != 0 {
		t.Fatalf("sim --backfill: exit %d\n%s", code, errOut.String())
	}
	to := time.Now().In(time.Local).AddDate(0, 0, -1).Format(time.DateOnly)
	from := time.Now().In(time.Local).AddDate(0, 0, -36).Format(time.DateOnly)
	out.Reset()
	errOut.Reset()
	code := run([]string{"energy", "baseline", "-c", "../configs/demo.yaml", "--device", "meter-1", "--temperature", "weather-1.outdoor_temperature",
		"--from", from, "--to", to, "--model", "hourly", "--json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("energy baseline: exit %d\n%s", code, errOut.String())
	}
	var m struct {
		Model        string   `json:"model"`
		N            int      `json:"n"`
		CVRMSE       float64  `json:"cvrmse"`
		FitForAlarms bool     `json:"fit_for_alarms"`
		Reasons      []string `json:"reasons"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Model != "towt" || m.N < 30*24 || m.CVRMSE <= 0 || m.FitForAlarms {
		t.Errorf("model %+v: want an hourly towt model over 35 days, not fit for alarms (CalTRACK wants a year)", m)
	}
	t.Logf("%+v", m)
}
