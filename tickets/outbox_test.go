package tickets

import (
	"context"
	"errors"
	"fmt"
	"github.com/facilityd/facilityd/internal/retry"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Notifier that fails its first fail calls, rejects the
// notifications of reject, and records what it accepted.
type recorder struct {
	mu       sync.Mutex
	fail     int
	reject   func(Notification) bool
	calls    int
	accepted []Notification
	got      chan struct{}
}

var _ Notifier = (*recorder)(nil)

func newRecorder(fail int) *recorder { return &recorder{fail: fail, got: make(chan struct{}, 1000)} }

func (r *recorder) Notify(ctx context.Context, n Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.fail {
		return errors.New("connection refused")
	}
	if r.reject != nil && r.reject(n) {
		return fmt.Errorf("%w: HTTP 400", ErrRejected)
	}
	r.accepted = append(r.accepted, n)
	r.got <- struct{}{}
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.accepted {
		out = append(out, n.ID)
	}
	return out
}

// wait waits until the recorder accepted n notifications in all.
func (r *recorder) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.ids()) < n {
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("accepted %d notifications, want %d", len(r.ids()), n)
		}
	}
}

func webhookReceiver(name string) Receiver {
	return Receiver{Name: name, Webhook: &WebhookConfig{URL: "http://127.0.0.1:1/"}}
}

// fastOutbox retries quickly, so the tests take milliseconds.
var fastOutbox = Outbox{RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond}

func runDispatcher(t *testing.T, s *Store, ns map[string]Notifier, logger *slog.Logger) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Dispatcher(ns, logger).Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// pendingIDs lists the notification ids queued for receiver, oldest first.
func pendingIDs(t *testing.T, s *Store, receiver string) []string {
	t.Helper()
	rows, err := s.db.Query(s.dialect.rebind(`SELECT event_id FROM outbox WHERE site = ? AND receiver = ? ORDER BY id`), s.site, receiver)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		out = append(out, fmt.Sprintf("%s-%d", s.instance, id))
	}
	return out
}

func TestOutboxRouting(t *testing.T) { backends(t, testOutboxRouting) }

func testOutboxRouting(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Receivers: []Receiver{
		webhookReceiver("all"),
		{Name: "storm", Events: []string{"occurrence"}, Webhook: &WebhookConfig{URL: "http://x/"}},
		{Name: "lifts-p1", Priorities: []string{"P1"}, Categories: []string{"lifts"}, Webhook: &WebhookConfig{URL: "http://x/"}},
	}}
	s, _ := openTemp(t, cfg, newClock())
	tk, _ := raise(t, s, alert("1"))
	raise(t, s, alert("1"))
	if _, err := s.Comment(ctx, tk.ID, "ana", "on it"); err != nil {
		t.Fatal(err)
	}
	a := alert("lift")
	a.Category, a.Priority = "lifts", "P1"
	raise(t, s, a)
	for _, tt := range []struct {
		receiver string
		kinds    []EventKind
	}{
		{"all", []EventKind{EventCreated, EventComment, EventCreated}}, // no occurrence by default
		{"storm", []EventKind{EventOccurrence}},
		{"lifts-p1", []EventKind{EventCreated}},
	} {
		rows, err := s.db.Query(s.dialect.rebind(`SELECT e.kind, o.payload FROM outbox o JOIN events e ON e.id = o.event_id
			WHERE o.receiver = ? ORDER BY o.id`), tt.receiver)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []EventKind
		for rows.Next() {
			var k EventKind
			var payload string
			rows.Scan(&k, &payload)
			kinds = append(kinds, k)
			if !strings.Contains(payload, `"id":"`+s.instance+"-") || !strings.Contains(payload, `"ticket":{"id":`) {
				t.Errorf("%s: payload %s lacks the idempotency key or the ticket", tt.receiver, payload)
			}
		}
		rows.Close()
		if !slices.Equal(kinds, tt.kinds) {
			t.Errorf("%s got %v, want %v", tt.receiver, kinds, tt.kinds)
		}
	}
}

// TestOutboxSurvivesRestart queues notifications while nothing delivers
// them, "restarts", and delivers every one once, in order.
func TestOutboxSurvivesRestart(t *testing.T) { backends(t, testOutboxSurvivesRestart) }

func testOutboxSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	cfg := Config{Receivers: []Receiver{webhookReceiver("cmms")}, Outbox: fastOutbox}
	path := tempDatabase(t)
	s1, err := Open(ctx, path, cfg, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := raise(t, s1, alert("1"))
	if _, err := s1.Transition(ctx, tk.ID, StatusAcknowledged, "ana", ""); err != nil {
		t.Fatal(err)
	}
	raise(t, s1, alert("2"))
	want := pendingIDs(t, s1, "cmms")
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 {
		t.Fatalf("queued %v, want 3 notifications", want)
	}
	s2 := openAt(t, path, cfg, c)
	r := newRecorder(0)
	runDispatcher(t, s2, map[string]Notifier{"cmms": r}, nil)
	r.wait(t, 3)
	if got := r.ids(); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if r.accepted[1].Event.Kind != EventTransition || r.accepted[1].Ticket.Status != StatusAcknowledged ||
		r.accepted[0].Ticket.Status != StatusOpen {
		t.Errorf("snapshots: %+v", r.accepted[:2])
	}
	if st := settled(t, s2); len(st) != 1 || st[0].Delivered != 3 {
		t.Fatalf("outbox state %+v", st)
	}
}

// TestOutboxRetries: a receiver that fails N times, then works, gets every
// notification once and in order, including those queued while it failed;
// another receiver is not held up meanwhile; a rejected one is dropped.
func TestOutboxRetries(t *testing.T) { backends(t, testOutboxRetries) }

func testOutboxRetries(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	cfg := Config{Receivers: []Receiver{webhookReceiver("flaky"), webhookReceiver("fine")}, Outbox: fastOutbox}
	s, _ := openTemp(t, cfg, c)
	flaky, fine := newRecorder(7), newRecorder(0)
	flaky.reject = func(n Notification) bool { return n.Ticket.Key == "bad" }
	runDispatcher(t, s, map[string]Notifier{"flaky": flaky, "fine": fine}, nil)
	tk, _ := raise(t, s, alert("1"))
	for i := range 5 {
		if _, err := s.Comment(ctx, tk.ID, "ana", fmt.Sprint("note ", i)); err != nil {
			t.Fatal(err)
		}
	}
	fine.wait(t, 6) // while flaky still fails
	raise(t, s, alert("bad"))
	raise(t, s, alert("2"))
	flaky.wait(t, 7)
	want := pendingIDs(t, s, "flaky")
	want = slices.Delete(want, 6, 7) // the rejected one
	if got := flaky.ids(); !slices.Equal(got, want) {
		t.Fatalf("flaky got %v, want %v", got, want)
	}
	fine.wait(t, 8)
	if got := fine.ids(); !slices.Equal(got, pendingIDs(t, s, "fine")) {
		t.Fatalf("fine got %v", got)
	}
	st := settled(t, s)
	if st[0].Receiver != "fine" || st[1].Receiver != "flaky" || st[1].Dropped != 1 || st[1].Delivered != 7 ||
		!strings.Contains(st[1].LastError, "HTTP 400") {
		t.Fatalf("outbox state %+v", st)
	}
	flaky.mu.Lock()
	defer flaky.mu.Unlock()
	if flaky.calls != 7+8 {
		t.Errorf("flaky was called %d times, want 15 (7 failures, 8 notifications)", flaky.calls)
	}
}

func TestOutboxGivesUp(t *testing.T) { backends(t, testOutboxGivesUp) }

func testOutboxGivesUp(t *testing.T) {
	c := newClock()
	out := fastOutbox
	out.GiveUpAfter = time.Hour
	s, _ := openTemp(t, Config{Receivers: []Receiver{webhookReceiver("gone")}, Outbox: out}, c)
	raise(t, s, alert("old"))
	c.Advance(2 * time.Hour)
	raise(t, s, alert("new"))
	r := newRecorder(0)
	runDispatcher(t, s, map[string]Notifier{"gone": r}, nil)
	r.wait(t, 1)
	if got := r.accepted[0].Ticket.Key; got != "new" {
		t.Fatalf("delivered %q, want only the one younger than give_up_after", got)
	}
	if st := settled(t, s); st[0].Dropped != 1 {
		t.Fatalf("outbox %+v, want one dropped", st)
	}
}

// settled waits until nothing is pending in the outbox and returns its state.
func settled(t *testing.T, s *Store) []OutboxState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := s.Outbox(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pending := 0
		for _, o := range st {
			pending += o.Pending
		}
		if pending == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still pending: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOutboxHonoursNextAttemptAfterRestart: a notification whose retry was
// scheduled before a restart is not sent again before its next_attempt, and
// the back-off goes on from its attempts instead of starting over, so a
// daemon restarted in a loop does not hammer a receiver that is down.
func TestOutboxHonoursNextAttemptAfterRestart(t *testing.T) {
	backends(t, testOutboxHonoursNextAttemptAfterRestart)
}

func testOutboxHonoursNextAttemptAfterRestart(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	out := Outbox{RetryMin: time.Second, RetryMax: time.Hour, PollInterval: 20 * time.Millisecond}
	cfg := Config{Receivers: []Receiver{webhookReceiver("cmms")}, Outbox: out}
	path := tempDatabase(t)
	s1 := openAt(t, path, cfg, c)
	raise(t, s1, alert("1"))
	e, ok, err := s1.nextEntry(ctx, "cmms")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for range 5 { // five failed attempts before the restart; the next is due in 10 minutes
		if err := s1.markRetry(ctx, e, c.Now().Add(10*time.Minute), "connection refused"); err != nil {
			t.Fatal(err)
		}
	}
	s1.Close()

	s2 := openAt(t, path, cfg, c)
	r := newRecorder(1) // fails once more, then accepts
	runDispatcher(t, s2, map[string]Notifier{"cmms": r}, nil)
	time.Sleep(300 * time.Millisecond) // 15 poll intervals
	r.mu.Lock()
	calls := r.calls
	r.mu.Unlock()
	if calls != 0 {
		t.Fatalf("receiver called %d times before next_attempt, want 0", calls)
	}
	c.Advance(10*time.Minute + time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		calls = r.calls
		r.mu.Unlock()
		if calls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not retried after next_attempt")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var attempts int
	var next string
	for time.Now().Before(deadline) {
		s2.db.QueryRow(`SELECT attempts, next_attempt FROM outbox`).Scan(&attempts, &next)
		if attempts == 6 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	at, err := parseStamp(next)
	if err != nil {
		t.Fatal(err)
	}
	// the sixth failure in a row waits 1s·2⁵ = 32s, not the 1s of a first failure
	if got, want := at.Sub(c.Now()), retry.Backoff(6, out.RetryMin, out.RetryMax); attempts != 6 || got != want {
		t.Fatalf("attempts %d, next attempt in %s, want 6 and %s", attempts, got, want)
	}
}
