package mqtt

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/facilityd/facilityd/drivers"
)

// fuzzDevice builds a device of every format over one profile that has a
// point of each kind.
func fuzzDevice(t testing.TB, c DeviceConfig) *device {
	t.Helper()
	p := &drivers.Profile{Type: "fuzz", Points: []drivers.Point{
		{Name: "f", Path: "a.b[0]", Scale: 0.1},
		{Name: "i", Type: drivers.TypeInt32, Path: "i"},
		{Name: "b", Type: drivers.TypeBool, Path: "b"},
		{Name: "bit", Type: drivers.TypeBit, Bit: 3, Path: "w"},
		{Name: "s", Type: drivers.TypeString, Path: "s.0"},
		{Name: "e", Type: drivers.TypeUint16, Enum: map[int64]string{1: "on"}, Path: "e"},
	}}
	d, err := newDevice(Device{ID: "d", Profile: p, Config: c})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkSamples holds for the output of every parser: samples name the
// device and a profile point, and their kind is the point's.
func checkSamples(t *testing.T, d *device, ss []drivers.Sample) {
	for _, s := range ss {
		pt := d.points[s.Point]
		if s.Device != "d" || pt == nil {
			t.Fatalf("sample for %q/%q", s.Device, s.Point)
		}
		want := pt.kind
		if pt.integer {
			want = drivers.KindInt
		}
		if s.Value.Kind != want {
			t.Fatalf("point %q: kind %d, want %d", s.Point, s.Value.Kind, want)
		}
	}
}

// checkWindow holds for every parser: an emitted sample's time lies within
// [arrival-max_age, arrival+max_future].
func checkWindow(t *testing.T, d *device, arrival time.Time, ss []drivers.Sample) {
	t.Helper()
	lo, hi := arrival.Add(-d.Config.Timestamp.MaxAge), arrival.Add(d.Config.Timestamp.MaxFuture)
	for _, s := range ss {
		if s.Time.Before(lo) || s.Time.After(hi) {
			t.Fatalf("point %q at %s, outside [%s, %s] around arrival %s", s.Point, s.Time, lo, hi, arrival)
		}
	}
}

var fuzzSeeds = []string{
	`{"a":{"b":[1.5]},"i":7,"b":true,"w":8,"s":["x"],"e":1,"ts":1772366400000}`,
	`{"records":[{"a":{"b":[2]},"ts":"2026-03-01T12:00:00Z"}]}`,
	`[1,2,3]`, `21.5`, `"ON"`, `null`, `{"a":`, `{"i":1e400}`, `{"i":"12.0"}`,
	"meter f=1.5,i=3i,b=t,s=\"x\" 1772366400000000000\nmeter e=1u",
	`meter,tag=a\ b f=-1e10`, "m f=1 99999999999999999999", `m s="a\"b"`, "\x00\xff",
	// Stamped a day after arrival, and at unix_ms -1e17 (wraps around int64
	// nanoseconds): both are rejected.
	`{"a":{"b":[1.5]},"i":7,"ts":1772452800000}`, `{"a":{"b":[1.5]},"i":7,"ts":-100000000000000000}`,
	`{"records":[{"a":{"b":[2]},"ts":"2126-01-01T00:00:00Z"},{"a":{"b":[3]},"ts":"2026-03-01T11:00:00Z"}]}`,
	"meter f=1.5 1772452800000000000\nmeter f=2 -100000000000000000\nmeter i=1i 1772366400000000000",
}

func FuzzJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "i")
	}
	plain := fuzzDevice(f, DeviceConfig{Topic: "x", Timestamp: TimestampConfig{Path: "ts", Format: TimeUnixMs}})
	recs := fuzzDevice(f, DeviceConfig{Topic: "x", Records: "records", Timestamp: TimestampConfig{Path: "ts", Format: TimeRFC3339}})
	byPoint := fuzzDevice(f, DeviceConfig{Topic: "x/+point", ValuePath: "v"})
	now := time.Unix(1772366400, 0)
	f.Fuzz(func(t *testing.T, payload []byte, point string) {
		for _, d := range []*device{plain, recs, byPoint} {
			ss, _ := d.parse(payload, point, now, nil)
			checkSamples(t, d, ss)
			checkWindow(t, d, now, ss)
		}
	})
}

func FuzzValue(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "b")
	}
	d := fuzzDevice(f, DeviceConfig{Topic: "x/+point", Format: Value})
	now := time.Unix(1772366400, 0)
	f.Fuzz(func(t *testing.T, payload []byte, point string) {
		ss, res := d.parse(payload, point, now, nil)
		checkSamples(t, d, ss)
		checkWindow(t, d, now, ss)
		if len(ss) > 1 || len(ss) == 1 && res.err != nil {
			t.Fatalf("value payload gave %d samples and error %v", len(ss), res.err)
		}
	})
}

func FuzzInflux(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	ns := fuzzDevice(f, DeviceConfig{Topic: "x", Format: Influx})
	ms := fuzzDevice(f, DeviceConfig{Topic: "x", Format: Influx, Timestamp: TimestampConfig{Format: TimeUnixMs}})
	now := time.Unix(1772366400, 0)
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, d := range []*device{ns, ms} {
			ss, _ := d.parse(payload, "", now, nil)
			checkSamples(t, d, ss)
			checkWindow(t, d, now, ss)
		}
	})
}

func FuzzTopicFilter(f *testing.F) {
	for _, s := range [][2]string{{"site/+device/+point", "site/a/b"}, {"#", "$SYS/x"}, {"a/+/#", "a"}, {"+/+", "/"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, flt, topic string) {
		fl, err := parseFilter(flt)
		if err != nil {
			return
		}
		dev, pt, ok := fl.match(topic)
		if !ok && (dev != "" || pt != "") {
			t.Fatalf("no match but captures %q %q", dev, pt)
		}
		if ok && (strings.Contains(dev, "/") || strings.Contains(pt, "/")) {
			t.Fatalf("capture spans levels: %q %q", dev, pt)
		}
		if ok && !strings.ContainsAny(fl.sub, "+#") && topic != fl.sub {
			t.Fatalf("literal filter %q matched %q", fl.sub, topic)
		}
	})
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"a.b[0].c", "[1]", "a.0", "a..b", "a[", "a]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePath(s)
		if err != nil {
			return
		}
		q, err := parsePath(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("path %q: round trip gives %q (%v)", s, q.String(), err)
		}
	})
}

// FuzzJSONGet checks the in-place path lookup against encoding/json: for
// every valid document and path, both find the same value.
func FuzzJSONGet(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "a.b[0]")
	}
	f.Add([]byte(`{"a":1,"a":2,"b\u0041":"x\"y","c":[{},[],{"d":[1,{"e":null}]}]}`), "c[2].d.1.e")
	f.Add([]byte(` [ 1 , "2" , true ] `), "[1]")
	f.Fuzz(func(t *testing.T, doc []byte, ps string) {
		p, err := parsePath(ps)
		if err != nil || !json.Valid(doc) || !utf8.Valid(doc) {
			return
		}
		want, wok := func() (any, bool) {
			v, err := decodeJSON(doc)
			if err != nil {
				t.Fatalf("valid document does not decode: %v", err)
			}
			return p.lookup(v)
		}()
		got, gok := jsonGet(doc, p)
		if wok != gok {
			t.Fatalf("path %s in %s: found %v, encoding/json %v", p, doc, gok, wok)
		}
		if !wok {
			return
		}
		checkSameValue(t, p, doc, got, want)
	})
}

// checkSameValue fails t unless got, as a one-pass reader found it at p,
// is want, as encoding/json decoded it: objects and arrays compare by kind,
// numbers by their text.
func checkSameValue(t *testing.T, p path, doc []byte, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		want = jsonObject{}
	case []any:
		want = jsonArray{}
	case json.Number:
		if g, ok := got.(json.Number); ok && g == w {
			return
		}
	}
	if got != want {
		t.Fatalf("path %s in %s: got %#v, want %#v", p, doc, got, want)
	}
}

// FuzzPathTrie checks the one-pass reader of several paths against
// encoding/json, like FuzzJSONGet.
func FuzzPathTrie(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "a.b[0]", "i", "a.0")
	}
	f.Add([]byte(`{"a":[{"0":1},{"x":2}],"a":[[3]]}`), "a[0].0", "a.0.0", "a[1]")
	f.Fuzz(func(t *testing.T, doc []byte, p1, p2, p3 string) {
		var paths []path
		for _, s := range []string{p1, p2, p3} {
			p, err := parsePath(s)
			if err != nil {
				return
			}
			paths = append(paths, p)
		}
		if !json.Valid(doc) || !utf8.Valid(doc) {
			return
		}
		v, err := decodeJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]byte, len(paths))
		newPathTrie(paths).extract(doc, out)
		for i, p := range paths {
			want, wok := p.lookup(v)
			if (out[i] != nil) != wok {
				t.Fatalf("path %s in %s: found %v, encoding/json %v", p, doc, out[i] != nil, wok)
			}
			if !wok {
				continue
			}
			checkSameValue(t, p, doc, rawValue(out[i]), want)
		}
	})
}
