package store

import (
	"strings"
	"testing"
	"time"
)

func TestFluxString(t *testing.T) {
	cases := map[string]string{
		`pump-1`:             `"pump-1"`,
		`pump"-1`:            `"pump\"-1"`,
		`a\b`:                `"a\\b"`,
		`${x}`:               `"\${x}"`,
		`$`:                  `"\$"`,
		`a\"b`:               `"a\\\"b"`,
		`x" or true or "`:    `"x\" or true or \""`,
		"line\nbreak\ttab\r": `"line\nbreak\ttab\r"`,
		`ümlaut`:             `"ümlaut"`,
		``:                   `""`,
	}
	for in, want := range cases {
		if got := fluxString(in); got != want {
			t.Errorf("fluxString(%q) = %s, want %s", in, got, want)
		}
		if got := unquoteFlux(t, fluxString(in)); got != in {
			t.Errorf("round trip of %q gave %q", in, got)
		}
	}
}

// unquoteFlux reads a Flux string literal the way Flux's scanner does
// (flux/internal/parser/strconv.go), and fails on what Flux would reject: an
// unescaped quote or an interpolation.
func unquoteFlux(t *testing.T, lit string) string {
	t.Helper()
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		t.Fatalf("%s is not quoted", lit)
	}
	var b strings.Builder
	s := lit[1 : len(lit)-1]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			t.Fatalf("%s: unescaped quote at %d", lit, i)
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				t.Fatalf("%s: interpolation at %d", lit, i)
			}
			b.WriteByte(c)
		case '\\':
			i++
			if i == len(s) {
				t.Fatalf("%s: dangling backslash", lit)
			}
			r, ok := map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', '\\': '\\', '"': '"', '$': '$'}[s[i]]
			if !ok {
				t.Fatalf("%s: invalid escape \\%c", lit, s[i])
			}
			b.WriteByte(r)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestQueries(t *testing.T) {
	got := lastQuery("facility/autogen", "pump", `p"1`, time.Hour)
	want := `from(bucket: "facility/autogen")
  |> range(start: -3600000000000ns)
  |> filter(fn: (r) => r._measurement == "pump" and r.device == "p\"1")
  |> last()`
	if got != want {
		t.Errorf("lastQuery:\n%s\nwant:\n%s", got, want)
	}
	start := time.Date(2026, 10, 1, 0, 0, 0, 500, time.FixedZone("CET", 3600))
	got = rangeQuery("b", "pump", "p1", `fl${o}w`, start, start.Add(time.Hour))
	for _, part := range []string{
		`range(start: time(v: "2026-09-30T23:00:00.0000005Z"), stop: time(v: "2026-10-01T00:00:00.0000005Z"))`,
		`r._field == "fl\${o}w"`,
		`sort(columns: ["_time"])`,
	} {
		if !strings.Contains(got, part) {
			t.Errorf("rangeQuery lacks %s:\n%s", part, got)
		}
	}
}

// TestSeriesQueries: every outside value in the built Flux is one escaped
// literal, however hostile the names.
func TestSeriesQueries(t *testing.T) {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	hostile := Selector{Measurement: `pump") |> drop() //`, Device: `x" or true or "`, Field: "${secret}\n"}
	got := aggregateQuery(`facility/"autogen`, hostile, start, start.Add(time.Hour), 15*time.Minute, AggMean)
	want := `from(bucket: "facility/\"autogen")
  |> range(start: time(v: "2026-10-01T00:00:00Z"), stop: time(v: "2026-10-01T01:00:00Z"))
  |> filter(fn: (r) => r._measurement == "pump\") |> drop() //" and r.device == "x\" or true or \"" and r._field == "\${secret}\n")
  |> group(columns: ["_start", "_stop", "_measurement", "device", "_field"])
  |> sort(columns: ["_time"])
  |> aggregateWindow(every: 900000000000ns, fn: mean, createEmpty: false)
  |> keep(columns: ["_time", "_value", "_measurement", "device", "_field"])`
	if got != want {
		t.Errorf("aggregateQuery:\n%s\nwant:\n%s", got, want)
	}
	got = seriesQuery("b", Selector{Measurement: "pump"}, start, start.Add(time.Hour))
	if strings.Contains(got, "r.device ==") || strings.Contains(got, "r._field ==") || strings.Contains(got, "aggregateWindow") {
		t.Errorf("seriesQuery for every device and field:\n%s", got)
	}
}
