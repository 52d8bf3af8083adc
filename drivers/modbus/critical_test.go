package modbus

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// unreadableHealth returns the HealthUnreadable value of the last poll.
func unreadableHealth(d *device) (string, bool) {
	for _, s := range d.samples {
		if s.Measurement == drivers.HealthMeasurement && s.Point == HealthUnreadable {
			return s.Value.S, true
		}
	}
	return "", false
}

// TestCriticalPointRetried: a critical point the device refuses is asked for
// again every poll, on its own, and reads as soon as the device serves it;
// a refused point that is not critical stays isolated for forgetRefusals.
func TestCriticalPointRetried(t *testing.T) {
	t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	u := &fakeUnit{regs: make([]uint16, 12), refuse: map[uint16]bool{2: true, 4: true}}
	c := newFakeConn(map[uint8]*fakeUnit{1: u})
	d, err := newDevice(Device{ID: "m", Profile: isolationProfile(), Config: Config{Address: "gw:502"},
		Critical: map[string]bool{"c": true, "a": true}})
	if err != nil {
		t.Fatal(err)
	}
	q, res, _ := pollOnce(t, d, c, t0)
	if q != "a=good b=good c=bad d=bad e=good f=good unreadable=good" {
		t.Errorf("first poll: %s", q)
	}
	if h, _ := unreadableHealth(d); h != "c: Modbus exception 2: illegal data address" {
		t.Errorf("unreadable health %q", h)
	}
	if !slices.ContainsFunc(res.problems, func(p problem) bool {
		return strings.Contains(p.err.Error(), `point "c" (holding 0x0002): refused by the device`) &&
			strings.Contains(p.err.Error(), "read again every poll")
	}) {
		t.Errorf("problems %v", res.problems)
	}
	for _, at := range []time.Duration{time.Second, 30 * time.Minute, 59 * time.Minute} {
		q, res, reqs := pollOnce(t, d, c, t0.Add(at))
		if !slices.Contains(reqs, "3 2+2") {
			t.Errorf("after %s: critical point c not asked for: %v", at, reqs)
		}
		if slices.ContainsFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "3 4+") || strings.HasPrefix(r, "3 3+") }) {
			t.Errorf("after %s: isolated point d asked for: %v", at, reqs)
		}
		if q != "a=good b=good c=bad d=bad e=good f=good unreadable=good" || len(res.problems) != 2 {
			t.Errorf("after %s: %s, problems %v", at, q, res.problems)
		}
	}
	u.refuse = nil // the device serves both again
	q, _, _ = pollOnce(t, d, c, t0.Add(59*time.Minute+time.Second))
	if q != "a=good b=good c=good d=bad e=good f=good unreadable=good" {
		t.Errorf("critical point not read at the next poll, or the isolated one read early: %s", q)
	}
	if h, ok := unreadableHealth(d); h != "" || !ok {
		t.Errorf("unreadable health %q, %v", h, ok)
	}
	if q, _, _ := pollOnce(t, d, c, t0.Add(time.Hour)); q != "a=good b=good c=good d=good e=good f=good unreadable=good" {
		t.Errorf("after an hour: %s", q)
	}
}

// TestNoCriticalPointsNoHealth: a device without critical points polls as
// before, with no HealthUnreadable sample.
func TestNoCriticalPointsNoHealth(t *testing.T) {
	u := &fakeUnit{regs: make([]uint16, 12), refuse: map[uint16]bool{2: true}}
	c := newFakeConn(map[uint8]*fakeUnit{1: u})
	d, err := newDevice(Device{ID: "m", Profile: isolationProfile(), Config: Config{Address: "gw:502"}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	pollOnce(t, d, c, t0)
	if _, reqs := pollOnceReqs(t, d, c, t0.Add(time.Second)); slices.Contains(reqs, "3 2+2") {
		t.Errorf("a refused point that is not critical asked for again: %v", reqs)
	}
	if _, ok := unreadableHealth(d); ok {
		t.Error("HealthUnreadable without critical points")
	}
}

func pollOnceReqs(t *testing.T, d *device, c *fakeConn, at time.Time) (string, []string) {
	t.Helper()
	q, _, reqs := pollOnce(t, d, c, at)
	return q, reqs
}
