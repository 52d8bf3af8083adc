package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// parser walks the yaml.Nodes of a rule file strictly with a
// yamlstrict.Decoder: unknown and duplicate keys and wrong types are errors
// at their position, each named by what it is in the rule ("rule: ...",
// "match.tags: ..."), and every error is collected.
type parser struct{ *yamlstrict.Decoder }

func newParser(file string, data []byte) *parser {
	d := yamlstrict.NewDecoder(file, data)
	d.PathFirst = true
	d.AliasAdvice = "write the rules out"
	return &parser{d}
}

// fields calls fn for each key of the mapping n whose value is not null,
// with aliases resolved. Keys not in known are errors that name the closest
// known key.
func (p *parser) fields(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) bool {
	return p.Fields(n, what, known, func(key string, k, v *yaml.Node) {
		if v = p.Resolve(v); !yamlstrict.IsNull(v) {
			fn(key, k, v)
		}
	})
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	return p.Scalar(n, what, "a string")
}

func (p *parser) str(n *yaml.Node, what string) string {
	s, _ := p.scalar(n, what)
	return s
}

// enum reads a string enum through yamlstrict.Enum, the decoder of every
// enum of the config: any letter case, the canonical spelling kept, and
// "did you mean" for a near miss. A value that is not allowed is reported
// and kept as written, so the checks that follow see what the file says.
func enum[T ~string](p *parser, n *yaml.Node, what string, allowed ...T) T {
	s, ok := p.scalar(n, what)
	if !ok {
		return T(s)
	}
	v, err := yamlstrict.Enum(n, what, allowed...)
	if err != nil {
		msg := err.Error()
		if nearMany(s, names(allowed)) { // P9 is as near P2 as P1: no hint beats a wrong one
			msg, _, _ = strings.Cut(msg, " (did you mean")
		}
		p.Errorf(n, "%s", msg)
		return T(s)
	}
	return v
}

// nearMany reports whether more than one of known is near s, so that a
// "did you mean" would pick one of them at random.
func nearMany(s string, known []string) bool {
	best, ok := yamlstrict.Closest(s, known)
	if !ok {
		return false
	}
	_, ok = yamlstrict.Closest(s, slices.DeleteFunc(slices.Clone(known), func(k string) bool { return k == best }))
	return ok
}

func (p *parser) duration(n *yaml.Node, what string) time.Duration {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.BadDuration(n, what, s)
		return 0
	}
	return d
}

func (p *parser) integer(n *yaml.Node, what string) int {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		p.BadValue(n, what, s, "a non-negative integer")
	}
	return i
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s, ok := p.scalar(n, what)
	if !ok {
		return false
	}
	b, ok := yamlstrict.ParseBool(s)
	if !ok {
		p.BadValue(n, what, s, "a boolean (true or false)")
	}
	return b
}

func (p *parser) strList(n *yaml.Node, what string) []string {
	if !p.List(n, what) {
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if s, ok := p.scalar(p.Resolve(c), fmt.Sprintf("%s[%d]", what, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// strMap parses a mapping of strings; with pos set it records where each
// value was written, under what+"."+key.
func (p *parser) strMap(n *yaml.Node, what string, pos ...map[string]Pos) map[string]string {
	out := make(map[string]string, len(n.Content)/2)
	ok := p.Entries(n, what, func(k, v *yaml.Node) {
		v = p.Resolve(v)
		if s, ok := p.scalar(v, what+"."+k.Value); ok {
			out[k.Value] = s
			for _, m := range pos {
				m[what+"."+k.Value] = p.At(v)
			}
		}
	})
	if !ok {
		return nil
	}
	return out
}

// matchers parses a list of matcher strings.
func (p *parser) matchers(n *yaml.Node, what string) Matchers {
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, "%s: expected a list of matchers such as ['rule=\"device_offline\"'], got %s", what, yamlstrict.KindName(n))
		return nil
	}
	var out Matchers
	for _, c := range n.Content {
		c = p.Resolve(c)
		s, ok := p.scalar(c, what)
		if !ok {
			continue
		}
		m, err := ParseMatcher(s)
		if err != nil {
			p.Errorf(c, "%s: %v", what, err)
			continue
		}
		out = append(out, m)
	}
	return out
}
