package energy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

func TestSampleTariff(t *testing.T) {
	tf := mustTariffs(t, "../../configs/tariffs/shanghai-commercial.yaml")
	loc := time.FixedZone("CST", 8*3600)
	cases := []struct {
		at    time.Time
		band  BandName
		price float64
	}{
		{time.Date(2026, 6, 30, 9, 0, 0, 0, loc), Peak, 1.0690},
		{time.Date(2026, 7, 1, 9, 0, 0, 0, loc), Peak, 1.0950}, // the change applies from its date
		{time.Date(2026, 7, 1, 5, 59, 0, 0, loc), Valley, 0.3090},
		{time.Date(2026, 7, 1, 21, 30, 0, 0, loc), Flat, 0.6780},
		{time.Date(2026, 7, 1, 22, 0, 0, 0, loc), Valley, 0.3090},
		{time.Date(2026, 7, 1, 12, 30, 0, 0, loc), Sharp, 1.3140}, // summer
		{time.Date(2026, 10, 1, 12, 30, 0, 0, loc), Flat, 0.6780},
	}
	for _, c := range cases {
		b, p, ok := tf.Price(usage.Electricity, c.at, loc)
		if !ok || b != c.band || p != c.price {
			t.Errorf("%s: %s at %v, want %s at %v", c.at, b, p, c.band, c.price)
		}
	}
	if _, _, ok := tf.Price(usage.Electricity, time.Date(2024, 12, 31, 9, 0, 0, 0, loc), loc); ok {
		t.Error("a price before the first schedule")
	}
	if co2, ce := tf.factor(usage.Gas); co2 != 2.162 || ce != 1.2143 {
		t.Errorf("gas factors %v %v", co2, ce)
	}
}

func TestBadTariffs(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown field", "tariffs:\n  electricty: []\n", `t.yaml:2:3: unknown field "electricty" in tariffs (did you mean "electricity"?)`},
		{"bad date", "tariffs:\n  water:\n    - {from: 2026-13-01, price: 1}\n", `t.yaml:3:14: tariffs.water[0].from: "2026-13-01" is not a date`},
		{"order", "tariffs:\n  water:\n    - {from: 2026-02-01, price: 1}\n    - {from: 2026-01-01, price: 2}\n",
			"t.yaml:4:14: tariffs: water schedule 2: from 2026-01-01 is not after the schedule before it (2026-02-01)"},
		{"hours missing", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: peak, hours: [\"08:00-22:00\"], price: 1}\n",
			"t.yaml:5:9: tariffs: electricity schedule 1: every hour of the day must be in exactly one band: no band holds 00:00, 01:00"},
		{"hours overlap", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: peak, hours: [\"00:00-24:00\"], price: 1}\n        - {band: valley, hours: [\"22:00-06:00\"], price: 1}\n",
			"22:00 is in both peak and valley"},
		{"bad hours", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: peak, hours: [\"8-11\"], price: 1}\n",
			`t.yaml:5:32: tariffs.electricity[0].bands[0].hours[0]: hours "8-11": write whole hours as "08:00-11:00"`},
		{"bad band", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: offpeak, hours: [\"00:00-24:00\"], price: 1}\n",
			`unknown band "offpeak": use sharp, peak, flat or valley`},
		{"price and bands", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      price: 1\n      bands:\n        - {band: flat, hours: [\"00:00-24:00\"], price: 1}\n",
			"t.yaml:4:14: tariffs: electricity schedule 1: give either price (one price at every hour) or bands, not both"},
		{"demand on water", "tariffs:\n  water:\n    - {from: 2026-01-01, price: 1, demand_per_kw: 3}\n", "a demand charge is for electricity only"},
		{"season gap", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: sharp, months: [7], hours: [\"12:00-14:00\"], price: 2}\n        - {band: flat, months: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12], hours: [\"00:00-24:00\"], price: 1}\n",
			"no band holds 00:00, 01:00, 02:00, 03:00, 04:00, 05:00, 06:00, 07:00, 08:00, 09:00, 10:00, 11:00, 14:00, 15:00, 16:00, 17:00, 18:00, 19:00, 20:00, 21:00, 22:00, 23:00 (July, weekdays), and 1 other months or kinds of day"},
		{"weekend only", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: flat, days: weekend, hours: [\"00:00-24:00\"], price: 1}\n",
			"(January, weekdays), and 11 other months or kinds of day"},
		{"bad month", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: flat, months: [13], hours: [\"00:00-24:00\"], price: 1}\n        - {band: flat, hours: [\"00:00-24:00\"], price: 1}\n",
			"month 13: write months as 1 (January) to 12"},
		{"bad days", "tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: flat, days: holidays, hours: [\"00:00-24:00\"], price: 1}\n",
			`unknown days "holidays": use weekday or weekend`},
		{"negative", "tariffs:\n  gas:\n    - {from: 2026-01-01, price: -1}\n", "prices and charges cannot be negative"},
		{"no section", "currency: CNY\n", `t.yaml:1:1: unknown field "currency"`},
		{"two problems", "tariffs:\n  water:\n    - {from: 2026-01-01, prise: 1}\n  gaz: []\n", `unknown field "prise"`},
	}
	for _, c := range cases {
		_, err := Decode("t.yaml", []byte(c.yaml))
		if err == nil {
			t.Errorf("%s: decoded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error\n%s\nwant it to hold\n%s", c.name, err, c.want)
		}
		if c.name == "two problems" && !strings.Contains(err.Error(), `unknown field "gaz"`) {
			t.Errorf("only the first problem reported: %s", err)
		}
	}
}

func TestHours(t *testing.T) {
	h, err := ParseHours("22:00-06:00")
	if err != nil || h.Len() != 8 || !h.Contains(23) || !h.Contains(0) || h.Contains(6) || h.Contains(21) {
		t.Errorf("22:00-06:00: %+v %v", h, err)
	}
	if h, err := ParseHours("00:00-24:00"); err != nil || h.Len() != 24 {
		t.Errorf("00:00-24:00: %+v %v", h, err)
	}
	for _, bad := range []string{"08:30-11:00", "24:00-01:00", "08:00-08:00", "x", "08:00"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPeriods(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, loc) }
	cases := []struct {
		in             string
		from, to       time.Time
		prev, lastYear string
	}{
		{"2026-11", d(2026, 11, 1), d(2026, 12, 1), "2026-10", "2025-11"},
		{"2026-01", d(2026, 1, 1), d(2026, 2, 1), "2025-12", "2025-01"},
		{"2026-W47", d(2026, 11, 16), d(2026, 11, 23), "2026-W46", "2025-W47"},
		{"2026-W01", d(2025, 12, 29), d(2026, 1, 5), "2025-W52", "2025-W01"},
		{"2026-Q4", d(2026, 10, 1), d(2027, 1, 1), "2026-Q3", "2025-Q4"},
		{"2026", d(2026, 1, 1), d(2027, 1, 1), "2025", "2025"},
	}
	for _, c := range cases {
		p, err := ParsePeriod(c.in, loc)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !p.From.Equal(c.from) || !p.To.Equal(c.to) || p.Previous().Name != c.prev || p.LastYear().Name != c.lastYear {
			t.Errorf("%s: [%s, %s) prev %s last year %s", c.in, p.From, p.To, p.Previous().Name, p.LastYear().Name)
		}
	}
	for _, bad := range []string{"2026-13", "2026-W54", "2026-Q5", "26", "November"} {
		if _, err := ParsePeriod(bad, loc); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	r, err := NewRange(d(2026, 11, 3), d(2026, 11, 13))
	if err != nil || r.Previous().From != d(2026, 10, 24) {
		t.Errorf("range %+v prev %+v %v", r, r.Previous(), err)
	}
	if _, err := os.Stat("../../configs/tariffs/shanghai-commercial.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestWeekendBand(t *testing.T) {
	tf, err := Decode("w.yaml", []byte(`tariffs:
  electricity:
    - from: 2026-01-01
      bands:
        - {band: peak, days: weekday, hours: ["08:00-20:00"], price: 1}
        - {band: valley, days: weekday, hours: ["20:00-08:00"], price: 0.3}
        - {band: flat, days: weekend, hours: ["00:00-24:00"], price: 0.5}
`))
	if err != nil {
		t.Fatal(err)
	}
	loc := time.UTC
	for _, c := range []struct {
		at    time.Time
		band  BandName
		price float64
	}{
		{time.Date(2026, 11, 20, 9, 0, 0, 0, loc), Peak, 1},     // Friday
		{time.Date(2026, 11, 21, 9, 0, 0, 0, loc), Flat, 0.5},   // Saturday
		{time.Date(2026, 11, 23, 7, 0, 0, 0, loc), Valley, 0.3}, // Monday
	} {
		if b, p, ok := tf.Price(usage.Electricity, c.at, loc); !ok || b != c.band || p != c.price {
			t.Errorf("%s: %s %v, want %s %v", c.at.Weekday(), b, p, c.band, c.price)
		}
	}
}

func TestDateOf(t *testing.T) {
	for _, tm := range []time.Time{time.Date(2025, 3, 9, 23, 59, 0, 0, time.UTC), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(10, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := dateOf(tm), Date(tm.Format(time.DateOnly)); got != want {
			t.Errorf("dateOf(%v) = %s, want %s", tm, got, want)
		}
	}
}
