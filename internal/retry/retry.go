// Package retry has the one back-off and the one context-aware sleep that
// facilityd's retry loops share (ticket queue, outbox, drivers).
package retry

import (
	"context"
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
