package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchOp is how a Matcher compares a label.
type MatchOp string

// Match operators, as in Alertmanager.
const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// Matcher tests one label of an alert. A label that is not set has the
// value "".
type Matcher struct {
	Name  string
	Op    MatchOp
	Value string
	re    *regexp.Regexp
}

// ParseMatcher parses name="value", name!="value", name=~"regexp" or
// name!~"regexp"; the quotes may be left out of a value without spaces or
// quotes. Regular expressions are anchored at both ends.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want name=\"value\" (or !=, =~, !~)", s)
	}
	m := Matcher{Name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []MatchOp{MatchRegexp, MatchNotRegexp, MatchNotEqual, MatchEqual} {
		if v, ok := strings.CutPrefix(rest, string(op)); ok {
			m.Op, rest = op, strings.TrimSpace(v)
			break
		}
	}
	if m.Op == "" || !validLabelName(m.Name) {
		return Matcher{}, fmt.Errorf("matcher %q: want name=\"value\" (or !=, =~, !~) with a name of letters, digits and _", s)
	}
	switch {
	case strings.HasPrefix(rest, `"`):
		v, err := strconv.Unquote(rest)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: bad quoted value: %v", s, err)
		}
		m.Value = v
	case strings.ContainsAny(rest, "\" \t"):
		return Matcher{}, fmt.Errorf("matcher %q: quote a value with spaces or quotes", s)
	default:
		m.Value = rest
	}
	if m.Op == MatchRegexp || m.Op == MatchNotRegexp {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: %v", s, err)
		}
		m.re = re
	}
	return m, nil
}

func validLabelName(s string) bool {
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return s != ""
}

// Matches reports whether the labels satisfy the matcher.
func (m *Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String formats the matcher as ParseMatcher reads it.
func (m Matcher) String() string { return m.Name + string(m.Op) + strconv.Quote(m.Value) }

// Matchers all have to match.
type Matchers []Matcher

// ParseMatchers parses each string with ParseMatcher.
func ParseMatchers(ss []string) (Matchers, error) {
	out := make(Matchers, 0, len(ss))
	for _, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Matches reports whether every matcher matches the labels.
func (ms Matchers) Matches(labels map[string]string) bool {
	for i := range ms {
		if !ms[i].Matches(labels) {
			return false
		}
	}
	return true
}

// Strings formats each matcher.
func (ms Matchers) Strings() []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}

// MarshalJSON writes the matchers as a list of strings.
func (ms Matchers) MarshalJSON() ([]byte, error) { return json.Marshal(ms.Strings()) }

// UnmarshalJSON reads a list of matcher strings.
func (ms *Matchers) UnmarshalJSON(b []byte) error {
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("matchers: want a list of strings such as [\"device=\\\"pump-1\\\"\"]")
	}
	m, err := ParseMatchers(ss)
	if err != nil {
		return err
	}
	*ms = m
	return nil
}
