package ruletest

import (
	"strings"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

func render(ss []sample) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = "_"
		if s.ok {
			parts[i] = s.v.String()
		}
	}
	return strings.Join(parts, " ")
}

func TestParseSeries(t *testing.T) {
	for _, c := range []struct {
		in   string
		kind drivers.Kind
		want string
	}{
		{"3.2 3.1 _ 1", drivers.KindFloat, "3.2 3.1 _ 1"},
		{"1x3", drivers.KindFloat, "1 1 1"},
		{"1.5 x3", drivers.KindFloat, "1.5 1.5 1.5"},
		{"1+2x4", drivers.KindFloat, "1 3 5 7"},
		{"10-2.5x3", drivers.KindFloat, "10 7.5 5"},
		{"-1x2 1e3", drivers.KindFloat, "-1 -1 1000"},
		{"_x2 0", drivers.KindFloat, "_ _ 0"},
		{"true x2 0 1", drivers.KindBool, "true true false true"},
		{`normal "out of service"x2 _`, drivers.KindString, "normal out of service out of service _"},
	} {
		got, err := parseSeries(c.in, c.kind)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if r := render(got); r != c.want {
			t.Errorf("%q = %q, want %q", c.in, r, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		kind drivers.Kind
	}{
		{"x3", drivers.KindFloat}, {"abc", drivers.KindFloat}, {"maybe", drivers.KindBool},
		{`"open`, drivers.KindString}, {"1+x2", drivers.KindFloat}, {"1x2000000", drivers.KindFloat}, {"1 x100000", drivers.KindFloat},
	} {
		if _, err := parseSeries(c.in, c.kind); err == nil {
			t.Errorf("%q: no error", c.in)
		}
	}
}

func FuzzParseSeries(f *testing.F) {
	for _, s := range []string{"1 2 3", "1+2x4", "_x3 true", `"a b"x2 c`, "1e3-1x2"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, k uint8) {
		if len(s) > 200 {
			return
		}
		parseSeries(s, drivers.Kind(k%4))
	})
}
