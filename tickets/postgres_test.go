package tickets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = ? AND b IN (?, ?)`, `WHERE a = $1 AND b IN ($2, $3)`},
		{`WHERE at < ?1 UNION ALL SELECT 1 WHERE at < ?1`, `WHERE at < $1 UNION ALL SELECT 1 WHERE at < $1`},
		{`WHERE note = '?' AND k = ?`, `WHERE note = '?' AND k = $1`},
		{"-- what? why?\nWHERE k = ?", "-- what? why?\nWHERE k = $1"},
		{`WHERE "odd?" = ?`, `WHERE "odd?" = $1`},
	} {
		if got := dialectPostgres.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := dialectSQLite.rebind(tc.in); got != tc.in {
			t.Errorf("SQLite rebind(%q) = %q, want it unchanged", tc.in, got)
		}
	}
}

// TestPostgresMigrationsTranslate: every migration has a PostgreSQL
// version, with nothing of SQLite's own left in it.
func TestPostgresMigrationsTranslate(t *testing.T) {
	for n := 1; n <= len(migrations); n++ {
		q, err := dialectPostgres.migration(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, sqliteOnly := range []string{"randomblob", "RAISE(ABORT", "INTEGER", " REAL", "\x00"} {
			if strings.Contains(q, sqliteOnly) {
				t.Errorf("migration %d on PostgreSQL still has %q:\n%s", n, sqliteOnly, q)
			}
		}
	}
}

// TestPostgresDaemonsRaiseOneTicket: the daemons of several sites, each
// with its own Store and connections, raise the same two faults at once on
// one database: one ticket per fault, every occurrence counted.
func TestPostgresDaemonsRaiseOneTicket(t *testing.T) {
	url := sharedPG.Database(t)
	ctx := context.Background()
	c := newClock()
	const daemons, rounds = 4, 25
	stores := make([]*Store, daemons)
	for i := range stores {
		stores[i] = openAt(t, url, Config{}, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, daemons*rounds)
	start := make(chan struct{})
	created := make(chan int64, daemons*rounds)
	for _, s := range stores {
		wg.Go(func() {
			<-start
			for range rounds {
				rs, err := s.RaiseBatch(ctx, []Alert{alert("boiler"), alert("chiller")})
				if err != nil {
					errs <- err
					return
				}
				for _, r := range rs {
					if r.Created {
						created <- r.Ticket.ID
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		t.Fatal(err)
	}
	var ids []int64
	for id := range created {
		ids = append(ids, id)
	}
	if len(ids) != 2 {
		t.Fatalf("created tickets %v, want one per key", ids)
	}
	ts := list(t, stores[0], Filter{})
	if len(ts) != 2 {
		t.Fatalf("%d tickets, want 2", len(ts))
	}
	for _, tk := range ts {
		if tk.Occurrences != daemons*rounds {
			t.Errorf("ticket %d (%s): %d occurrences, want %d", tk.ID, tk.Key, tk.Occurrences, daemons*rounds)
		}
	}
}

// TestPostgresDispatchersDeliverOnce: two daemons dispatch the same
// receiver from one database; every notification reaches it once, in the
// order it was queued, and the outbox ends up delivered.
func TestPostgresDispatchersDeliverOnce(t *testing.T) {
	url := sharedPG.Database(t)
	ctx := context.Background()
	c := newClock()
	cfg := Config{Receivers: []Receiver{webhookReceiver("cmms")}, Outbox: fastOutbox}
	a, b := openAt(t, url, cfg, c), openAt(t, url, cfg, c)
	const tickets = 60
	for i := range tickets {
		raise(t, []*Store{a, b}[i%2], alert(fmt.Sprint(i)))
	}
	r := &slowRecorder{recorder: newRecorder(0), by: map[string]int{}}
	runDispatcher(t, a, map[string]Notifier{"cmms": r.as("a")}, nil)
	runDispatcher(t, b, map[string]Notifier{"cmms": r.as("b")}, nil)
	r.wait(t, tickets)
	time.Sleep(200 * time.Millisecond) // ten poll intervals: time for a second send, were there one
	ids := r.ids()
	if len(ids) != tickets {
		t.Fatalf("%d deliveries, want %d", len(ids), tickets)
	}
	var events []int64
	r.recorder.mu.Lock()
	for _, n := range r.accepted {
		events = append(events, n.Event.ID)
	}
	r.recorder.mu.Unlock()
	if !slices.IsSorted(events) || len(slices.Compact(slices.Clone(events))) != tickets {
		t.Fatalf("delivered events %v, want each once in order", events)
	}
	states, err := a.Outbox(ctx)
	if err != nil || len(states) != 1 || states[0].Delivered != tickets || states[0].Pending != 0 {
		t.Fatalf("outbox %+v, %v; want %d delivered", states, err, tickets)
	}
	r.mu.Lock()
	t.Logf("deliveries by daemon: %v", r.by)
	r.mu.Unlock()
}

// slowRecorder is a recorder shared by dispatchers, whose deliveries take
// a moment, so that the dispatchers overlap.
type slowRecorder struct {
	*recorder
	mu sync.Mutex
	by map[string]int
}

func (r *slowRecorder) as(name string) Notifier {
	return notifierFunc(func(ctx context.Context, n Notification) error {
		time.Sleep(2 * time.Millisecond)
		r.mu.Lock()
		r.by[name]++
		r.mu.Unlock()
		return r.recorder.Notify(ctx, n)
	})
}

type notifierFunc func(ctx context.Context, n Notification) error

func (f notifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

// TestPostgresOpenKeepsPasswordOut: an unreachable server's error names
// the database without the password.
func TestPostgresOpenKeepsPasswordOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://facilityd:s3cret-pw@127.0.0.1:1/tickets?sslmode=disable&connect_timeout=2", Config{}, nil)
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err %q, want the server named and no password", err)
	}
}

// TestPostgresOutageDuringStorm: PostgreSQL goes away in the middle of an
// alert storm and comes back; the daemon's queue retries its batches as
// the handoff journal does (same change IDs, possibly after a commit whose
// answer was lost). Afterwards every fault has one ticket and every
// firing is counted once.
func TestPostgresOutageDuringStorm(t *testing.T) {
	pg := testenv.StartPostgres(t)
	url := pg.NewDatabase(t)
	ctx := context.Background()
	c := newClock()
	s := openAt(t, url, Config{}, c)
	const keys, batches, perBatch = 20, 60, 10
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	var failed int
	wg.Go(func() {
		for b := range batches {
			cs := make([]Change, perBatch)
			for i := range cs {
				n := b*perBatch + i
				cs[i] = Change{ID: fmt.Sprintf("change-%d", n), Alert: alert(fmt.Sprint("k", n%keys))}
			}
			if b == batches/3 {
				close(stopped) // the outage starts under this batch
			}
			for {
				if _, err := s.Apply(ctx, cs); err == nil {
					break
				}
				failed++
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond) // a storm lasts a while
		}
	})
	<-stopped
	pg.Stop()
	time.Sleep(outageFor(t))
	pg.Start(t)
	wg.Wait()
	if failed == 0 {
		t.Fatal("no batch failed: the outage missed the storm")
	}
	ts := list(t, s, Filter{})
	if len(ts) != keys {
		t.Fatalf("%d tickets, want %d", len(ts), keys)
	}
	for _, tk := range ts {
		if want := batches * perBatch / keys; tk.Occurrences != want {
			t.Errorf("ticket %s: %d occurrences, want %d", tk.Key, tk.Occurrences, want)
		}
	}
	t.Logf("%d failed attempts while PostgreSQL was down", failed)
}

// outageFor is how long the storm test keeps the server stopped: 2 s,
// or FACILITYD_PG_OUTAGE (e.g. 1m, the minute, run by hand).
func outageFor(t *testing.T) time.Duration {
	v := os.Getenv("FACILITYD_PG_OUTAGE")
	if v == "" {
		return 2 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("FACILITYD_PG_OUTAGE=%q: %v", v, err)
	}
	return d
}

// TestPostgresInspectionRecordsAppendOnly: on PostgreSQL the triggers
// refuse TRUNCATE as well as UPDATE and DELETE of the regulator's record.
func TestPostgresInspectionRecordsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, sharedPG.Database(t), Config{}, newClock())
	if err := s.PutInspectionStates(ctx, nil, []InspectionRecord{{Plan: "half", Device: "lift-1", Kind: RecordDone,
		Actor: "ana"}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`TRUNCATE inspection_records`, `DELETE FROM inspection_records`,
		`UPDATE inspection_records SET note = 'x'`} {
		if _, err := s.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "never") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
	if rs := history(t, s, InspectionFilter{}); len(rs) != 1 {
		t.Fatalf("%d records, want the one", len(rs))
	}
}

// TestPostgresOpenWaiting: with the server stopped, OpenWaiting returns a
// store that is not open (its methods say so, State tells why, without the
// password); once the server is back the store opens by itself, with its
// schema, and serves. A store closed while waiting stops its opener.
func TestPostgresOpenWaiting(t *testing.T) {
	pg := testenv.StartPostgres(t)
	url := pg.NewDatabase(t)
	pwURL := strings.Replace(url, "postgres@", "postgres:hunter2@", 1) // trust auth ignores it
	pg.Stop()
	ctx := context.Background()
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	start := time.Now()
	s, err := OpenWaiting(ctx, pwURL, Config{}, nil, log)
	if err != nil {
		t.Fatalf("OpenWaiting with the server down: %v", err)
	}
	defer s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("OpenWaiting took %v with the server down", d)
	}
	if _, err := s.List(ctx, Filter{}); !errors.Is(err, ErrNotOpen) {
		t.Errorf("List before the database is reached: %v, want ErrNotOpen", err)
	}
	st := s.State()
	if st.Open || st.Attempts < 1 || st.Error == "" || strings.Contains(st.Error, "hunter2") {
		t.Errorf("state while down: %+v", st)
	}
	select {
	case <-s.Ready():
		t.Fatal("ready while the server is down")
	default:
	}
	pg.Start(t)
	select {
	case <-s.Ready():
	case <-time.After(45 * time.Second):
		t.Fatalf("not open 45 s after the server came back: %+v", s.State())
	}
	if _, err := s.Apply(ctx, []Change{{ID: "c1", Alert: alert("k1")}}); err != nil {
		t.Fatal(err)
	}
	if ts := list(t, s, Filter{}); len(ts) != 1 {
		t.Fatalf("%d tickets, want 1", len(ts))
	}
	if !s.State().Open {
		t.Errorf("state once open: %+v", s.State())
	}
	if out := logs.String(); strings.Contains(out, "hunter2") || !strings.Contains(out, "ticket database reached") {
		t.Errorf("log:\n%s", out)
	}

	// Closed while still waiting: Close returns, the opener stops.
	pg.Stop()
	s2, err := OpenWaiting(ctx, url, Config{}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s2.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close of a waiting store hangs")
	}
}

// TestOpenWaitingRefusesBadURL: what trying again cannot mend is an error
// at once, as from Open.
func TestOpenWaitingRefusesBadURL(t *testing.T) {
	_, err := OpenWaiting(context.Background(), "postgres://u:secret@localhost:notaport/db", Config{}, nil, slog.Default())
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad URL: %v, want an error without the password", err)
	}
}

// syncWriter serialises writes of the opener's goroutine and the test's.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
