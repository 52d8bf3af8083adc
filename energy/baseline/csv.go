package baseline

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the timestamp forms the loaders accept. Those without an
// offset are read in the loader's zone.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	time.DateOnly,
}

// parseTime reads a timestamp: RFC 3339 with any offset (-06:00, Z), or a
// local time without one, read in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: write RFC 3339, e.g. 2016-01-02T00:00:00-06:00", s)
}

// parseValue reads a number; an empty cell or NaN is missing (NaN).
func parseValue(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number (leave the cell empty for missing data)", s)
	}
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is infinite", s)
	}
	return v, nil
}

// csvTable reads a header and rows of two named columns, calling row for
// each data line with its line number.
func csvTable(r io.Reader, file string, timeCol string, valueCol func(string) bool, row func(line int, ts, v string) error) (string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: empty file: want a header %q", file, timeCol+",value")
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	ti, vi, valueName := -1, -1, ""
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case h == timeCol && ti < 0:
			ti = i
		case valueCol(h) && vi < 0:
			vi, valueName = i, h
		}
	}
	if ti < 0 || vi < 0 {
		return "", fmt.Errorf("%s:1: header %q: want columns %q and a value column", file, strings.Join(head, ","), timeCol)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return valueName, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("%s:%d: %v", file, pe.Line, pe.Err)
			}
			return "", fmt.Errorf("%s: %w", file, err)
		}
		line, _ := cr.FieldPos(0) // only valid after a successful Read
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if ti >= len(rec) || vi >= len(rec) {
			return "", fmt.Errorf("%s:%d: %d fields, want %d as in the header", file, line, len(rec), len(head))
		}
		if err := row(line, strings.TrimSpace(rec[ti]), rec[vi]); err != nil {
			return "", fmt.Errorf("%s:%d: %w", file, line, err)
		}
	}
}

// LoadMeterCSV reads meter data in the eemeter format: a header
// `start,value` and one row per interval, the start in RFC 3339 (an offset
// such as -06:00 is kept; a time without offset is read in loc) and the
// usage, empty when missing. Rows must be in increasing time. Errors name
// the file and line.
func LoadMeterCSV(r io.Reader, file string, loc *time.Location) ([]Reading, error) {
	var out []Reading
	_, err := csvTable(r, file, "start", func(h string) bool { return h == "value" }, func(_ int, ts, vs string) error {
		t, err := parseTime(ts, loc)
		if err != nil {
			return err
		}
		v, err := parseValue(vs)
		if err != nil {
			return err
		}
		if n := len(out); n > 0 && !t.After(out[n-1].Start) {
			return fmt.Errorf("start %s is not after the previous row's %s: sort the file and remove duplicates", ts, out[n-1].Start.Format(time.RFC3339))
		}
		out = append(out, Reading{Start: t, Usage: v})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no data rows", file)
	}
	return out, nil
}

// LoadTemperatureCSV reads temperatures in the eemeter format: a header
// `dt,tempF` (or tempC, or temp) and one row per sample. The unit comes
// from the header (tempF, tempC); for a bare `temp` column it is unit,
// which must then be given. A unit that contradicts the header is an
// error. It returns the readings and their unit.
func LoadTemperatureCSV(r io.Reader, file string, loc *time.Location, unit TempUnit) ([]TempReading, TempUnit, error) {
	var out []TempReading
	col, err := csvTable(r, file, "dt", func(h string) bool { return strings.HasPrefix(h, "temp") }, func(_ int, ts, vs string) error {
		t, err := parseTime(ts, loc)
		if err != nil {
			return err
		}
		v, err := parseValue(vs)
		if err != nil {
			return err
		}
		if n := len(out); n > 0 && !t.After(out[n-1].Time) {
			return fmt.Errorf("dt %s is not after the previous row's %s: sort the file and remove duplicates", ts, out[n-1].Time.Format(time.RFC3339))
		}
		out = append(out, TempReading{Time: t, Temp: v})
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	var fromHeader TempUnit
	switch col {
	case "tempF":
		fromHeader = Fahrenheit
	case "tempC":
		fromHeader = Celsius
	case "temp":
	default:
		return nil, "", fmt.Errorf("%s:1: temperature column %q: name it tempF, tempC or temp", file, col)
	}
	switch {
	case fromHeader == "" && unit == "":
		return nil, "", fmt.Errorf("%s:1: column %q does not say its unit: name it tempF or tempC, or give the unit", file, col)
	case fromHeader != "" && unit != "" && unit != fromHeader:
		return nil, "", fmt.Errorf("%s:1: column %q is in °%s but the unit given is °%s", file, col, fromHeader, unit)
	case fromHeader != "":
		unit = fromHeader
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("%s: no data rows", file)
	}
	return out, unit, nil
}
