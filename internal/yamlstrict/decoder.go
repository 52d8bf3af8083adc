package yamlstrict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxAliases bounds how many aliases one file may follow, so that nested
// aliases cannot make a walk exponential.
const MaxAliases = 1000

// Decoder walks the yaml.Nodes of one file strictly and collects every
// problem in Errs. Decode fills Go values by reflection; the walking methods
// (Fields, Entries, List, Scalar) serve hand-written walkers.
type Decoder struct {
	// Errs are the problems found so far, each an *Error.
	Errs []error
	// Positions, when set, records where Decode found each struct and field.
	Positions Positions
	// PathFirst makes key errors name their mapping first, as in
	// `rule: unknown field "x"`, rather than last, as in
	// `unknown field "x" in devices[0]`.
	PathFirst bool
	// AliasAdvice ends the error for a file with more than MaxAliases
	// aliases: what to write instead.
	AliasAdvice string

	file    string
	src     []byte
	lines   []string // of src, to find the indentation of block scalars
	aliases int
}

// NewDecoder returns a Decoder for the file named file whose content is src.
func NewDecoder(file string, src []byte) *Decoder {
	return &Decoder{file: file, src: src, lines: strings.Split(string(src), "\n"), AliasAdvice: "write the values out"}
}

// Parse parses the source as one YAML document and returns its root node, or
// nil when it holds none or has a syntax error. A second document is an
// error; the first is still returned.
func (d *Decoder) Parse() *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(d.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.Errs = append(d.Errs, d.syntaxError(err))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.Errorf(&extra, "a second YAML document: one document per file")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return nil
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into file:N:1: msg.
func (d *Decoder) syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if l, e := strconv.Atoi(n); e == nil {
				line, msg = l, m
			}
		}
	}
	return Errorf(Pos{File: d.file, Line: line, Col: 1}, "%s", msg)
}

// At returns the position of n, with what Pos.Inside needs to place errors
// inside a block scalar.
func (d *Decoder) At(n *yaml.Node) Pos {
	pos := Pos{File: d.file, Line: n.Line, Col: n.Column, Style: n.Style}
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 && n.Line < len(d.lines) {
		next := d.lines[n.Line] // the line after the indicator, 0-based
		pos.indent = len(next) - len(strings.TrimLeft(next, " "))
		if n.Style&yaml.FoldedStyle != 0 {
			for _, l := range d.lines[n.Line:] {
				if strings.TrimSpace(l) == "" || len(l)-len(strings.TrimLeft(l, " ")) < pos.indent {
					break
				}
				pos.folded = append(pos.folded, strings.TrimRight(l[pos.indent:], " \r"))
			}
		}
	}
	return pos
}

// Errorf records a problem at n.
func (d *Decoder) Errorf(n *yaml.Node, format string, args ...any) {
	d.Errs = append(d.Errs, Errorf(d.At(n), format, args...))
}

// Resolve follows aliases from n to the node they name. Past MaxAliases in
// the file it reports the file once and returns a null node.
func (d *Decoder) Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		if d.aliases++; d.aliases > MaxAliases {
			if d.aliases == MaxAliases+1 {
				d.Errorf(n, "more than %d aliases: %s", MaxAliases, d.AliasAdvice)
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
		}
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is a null scalar (~, null or nothing).
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// KindName describes n for "expected ..., got ..." messages.
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// Entries calls fn for each key and value (aliases not resolved) of the
// mapping n, which is at path. A duplicate key is an error, and so is n not
// being a mapping: then Entries returns false.
func (d *Decoder) Entries(n *yaml.Node, path string, fn func(k, v *yaml.Node)) bool {
	n = d.Resolve(n)
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "%sexpected a mapping, got %s", where(path), KindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.keyErrorf(k, path, "", "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k, v)
	}
	return true
}

// Fields is Entries for a mapping whose keys must be in known: any other key
// is an error that names the closest known one.
func (d *Decoder) Fields(n *yaml.Node, path string, known []string, fn func(key string, k, v *yaml.Node)) bool {
	return d.Entries(n, path, func(k, v *yaml.Node) {
		if !slices.Contains(known, k.Value) {
			d.keyErrorf(k, path, suggest(k.Value, known), "unknown field %q", k.Value)
			return
		}
		fn(k.Value, k, v)
	})
}

func (d *Decoder) keyErrorf(k *yaml.Node, path, tail, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if d.PathFirst {
		d.Errorf(k, "%s%s%s", where(path), msg, tail)
	} else {
		d.Errorf(k, "%s%s%s", msg, in(path), tail)
	}
}

// List reports whether n is a list, and records an error at path if not.
func (d *Decoder) List(n *yaml.Node, path string) bool {
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "%sexpected a list, got %s", where(path), KindName(n))
		return false
	}
	return true
}

// Scalar returns the value of the scalar n, or records that path expected
// want (such as "a string") and got something else.
func (d *Decoder) Scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, "%sexpected %s, got %s", where(path), want, KindName(n))
		return "", false
	}
	return n.Value, true
}

// BadValue records that the scalar s at n, at path, is not want.
func (d *Decoder) BadValue(n *yaml.Node, path, s, want string) {
	d.Errorf(n, "%scannot use %q as %s", where(path), s, want)
}

// BadDuration records that the scalar s at n, at path, is not a duration,
// and how to write one.
func (d *Decoder) BadDuration(n *yaml.Node, path, s string) {
	d.Errorf(n, "%scannot use %q as a duration: write a number with a unit, such as 500ms, 10s, 5m or 2h", where(path), s)
}

// ParseBool parses a YAML boolean: true, yes, on, false, no or off in any case.
func ParseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// where prefixes a message with the YAML path of the value, if any.
func where(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// in ends a message with the YAML path of the mapping.
func in(path string) string {
	if path == "" {
		return " at the top level"
	}
	return " in " + path
}

// suggest names the closest known field, or lists them all.
func suggest(key string, known []string) string {
	if hint := DidYouMean(key, known); hint != "" {
		return hint
	}
	return " (known fields: " + strings.Join(slices.Sorted(slices.Values(known)), ", ") + ")"
}

// DidYouMean returns ` (did you mean "name"?)` for the known name nearest
// to key, or "" when none is near: the one hint of every misspelling.
func DidYouMean(key string, known []string) string {
	if best, ok := Closest(key, known); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Closest returns the known name nearest to key (a typo away, or a prefix
// of it), for "did you mean" hints, and false when none is near.
func Closest(key string, known []string) (string, bool) {
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
	return best, best != ""
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
