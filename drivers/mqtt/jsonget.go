package mqtt

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// jsonObject and jsonArray stand for containers found at a path where a
// value was expected, so that errors can say what was there.
type (
	jsonObject struct{}
	jsonArray  struct{}
)

// jsonGet returns the value at p in doc, which must be valid JSON
// (json.Valid): json.Number, string, bool, nil, jsonObject or jsonArray.
// It walks the document without building it, skipping what the path does
// not enter, so reading a few points of a payload costs no allocation
// besides their values. Like encoding/json, the last of duplicate keys wins.
func jsonGet(doc []byte, p path) (any, bool) {
	v, ok := getRaw(doc, p)
	if !ok {
		return nil, false
	}
	return rawValue(v), true
}

// rawValue turns the bytes of one JSON value into json.Number, string,
// bool, nil, jsonObject or jsonArray.
func rawValue(v []byte) any {
	switch v[0] {
	case '{':
		return jsonObject{}
	case '[':
		return jsonArray{}
	case '"':
		return unquote(v)
	case 't':
		return true
	case 'f':
		return false
	case 'n':
		return nil
	}
	return json.Number(v)
}

// getRaw returns the bytes of the value at p.
func getRaw(doc []byte, p path) ([]byte, bool) {
	i := skipSpace(doc, 0)
	for _, st := range p {
		if i >= len(doc) {
			return nil, false
		}
		switch doc[i] {
		case '{':
			if st.index >= 0 {
				return nil, false
			}
			found := -1
			i = skipSpace(doc, i+1)
			for i < len(doc) && doc[i] == '"' {
				end := skipString(doc, i)
				key := doc[i:end]
				i = skipSpace(doc, end)
				i = skipSpace(doc, i+1) // the colon
				if keyIs(key, st.key) {
					found = i // keep going: the last duplicate wins
				}
				i = skipSpace(doc, skipValue(doc, i))
				if i < len(doc) && doc[i] == ',' {
					i = skipSpace(doc, i+1)
				}
			}
			if found < 0 {
				return nil, false
			}
			i = found
		case '[':
			n := st.index
			if n < 0 {
				var err error
				if n, err = strconv.Atoi(st.key); err != nil || n < 0 {
					return nil, false
				}
			}
			i = skipSpace(doc, i+1)
			for k := 0; ; k++ {
				if i >= len(doc) || doc[i] == ']' {
					return nil, false
				}
				if k == n {
					break
				}
				i = skipSpace(doc, skipValue(doc, i))
				if i < len(doc) && doc[i] == ',' {
					i = skipSpace(doc, i+1)
				}
			}
		default:
			return nil, false
		}
	}
	if i >= len(doc) {
		return nil, false
	}
	return doc[i:skipValue(doc, i)], true
}

// keyIs compares a quoted key with a plain one; keys with escapes are
// unquoted first.
func keyIs(quoted []byte, key string) bool {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == key
	}
	return unquote(quoted) == key
}

// unquote decodes a JSON string literal.
func unquote(quoted []byte) string {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var s string
	_ = json.Unmarshal(quoted, &s)
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string literal that starts at i.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at i, trusting
// that the document is valid.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}
