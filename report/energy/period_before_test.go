package energy

import (
	"testing"
	"time"
)

// TestBefore: the last full period before a run, in the site's zone.
func TestBefore(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC) // 08:30 on the 1st in Shanghai
	for kind, want := range map[string]string{"day": "2026-11-30", "week": "2026-W48", "month": "2026-11", "quarter": "2026-Q3", "year": "2025"} {
		p, err := Before(kind, now, sh)
		if err != nil || p.Name != want || !p.To.After(p.From) || p.To.After(now) {
			t.Errorf("Before(%s) = %+v, %v; want %s", kind, p, err, want)
		}
	}
	if p, _ := Before("month", now, sh); !p.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, sh)) {
		t.Errorf("month from %v", p.From)
	}
	if _, err := Before("fortnight", now, sh); err == nil {
		t.Error("unknown kind accepted")
	}
}
