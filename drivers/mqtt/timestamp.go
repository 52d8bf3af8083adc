package mqtt

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
// protocol integer into a time. Unix values must fit int64 nanoseconds
// since the epoch (1677-09-21 to 2262-04-11): beyond that they would wrap
// around, so they are an error.
func (tp *timeParser) parse(v any) (time.Time, error) {
	if tp.unit != 0 {
		var s string
		switch x := v.(type) {
		case json.Number:
			s = string(x)
		case string:
			s = strings.TrimSpace(x)
		case int64:
			return unixTime(x, tp.unit)
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
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return unixTime(n, unit)
	}
	if errors.Is(err, strconv.ErrRange) {
		return time.Time{}, errRange(s, unit)
	}
	// A decimal: whole units and a fraction, each exact.
	whole, frac, ok := strings.Cut(s, ".")
	n, err = strconv.ParseInt(whole, 10, 64)
	if ok && errors.Is(err, strconv.ErrRange) {
		return time.Time{}, errRange(s, unit)
	}
	if !ok || err != nil || frac == "" || len(frac) > 9 || strings.TrimLeft(frac, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("timestamp %q is not a number", clip(s))
	}
	f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64) // billionths of a unit
	if strings.HasPrefix(whole, "-") {
		f = -f
	}
	ns, ok := unixNanos(n, unit)
	if !ok {
		return time.Time{}, errRange(s, unit)
	}
	fns := f * int64(unit) / 1e9 // |f| < 1e9 and unit <= 1e9: no overflow
	sum := ns + fns
	if fns > 0 && sum < ns || fns < 0 && sum > ns {
		return time.Time{}, errRange(s, unit)
	}
	return time.Unix(0, sum).UTC(), nil
}

// unixTime is n units after the epoch, if that fits int64 nanoseconds.
func unixTime(n int64, unit time.Duration) (time.Time, error) {
	ns, ok := unixNanos(n, unit)
	if !ok {
		return time.Time{}, errRange(strconv.FormatInt(n, 10), unit)
	}
	return time.Unix(0, ns).UTC(), nil
}

// unixNanos is n units in nanoseconds, unless that overflows int64.
func unixNanos(n int64, unit time.Duration) (int64, bool) {
	u := int64(unit)
	if n > math.MaxInt64/u || n < math.MinInt64/u {
		return 0, false
	}
	return n * u, true
}

func errRange(s string, unit time.Duration) error {
	name := map[time.Duration]string{time.Second: TimeUnix, time.Millisecond: TimeUnixMs, time.Microsecond: TimeUnixUs, time.Nanosecond: TimeUnixNs}[unit]
	return fmt.Errorf("timestamp %s (%s) is out of range: unix times go from 1677-09-21 to 2262-04-11", clip(s), name)
}

// window is the range of payload timestamps a device accepts around the
// arrival of a message.
type window struct{ maxFuture, maxAge time.Duration }

// check rejects a payload time later than arrival+max_future or earlier
// than arrival-max_age. Time.Add saturates, so no limit wraps around.
func (w window) check(t, arrival time.Time) error {
	switch {
	case t.After(arrival.Add(w.maxFuture)):
		return fmt.Errorf("timestamp %s is %s in the future of arrival (max_future %s)", t.Format(time.RFC3339Nano), span(t, arrival), spanOf(w.maxFuture))
	case t.Before(arrival.Add(-w.maxAge)):
		return fmt.Errorf("timestamp %s is %s older than arrival (max_age %s)", t.Format(time.RFC3339Nano), span(arrival, t), spanOf(w.maxAge))
	}
	return nil
}

// span is how much later a is than b, for messages: 250ms, 1h30m, 2.5d,
// 100y. It does not overflow where a.Sub(b) would.
func span(a, b time.Time) string {
	secs := float64(a.Unix()-b.Unix()) + float64(a.Nanosecond()-b.Nanosecond())/1e9
	return spanSeconds(secs)
}

func spanOf(d time.Duration) string { return spanSeconds(d.Seconds()) }

func spanSeconds(secs float64) string {
	const day = 24 * 60 * 60
	const year = 365.2425 * day
	unit := func(n float64, suffix string) string {
		if n >= 10 {
			n = math.Round(n)
		} else {
			n = math.Round(n*10) / 10
		}
		return strconv.FormatFloat(n, 'f', -1, 64) + suffix
	}
	switch {
	case secs >= year:
		return unit(secs/year, "y")
	case secs >= day:
		return unit(secs/day, "d")
	}
	d := time.Duration(secs * 1e9)
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// clip shortens text quoted from a payload in errors and logs.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
