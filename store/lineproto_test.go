package store

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

func gunzip(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestEncodeGroupsLines(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	t1 := t0.Add(time.Second)
	tags := map[string]map[string]string{
		"pump-1": {"site": "hq", "building": "A", "floor": "", "device": "spoofed", "bad\n": "x", "odd": `v\`},
		"pump-2": {"site": "hq", "building": "B b,=c"},
	}
	calls := map[string]int{}
	tagsOf := func(id string) map[string]string { calls[id]++; return tags[id] }
	s := func(dev, meas, point string, v drivers.Value, ts time.Time) drivers.Sample {
		return drivers.Sample{Time: ts, Device: dev, Measurement: meas, Point: point, Value: v}
	}
	batch := []drivers.Sample{
		s("pump-1", "pump", "flow", drivers.Float(12.5), t0),
		s("pump-1", "pump", "running", drivers.Bool(true), t0),
		s("pump-1", "pump", "starts", drivers.Int(42), t0),
		s("pump-1", "pump", "flow", drivers.Float(13), t0), // repeated field: a new line, which wins
		s("pump-2", "pump", "flow", drivers.Float(3), t0),
		s("pump-2", "pump", "mode", drivers.String("auto \"eco\"\\\nnext"), t0),
		s("pump-1", "pump", "flow", drivers.Float(1e21), t1),
		s("pump-1", "device_health", "up", drivers.Bool(false), t0),
		s("pump-2", "my meas,x", "a b=c,d", drivers.Float(-0.5), t0),
	}
	rec := newEncoder().encode(batch, tagsOf)
	want := strings.Join([]string{
		`pump,building=A,device=pump-1,site=hq flow=12.5,running=true,starts=42i 1700000000000000000`,
		`pump,building=A,device=pump-1,site=hq flow=13 1700000000000000000`,
		`pump,building=B\ b\,\=c,device=pump-2,site=hq flow=3,mode="auto \"eco\"\\` + "\n" + `next" 1700000000000000000`,
		`pump,building=A,device=pump-1,site=hq flow=1e+21 1700000001000000000`,
		`device_health,building=A,device=pump-1,site=hq up=false 1700000000000000000`,
		`my\ meas\,x,building=B\ b\,\=c,device=pump-2,site=hq a\ b\=c\,d=-0.5 1700000000000000000`,
	}, "\n") + "\n"
	if got := gunzip(t, rec.body()); got != want {
		t.Errorf("line protocol:\n%s\nwant:\n%s", got, want)
	}
	if rec.samples != len(batch) || rec.lines != 6 {
		t.Errorf("record counts %d samples, %d lines", rec.samples, rec.lines)
	}
	if calls["pump-1"] != 1 || calls["pump-2"] != 1 {
		t.Errorf("tags called %v, want once per device", calls)
	}
	lines, fields, err := rec.splitLines()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 6 || string(lines[2]) != strings.SplitAfterN(want, "\n", 5)[2]+strings.SplitAfterN(want, "\n", 5)[3] {
		t.Errorf("splitLines: %q", lines)
	}
	if wantF := []int{3, 1, 2, 1, 1, 1}; !equalInts(fields, wantF) {
		t.Errorf("fields per line %v, want %v", fields, wantF)
	}
	// The frame reads back as the same record.
	frame := rec.appendFrame(nil)
	hd, ok := parseHeader(frame)
	if !ok {
		t.Fatal("header of a fresh frame is invalid")
	}
	back, err := decodeRecord(hd, frame[recordHeaderSize:])
	if err != nil || back.samples != rec.samples || back.lines != rec.lines || !bytes.Equal(back.body(), rec.body()) {
		t.Fatalf("decodeRecord = %+v, %v", back, err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLPName(t *testing.T) {
	cases := map[string]bool{
		"pump-1": true, `a\b`: true, `a\\`: true, `a\\,b`: true, "a b": true, `x" or true or "`: true, `${x}`: true,
		"": false, `a\`: false, `a\,b`: false, `a\ b`: false, `a\=b`: false, `a\\\`: false, "a\nb": false, "a\rb": false,
	}
	for name, want := range cases {
		if got := lpName(name); got != want {
			t.Errorf("lpName(%q) = %v, want %v", name, got, want)
		}
	}
	if lpMeasurement("#pump") || !lpMeasurement("pu#mp") {
		t.Error("lpMeasurement must refuse a leading # (a comment line) only")
	}
}

func TestStorable(t *testing.T) {
	ok := drivers.Sample{Time: time.Now(), Device: "d", Measurement: "m", Point: "p", Value: drivers.Float(1)}
	cases := map[string]struct {
		edit func(*drivers.Sample)
		want bool
	}{
		"good":        {func(*drivers.Sample) {}, true},
		"uncertain":   {func(s *drivers.Sample) { s.Quality = drivers.Uncertain }, true},
		"zero time":   {func(s *drivers.Sample) { s.Time = time.Time{} }, true},
		"bad":         {func(s *drivers.Sample) { s.Quality = drivers.Bad }, false},
		"nan":         {func(s *drivers.Sample) { s.Value = drivers.Float(math.NaN()) }, false},
		"inf":         {func(s *drivers.Sample) { s.Value = drivers.Float(math.Inf(-1)) }, false},
		"no device":   {func(s *drivers.Sample) { s.Device = "" }, false},
		"no point":    {func(s *drivers.Sample) { s.Point = "" }, false},
		"no meas":     {func(s *drivers.Sample) { s.Measurement = "" }, false},
		"comment":     {func(s *drivers.Sample) { s.Measurement = "#m" }, false},
		"newline":     {func(s *drivers.Sample) { s.Device = "a\nb" }, false},
		"backslash":   {func(s *drivers.Sample) { s.Point = `p\` }, false},
		"year 1600":   {func(s *drivers.Sample) { s.Time = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		"year 2300":   {func(s *drivers.Sample) { s.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		"odd kind":    {func(s *drivers.Sample) { s.Value.Kind = 9 }, false},
		"text":        {func(s *drivers.Sample) { s.Value = drivers.String("x\ny") }, true},
		"empty text":  {func(s *drivers.Sample) { s.Value = drivers.String("") }, true},
		"negative ok": {func(s *drivers.Sample) { s.Value = drivers.Int(-5) }, true},
	}
	for name, c := range cases {
		s := ok
		c.edit(&s)
		if got := storable(&s); got != c.want {
			t.Errorf("%s: storable = %v, want %v", name, got, c.want)
		}
	}
}

// FuzzLPName checks that every name lpName accepts survives escaping as one
// token: InfluxDB's scanner (models/points.go scanLine) skips a backslash and
// the byte after it, so an escaped name never ends early or swallows the
// separator after it.
func FuzzLPName(f *testing.F) {
	for _, s := range []string{"a", `a\b`, `a\\`, `a\,`, "a b,c=d", `\\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !lpName(name) {
			return
		}
		esc := keyEscaper.Replace(name) + "="
		i := 0
		for i < len(esc) {
			if esc[i] == '\\' && i+1 < len(esc) {
				i += 2
				continue
			}
			if esc[i] == ',' || esc[i] == '=' || esc[i] == ' ' {
				break
			}
			i++
		}
		if i != len(esc)-1 {
			t.Fatalf("escaped %q as %q: the token ends at %d, not at the separator", name, esc, i)
		}
		un := strings.NewReplacer(`\,`, ",", `\=`, "=", `\ `, " ").Replace(esc[:i])
		if un != name {
			t.Fatalf("%q escapes to %q, which InfluxDB reads as %q", name, esc[:i], un)
		}
	})
}

// TestEncodeTagsChange: series keys kept from batch to batch follow a
// device's tags when the app hands out another map (a reload), and a
// device without a tags map of its own is built afresh every batch.
func TestEncodeTagsChange(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tags := map[string]map[string]string{"pump-1": {"site": "hq", "building": "A"}}
	tagsOf := func(id string) map[string]string {
		if m, ok := tags[id]; ok {
			return m
		}
		return map[string]string{"site": tags["pump-1"]["site"]}
	}
	batch := []drivers.Sample{
		{Time: t0, Device: "pump-1", Measurement: "pump", Point: "flow", Value: drivers.Float(1)},
		{Time: t0, Device: "new", Measurement: "pump", Point: "flow", Value: drivers.Float(2)},
	}
	e := newEncoder()
	line := func() string { return gunzip(t, e.encode(batch, tagsOf).body()) }
	want := "pump,building=A,device=pump-1,site=hq flow=1 1700000000000000000\npump,device=new,site=hq flow=2 1700000000000000000\n"
	for i := range 2 {
		if got := line(); got != want {
			t.Errorf("batch %d:\n%s\nwant:\n%s", i+1, got, want)
		}
	}
	tags = map[string]map[string]string{"pump-1": {"site": "west", "building": "B"}}
	want = "pump,building=B,device=pump-1,site=west flow=1 1700000000000000000\npump,device=new,site=west flow=2 1700000000000000000\n"
	if got := line(); got != want {
		t.Errorf("after the tags changed:\n%s\nwant:\n%s", got, want)
	}
}
