package baseline

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestLoadMeterCSV(t *testing.T) {
	got, err := LoadMeterCSV(strings.NewReader("start,value\n2016-01-01T00:00:00-06:00,1.5\n2016-01-02T00:00:00-06:00,\n2016-01-03T00:00:00Z,2\n"), "m.csv", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Usage != 1.5 || !math.IsNaN(got[1].Usage) || got[2].Usage != 2 {
		t.Fatalf("got %+v", got)
	}
	if _, off := got[0].Start.Zone(); off != -6*3600 {
		t.Errorf("offset %d, want -06:00 kept", off)
	}
	for _, c := range []struct{ in, want string }{
		{"", "m.csv: empty file"},
		{"when,value\n", `m.csv:1: header "when,value"`},
		{"start,value\n2016-01-01T00:00:00-06:00,abc\n", `m.csv:2: value "abc" is not a number`},
		{"start,value\n2016-01-01T00:00:00-06:00,1\nyesterday,2\n", `m.csv:3: time "yesterday"`},
		{"start,value\n2016-01-02T00:00:00Z,1\n2016-01-01T00:00:00Z,2\n", "m.csv:3: start 2016-01-01T00:00:00Z is not after"},
		{"start,value\n2016-01-01T00:00:00Z,1\n2016-01-02T00:00:00Z\n", "m.csv:3: 1 fields, want 2"},
		{"start,value\n2016-01-01T00:00:00Z,Inf\n", "m.csv:2: value \"Inf\" is infinite"},
		{"start,value\n", "m.csv: no data rows"},
	} {
		_, err := LoadMeterCSV(strings.NewReader(c.in), "m.csv", time.UTC)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
}

func TestLoadTemperatureCSV(t *testing.T) {
	in := "dt,tempF\n2016-01-01T00:00:00-06:00,21.5\n2016-01-01T01:00:00-06:00,\n"
	got, unit, err := LoadTemperatureCSV(strings.NewReader(in), "t.csv", time.UTC, "")
	if err != nil || unit != Fahrenheit || len(got) != 2 || got[0].Temp != 21.5 || !math.IsNaN(got[1].Temp) {
		t.Fatalf("got %+v %q %v", got, unit, err)
	}
	if _, _, err := LoadTemperatureCSV(strings.NewReader(in), "t.csv", time.UTC, Celsius); err == nil || !strings.Contains(err.Error(), "t.csv:1: column \"tempF\" is in °F but the unit given is °C") {
		t.Errorf("unit conflict: %v", err)
	}
	if _, _, err := LoadTemperatureCSV(strings.NewReader("dt,temp\n2016-01-01T00:00:00Z,1\n"), "t.csv", time.UTC, ""); err == nil || !strings.Contains(err.Error(), "does not say its unit") {
		t.Errorf("bare temp without unit: %v", err)
	}
	if _, u, err := LoadTemperatureCSV(strings.NewReader("dt,temp\n2016-01-01 00:00,1\n"), "t.csv", time.UTC, Celsius); err != nil || u != Celsius {
		t.Errorf("bare temp with unit C: %v %v", u, err)
	}
}

// FuzzLoadMeterCSV: any input gives readings in increasing time without
// infinities, or an error that names the file; never a panic.
func FuzzLoadMeterCSV(f *testing.F) {
	f.Add("start,value\n2015-11-22T00:00:00-06:00,32.34\n2015-11-23T00:00:00-06:00,\n")
	f.Add("start,value\n2015-11-22 00:00,1\n")
	f.Add("value,start\n1,2015-11-22\n")
	f.Add("start,value\n\"2015-11-22T00:00:00Z\",\"1\"\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := LoadMeterCSV(strings.NewReader(in), "fuzz.csv", time.UTC)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for i, r := range got {
			if math.IsInf(r.Usage, 0) || (i > 0 && !r.Start.After(got[i-1].Start)) {
				t.Fatalf("reading %d: %+v", i, r)
			}
		}
	})
}

// FuzzLoadTemperatureCSV: as FuzzLoadMeterCSV, and the unit is F or C.
func FuzzLoadTemperatureCSV(f *testing.F) {
	f.Add("dt,tempF\n2015-11-22T00:00:00-06:00,21.01\n2015-11-22T01:00:00-06:00,\n", "")
	f.Add("dt,temp\n2015-11-22T00:00:00Z,1\n", "C")
	f.Add("dt,tempC\n2015-11-22,1\n", "F")
	f.Fuzz(func(t *testing.T, in, unit string) {
		got, u, err := LoadTemperatureCSV(strings.NewReader(in), "fuzz.csv", time.UTC, TempUnit(unit))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if u != Fahrenheit && u != Celsius && u != TempUnit(unit) {
			t.Fatalf("unit %q", u)
		}
		for i, r := range got {
			if math.IsInf(r.Temp, 0) || (i > 0 && !r.Time.After(got[i-1].Time)) {
				t.Fatalf("reading %d: %+v", i, r)
			}
		}
	})
}
