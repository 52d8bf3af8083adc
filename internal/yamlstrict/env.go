package yamlstrict

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ExpandEnv replaces ${VAR} and ${VAR:-default} in every scalar value of the
// tree at n (keys are left alone), looking variables up with lookup (such as
// os.LookupEnv), so secrets and addresses can come from the environment. $$
// stands for a literal $. A ${VAR} whose variable is unset and that has no
// default is an error at its position. Call it before Decode.
func (d *Decoder) ExpandEnv(n *yaml.Node, lookup func(string) (string, bool)) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		out, err := expand(n.Value, lookup)
		if err != nil {
			d.Errorf(n, "%v", err)
			return
		}
		if out != n.Value && n.Style == 0 && n.Tag == "!!null" {
			n.Tag = "!!str"
		}
		n.Value = out
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			d.ExpandEnv(n.Content[i], lookup)
		}
	default:
		for _, c := range n.Content {
			d.ExpandEnv(c, lookup)
		}
	}
}

func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
			continue
		case '{':
		default:
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q: write ${NAME} or ${NAME:-default}", s)
		}
		body := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("bad environment variable name %q in ${%s}", name, body)
		}
		val, ok := lookup(name)
		switch {
		case ok && val != "":
			b.WriteString(val)
		case hasDef:
			b.WriteString(def)
		case ok:
		default:
			return "", fmt.Errorf("environment variable %s is not set: set it, or write ${%s:-default}", name, name)
		}
		s = s[i+end+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}
