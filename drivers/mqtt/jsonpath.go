package mqtt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// path is a compiled JSON path: object keys and array indices, written
// a.b[0].c or a.b.0.c. The empty path is the whole document.
type path []step

type step struct {
	key   string
	index int // >= 0 for [n]; -1 for a key (a numeric key also indexes arrays)
}

// parsePath compiles a path. Keys cannot contain '.', '[' or ']'.
func parsePath(s string) (path, error) {
	if s == "" {
		return nil, nil
	}
	var p path
	rest := s
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: missing ]", s)
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q: [%s] is not an array index (0, 1, 2, ...)", s, rest[1:end])
			}
			p = append(p, step{index: n})
			rest = rest[end+1:]
			if strings.HasPrefix(rest, ".") {
				rest = rest[1:]
				if rest == "" {
					return nil, fmt.Errorf("path %q ends with a dot", s)
				}
			} else if rest != "" && rest[0] != '[' {
				return nil, fmt.Errorf("path %q: write a dot after ]", s)
			}
		default:
			end := strings.IndexAny(rest, ".[]")
			key := rest
			if end >= 0 {
				key = rest[:end]
			}
			if key == "" {
				return nil, fmt.Errorf("path %q has an empty key", s)
			}
			p = append(p, step{key: key, index: -1})
			if end < 0 {
				rest = ""
				continue
			}
			switch rest[end] {
			case ']':
				return nil, fmt.Errorf("path %q: ] without [", s)
			case '.':
				rest = rest[end+1:]
				if rest == "" {
					return nil, fmt.Errorf("path %q ends with a dot", s)
				}
			default:
				rest = rest[end:]
			}
		}
	}
	return p, nil
}

// lookup follows the path into a document decoded by encoding/json with
// UseNumber. It reports false when the path leads nowhere.
func (p path) lookup(doc any) (any, bool) {
	cur := doc
	for _, st := range p {
		switch v := cur.(type) {
		case map[string]any:
			if st.index >= 0 {
				return nil, false
			}
			x, ok := v[st.key]
			if !ok {
				return nil, false
			}
			cur = x
		case []any:
			i := st.index
			if i < 0 {
				n, err := strconv.Atoi(st.key)
				if err != nil {
					return nil, false
				}
				i = n
			}
			if i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// String writes the path back in the a.b[0] form.
func (p path) String() string {
	var b strings.Builder
	for i, st := range p {
		if st.index >= 0 {
			fmt.Fprintf(&b, "[%d]", st.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(st.key)
	}
	return b.String()
}

// jsonKind names a decoded JSON value's type for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any, jsonObject:
		return "an object"
	case []any, jsonArray:
		return "an array"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
