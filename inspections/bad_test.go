package inspections

import (
	"os"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// TestBadPlans checks every error of testdata/bad.yaml, each at its
// file:line:col, against the devices of the demo's profiles.
func TestBadPlans(t *testing.T) {
	data, err := os.ReadFile("testdata/bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, perr := ParseFile("testdata/bad.yaml", data)
	errs := Check(ps, []*Device{pump("pump-1"), elevator("elevator-1")})
	if j, ok := perr.(interface{ Unwrap() []error }); ok {
		errs = append(errs, j.Unwrap()...)
	}
	got := yamlstrict.SortErrors(errs).Error()
	want := []string{
		`testdata/bad.yaml:6:17: plan "pump_service": counters[0].point: unknown point "run_hour" (did you mean "run_hours"?); its counters are run_hours, starts (device "pump-1", profile "booster_pump")`,
		`testdata/bad.yaml:7:17: plan "pump_service": counters[1].point: point "running" is not a counter (mark it counter: true in the profile if it only ever counts up); its counters are run_hours, starts (device "pump-1", profile "booster_pump")`,
		`testdata/bad.yaml:8:32: plan "pump_service": counters[2].every: must be more than 0, got 0`,
		`testdata/bad.yaml:11:12: plan "zero": every: must be longer than 0d: write a whole number with d, w, mo or y, such as 15d, 2w, 3mo or 1y`,
		`testdata/bad.yaml:14:12: plan "bad_span": every: cannot use "15 days" as a calendar span: write a whole number with d, w, mo or y, such as 15d, 2w, 3mo or 1y`,
		`testdata/bad.yaml:15:11: plan "bad_span": lead: cannot use "1 week" as a calendar span`,
		`testdata/bad.yaml:23:16: plan "loop_b": includes: a cycle loop_a → loop_b → loop_a: a plan cannot include itself, even through another`,
		`testdata/bad.yaml:25:29: plan "fields": match: unknown field "tag" (did you mean "tags"?)`,
		`testdata/bad.yaml:27:15: plan "fields": unknown schedule "fixd": use floating or fixed (did you mean "fixed"?)`,
		`testdata/bad.yaml:28:13: plan "fields": anchor: cannot use "2026-13-01" as a date: write it as 2026-01-01`,
		`testdata/bad.yaml:29:11: plan "fields": lead 1y must be shorter than every 1y`,
		`testdata/bad.yaml:31:37: plan "fields": checklist[0]: unit, min and max are for evidence: reading, not yes_no`,
		`testdata/bad.yaml:32:9: plan "fields": checklist[1]: text is required: what to check`,
		`testdata/bad.yaml:32:9: plan "fields": checklist[1]: min 5 is above max 1`,
		`testdata/bad.yaml:33:24: plan "fields": ticket.priority: unknown ticket priority "P5": use P1, P2, P3 or P4 (did you mean "P1"?)`,
		`testdata/bad.yaml:36:56: plan "quartely": counters[0]: lead_units 6000 must be less than every 5000`,
		`testdata/bad.yaml:37:5: plan "nothing": every or counters is required`,
		`testdata/bad.yaml:38:22: plan "nothing": match: unknown device "elevator-9" (did you mean "elevator-1"?)`,
	}
	lines := strings.Split(got, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing error %s", w)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(lines), len(want), got)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "testdata/bad.yaml:") {
			t.Errorf("error without file:line:col: %s", l)
		}
	}
}

func TestUnknownInclude(t *testing.T) {
	ps, err := ParseFile("f.yaml", []byte("inspections:\n  - {name: q, match: {type: elevator}, every: 3mo, includes: [half_montly]}\n  - {name: half_monthly, match: {type: elevator}, every: 15d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	errs := Check(ps, []*Device{elevator("e1")})
	if want := `f.yaml:2:63: plan "q": includes: unknown plan "half_montly" (did you mean "half_monthly"?)`; len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("errors %v, want %s", errs, want)
	}
}

// FuzzParseFile: the decoder never panics, and every error it reports has
// a position.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(yearPlans))
	f.Add([]byte(pumpPlan))
	if data, err := os.ReadFile("testdata/bad.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("inspections: [{name: a, every: {day: 31, months: 2}, match: {all: true}, includes: [a]}]"))
	f.Add([]byte("inspections: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseFile("f.yaml", data)
		errs := Check(ps, []*Device{elevator("e1"), pump("p1")})
		if err != nil {
			errs = append(errs, err)
		}
		for _, e := range errs {
			for l := range strings.SplitSeq(e.Error(), "\n") {
				if !strings.HasPrefix(l, "f.yaml:") {
					t.Fatalf("error without a position: %q", l)
				}
			}
		}
		for _, p := range ps {
			p.FullChecklist()
			p.Interval()
		}
	})
}
