package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// All Flux text the store sends is built here, and every value that comes
// from outside (bucket, measurement, device, field) goes through fluxString:
// InfluxDB 1.8 has no query parameters, so escaping is the only thing between
// a device named `x" or true or "` and a query that reads every device.

// fluxEscaper escapes what a Flux string literal treats specially: the quote
// ending it, backslash, and "${", which starts interpolation (every "$" is
// escaped, which Flux accepts, so no split "$"+"{" can slip through). Control
// characters use their Flux escapes so the query stays on one line per value.
var fluxEscaper = strings.NewReplacer(
	`\`, `\\`,
	`"`, `\"`,
	`$`, `\$`,
	"\n", `\n`,
	"\r", `\r`,
	"\t", `\t`,
)

// fluxString returns s as a Flux string literal, quotes included.
func fluxString(s string) string {
	return `"` + fluxEscaper.Replace(s) + `"`
}

// fluxTime returns t as a Flux time value. time(v: "...") parses the same
// RFC 3339 text in every Flux version, unlike bare date-time literals with
// fractions.
func fluxTime(t time.Time) string {
	return "time(v: " + strconv.Quote(t.UTC().Format(time.RFC3339Nano)) + ")"
}

// fluxDuration returns d as a Flux duration literal in nanoseconds, so no
// precision is lost in formatting.
func fluxDuration(d time.Duration) string {
	if d < 0 {
		return "-" + strconv.FormatInt(-int64(d), 10) + "ns"
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// fluxFilter selects one device's series of one measurement.
func fluxFilter(measurement, device string) string {
	return fmt.Sprintf(`filter(fn: (r) => r._measurement == %s and r.%s == %s)`,
		fluxString(measurement), DeviceTag, fluxString(device))
}

// lastQuery returns the newest value of every field of a device within
// lookback.
func lastQuery(bucket, measurement, device string, lookback time.Duration) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s)
  |> %s
  |> last()`,
		fluxString(bucket), fluxDuration(-lookback), fluxFilter(measurement, device))
}

// rangeQuery returns one field of a device in [start, stop), oldest first, as
// one table even when the device's tags changed within the range.
func rangeQuery(bucket, measurement, device, field string, start, stop time.Time) string {
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> %s
  |> filter(fn: (r) => r._field == %s)
  |> group()
  |> keep(columns: ["_time", "_value"])
  |> sort(columns: ["_time"])`,
		fluxString(bucket), fluxTime(start), fluxTime(stop),
		fluxFilter(measurement, device), fluxString(field))
}

// selectQuery returns the series sel picks in [start, stop): one table per
// device and field, merged across tag changes, oldest first, with the
// window columns (_start, _stop) that aggregateWindow needs.
func selectQuery(bucket string, sel Selector, start, stop time.Time) string {
	cond := "r._measurement == " + fluxString(sel.Measurement)
	if sel.Device != "" {
		cond += " and r." + DeviceTag + " == " + fluxString(sel.Device)
	}
	if sel.Field != "" {
		cond += " and r._field == " + fluxString(sel.Field)
	}
	return fmt.Sprintf(`from(bucket: %s)
  |> range(start: %s, stop: %s)
  |> filter(fn: (r) => %s)
  |> group(columns: ["_start", "_stop", "_measurement", %q, "_field"])
  |> sort(columns: ["_time"])`,
		fluxString(bucket), fluxTime(start), fluxTime(stop), cond, DeviceTag)
}

// seriesColumns are the columns series queries return.
var seriesColumns = fmt.Sprintf(`
  |> keep(columns: ["_time", "_value", "_measurement", %q, "_field"])`, DeviceTag)

// seriesQuery returns the raw values sel picks in [start, stop).
func seriesQuery(bucket string, sel Selector, start, stop time.Time) string {
	return selectQuery(bucket, sel, start, stop) + seriesColumns
}

// aggregateQuery returns fn of the values sel picks in each window of
// length every, timestamped with the window's end (Flux's default). Empty
// windows are left out. fn must be a known Agg: it is written as is.
func aggregateQuery(bucket string, sel Selector, start, stop time.Time, every time.Duration, fn Agg) string {
	return selectQuery(bucket, sel, start, stop) + fmt.Sprintf(`
  |> aggregateWindow(every: %s, fn: %s, createEmpty: false)`, fluxDuration(every), fn) + seriesColumns
}
