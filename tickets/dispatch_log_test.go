package tickets

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer is a bytes.Buffer the dispatcher's goroutines may log to.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestDispatcherLogsReportKey: a report delivery that fails and one that is
// rejected are logged with the report's key and kind report, not as
// ticket 0; a ticket's still names its ticket.
func TestDispatcherLogsReportKey(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Receivers: []Receiver{webhookReceiver("retry"), webhookReceiver("drop")}, Outbox: fastOutbox}
	s, _ := openTemp(t, cfg, newClock())
	gen := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	n := ReportNotice{Name: "monthly", Kind: "energy", Period: "2026-11", Lang: "en", GeneratedAt: gen, From: gen.AddDate(0, -1, 0), To: gen}
	if _, err := s.EnqueueReport(ctx, "monthly-2026-11-en", []string{"retry", "drop"}, n); err != nil {
		t.Fatal(err)
	}
	raise(t, s, alert("1"))
	var logs logBuffer
	retry, drop := newRecorder(1), newRecorder(0)
	drop.reject = func(Notification) bool { return true }
	runDispatcher(t, s, map[string]Notifier{"retry": retry, "drop": drop}, slog.New(slog.NewTextHandler(&logs, nil)))
	retry.wait(t, 2)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "notification dropped") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the rejections were not logged:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var failed, dropped []string
	for line := range strings.Lines(logs.String()) {
		switch {
		case strings.Contains(line, "delivery failed"):
			failed = append(failed, line)
		case strings.Contains(line, "notification dropped"):
			dropped = append(dropped, line)
		}
	}
	want := "kind=report report=monthly-2026-11-en"
	if len(failed) != 1 || !strings.Contains(failed[0], want) || strings.Contains(failed[0], "ticket=") {
		t.Errorf("the failed report delivery is logged as %q; want %q and no ticket", failed, want)
	}
	if len(dropped) != 2 || !strings.Contains(dropped[0], want) || strings.Contains(dropped[0], "ticket=") {
		t.Errorf("the rejected report delivery is logged as %q; want %q and no ticket", dropped, want)
	}
	if len(dropped) == 2 && (!strings.Contains(dropped[1], "ticket=1") || strings.Contains(dropped[1], "report=")) {
		t.Errorf("the rejected ticket notification is logged as %q; want ticket=1", dropped[1])
	}
}
