package store

import (
	"slices"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

func seq(i int) drivers.Sample {
	return drivers.Sample{Device: "d", Measurement: "m", Point: "p", Value: drivers.Int(int64(i))}
}

func takeAll(q *queue) []int64 {
	var got []int64
	for _, s := range q.take(nil, q.len()) {
		got = append(got, s.Value.I)
	}
	return got
}

func TestQueueDropsOldestAtCap(t *testing.T) {
	q := newQueue(5, 5)
	dropped := 0
	for i := range 8 {
		s := seq(i)
		if q.push(&s) {
			dropped++
		}
	}
	if dropped != 3 || q.len() != 5 {
		t.Fatalf("dropped %d, len %d; want 3, 5", dropped, q.len())
	}
	want := []int64{3, 4, 5, 6, 7}
	if got := takeAll(q); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}

// TestQueueWrapsAndGrows pushes and takes in an order that makes the ring wrap
// before it grows, so grow must unroll it to keep FIFO order.
func TestQueueWrapsAndGrows(t *testing.T) {
	q := newQueue(1000, 64)
	next, want := 0, int64(0)
	push := func(k int) {
		for range k {
			s := seq(next)
			if q.push(&s) {
				t.Fatal("dropped below the cap")
			}
			next++
		}
	}
	check := func(k int) {
		for _, s := range q.take(nil, k) {
			if s.Value.I != want {
				t.Fatalf("took %d, want %d", s.Value.I, want)
			}
			want++
		}
	}
	push(60)
	check(50)
	push(40) // wraps within 64
	push(200)
	check(100)
	push(500)
	check(1000)
	if q.len() != 0 || int(want) != next {
		t.Fatalf("len %d, took up to %d of %d", q.len(), want, next)
	}
	if q.buf != nil {
		t.Fatalf("empty queue kept %d slots after an outage-sized burst", len(q.buf))
	}
}

func TestQueueTakeReleasesStrings(t *testing.T) {
	q := newQueue(10, 10)
	s := seq(1)
	q.push(&s)
	q.push(&s)
	q.take(nil, 1)
	if q.buf[0] != (drivers.Sample{}) {
		t.Fatal("taken slot still references the sample")
	}
}
