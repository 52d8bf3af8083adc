// Package retry has the one back-off and the one context-aware sleep that
// facilityd's retry loops share (ticket queue, outbox, drivers).
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the wait after the given number of failures in a row: lo
// after the first, doubling per failure, never more than hi.
func Backoff(failures int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Jitter spreads d by ±frac (0.2: 80% to 120%), so that many clients
// that failed together do not come back in step.
func Jitter(d time.Duration, frac float64) time.Duration {
	return time.Duration(float64(d) * (1 - frac + 2*frac*rand.Float64()))
}

// Sleep waits d or until ctx is done, and reports whether it waited the
// whole d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
