// Package duration reads the spans people write in configs, flags and
// query strings: a Go duration (90m, 36h) that may start with whole weeks
// and days (2w, 7d, 1d12h) and a sign (-7d), as spans of history and due
// windows are written. Calendar months are not spans of fixed length: plans
// write them themselves (inspections.Span).
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Parse reads s; see the package comment.
func Parse(s string) (time.Duration, error) {
	rest, neg := s, false
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		rest, neg = r, true
	} else {
		rest = strings.TrimPrefix(rest, "+")
	}
	var d time.Duration
	units := false
	for _, u := range []struct {
		sep  string
		size time.Duration
	}{{"w", 7 * day}, {"d", day}} {
		n, after, ok := strings.Cut(rest, u.sep)
		if !ok {
			continue
		}
		k, err := strconv.Atoi(n)
		if err != nil || k < 0 || k > 100000 {
			return 0, fmt.Errorf("%q: write a duration such as 36h, 7d or 1d12h", s)
		}
		d, rest, units = d+time.Duration(k)*u.size, after, true
	}
	if rest == "" && units {
		rest = "0s"
	}
	more, err := time.ParseDuration(rest)
	if err != nil || more < 0 {
		return 0, fmt.Errorf("%q: write a duration such as 36h, 7d or 1d12h", s)
	}
	d += more
	if neg {
		d = -d
	}
	return d, nil
}
