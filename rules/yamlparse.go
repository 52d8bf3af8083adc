package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// parser walks yaml.Nodes strictly: unknown and duplicate keys and wrong
// types are errors at their position, and every error is collected.
type parser struct {
	aliases int
	file    string
	lines   []string // the source, to find the indentation of block scalars
	errs    []error
}

func (p *parser) at(n *yaml.Node) Pos {
	pos := Pos{File: p.file, Line: n.Line, Col: n.Column, Style: n.Style}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && n.Line < len(p.lines) {
		next := p.lines[n.Line] // the line after the indicator, 0-based
		pos.indent = len(next) - len(strings.TrimLeft(next, " "))
		if n.Style&yaml.FoldedStyle != 0 {
			for _, l := range p.lines[n.Line:] {
				if strings.TrimSpace(l) == "" || len(l)-len(strings.TrimLeft(l, " ")) < pos.indent {
					break
				}
				pos.folded = append(pos.folded, strings.TrimRight(l[pos.indent:], " \r"))
			}
		}
	}
	return pos
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, errorAt(p.at(n), format, args...))
}

// document decodes one YAML document, refusing a second one.
func (p *parser) document(data []byte) *yaml.Node {
	p.lines = strings.Split(string(data), "\n")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		p.errs = append(p.errs, p.syntaxError(err))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "a second YAML document: one document per file")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return nil
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into file:N:1: msg.
func (p *parser) syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if l, e := strconv.Atoi(n); e == nil {
				line, msg = l, m
			}
		}
	}
	return errorAt(Pos{File: p.file, Line: line, Col: 1}, "%s", msg)
}

// maxAliases bounds how many aliases a file may follow, so that nested
// aliases cannot make the walk exponential.
const maxAliases = 1000

func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if p.aliases++; p.aliases > maxAliases {
			if p.aliases == maxAliases+1 {
				p.errorf(n, "more than %d aliases: write the rules out", maxAliases)
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// fields calls fn for each key of the mapping n. Keys not in known are
// errors that name the closest known key.
func (p *parser) fields(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) bool {
	n = p.resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], p.resolve(n.Content[i+1])
		switch {
		case seen[k.Value]:
			p.errorf(k, "%s: duplicate key %q", what, k.Value)
		case !slices.Contains(known, k.Value):
			p.errorf(k, "%s: unknown field %q%s", what, k.Value, suggest(k.Value, known))
		case !isNull(v):
			fn(k.Value, k, v)
		}
		seen[k.Value] = true
	}
	return true
}

// suggest names the closest known field, or lists them all.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, f := range known {
		d := levenshtein(key, f)
		if strings.HasPrefix(f, key) || strings.HasPrefix(key, f) {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = f, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known fields: " + strings.Join(slices.Sorted(slices.Values(known)), ", ") + ")"
}

func levenshtein(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s: expected a string, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(n *yaml.Node, what string) string {
	s, _ := p.scalar(n, what)
	return s
}

func (p *parser) duration(n *yaml.Node, what string) time.Duration {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		p.errorf(n, "%s: cannot use %q as a duration: write a number with a unit, such as 500ms, 10s, 5m or 2h", what, s)
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
		p.errorf(n, "%s: cannot use %q as a non-negative integer", what, s)
	}
	return i
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s, ok := p.scalar(n, what)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	}
	p.errorf(n, "%s: cannot use %q as a boolean (true or false)", what, s)
	return false
}

func (p *parser) strList(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: expected a list, got %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		if s, ok := p.scalar(p.resolve(c), fmt.Sprintf("%s[%d]", what, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// strMap parses a mapping of strings; with pos set it records where each
// value was written, under what+"."+key.
func (p *parser) strMap(n *yaml.Node, what string, pos ...map[string]Pos) map[string]string {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], p.resolve(n.Content[i+1])
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		if s, ok := p.scalar(v, what+"."+k.Value); ok {
			out[k.Value] = s
			for _, m := range pos {
				m[what+"."+k.Value] = p.at(v)
			}
		}
	}
	return out
}

// matchers parses a list of matcher strings.
func (p *parser) matchers(n *yaml.Node, what string) Matchers {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: expected a list of matchers such as ['rule=\"device_offline\"'], got %s", what, kindName(n))
		return nil
	}
	var out Matchers
	for _, c := range n.Content {
		c = p.resolve(c)
		s, ok := p.scalar(c, what)
		if !ok {
			continue
		}
		m, err := ParseMatcher(s)
		if err != nil {
			p.errorf(c, "%s: %v", what, err)
			continue
		}
		out = append(out, m)
	}
	return out
}
