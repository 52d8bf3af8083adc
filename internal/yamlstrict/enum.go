package yamlstrict

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Enum decodes a string enum: n must be a scalar equal to one of allowed
// (any letter case is accepted and the canonical spelling kept). The error
// names what is decoded, lists the allowed values and, for a near miss,
// says "did you mean". It is the one enum decoder of every config type.
func Enum[T ~string](n *yaml.Node, what string, allowed ...T) (T, error) {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("%s must be one of %s", what, OrList(names))
	}
	v := n.Value
	if i := slices.Index(names, v); i >= 0 {
		return allowed[i], nil
	}
	for i, a := range names {
		if strings.EqualFold(a, v) {
			return allowed[i], nil
		}
	}
	return "", fmt.Errorf("unknown %s %q: use %s%s", what, v, OrList(names), DidYouMean(v, names))
}

// OrList joins names as "a, b or c".
func OrList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
