package yamlstrict

import (
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		"${A}":          "x",
		"a${A}b":        "axb",
		"${B:-def}":     "def",
		"${EMPTY:-def}": "def",
		"${A:-def}":     "x",
		"$$A":           "$A",
		"cost $5":       "cost $5",
		"${B:-}":        "",
		"${A}${A}":      "xx",
		"${B:-a:-b}":    "a:-b",
		"end$":          "end$",
	} {
		got, err := expand(in, lookup)
		if err != nil || got != want {
			t.Errorf("expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"${B}", "${A", "${}", "${1A}"} {
		if _, err := expand(in, lookup); err == nil {
			t.Errorf("expand(%q): no error", in)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "interval", "address"}
	for key, want := range map[string]string{
		"nmae":     ` (did you mean "name"?)`,
		"interval": ` (did you mean "interval"?)`,
		"addr":     ` (did you mean "address"?)`,
		"zzz":      ` (known fields: address, interval, name)`,
	} {
		if got := suggest(key, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

type sample struct {
	Name     string            `yaml:"name"`
	Every    time.Duration     `yaml:"every"`
	Count    uint8             `yaml:"count"`
	On       bool              `yaml:"on"`
	Tags     map[string]string `yaml:"tags"`
	Children []*sample         `yaml:"children"`
}

// decode decodes src into a sample and returns the error lines.
func decode(t *testing.T, src string, pathFirst bool) (*sample, []string) {
	t.Helper()
	d := NewDecoder("f.yaml", []byte(src))
	d.PathFirst = pathFirst
	d.Positions = Positions{}
	var s sample
	if root := d.Parse(); root != nil {
		d.Decode(root, &s, "")
	}
	err := SortErrors(d.Errs)
	if err == nil {
		return &s, nil
	}
	return &s, strings.Split(err.Error(), "\n")
}

func TestDecode(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		_, got := decode(t, src, false)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q:\ngot  %q\nwant %q", src, got, want)
		}
	}
	f("name: a\nevery: 5s\ncount: 3\non: yes\ntags: {a: b}\nchildren: [{name: c}]\n")
	f("nme: a\n", `f.yaml:1:1: unknown field "nme" at the top level (did you mean "name"?)`)
	f("children:\n- name: a\n  name: b\n", `f.yaml:3:3: duplicate key "name" in children[0]`)
	f("every: 5\n", `f.yaml:1:8: every: cannot use "5" as a duration: write a number with a unit, such as 500ms, 10s, 5m or 2h`)
	f("count: 300\n", `f.yaml:1:8: count: cannot use "300" as a non-negative integer (uint8)`)
	f("children:\n- name: a\n-\n", `f.yaml:3:2: children[1]: empty list item: write its value or remove the -`)
	f("tags: [a]\n", `f.yaml:1:7: tags: expected a mapping, got a list`)
	f("name: [a]\n", `f.yaml:1:7: name: expected a string, got a list`)
	f("name: a\n---\nb: 2\n", `f.yaml:2:1: a second YAML document: one document per file`)
	f("a: [\n", `f.yaml:1:1: did not find expected node content`)
}

func TestPathFirst(t *testing.T) {
	_, got := decode(t, "children:\n- nme: a\n", true)
	if want := `f.yaml:2:3: children[0]: unknown field "nme" (did you mean "name"?)`; len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPositions(t *testing.T) {
	d := NewDecoder("f.yaml", []byte("children:\n- name: a\n  every: 1s\n"))
	d.Positions = Positions{}
	var s sample
	d.Decode(d.Parse(), &s, "")
	c := s.Children[0]
	for field, want := range map[string]string{"": "f.yaml:2:3", "every": "f.yaml:3:10", "count": "f.yaml:2:3"} {
		if p, ok := d.Positions.At(c, field); !ok || p.String() != want {
			t.Errorf("At(child, %q) = %v, %v; want %s", field, p, ok, want)
		}
	}
}

func TestAliasCap(t *testing.T) {
	src := "l: [&x v" + strings.Repeat(", *x", MaxAliases+5) + "]\n"
	d := NewDecoder("f.yaml", []byte(src))
	var v map[string][]string
	d.Decode(d.Parse(), &v, "")
	if len(d.Errs) != 1 || !strings.Contains(d.Errs[0].Error(), "more than 1000 aliases: write the values out") {
		t.Errorf("errors: %v", d.Errs)
	}
	if n := len(v["l"]); n != MaxAliases+6 {
		t.Errorf("%d values, want %d", n, MaxAliases+6)
	}
}

func TestInside(t *testing.T) {
	src := "expr: |\n  a +\n  b\nfold: >\n  one two\n  three\nq: \"x y\"\n"
	d := NewDecoder("f.yaml", []byte(src))
	root := d.Parse()
	at := func(key string) Pos {
		for i := 0; i < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				return d.At(root.Content[i+1])
			}
		}
		t.Fatalf("no key %q", key)
		return Pos{}
	}
	for _, c := range []struct {
		p         Pos
		line, col int
		want      string
	}{
		{at("expr"), 2, 1, "f.yaml:3:3"},
		{at("fold"), 1, 9, "f.yaml:6:3"},
		{at("fold"), 1, 5, "f.yaml:5:7"},
		{at("q"), 1, 3, "f.yaml:7:7"},
	} {
		if got := c.p.Inside(c.line, c.col).String(); got != c.want {
			t.Errorf("%v.Inside(%d, %d) = %s, want %s", c.p, c.line, c.col, got, c.want)
		}
	}
}
