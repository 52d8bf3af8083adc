package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
)

// TestWindowBackfillAtStart starts the alerter with five minutes of motor
// current at 25 A in a real influxd: the first live sample, 15 A, is
// averaged with that history, so avg(motor_current, "5m") > 20 fires at
// once. Without the history it would read 15 A alone.
func TestWindowBackfillAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs influxd")
	}
	influx := testenv.StartInfluxd(t)
	aa := newAlertApp(t, t.TempDir())
	var lp strings.Builder
	for s := 300; s > 0; s -= 10 { // from the window's start: it has been seen
		fmt.Fprintf(&lp, "pump,device=pump-1,site=test motor_current=25 %d\n", aa.clock.Add(-time.Duration(s)*time.Second).UnixNano())
	}
	resp, err := http.Post(influx.URL+"/write?db="+influx.DB, "text/plain", strings.NewReader(lp.String()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}
	f, err := rules.ParseFile("rules.yaml", []byte(`
groups:
  - name: pump
    rules:
      - {name: overcurrent, match: {type: pump}, expr: 'avg(motor_current, "5m") > 20'}
`))
	if err != nil {
		t.Fatal(err)
	}
	aa.cfg.Rules = f.Rules()
	aa.cfg.Profiles["pump"].Points = append(aa.cfg.Profiles["pump"].Points, drivers.Point{Name: "motor_current", Type: drivers.TypeFloat32})
	aa.cfg.InfluxDB = store.Config{URL: influx.URL, Bucket: influx.Bucket}
	ctx := context.Background()
	al, err := aa.newAlerter(ctx, aa.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer al.stop()
	deadline := time.Now().Add(30 * time.Second)
	for len(al.history) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("window history not read within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	al.tick(ctx)
	aa.poll(al, "motor_current", 15.0)
	if alerts := al.engine.Alerts(); len(alerts) != 1 || alerts[0].Rule != "overcurrent" || alerts[0].State != rules.Firing {
		t.Errorf("after the first sample: %+v, want overcurrent firing", alerts)
	}
}

// TestWindowBackfillInfluxDown starts the alerter with InfluxDB unreachable:
// startup does not wait, and stop ends the read.
func TestWindowBackfillInfluxDown(t *testing.T) {
	aa := newAlertApp(t, t.TempDir())
	f, _ := rules.ParseFile("rules.yaml", []byte(`
groups:
  - name: pump
    rules:
      - {name: low, match: {type: pump}, expr: 'avg(discharge_pressure, "5m") < 1'}
`))
	aa.cfg.Rules = f.Rules()
	aa.cfg.InfluxDB = store.Config{URL: "http://127.0.0.1:1", Bucket: "facility/autogen"}
	al, err := aa.newAlerter(context.Background(), aa.cfg)
	if err != nil {
		t.Fatal(err)
	}
	al.tick(context.Background())
	al.stop()
	if len(al.history) != 0 {
		t.Error("history from an unreachable InfluxDB")
	}
}
