package store

import "github.com/facilityd/facilityd/drivers"

// queue is a FIFO of samples with a hard cap: a ring that grows by doubling up
// to max and, once full, makes room by dropping its oldest sample. Growing
// lazily keeps an idle daemon small while a long outage can still buffer max
// samples; in steady state push costs no allocation. Not safe for concurrent
// use: the Writer guards it with its mutex.
type queue struct {
	buf  []drivers.Sample
	head int // index of the oldest sample
	n    int // samples held
	max  int
	// shrinkTo is the capacity an empty queue falls back to after an outage
	// made it grow, so the memory of one long outage is not kept forever.
	shrinkTo int
}

func newQueue(max, shrinkTo int) *queue {
	return &queue{max: max, shrinkTo: min(shrinkTo, max)}
}

func (q *queue) len() int { return q.n }

// push appends s and reports whether the oldest sample was dropped for it.
func (q *queue) push(s *drivers.Sample) (dropped bool) {
	if q.n == q.max {
		q.buf[q.head] = drivers.Sample{} // release its strings
		q.head = q.wrap(q.head + 1)
		q.n--
		dropped = true
	} else if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[q.wrap(q.head+q.n)] = *s
	q.n++
	return dropped
}

// take moves up to k of the oldest samples to the end of dst.
func (q *queue) take(dst []drivers.Sample, k int) []drivers.Sample {
	k = min(k, q.n)
	for range k {
		dst = append(dst, q.buf[q.head])
		q.buf[q.head] = drivers.Sample{}
		q.head = q.wrap(q.head + 1)
	}
	q.n -= k
	if q.n == 0 {
		q.head = 0
		if len(q.buf) > q.shrinkTo {
			q.buf = nil
		}
	}
	return dst
}

func (q *queue) grow() {
	// Doubling up to 4,096, then by a quarter: a queue that a second of
	// 1,000 meters fills to about 6,000 keeps room for 6,400, not 8,192
	// (128 bytes a sample).
	c := 2 * len(q.buf)
	if len(q.buf) >= 4096 {
		c = len(q.buf) + len(q.buf)/4
	}
	c = min(max(c, 64), q.max)
	buf := make([]drivers.Sample, c)
	// Unroll the ring so the oldest sample is at index 0.
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}

func (q *queue) wrap(i int) int {
	if i >= len(q.buf) {
		i -= len(q.buf)
	}
	return i
}
