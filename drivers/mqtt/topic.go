package mqtt

import (
	"errors"
	"fmt"
	"strings"
)

// filter is a compiled topic filter with the named levels +device and
// +point. Its Subscription is the plain MQTT filter sent to the broker.
type filter struct {
	raw    string
	sub    string
	levels []string // literal levels; "+" and "#" are wildcards
	device int      // index of the +device level, or -1
	point  int      // index of the +point level, or -1
	multi  bool     // ends with #
}

// parseFilter checks a topic filter and finds its named levels.
func parseFilter(s string) (*filter, error) {
	if s == "" {
		return nil, errors.New("topic is empty: write a topic filter such as site/+device/+point")
	}
	if strings.ContainsRune(s, 0) {
		return nil, fmt.Errorf("topic %q contains a NUL character", s)
	}
	f := &filter{raw: s, device: -1, point: -1}
	levels := strings.Split(s, "/")
	subs := make([]string, len(levels))
	for i, l := range levels {
		switch {
		case l == "+":
		case l == "#":
			if i != len(levels)-1 {
				return nil, fmt.Errorf("topic %q: # must be the last level", s)
			}
			f.multi = true
		case l == "+device" || l == "+point":
			idx := &f.device
			if l == "+point" {
				idx = &f.point
			}
			if *idx >= 0 {
				return nil, fmt.Errorf("topic %q: %s appears twice", s, l)
			}
			*idx = i
			l = "+"
		case strings.HasPrefix(l, "+") && len(l) > 1:
			return nil, fmt.Errorf("topic %q: unknown named level %q: use +device, +point or a plain +", s, l)
		case strings.ContainsAny(l, "+#"):
			return nil, fmt.Errorf("topic %q: level %q: + and # must fill a whole level", s, l)
		}
		subs[i] = l
		f.levels = append(f.levels, l)
	}
	if f.multi {
		f.levels = f.levels[:len(f.levels)-1]
	}
	f.sub = strings.Join(subs, "/")
	return f, nil
}

// match reports whether topic matches the filter and returns the levels
// named +device and +point (empty when the filter has none). It does not
// allocate.
func (f *filter) match(topic string) (device, point string, ok bool) {
	if strings.HasPrefix(topic, "$") && (len(f.levels) == 0 || f.levels[0] == "+") {
		return "", "", false // wildcards never match $SYS-style topics
	}
	rest, more := topic, true
	for i, want := range f.levels {
		if !more {
			return "", "", false
		}
		var level string
		level, rest, more = strings.Cut(rest, "/")
		if want != "+" && level != want {
			return "", "", false
		}
		switch i {
		case f.device:
			device = level
		case f.point:
			point = level
		}
	}
	if more { // the topic goes on: only # takes the rest
		return device, point, f.multi
	}
	return device, point, true // # also matches its parent level
}
