package inspections

import (
	"testing"
	"time"
)

// elevator is a device of the demo's elevator profile.
func elevator(id string) *Device {
	return &Device{ID: id, Type: "elevator", Profile: "elevator", Location: "Tower A",
		Points: map[string]bool{"trips": true, "run_hours": true, "door_cycles": true, "floor": false, "fault_code": false}}
}

func pump(id string) *Device {
	return &Device{ID: id, Type: "pump", Profile: "booster_pump",
		Points: map[string]bool{"run_hours": true, "starts": true, "running": false}}
}

// plans parses and checks plans written in YAML, in zone.
func plans(t testing.TB, src string, zone *time.Location, devices ...*Device) []*Plan {
	t.Helper()
	ps, err := ParseFile("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		p.Zone = zone
	}
	if errs := Check(ps, devices); len(errs) > 0 {
		t.Fatal(errs)
	}
	return ps
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("no time zone %s: %v", name, err)
	}
	return loc
}

func day(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, s, loc)
	}
	if err != nil {
		panic(err)
	}
	return t
}

// noLive reads no counter.
type noLive struct{}

func (noLive) Counter(string, string) (float64, bool) { return 0, false }
