package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a YAML file.
type Pos struct {
	File      string
	Line, Col int
	style     yaml.Style // of the scalar, to place errors inside it
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is one problem at one place in a config file.
type Error struct {
	Pos
	Msg string
}

// Error formats the problem as file:line:col: message.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// posKey identifies a decoded Go value (by address and type) and, optionally,
// one of its fields, so validation can report where a value came from.
type posKey struct {
	ptr   unsafe.Pointer
	typ   reflect.Type
	field string
}

// decoder decodes yaml.Nodes into Go values strictly: unknown keys, duplicate
// keys and wrong types are errors with positions, and every error is
// collected. It records the position of every struct and field it decodes.
type decoder struct {
	file string
	errs []error
	pos  map[posKey]Pos
}

func newDecoder(file string, pos map[posKey]Pos) *decoder {
	return &decoder{file: file, pos: pos}
}

func (d *decoder) at(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Col: n.Column, style: n.Style}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.at(n), Msg: fmt.Sprintf(format, args...)})
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// decode decodes n into v, which must be addressable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			d.decode(n.Content[0], v, path)
		}
		return
	case yaml.AliasNode:
		d.decode(n.Alias, v, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value (defaults apply later)
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.errorf(n, "%s%s", where(path), cleanYAMLError(err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, "%s", cleanYAMLError(err))
			return
		}
		v.Set(reflect.ValueOf(x))
	default:
		d.decodeScalar(n, v, path)
	}
}

// where prefixes a message with the YAML path of the value, if any.
func where(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// cleanYAMLError strips yaml.v3's "yaml: unmarshal errors:\n  line N:" wrapping,
// since the position is reported by the caller.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
				m = rest
			}
			msgs[i] = m
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// fieldInfo is a struct field reachable from a YAML key.
type fieldInfo struct {
	index []int
	name  string
}

func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if opts == "inline" {
			for _, sub := range structFields(f.Type) {
				out = append(out, fieldInfo{index: append([]int{i}, sub.index...), name: sub.name})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, fieldInfo{index: []int{i}, name: name})
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%sexpected a mapping, got %s", where(path), kindName(n))
		return
	}
	fields := structFields(v.Type())
	d.pos[posKey{ptr: v.Addr().UnsafePointer(), typ: v.Type()}] = d.at(n)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q%s", k.Value, in(path))
			continue
		}
		seen[k.Value] = true
		j := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.name == k.Value })
		if j < 0 {
			d.errorf(k, "unknown field %q%s%s", k.Value, in(path), suggest(k.Value, fields))
			continue
		}
		d.pos[posKey{ptr: v.Addr().UnsafePointer(), typ: v.Type(), field: k.Value}] = d.at(val)
		d.decode(val, v.FieldByIndex(fields[j].index), join(path, k.Value))
	}
}

// suggest names the closest known field, or lists them all.
func suggest(key string, fields []fieldInfo) string {
	best, bestD := "", 3
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
		dist := levenshtein(key, f.name)
		if strings.HasPrefix(f.name, key) || strings.HasPrefix(key, f.name) {
			dist = min(dist, 2)
		}
		if dist < bestD {
			best, bestD = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	sort.Strings(names)
	return " (known fields: " + strings.Join(names, ", ") + ")"
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
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

func in(path string) string {
	if path == "" {
		return " at the top level"
	}
	return " in " + path
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%sexpected a mapping, got %s", where(path), kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errorf(k, "duplicate key %q%s", k.Value, in(path))
			continue
		}
		seen[k.Value] = true
		kv := reflect.New(v.Type().Key()).Elem()
		before := len(d.errs)
		d.decode(k, kv, path)
		if len(d.errs) > before {
			continue
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, join(path, k.Value))
		v.SetMapIndex(kv, ev)
		if ev.Kind() == reflect.Pointer && !ev.IsNil() {
			d.pos[posKey{ptr: ev.UnsafePointer(), typ: ev.Type().Elem()}] = d.at(val)
		}
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%sexpected a list, got %s", where(path), kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	v.Set(s)
	for i, c := range n.Content {
		d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%sexpected %s, got %s", where(path), scalarWant(v.Type()), kindName(n))
		return
	}
	s := n.Value
	bad := func() { d.errorf(n, "%scannot use %q as %s", where(path), s, scalarWant(v.Type())) }
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(n, "%scannot use %q as a duration: write a number with a unit, such as 500ms, 10s, 5m or 2h", where(path), s)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			bad()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		if err != nil {
			bad()
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		if err != nil {
			bad()
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), v.Type().Bits())
		if err != nil {
			switch strings.ToLower(s) {
			case ".nan":
				f = math.NaN()
			case ".inf", "+.inf":
				f = math.Inf(1)
			case "-.inf":
				f = math.Inf(-1)
			default:
				bad()
				return
			}
		}
		v.SetFloat(f)
	default:
		d.errorf(n, "%scannot decode into %s", where(path), v.Type())
	}
}

func scalarWant(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer (%s)", t.Kind())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a non-negative integer (%s)", t.Kind())
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
