package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/handoff"
)

// ticketApp is the ticket side of an app, without devices or rules.
func ticketApp(t testing.TB) (*app, func()) {
	t.Helper()
	st, err := tickets.Open(context.Background(), filepath.Join(t.TempDir(), "tickets.db"), tickets.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := handoff.Open(filepath.Join(t.TempDir(), TicketQueueFile))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{log: slog.New(slog.DiscardHandler), now: time.Now, tickets: st, journal: j}
	a.queueMetrics = newTicketQueueMetrics(a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { a.runTicketQueue(stop) })
	return a, func() { close(stop); wg.Wait(); j.Close(); st.Close() }
}

// storm queues 10,000 firing alerts over 1,000 devices the way the rules
// hand them over: a few transitions per poll of a device.
func storm(a *app, n int) {
	const devices, fires, perPoll = 1_000, 10, 5
	for round := range fires / perPoll {
		for d := range devices {
			cs := make([]tickets.Change, perPoll)
			for i := range cs {
				key := fmt.Sprintf("storm%d-pump-%d", n, d)
				cs[i] = tickets.Change{Alert: tickets.Alert{Key: key, Title: key + ": low pressure", Device: key,
					Priority: "P2", Source: tickets.SourceRule, At: time.Unix(int64(round*perPoll+i), 0)}}
			}
			a.queueTickets(context.Background(), cs)
		}
	}
}

func TestTicketQueueStorm(t *testing.T) {
	a, stop := ticketApp(t)
	storm(a, 0)
	stop() // drains the queue
	st, err := tickets.Open(context.Background(), a.tickets.Path(), tickets.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, err := st.List(context.Background(), tickets.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	occ := 0
	for _, tk := range ts {
		occ += tk.Occurrences
	}
	if len(ts) != 1000 || occ != 10_000 {
		t.Fatalf("%d tickets with %d occurrences, want 1,000 with 10,000", len(ts), occ)
	}
}

// BenchmarkAlertStorm is the storm through the app's ticket queue:
// 10,000 firing alerts across 1,000 devices must open at most 1,000
// tickets, in under 1 s (ms/storm).
func BenchmarkAlertStorm(b *testing.B) {
	a, stop := ticketApp(b)
	defer stop()
	n, cpu0 := 0, cpuTime()
	for b.Loop() {
		storm(a, n)
		n++
		// Wait until the queue has been applied: the last key is recorded.
		for {
			ts, _ := a.tickets.List(context.Background(), tickets.Filter{Device: fmt.Sprintf("storm%d-pump-999", n-1)})
			if len(ts) == 1 && ts[0].Occurrences == 10 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	ts, _ := a.tickets.List(context.Background(), tickets.Filter{})
	b.ReportMetric(float64(len(ts))/float64(n), "tickets/storm")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(n), "ms/storm")
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(n), "cpu-ms/storm")
	b.ReportMetric(0, "ns/op")
}

func TestOutboxMetrics(t *testing.T) {
	cfg := tickets.Config{Receivers: []tickets.Receiver{{Name: "cmms", Webhook: &tickets.WebhookConfig{URL: "http://127.0.0.1:1/"}}}}
	st, err := tickets.Open(context.Background(), filepath.Join(t.TempDir(), "tickets.db"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, k := range []string{"a", "b"} {
		if _, _, err := st.Raise(context.Background(), tickets.Alert{Key: k, Title: k, Priority: "P2", Source: "rule"}); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(outboxCollector{st})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != "cmms" {
				t.Errorf("%s: labels %v", mf.GetName(), m.GetLabel())
			}
			got[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	if got["facilityd_tickets_outbox_pending"] != 2 || got["facilityd_tickets_outbox_oldest_pending_seconds"] <= 0 ||
		got["facilityd_tickets_outbox_dropped"] != 0 {
		t.Fatalf("metrics %v", got)
	}
}
