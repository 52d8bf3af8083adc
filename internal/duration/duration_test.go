package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const day = 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"90m": 90 * time.Minute, "36h": 36 * time.Hour, "7d": 7 * day, "-7d": -7 * day, "+1d": day,
		"1d12h": 36 * time.Hour, "2w": 14 * day, "1w2d": 9 * day, "365d": 365 * day, "0s": 0,
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "x7d", "7dd", "1.5d", "-", "7", "tomorrow", "2d1w", "1d-3h"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}
