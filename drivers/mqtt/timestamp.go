package mqtt

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timestamp formats besides Go layouts.
const (
	TimeUnix    = "unix"
	TimeUnixMs  = "unix_ms"
	TimeUnixUs  = "unix_us"
	TimeUnixNs  = "unix_ns"
	TimeRFC3339 = "rfc3339"
)

// timeParser turns a payload's timestamp into a time.
type timeParser struct {
	format string
	unit   time.Duration // for the unix formats
	layout string
	loc    *time.Location
}

// newTimeParser checks a format. An empty format means unix_ns for line
// protocol and is an error elsewhere (the caller decides).
func newTimeParser(format, timezone string) (*timeParser, error) {
	tp := &timeParser{format: format, loc: time.UTC}
	switch format {
	case TimeUnix:
		tp.unit = time.Second
	case TimeUnixMs:
		tp.unit = time.Millisecond
	case TimeUnixUs:
		tp.unit = time.Microsecond
	case TimeUnixNs:
		tp.unit = time.Nanosecond
	case TimeRFC3339:
		tp.layout = time.RFC3339Nano
	case "":
		return nil, errors.New("timestamp format is required: unix, unix_ms, unix_us, unix_ns, rfc3339 or a Go layout such as 2006-01-02 15:04:05")
	default:
		if !strings.Contains(format, "2006") && !strings.Contains(format, "06") {
			return nil, fmt.Errorf("timestamp format %q: use unix, unix_ms, unix_us, unix_ns, rfc3339 or a Go layout written with the reference time 2006-01-02 15:04:05", format)
		}
		tp.layout = format
	}
	if timezone != "" {
		loc, err := time.LoadLocation(timezone)
		if err != nil {
			return nil, fmt.Errorf("timestamp timezone %q: %w", timezone, err)
		}
		tp.loc = loc
	}
	return tp, nil
}

// parse converts a decoded JSON value (json.Number or string) or line
// protocol integer into a time.
func (tp *timeParser) parse(v any) (time.Time, error) {
	if tp.unit != 0 {
		var s string
		switch x := v.(type) {
		case json.Number:
			s = string(x)
		case string:
			s = strings.TrimSpace(x)
		case int64:
			return unixTime(x, tp.unit), nil
		default:
			return time.Time{}, fmt.Errorf("timestamp is %s, want a number (%s)", jsonKind(v), tp.format)
		}
		return parseUnix(s, tp.unit)
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("timestamp is %s, want a string (%s)", jsonKind(v), tp.format)
	}
	t, err := time.ParseInLocation(tp.layout, s, tp.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q does not match %s", clip(s), tp.format)
	}
	return t, nil
}

// parseUnix reads an integer, or a decimal number of seconds for unit
// second, as a time since the epoch.
func parseUnix(s string, unit time.Duration) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return unixTime(n, unit), nil
	}
	// A decimal: whole units and a fraction, each exact.
	whole, frac, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if !ok || err != nil || frac == "" || len(frac) > 9 || strings.TrimLeft(frac, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("timestamp %q is not a number", clip(s))
	}
	f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64) // billionths of a unit
	if strings.HasPrefix(whole, "-") {
		f = -f
	}
	return unixTime(n, unit).Add(time.Duration(f * int64(unit) / 1e9)), nil
}

// unixTime is n units after the epoch.
func unixTime(n int64, unit time.Duration) time.Time {
	if unit == time.Second {
		return time.Unix(n, 0).UTC()
	}
	per := int64(time.Second / unit)
	return time.Unix(n/per, n%per*int64(unit)).UTC()
}

// clip shortens text quoted from a payload in errors and logs.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
