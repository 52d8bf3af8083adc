package rules

import (
	"math"
	"time"
)

// point is one sample in a window.
type point struct {
	t int64 // unix nanoseconds
	v float64
}

// series keeps the recent samples of one point of one device, as long as
// the longest window over that point needs them, in a ring that grows by
// doubling: about 16 bytes per sample held.
type series struct {
	keep time.Duration
	// from is the time of the oldest sample the series ever held (0: none
	// yet) and slack how far after a window's start that may be (the
	// device's poll interval): a window reaching back before from has not
	// been seen, and its functions give NaN (see eval).
	from, slack int64
	ring        []point
	head        int // index of the oldest sample
	n           int
	last        int64 // time of the newest sample, 0 when none
	lastV       float64
}

// add appends a sample; samples older than the newest are dropped, so the
// ring stays in time order.
func (s *series) add(t time.Time, v float64) {
	ns := t.UnixNano()
	if s.n > 0 && ns < s.last {
		return
	}
	s.last, s.lastV = ns, v
	if s.from == 0 || ns < s.from {
		s.from = ns
	}
	if s.keep <= 0 {
		return // age only needs the newest time
	}
	s.evict(ns)
	if s.n == len(s.ring) {
		grown := make([]point, max(8, 2*len(s.ring)))
		for i := range s.n {
			grown[i] = s.ring[(s.head+i)%len(s.ring)]
		}
		s.ring, s.head = grown, 0
	}
	s.ring[(s.head+s.n)%len(s.ring)] = point{t: ns, v: v}
	s.n++
}

// evict drops samples that no window needs any more at now.
func (s *series) evict(now int64) {
	cut := now - int64(s.keep)
	for s.n > 0 && s.ring[s.head].t <= cut {
		s.head = (s.head + 1) % len(s.ring)
		s.n--
	}
}

func (s *series) at(i int) point { return s.ring[(s.head+i)%len(s.ring)] }

// eval computes a window function over the samples in (now-dur, now].
// A window that reaches back before the series' first sample has not been
// seen: every function but age gives NaN, which compares false, so a rule
// never judges what it did not watch (`min(flow, "24h") > 0` right after a
// start, `changes(x, "1h") == 0` after a reload). Functions without enough
// samples give NaN too; changes of a seen window without samples is 0. age
// counts from since when the point never had a sample.
func (s *series) eval(fn string, dur time.Duration, now, since time.Time) float64 {
	nowNs := now.UnixNano()
	if fn == "age" {
		from := since.UnixNano()
		if s.last != 0 {
			from = s.last
		}
		return max(0, float64(nowNs-from)/float64(time.Second))
	}
	if s.n > 0 && len(s.ring) > 0 {
		s.evict(nowNs)
	}
	cut := nowNs - int64(dur)
	if s.from == 0 || s.from > cut+s.slack {
		return math.NaN()
	}
	first := 0
	for first < s.n && s.at(first).t <= cut {
		first++
	}
	n := s.n - first
	switch fn {
	case "avg", "min", "max":
		if n == 0 {
			return math.NaN()
		}
		acc := s.at(first).v
		for i := first + 1; i < s.n; i++ {
			v := s.at(i).v
			switch fn {
			case "avg":
				acc += v
			case "min":
				acc = math.Min(acc, v)
			case "max":
				acc = math.Max(acc, v)
			}
		}
		if fn == "avg" {
			acc /= float64(n)
		}
		return acc
	case "delta":
		if n < 2 {
			return math.NaN()
		}
		return s.at(s.n-1).v - s.at(first).v
	case "rate":
		if n < 2 {
			return math.NaN()
		}
		inc := 0.0
		for i := first + 1; i < s.n; i++ {
			prev, cur := s.at(i-1).v, s.at(i).v
			if cur >= prev {
				inc += cur - prev
			} else {
				inc += cur // the counter was reset
			}
		}
		span := float64(s.at(s.n-1).t-s.at(first).t) / float64(time.Second)
		return inc / span
	case "changes":
		c := 0.0
		for i := first + 1; i < s.n; i++ {
			if s.at(i).v != s.at(i-1).v {
				c++
			}
		}
		return c
	}
	return math.NaN()
}
