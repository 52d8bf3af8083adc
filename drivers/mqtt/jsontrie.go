package mqtt

import "bytes"

// pathTrie holds several JSON paths so that one walk over a document finds
// all of their values: the points of a payload cost one pass, whatever
// their number.
type pathTrie struct {
	keys    map[string]*pathTrie // object keys
	index   map[int]*pathTrie    // array elements, from [n]
	numKeys map[int]*pathTrie    // array elements, from a numeric key (a.0)
	targets []int                // the paths that end here
	all     []int                // the paths that end here or below
}

// newPathTrie compiles paths; extract then fills slot i with path i's value.
func newPathTrie(paths []path) *pathTrie {
	root := &pathTrie{}
	for i, p := range paths {
		n := root
		for _, st := range p {
			n = n.child(st)
		}
		n.targets = append(n.targets, i)
	}
	root.collect()
	return root
}

// collect fills in all, bottom up.
func (t *pathTrie) collect() []int {
	t.all = append([]int(nil), t.targets...)
	for _, c := range t.keys { // numKeys share these nodes
		t.all = append(t.all, c.collect()...)
	}
	for _, c := range t.index {
		t.all = append(t.all, c.collect()...)
	}
	return t.all
}

func (t *pathTrie) child(st step) *pathTrie {
	get := func(m *map[int]*pathTrie, k int) *pathTrie {
		if *m == nil {
			*m = map[int]*pathTrie{}
		}
		if (*m)[k] == nil {
			(*m)[k] = &pathTrie{}
		}
		return (*m)[k]
	}
	if st.index >= 0 {
		return get(&t.index, st.index)
	}
	if t.keys == nil {
		t.keys = map[string]*pathTrie{}
	}
	c := t.keys[st.key]
	if c == nil {
		c = &pathTrie{}
		t.keys[st.key] = c
		if n, ok := arrayIndex(st.key); ok { // a numeric key also indexes arrays
			if t.numKeys == nil {
				t.numKeys = map[int]*pathTrie{}
			}
			t.numKeys[n] = c
		}
	}
	return c
}

// arrayIndex reads a key as strconv.Atoi would for an array index.
func arrayIndex(key string) (int, bool) {
	s, neg := key, false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if neg && n != 0 {
		return 0, false
	}
	return n, true
}

// extract walks doc, which must be valid JSON, and sets out[i] to the
// bytes of path i's value, or leaves it nil. Like encoding/json, the last
// of duplicate keys wins.
func (t *pathTrie) extract(doc []byte, out [][]byte) {
	clear(out)
	if i := skipSpace(doc, 0); i < len(doc) {
		t.walk(doc, i, out)
	}
}

// walk visits the value at i and returns the index after it.
func (t *pathTrie) walk(doc []byte, i int, out [][]byte) int {
	var end int
	switch {
	case doc[i] == '{' && t.keys != nil:
		j := skipSpace(doc, i+1)
		for j < len(doc) && doc[j] == '"' {
			kend := skipString(doc, j)
			var c *pathTrie
			if raw := doc[j+1 : kend-1]; bytes.IndexByte(raw, '\\') < 0 {
				c = t.keys[string(raw)]
			} else {
				c = t.keys[unquote(doc[j:kend])]
			}
			j = skipSpace(doc, skipSpace(doc, kend)+1) // past the colon
			if c != nil {
				for _, tg := range c.all { // a later duplicate key replaces all it held
					out[tg] = nil
				}
				j = c.walk(doc, j, out)
			} else {
				j = skipValue(doc, j)
			}
			if j = skipSpace(doc, j); j < len(doc) && doc[j] == ',' {
				j = skipSpace(doc, j+1)
			}
		}
		end = j + 1
	case doc[i] == '[' && (t.index != nil || t.numKeys != nil):
		j := skipSpace(doc, i+1)
		for k := 0; j < len(doc) && doc[j] != ']'; k++ {
			next := skipValue(doc, j)
			if c := t.index[k]; c != nil {
				next = c.walk(doc, j, out)
			}
			if c := t.numKeys[k]; c != nil {
				next = c.walk(doc, j, out)
			}
			if j = skipSpace(doc, next); j < len(doc) && doc[j] == ',' {
				j = skipSpace(doc, j+1)
			}
		}
		end = j + 1
	default:
		end = skipValue(doc, i)
	}
	end = min(end, len(doc))
	for _, tg := range t.targets {
		out[tg] = doc[i:end]
	}
	return end
}
