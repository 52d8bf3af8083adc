package store

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// switchable is a fakeInflux that is unreachable until up is set, with a
// probe that says the same.
func switchable(up *atomic.Bool) *fakeInflux {
	return &fakeInflux{refuse: func([]string) error {
		if !up.Load() {
			return errDown
		}
		return nil
	}}
}

// TestFullSpoolSendsBeforeDropping: a full spool drops its oldest batches
// only after a write was tried and failed. While InfluxDB is away batches
// go; once it answers, a batch that finds the spool full makes the sender
// try at once, in the middle of an hour's back-off, and nothing more is
// dropped.
func TestFullSpoolSendsBeforeDropping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var up atomic.Bool
		api := switchable(&up)
		w := newFakeWriter(t, Config{FlushInterval: time.Second, BatchSize: 3}, api, nil, t.TempDir())
		w.minBackoff, w.maxBackoff = time.Hour, time.Hour
		w.spool.maxBytes, w.spool.segBytes = 2000, 400 // a few records per segment
		stop := start(t, w)
		for i := 0; w.spool.stats().DroppedFull == 0; i++ {
			if i == 100 {
				t.Fatalf("spool never full: %+v", w.spool.stats())
			}
			w.Put(t.Context(), samples("p", time.Unix(1e9+int64(3*i), 0), 3))
			time.Sleep(time.Second)
		}
		calls, _ := api.snapshot()
		if len(calls) < 2 {
			t.Errorf("%d write attempts before the spool dropped batches, want one per drop besides the first", len(calls))
		}
		dropped := w.spool.stats().DroppedFull
		up.Store(true)
		for i := range 40 {
			w.Put(t.Context(), samples("q", time.Unix(2e9+int64(3*i), 0), 3))
			time.Sleep(time.Second)
		}
		synctest.Wait()
		st := w.Stats()
		if got := w.spool.stats().DroppedFull; got != dropped {
			t.Errorf("dropped %d more samples for a full spool while InfluxDB took writes", got-dropped)
		}
		if st.Pending != 0 || st.Written+st.Dropped != st.Accepted || st.Dropped != dropped {
			t.Errorf("Stats() = %+v, %d dropped while away", st, dropped)
		}
		stop()
	})
}

// TestProbeEndsBackoff: a writer an hour into its back-off resumes writing
// within a probe period of InfluxDB answering /ping, and probing sends no
// writes while InfluxDB is away.
func TestProbeEndsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var up, probed atomic.Bool
		api := switchable(&up)
		w := newFakeWriter(t, Config{FlushInterval: time.Second}, api, nil, t.TempDir())
		w.minBackoff, w.maxBackoff = time.Hour, time.Hour
		w.probe = func(context.Context) bool { probed.Store(true); return up.Load() }
		stop := start(t, w)
		w.Put(t.Context(), samples("p", time.Unix(1e9, 0), 5))
		time.Sleep(30 * time.Second)
		if st := w.Status(); st.State != "retrying" || !probed.Load() {
			t.Errorf("during the outage Status() = %+v, probed %v", st, probed.Load())
		}
		up.Store(true)
		time.Sleep(w.probeEvery + time.Millisecond)
		synctest.Wait()
		if st := w.Stats(); st.Written != 5 || st.Pending != 0 {
			t.Errorf("a probe period after InfluxDB returned Stats() = %+v, want 5 written", st)
		}
		if calls, _ := api.snapshot(); len(calls) != 2 {
			t.Errorf("%d write attempts, want 2 (the failed one, the one after the probe)", len(calls))
		}
		stop()
	})
}
