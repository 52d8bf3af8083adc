package store

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/drivers"
)

// Line protocol is written here by hand, straight into one buffer, because it
// is the hot path (a sample costs a few dozen bytes of appends instead of a
// write.Point with its maps), and because the same bytes are spooled, sent
// and, on a refusal, split line by line.
//
// Escaping follows InfluxDB's parser (models/points.go, the same in 1.8 and
// 2.x): a backslash escapes the next byte while scanning, but only `\,`, `\=`
// and `\ ` are unescaped in names. So a name whose run of backslashes ends the
// name or precedes one of those characters cannot be written faithfully, and
// neither can a line break in a name, nor a measurement starting with '#'
// (a comment): lpName reports them and such samples are skipped.

var (
	measurementEscaper = strings.NewReplacer(",", `\,`, " ", `\ `)
	keyEscaper         = strings.NewReplacer(",", `\,`, "=", `\=`, " ", `\ `)
	stringEscaper      = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
)

// lpName reports whether s can be a measurement, tag or field name in line
// protocol without changing its meaning.
func lpName(s string) bool {
	if s == "" || strings.ContainsAny(s, "\n\r") {
		return false
	}
	run := 0 // backslashes just seen
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			run++
			continue
		case run%2 == 1 && (c == ',' || c == '=' || c == ' '):
			return false
		}
		run = 0
	}
	return run%2 == 0
}

// lpMeasurement is lpName for measurements, which also must not look like a
// comment line.
func lpMeasurement(s string) bool { return lpName(s) && s[0] != '#' }

// encoder turns batches of samples into records: line protocol, a line
// index, gzip. It is used by one goroutine at a time.
type encoder struct {
	lp       []byte // the batch's line protocol
	index    []byte // per line: uvarint length, uvarint fields
	fields   []string
	prefixes map[[2]string][]byte // measurement, device -> escaped series key
	devTags  map[string]map[string]string
	gz       *gzip.Writer
	out      bytes.Buffer
}

func newEncoder() *encoder {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return &encoder{gz: gz, prefixes: map[[2]string][]byte{}, devTags: map[string]map[string]string{}}
}

// encode writes batch as one record. Consecutive samples of one device and
// measurement at one instant become fields of one line, as drivers deliver a
// poll; InfluxDB merges lines of the same series and time, so splitting a
// poll over several lines (when its samples are interleaved) changes
// nothing, and a later value of a field wins either way. tags gives a
// device's extra tags and is called once per device and batch.
func (e *encoder) encode(batch []drivers.Sample, tags func(string) map[string]string) *record {
	e.lp, e.index = e.lp[:0], e.index[:0]
	clear(e.prefixes)
	clear(e.devTags)
	lines := 0
	lineStart, nfields := -1, 0
	var cur pointKey
	endLine := func(ts int64) {
		e.lp = append(e.lp, ' ')
		e.lp = strconv.AppendInt(e.lp, ts, 10)
		e.lp = append(e.lp, '\n')
		e.index = binary.AppendUvarint(e.index, uint64(len(e.lp)-lineStart))
		e.index = binary.AppendUvarint(e.index, uint64(nfields))
		lines++
	}
	for i := range batch {
		s := &batch[i]
		key := pointKey{s.Measurement, s.Device, s.Time.UnixNano()}
		if lineStart >= 0 && key == cur && !slices.Contains(e.fields, s.Point) {
			e.lp = append(e.lp, ',')
		} else {
			if lineStart >= 0 {
				endLine(cur.ns)
			}
			cur, lineStart, nfields = key, len(e.lp), 0
			e.fields = e.fields[:0]
			e.lp = append(e.lp, e.prefix(s.Measurement, s.Device, tags)...)
			e.lp = append(e.lp, ' ')
		}
		e.fields = append(e.fields, s.Point)
		nfields++
		e.lp = appendField(e.lp, s.Point, s.Value)
	}
	if lineStart >= 0 {
		endLine(cur.ns)
	}

	e.out.Reset()
	e.gz.Reset(&e.out)
	e.gz.Write(e.lp) // writes to a bytes.Buffer cannot fail
	e.gz.Close()
	payload := make([]byte, 0, len(e.index)+e.out.Len())
	payload = append(append(payload, e.index...), e.out.Bytes()...)
	return &record{samples: len(batch), lines: lines, indexLen: len(e.index), payload: payload}
}

// prefix returns the series key of a device's points: measurement, then the
// tags sorted by key, device included. Tags that line protocol cannot carry
// are left out.
func (e *encoder) prefix(measurement, device string, tags func(string) map[string]string) []byte {
	k := [2]string{measurement, device}
	if p, ok := e.prefixes[k]; ok {
		return p
	}
	all, ok := e.devTags[device]
	if !ok {
		all = map[string]string{}
		if tags != nil {
			maps.Copy(all, tags(device))
		}
		all[DeviceTag] = device
		e.devTags[device] = all
	}
	p := []byte(measurementEscaper.Replace(measurement))
	for _, key := range slices.Sorted(maps.Keys(all)) {
		v := all[key]
		if !lpName(key) || !lpName(v) {
			continue
		}
		p = append(p, ',')
		p = append(p, keyEscaper.Replace(key)...)
		p = append(p, '=')
		p = append(p, keyEscaper.Replace(v)...)
	}
	e.prefixes[k] = p
	return p
}

func appendField(b []byte, name string, v drivers.Value) []byte {
	b = append(b, keyEscaper.Replace(name)...)
	b = append(b, '=')
	switch v.Kind {
	case drivers.KindFloat:
		return strconv.AppendFloat(b, v.F, 'g', -1, 64)
	case drivers.KindInt:
		return append(strconv.AppendInt(b, v.I, 10), 'i')
	case drivers.KindBool:
		return strconv.AppendBool(b, v.B)
	}
	b = append(b, '"')
	b = append(b, stringEscaper.Replace(v.S)...)
	return append(b, '"')
}
