package store

import (
	"context"
	"sync"
	"time"
)

// attemptLog tells the batcher how the sender's write attempts end, so that
// a full spool drops its oldest batches only when InfluxDB cannot take a
// write now.
type attemptLog struct {
	mu   sync.Mutex
	ok   bool          // the last attempt got an answer that lets delivery go on
	next chan struct{} // closed when the next attempt ends
}

// await returns a channel closed when the next attempt ends.
func (a *attemptLog) await() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == nil {
		a.next = make(chan struct{})
	}
	return a.next
}

// end records an attempt's outcome and wakes those waiting for it.
func (a *attemptLog) end(ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ok = ok
	if a.next != nil {
		close(a.next)
		a.next = nil
	}
}

func (a *attemptLog) lastOK() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ok
}

// attemptEnded is called by the sender after each write attempt: ok when
// InfluxDB took the part or answered about its points (which splitting
// settles), not when it is away, overloaded or refusing the writer.
func (w *Writer) attemptEnded(ok bool) {
	select { // a nudge that came during this attempt is answered by it
	case <-w.nudge:
	default:
	}
	w.attempts.end(ok)
}

// makeRoom runs before rec goes into the spool. When the spool is full, so
// that appending rec would drop batches not yet sent, it first asks the
// sender to try a write now, even in the middle of a back-off, and waits as
// long as those attempts succeed: delivering frees the space. It returns
// when there is room, when an attempt fails (the drop is then due: InfluxDB
// cannot take the batches), after roomWait without an outcome, or when ctx
// is done (the final batch at shutdown does not wait).
func (w *Writer) makeRoom(ctx context.Context, rec *record) {
	n := int64(recordHeaderSize + len(rec.payload))
	for ctx.Err() == nil && w.spool.wouldDrop(n) {
		ended := w.attempts.await()
		notify(w.nudge)
		t := time.NewTimer(roomWait)
		select {
		case <-ended:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		select {
		case <-ended:
			if w.attempts.lastOK() {
				continue
			}
		default:
		}
		return
	}
}

// backOff waits delay before the next attempt at a write that failed with
// kind; asked says the server set the delay (Retry-After). While InfluxDB
// does not answer at all (network, timeout) it is probed every probeEvery,
// and the wait ends as soon as it answers /ping: a server back from an
// outage waits about probeEvery, however long the back-off has grown. A
// nudge from a full spool ends the wait too, so that the write is tried
// before batches are dropped; unless the server asked for the wait or a
// person must act (blocks), or the probe finds it still away: then the
// attempt would fail, and the batcher hears so at once. It reports false
// when ctx is done or Run is stopping.
func (w *Writer) backOff(ctx context.Context, kind errorKind, delay time.Duration, asked bool) bool {
	t := time.NewTimer(delay)
	defer t.Stop()
	probing := w.probe != nil && (kind == errNetwork || kind == errTimeout)
	var tick <-chan time.Time
	if probing && w.probeEvery > 0 && w.probeEvery < delay {
		tk := time.NewTicker(w.probeEvery)
		defer tk.Stop()
		tick = tk.C
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-w.stopped:
			return false
		case <-t.C:
			return true
		case <-tick:
			if w.probe(ctx) {
				return true
			}
		case <-w.nudge:
			switch {
			case asked, kind.blocks(), probing && !w.probe(ctx):
				w.attempts.end(false)
			default:
				return true
			}
		}
	}
}
