package web

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// countingStatus counts how often the watcher reads the devices.
type countingStatus struct {
	dashStatus
	reads atomic.Int64
}

func (s *countingStatus) Devices() []Device { s.reads.Add(1); return nil }

// TestWatchIdleWithoutClients: with nobody following the stream the watcher
// looks once (its baseline) and then not again until a client connects.
func TestWatchIdleWithoutClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &countingStatus{}
		s := New(Deps{Status: st, Events: NewHub()}, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Watch(ctx, time.Second); close(done) }()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := st.reads.Load(); n != 1 {
			t.Errorf("%d looks in 10 s without clients, want 1", n)
		}
		_, unsubscribe := s.Events.subscribe()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := st.reads.Load(); n < 3 {
			t.Errorf("%d looks after 3 s with a client, want at least 3", n)
		}
		unsubscribe()
		cancel()
		<-done
	})
}
