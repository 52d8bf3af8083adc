package store

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/klauspost/compress/gzip"

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
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ { // the common case: nothing to look into
		if c := s[i]; c == '\\' || c == '\n' || c == '\r' {
			return lpNameEscapes(s)
		}
	}
	return true
}

// lpNameEscapes is lpName for names with backslashes or line breaks.
func lpNameEscapes(s string) bool {
	if strings.ContainsAny(s, "\n\r") {
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
	lp     []byte // the batch's line protocol
	index  []byte // per line: uvarint length, uvarint fields
	fields []string
	// devices hold the escaped series keys of each device, kept from batch
	// to batch while the device's tags stay the same map.
	devices map[string]*devicePrefixes
	batchNo uint64 // counts records begun
	gz      *gzip.Writer
	out     bytes.Buffer

	// The record being built (begin, add, finish): the samples and lines
	// in it, and the open line, its key and its fields.
	samples, lines     int
	lineStart, nfields int
	cur                pointKey
}

// devicePrefixes are a device's series keys, one per measurement, and the
// tags they were built from.
type devicePrefixes struct {
	tags    unsafe.Pointer // the tags map they were built from, kept alive so that no other map takes its address
	all     []tagPair      // a copy of those tags, the device's own included, sorted by key (a map took about 1 KB a device)
	checked uint64         // the batch that last asked for the device's tags
	keys    []measurementKey
}

type tagPair struct{ key, value string }

type measurementKey struct {
	measurement string
	key         []byte
}

// maxPrefixes bounds the devices whose series keys are kept between batches.
const maxPrefixes = 1 << 16

// gzipLevel compresses a batch without keeping state between batches:
// klauspost/compress's stateless writer holds nothing of its own between
// batches where compress/gzip's BestSpeed writer keeps 1.2 MB (it borrows
// a 0.6 MB bit writer from a pool while it compresses, which a collection
// or two later lets go, and the package builds 0.6 MB of tables at start;
// BenchmarkGzipBatch). On a second of 1,000 meters of varied readings (370
// KB of line protocol) it compresses as well (9.8 times against 9.9) and a
// quarter faster (460 µs against 630). A batch is written in one call, so
// each 32 KB block still has the one before as its dictionary.
const gzipLevel = gzip.StatelessCompression

func newEncoder() *encoder {
	gz, _ := gzip.NewWriterLevel(nil, gzipLevel) // a valid level: no error
	return &encoder{gz: gz, devices: map[string]*devicePrefixes{}}
}

// encode writes batch as one record. Consecutive samples of one device and
// measurement at one instant become fields of one line, as drivers deliver a
// poll; InfluxDB merges lines of the same series and time, so splitting a
// poll over several lines (when its samples are interleaved) changes
// nothing, and a later value of a field wins either way. tags gives a
// device's extra tags and is called once per device and batch.
func (e *encoder) encode(batch []drivers.Sample, tags func(string) map[string]string) *record {
	e.begin()
	e.add(batch, tags)
	return e.finish()
}

// begin starts a record; add puts samples into it, in as many calls as
// wanted (a line may span two), and finish closes it.
func (e *encoder) begin() {
	e.lp, e.index = e.lp[:0], e.index[:0]
	e.batchNo++
	if len(e.devices) > maxPrefixes {
		clear(e.devices)
	}
	e.samples, e.lines, e.lineStart, e.nfields = 0, 0, -1, 0
}

func (e *encoder) endLine() {
	e.lp = append(e.lp, ' ')
	e.lp = strconv.AppendInt(e.lp, e.cur.ns, 10)
	e.lp = append(e.lp, '\n')
	e.index = binary.AppendUvarint(e.index, uint64(len(e.lp)-e.lineStart))
	e.index = binary.AppendUvarint(e.index, uint64(e.nfields))
	e.lines++
}

func (e *encoder) add(batch []drivers.Sample, tags func(string) map[string]string) {
	e.samples += len(batch)
	for i := range batch {
		s := &batch[i]
		key := pointKey{s.Measurement, s.Device, s.Time.UnixNano()}
		if e.lineStart >= 0 && key == e.cur && !slices.Contains(e.fields, s.Point) {
			e.lp = append(e.lp, ',')
		} else {
			if e.lineStart >= 0 {
				e.endLine()
			}
			e.cur, e.lineStart, e.nfields = key, len(e.lp), 0
			e.fields = e.fields[:0]
			e.lp = append(e.lp, e.prefix(s.Measurement, s.Device, tags)...)
			e.lp = append(e.lp, ' ')
		}
		e.fields = append(e.fields, s.Point)
		e.nfields++
		e.lp = appendField(e.lp, s.Point, s.Value)
	}
}

func (e *encoder) finish() *record {
	if e.lineStart >= 0 {
		e.endLine()
		e.lineStart = -1
	}
	e.out.Reset()
	e.gz.Reset(&e.out)
	e.gz.Write(e.lp) // writes to a bytes.Buffer cannot fail
	e.gz.Close()
	payload := make([]byte, 0, len(e.index)+e.out.Len())
	payload = append(append(payload, e.index...), e.out.Bytes()...)
	return &record{samples: e.samples, lines: e.lines, indexLen: len(e.index), payload: payload}
}

// prefix returns the series key of a device's points: measurement, then the
// tags sorted by key, device included. Tags that line protocol cannot carry
// are left out. tags is asked once per device and batch; the key is built
// again only when it returns another map than the key was built from.
func (e *encoder) prefix(measurement, device string, tags func(string) map[string]string) []byte {
	dp := e.devices[device]
	if dp == nil || dp.checked != e.batchNo {
		var t map[string]string
		if tags != nil {
			t = tags(device)
		}
		id := reflect.ValueOf(t).UnsafePointer() // nil for a nil map
		if dp == nil || dp.tags != id || (id == nil && tags != nil) {
			all := make([]tagPair, 0, len(t)+1)
			for k, v := range t {
				if k != DeviceTag {
					all = append(all, tagPair{k, v})
				}
			}
			all = append(all, tagPair{DeviceTag, device})
			slices.SortFunc(all, func(a, b tagPair) int { return strings.Compare(a.key, b.key) })
			dp = &devicePrefixes{tags: id, all: all}
			e.devices[device] = dp
		}
		dp.checked = e.batchNo
	}
	for i := range dp.keys {
		if dp.keys[i].measurement == measurement {
			return dp.keys[i].key
		}
	}
	p := appendEscaped(nil, measurement, measurementEscaper, ", ")
	for _, tp := range dp.all {
		key, v := tp.key, tp.value
		if !lpName(key) || !lpName(v) {
			continue
		}
		p = append(p, ',')
		p = appendEscaped(p, key, keyEscaper, ",= ")
		p = append(p, '=')
		p = appendEscaped(p, v, keyEscaper, ",= ")
	}
	dp.keys = append(dp.keys, measurementKey{measurement, p})
	return p
}

// appendEscaped appends s to b through r, or as it is when it holds none of
// the characters r replaces (the common case, without r's scan).
func appendEscaped(b []byte, s string, r *strings.Replacer, special string) []byte {
	if !strings.ContainsAny(s, special) {
		return append(b, s...)
	}
	return append(b, r.Replace(s)...)
}

func appendField(b []byte, name string, v drivers.Value) []byte {
	b = appendEscaped(b, name, keyEscaper, ",= ")
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
	b = appendEscaped(b, v.S, stringEscaper, `\"`)
	return append(b, '"')
}
