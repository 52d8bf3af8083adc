package yamlstrict

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"gopkg.in/yaml.v3"
)

// Positions records where Decode found each decoded struct, each of its
// fields and each pointer in a map, so that validation can report where a
// value came from.
type Positions map[posKey]Pos

// posKey identifies a decoded Go value (by address and type) and, optionally,
// one of its fields.
type posKey struct {
	ptr   unsafe.Pointer
	typ   reflect.Type
	field string
}

// At returns where the struct at ptr was written, or its field with the
// YAML key field when that is set and was written.
func (ps Positions) At(ptr any, field string) (Pos, bool) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return Pos{}, false
	}
	if p, ok := ps[posKey{ptr: v.UnsafePointer(), typ: v.Type().Elem(), field: field}]; ok {
		return p, true
	}
	p, ok := ps[posKey{ptr: v.UnsafePointer(), typ: v.Type().Elem()}]
	return p, ok
}

func (d *Decoder) record(v reflect.Value, typ reflect.Type, field string, n *yaml.Node) {
	if d.Positions != nil {
		d.Positions[posKey{ptr: v.UnsafePointer(), typ: typ, field: field}] = d.At(n)
	}
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

// Decode decodes n, found at path, into the value v points to. Struct fields
// are named by their yaml tag (or their lower-cased name; ",inline" and "-"
// are honoured); a null leaves the zero value; types that implement
// yaml.Unmarshaler decode themselves.
func (d *Decoder) Decode(n *yaml.Node, v any, path string) {
	d.decode(n, reflect.ValueOf(v).Elem(), path)
}

func (d *Decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 1 {
			d.decode(n.Content[0], v, path)
		}
		return
	}
	if n = d.Resolve(n); IsNull(n) {
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
			d.Errorf(n, "%s%s", where(path), cleanYAMLError(err))
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
			d.Errorf(n, "%s", cleanYAMLError(err))
			return
		}
		v.Set(reflect.ValueOf(x))
	default:
		d.decodeScalar(n, v, path)
	}
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

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := structFields(v.Type())
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	ok := d.Fields(n, path, names, func(key string, _, val *yaml.Node) {
		d.record(v.Addr(), v.Type(), key, val)
		d.decode(val, v.FieldByIndex(fields[slices.Index(names, key)].index), join(path, key))
	})
	if ok {
		d.record(v.Addr(), v.Type(), "", n)
	}
}

func (d *Decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.MappingNode && v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	d.Entries(n, path, func(k, val *yaml.Node) {
		kv := reflect.New(v.Type().Key()).Elem()
		before := len(d.Errs)
		d.decode(k, kv, path)
		if len(d.Errs) > before {
			return
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		if ev.Kind() == reflect.Pointer && IsNull(d.Resolve(val)) { // "name:" with no body: a nil entry would only crash later
			d.Errorf(val, "%s: empty entry: write its body or remove the key", join(path, k.Value))
			return
		}
		d.decode(val, ev, join(path, k.Value))
		v.SetMapIndex(kv, ev)
		if ev.Kind() == reflect.Pointer && !ev.IsNil() {
			d.record(ev, ev.Type().Elem(), "", val)
		}
	})
}

func (d *Decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if !d.List(n, path) {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	v.Set(s)
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		if IsNull(c) { // a bare "-": a nil *Device would only crash later
			d.Errorf(c, "%sempty list item: write its value or remove the -", where(p))
			continue
		}
		d.decode(c, s.Index(i), p)
	}
}

func (d *Decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want := scalarWant(v.Type())
	s, ok := d.Scalar(n, path, want)
	if !ok {
		return
	}
	bad := func() { d.BadValue(n, path, s, want) }
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.BadDuration(n, path, s)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, ok := ParseBool(s)
		if !ok {
			bad()
			return
		}
		v.SetBool(b)
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
		d.Errorf(n, "%scannot decode into %s", where(path), v.Type())
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
