package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second}, {10, 5 * time.Minute}, {1 << 30, 5 * time.Minute}} {
		if got := Backoff(tt.failures, time.Second, 5*time.Minute); got != tt.want {
			t.Errorf("Backoff(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep without cancel did not wait the whole duration")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if Sleep(ctx, time.Hour) || time.Since(start) > time.Second {
		t.Error("Sleep on a cancelled context waited")
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := Jitter(10*time.Second, 0.2); d < 8*time.Second || d > 12*time.Second {
			t.Fatalf("Jitter(10s, 0.2) = %s, outside 8s..12s", d)
		}
	}
}
