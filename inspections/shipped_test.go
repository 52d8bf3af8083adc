package inspections

import (
	"os"
	"path/filepath"
	"testing"
)

// TestShippedPlans parses configs/inspections and checks them against the
// demo's elevator, pump and fire panel.
func TestShippedPlans(t *testing.T) {
	files, _ := filepath.Glob("../configs/inspections/*.yaml")
	if len(files) < 4 {
		t.Fatalf("shipped plans: %v", files)
	}
	var all []*Plan
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := ParseFile(f, data)
		if err != nil {
			t.Error(err)
		}
		all = append(all, ps...)
	}
	panel := &Device{ID: "fire-panel-1", Type: "fire_panel", Points: map[string]bool{"fire_alarm": false}}
	p := pump("pump-1")
	p.Tags = map[string]string{"system": "domestic_water"}
	if errs := Check(all, []*Device{elevator("elevator-1"), p, panel}); len(errs) > 0 {
		t.Error(errs)
	}
	byName := map[string]*Plan{}
	for _, p := range all {
		byName[p.Name] = p
	}
	if y := byName["elevator_yearly"]; y == nil || len(y.closure) != 3 || len(y.FullChecklist()) < 30 {
		t.Errorf("elevator_yearly: includes %v", y.closure)
	}
	if got := byName["pump_service"].Interval(); got != "every 6mo or 2000 run_hours" {
		t.Errorf("pump_service: %s", got)
	}
}
