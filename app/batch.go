package app

import (
	"sync"

	"github.com/facilityd/facilityd/drivers"
)

// ruleFeed carries the drivers' puts to the rules' goroutine in batches.
// ingest appends a put's samples to the filling buffer, and wakes the rules
// only when that buffer was empty; the rules take the whole buffer at once
// and, at their next take, give back the one they have evaluated. So a put
// costs a copy into a buffer that is reused, with no allocation and no
// channel send of its own, and while the rules are busy the puts that
// arrive meanwhile are evaluated together (rules.Engine.Observe takes the
// samples of many devices in one call, in order). The buffer is bounded:
// past max samples a put is dropped whole, and counted by the caller.
type ruleFeed struct {
	mu    sync.Mutex
	fill  []drivers.Sample // puts waiting for the rules
	spare []drivers.Sample // the batch the rules hold, or held last
	max   int
	ready chan struct{} // a put arrived in an empty buffer; 1 slot
}

// ruleFeedMax is how many samples wait for the rules before puts are
// dropped: about a second of 4,000 meters' polls. The buffers grow to what
// waits at most, not to this.
const ruleFeedMax = 64 << 10

// ruleFeedKeep is the capacity a buffer keeps for good; one that grew past
// it while the rules were behind is let go once the batches are small
// again (a quarter of it), not while they are large, which would only make
// it grow again.
const ruleFeedKeep = 16 << 10

func newRuleFeed(max int) *ruleFeed {
	return &ruleFeed{max: max, ready: make(chan struct{}, 1)}
}

// put queues a copy of samples for the rules and reports false, queueing
// nothing, when the feed is full. It keeps nothing of the slice.
func (f *ruleFeed) put(samples []drivers.Sample) bool {
	f.mu.Lock()
	if len(f.fill)+len(samples) > f.max {
		f.mu.Unlock()
		return false
	}
	wake := len(f.fill) == 0
	f.fill = append(f.fill, samples...)
	f.mu.Unlock()
	if wake {
		select {
		case f.ready <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
	return true
}

// take returns every sample waiting, in the order put; the slice is the
// caller's until its next take. Only one goroutine takes.
func (f *ruleFeed) take() []drivers.Sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.fill
	recycled := f.spare
	clear(recycled) // let go of the last batch's strings
	if cap(recycled) > ruleFeedKeep && len(b) < ruleFeedKeep/4 {
		recycled = nil
	}
	f.fill, f.spare = recycled[:0], b
	return b
}

// waiting returns how many samples wait for the rules.
func (f *ruleFeed) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fill)
}
