package mqttconn

import (
	"testing"
	"time"
)

// TestReconnectBackoff: min, doubling to max, ±20% jitter; reset starts over.
func TestReconnectBackoff(t *testing.T) {
	b := backoff{min: time.Second, max: 8 * time.Second}
	for i, want := range []time.Duration{1, 2, 4, 8, 8, 8} {
		want *= time.Second
		if d := b.next(); d < want*8/10 || d > want*12/10 {
			t.Errorf("attempt %d: %s, want %s ±20%%", i+1, d, want)
		}
	}
	b.reset()
	if d := b.next(); d > 1200*time.Millisecond {
		t.Errorf("after reset: %s, want about 1s", d)
	}
}
