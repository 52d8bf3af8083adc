package mqtt

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Device is one device whose readings arrive over MQTT: its id, profile and
// MQTT settings.
type Device struct {
	ID      string
	Profile *drivers.Profile
	Config  DeviceConfig
}

// device is the driver's working copy of a Device: compiled topic, paths
// and timestamp parser, and its health. The driver's mutex guards it.
type device struct {
	Device
	filter    *filter
	key       string // what the +device level holds for it
	points    map[string]*point
	list      []*point // profile order
	records   path
	hasRecs   bool
	tsPath    path
	ts        *timeParser
	window    window // the payload times accepted around arrival
	lineproto *lineParser
	trie      *pathTrie // the points' and timestamp's paths, for one-pass reads
	raws      [][]byte  // extract's output, reused

	health health
}

// newDevice checks a Device and compiles what reading its payloads needs.
// Every problem is reported, each prefixed with the device id.
func newDevice(dev Device) (*device, error) {
	dev.Config = dev.Config.WithDefaults()
	c := dev.Config
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if dev.ID == "" {
		add("no id")
	}
	d := &device{Device: dev, key: c.TopicID, points: map[string]*point{}, health: health{reported: drivers.StatusUnknown}}
	if d.key == "" {
		d.key = dev.ID
	}
	f, err := parseFilter(c.Topic)
	if err != nil {
		errs = append(errs, err)
	}
	d.filter = f
	if f != nil && f.device < 0 && c.TopicID != "" {
		add("topic_id %q is set but topic %q has no +device level", c.TopicID, c.Topic)
	}
	switch c.Format {
	case JSON, Value, Influx:
	default:
		add("unknown format %q: use json, value or influx", c.Format)
	}
	if c.StaleAfter <= 0 {
		add("stale_after %s must be positive", c.StaleAfter)
	}
	if c.Timestamp.MaxFuture < 0 {
		add("timestamp: max_future %s must not be negative", c.Timestamp.MaxFuture)
	}
	if c.Timestamp.MaxAge < 0 {
		add("timestamp: max_age %s must not be negative", c.Timestamp.MaxAge)
	}
	d.window = window{maxFuture: c.Timestamp.MaxFuture, maxAge: c.Timestamp.MaxAge}
	byPoint := f != nil && f.point >= 0
	valuePath, err := parsePath(c.ValuePath)
	if err != nil {
		add("value_path: %v", err)
	}
	if c.Records != "" {
		if d.records, err = parsePath(c.Records); err != nil {
			add("records: %v", err)
		}
		d.hasRecs = true
	}
	if c.Format != JSON {
		if c.ValuePath != "" || c.Records != "" || c.Timestamp.Path != "" {
			add("value_path, records and timestamp.path apply to the json format only, not %s", c.Format)
		}
	}
	ts := c.Timestamp
	switch {
	case c.Format == Influx:
		format := ts.Format
		if format == "" {
			format = TimeUnixNs
		}
		if d.ts, err = newTimeParser(format, ts.Timezone); err != nil || d.ts.unit == 0 {
			add("timestamp format %q: line protocol timestamps are integers: use unix, unix_ms, unix_us or unix_ns", format)
		}
		d.lineproto = newLineParser()
		if byPoint {
			add("topic %q has a +point level, but influx payloads name their points as field keys", c.Topic)
		}
	case ts.Path != "":
		if d.tsPath, err = parsePath(ts.Path); err != nil {
			add("timestamp: %v", err)
		}
		if d.ts, err = newTimeParser(ts.Format, ts.Timezone); err != nil {
			add("timestamp: %v", err)
		}
	case ts.Format != "" || ts.Timezone != "":
		add("timestamp: format and timezone need a path")
	}
	if dev.Profile == nil {
		add("no profile")
	} else {
		if dev.Profile.Type == "" {
			add("profile has no type (the equipment type, used as measurement)")
		}
		if len(dev.Profile.Points) == 0 {
			add("profile has no points")
		}
		if c.Format == Value && !byPoint && len(dev.Profile.Points) != 1 {
			add("format value carries one value: put +point in the topic, or use a profile with one point")
		}
		for i := range dev.Profile.Points {
			p := &dev.Profile.Points[i]
			pth, err := parsePath(p.Path)
			if err != nil {
				add("point %q: %v", p.Name, err)
			}
			if p.Path == "" {
				switch {
				case byPoint:
					pth = valuePath
				default:
					pth = path{{key: p.Name, index: -1}}
				}
			}
			if p.Type == drivers.TypeBit && (p.Bit < 0 || p.Bit > 63) {
				add("point %q: bit %d is outside 0..63", p.Name, p.Bit)
			}
			pt := newPoint(p, pth)
			d.points[p.Name] = pt
			d.list = append(d.list, pt)
		}
	}
	if len(errs) > 0 {
		for i, err := range errs {
			errs[i] = fmt.Errorf("device %q: %w", dev.ID, err)
		}
		return nil, errors.Join(errs...)
	}
	if c.Format == JSON {
		paths := make([]path, 0, len(d.list)+1)
		for _, pt := range d.list {
			paths = append(paths, pt.path)
		}
		d.trie = newPathTrie(append(paths, d.tsPath))
		d.raws = make([][]byte, len(paths)+1)
	}
	return d, nil
}

// parsed is what reading one payload found out.
type parsed struct {
	err     error // the first problem; the message counts as malformed
	skipped int   // values that map to no profile point
	// stamp is the payload's own time of the last sample emitted, if it
	// has one: only accepted samples count towards the latency.
	stamp time.Time
}

// parse reads one payload of the device into samples appended to out.
// pointName is the +point level, if the filter has one. Points that are
// missing from a payload are left out: devices often send partial updates.
func (d *device) parse(payload []byte, pointName string, arrival time.Time, out []drivers.Sample) ([]drivers.Sample, parsed) {
	switch d.Config.Format {
	case Value:
		return d.parseValue(payload, pointName, arrival, out)
	case Influx:
		return d.parseInflux(payload, arrival, out)
	}
	return d.parseJSON(payload, pointName, arrival, out)
}

func (d *device) sample(pt *point, v drivers.Value, t time.Time) drivers.Sample {
	return drivers.Sample{Time: t, Device: d.ID, Measurement: d.Profile.Type, Point: pt.Name, Value: v, Quality: drivers.Good}
}

// pointFor returns the point a +point level names, or the profile's only
// point when the topic names none.
func (d *device) pointFor(name string) *point {
	if d.filter.point < 0 {
		if len(d.list) == 1 {
			return d.list[0]
		}
		return nil
	}
	return d.points[name]
}

func (d *device) parseValue(payload []byte, pointName string, arrival time.Time, out []drivers.Sample) ([]drivers.Sample, parsed) {
	var res parsed
	pt := d.pointFor(pointName)
	if pt == nil {
		res.skipped++
		return out, res
	}
	v, err := convert(pt, string(payload))
	if err != nil {
		res.err = fmt.Errorf("point %q: %w", pt.Name, err)
		return out, res
	}
	return append(out, d.sample(pt, v, arrival)), res
}

// pointErr names the point and path of a conversion problem.
func pointErr(pt *point, err error) error {
	if len(pt.path) == 0 {
		return fmt.Errorf("point %q: value %w", pt.Name, err)
	}
	return fmt.Errorf("point %q at %s: %w", pt.Name, pt.path, err)
}

// recordsOf returns the records of a JSON document.
func (d *device) recordsOf(doc any) ([]any, error) {
	if !d.hasRecs {
		return []any{doc}, nil
	}
	v, ok := d.records.lookup(doc)
	if !ok {
		return nil, fmt.Errorf("records path %s not found", d.records)
	}
	if arr, ok := v.([]any); ok {
		return arr, nil
	}
	return []any{v}, nil
}

func (d *device) parseJSON(payload []byte, pointName string, arrival time.Time, out []drivers.Sample) ([]drivers.Sample, parsed) {
	var res parsed
	var byPoint *point
	if d.filter.point >= 0 {
		if byPoint = d.points[pointName]; byPoint == nil {
			res.skipped++
			return out, res
		}
	}
	if !json.Valid(payload) {
		_, err := decodeJSON(payload) // for a precise message
		if err == nil {
			err = errors.New("invalid JSON")
		}
		res.err = err
		return out, res
	}
	// get returns the value of slot (point i, or the timestamp after the
	// points) at path p of a record. One record, the payload itself: one
	// walk finds every slot. Records: the decoded document is walked.
	var get func(rec any, slot int, p path) (any, bool)
	recs := []any{nil}
	switch {
	case d.hasRecs:
		doc, err := decodeJSON(payload)
		if err == nil {
			recs, err = d.recordsOf(doc)
		}
		if err != nil {
			res.err = err
			return out, res
		}
		get = func(rec any, _ int, p path) (any, bool) { return p.lookup(rec) }
	case byPoint != nil:
		get = func(_ any, _ int, p path) (any, bool) { return jsonGet(payload, p) }
	default:
		d.trie.extract(payload, d.raws)
		get = func(_ any, slot int, _ path) (any, bool) {
			if d.raws[slot] == nil {
				return nil, false
			}
			return rawValue(d.raws[slot]), true
		}
	}
	raws := !d.hasRecs && byPoint == nil // the values are d.raws
	found := false
	for _, rec := range recs {
		t := arrival
		if d.ts != nil {
			tv, ok := get(rec, len(d.list), d.tsPath)
			if !ok {
				res.err = cmpErr(res.err, fmt.Errorf("no timestamp at %s", d.tsPath))
				continue
			}
			var err error
			if t, err = d.ts.parse(tv); err == nil {
				err = d.window.check(t, arrival)
			}
			if err != nil { // the record is rejected; the others are read
				res.err = cmpErr(res.err, err)
				continue
			}
		}
		for i, pt := range d.list {
			if byPoint != nil && pt != byPoint {
				continue
			}
			if raws {
				if val, ok := convertNumber(pt, d.raws[i]); ok { // the common case, without boxing
					found = true
					out = append(out, d.sample(pt, val, t))
					if d.ts != nil {
						res.stamp = t
					}
					continue
				}
			}
			v, ok := get(rec, i, pt.path)
			if !ok || v == nil { // absent or null: no reading this time
				if byPoint != nil {
					res.err = cmpErr(res.err, fmt.Errorf("point %q: no value at %q", pt.Name, pt.path))
				}
				continue
			}
			found = true
			val, err := convert(pt, v)
			if err != nil {
				res.err = cmpErr(res.err, pointErr(pt, err))
				continue
			}
			out = append(out, d.sample(pt, val, t))
			if d.ts != nil {
				res.stamp = t
			}
		}
	}
	if !found && res.err == nil {
		res.skipped++
	}
	return out, res
}

// cmpErr keeps the first error.
func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

func (d *device) parseInflux(payload []byte, arrival time.Time, out []drivers.Sample) ([]drivers.Sample, parsed) {
	var res parsed
	err := d.lineproto.parse(payload, d.ts.unit, func(t time.Time, stamped bool, key string, v any) {
		pt := d.points[key]
		if pt == nil {
			res.skipped++
			return
		}
		if !stamped {
			t = arrival
		} else if err := d.window.check(t, arrival); err != nil { // this line's fields are rejected
			res.err = cmpErr(res.err, err)
			return
		}
		val, err := convert(pt, v)
		if err != nil {
			res.err = cmpErr(res.err, fmt.Errorf("field %q: %w", key, err))
			return
		}
		out = append(out, d.sample(pt, val, t))
		if stamped {
			res.stamp = t
		}
	}, func(err error) { res.err = cmpErr(res.err, err) })
	if err != nil {
		res.err = cmpErr(err, res.err)
	}
	return out, res
}
