package tickets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAdvancer stands in for the inspections package: every plan floats by
// 15 days from its completion; includes[p] are completed with p. calls,
// when not nil, counts the calls.
func fakeAdvancer(includes map[string][]string, calls *atomic.Int32) InspectionAdvancer {
	return func(states map[string]InspectionState, c Completion) ([]InspectionState, []InspectionRecord, error) {
		if calls != nil {
			calls.Add(1)
		}
		var sts []InspectionState
		var recs []InspectionRecord
		do := func(plan, via string) {
			st, ok := states[plan]
			if !ok {
				st = InspectionState{Plan: plan, Device: c.Device}
			}
			kind := RecordDone
			if c.Skip {
				kind = RecordSkipped
			} else {
				st.LastDone, st.LastCounters = c.At, c.Counters
			}
			recs = append(recs, InspectionRecord{Plan: plan, Device: c.Device, Kind: kind, Note: c.Note,
				DueAt: st.NextDue, OnTime: !c.At.After(st.NextDue), Counters: c.Counters, Via: via})
			st.NextDue, st.Status = c.At.Add(15*24*time.Hour), InspectionOK
			sts = append(sts, st)
		}
		do(c.Plan, "")
		if !c.Skip {
			for _, p := range includes[c.Plan] {
				do(p, c.Plan)
			}
		}
		return sts, recs, nil
	}
}

func answer(t testing.TB, s *Store, id int64, idx int, a string, v *float64, note string) ChecklistItem {
	t.Helper()
	it, err := s.AnswerItem(context.Background(), id, idx, a, v, note, "ana")
	if err != nil {
		t.Fatalf("AnswerItem(%d, %d): %v", id, idx, err)
	}
	return it
}

func answerAll(t testing.TB, s *Store, id int64) {
	t.Helper()
	answer(t, s, id, 1, "", fp(6.5), "")
	answer(t, s, id, 2, "yes", nil, "")
	answer(t, s, id, 3, "all in order", nil, "")
}

func TestAnswerValidation(t *testing.T) { backends(t, testAnswerValidation) }

func testAnswerValidation(t *testing.T) {
	reading := ChecklistItem{Index: 1, Text: "Pressure", Evidence: EvidenceReading, Unit: "bar", Min: fp(2), Max: fp(6)}
	yesNo := ChecklistItem{Index: 2, Text: "Door closes", Evidence: EvidenceYesNo}
	text := ChecklistItem{Index: 3, Text: "Remarks", Evidence: EvidenceText}
	f := func(it ChecklistItem, ans string, v *float64, wantErr string, failed bool) {
		t.Helper()
		err := it.setAnswer(ans, v, "")
		switch {
		case wantErr != "":
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%s %q %v: err %v, want ErrInvalid with %q", it.Evidence, ans, v, err, wantErr)
			}
		case err != nil:
			t.Errorf("%s %q %v: %v", it.Evidence, ans, v, err)
		case it.Failed != failed:
			t.Errorf("%s %q %v: failed %v, want %v", it.Evidence, ans, v, it.Failed, failed)
		}
	}
	f(reading, "", nil, "give a number in bar", false)
	f(reading, "high", nil, "give a number", false)
	f(reading, "", fp(math.NaN()), "give a number", false)
	f(reading, "", fp(4), "", false)
	f(reading, "5.5", nil, "", false)
	f(reading, "", fp(1.9), "", true)
	f(reading, "", fp(6.1), "", true)
	f(yesNo, "Yes", nil, "", false)
	f(yesNo, "no", nil, "", true)
	f(yesNo, "maybe", nil, "answer yes or no", false)
	f(yesNo, "yes", fp(1), "answer yes or no", false)
	f(text, "  ", nil, "give the text", false)
	f(text, "fine", nil, "", false)
}

// TestCompleteRequiresChecklist: an inspection completes only once its
// required items are answered; then the plan advances, the ticket closes
// and the record keeps the checklist.
func TestCompleteRequiresChecklist(t *testing.T) { backends(t, testCompleteRequiresChecklist) }

func testCompleteRequiresChecklist(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openTemp(t, Config{}, c)
	s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	tk := openInsp(t, s, "half", "lift-1")
	done := Completion{Plan: "half", Device: "lift-1", Actor: "ana", Counters: map[string]float64{"trips": 4810}}
	_, err := s.CompleteInspection(ctx, done)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `1 "Brake lining thickness", 3 "Remarks"`) ||
		strings.Contains(err.Error(), "Door") {
		t.Fatalf("complete before answering: %v, want ErrInvalid naming items 1 and 3", err)
	}
	if _, err := s.AnswerItem(ctx, tk.ID, 4, "yes", nil, "", "ana"); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "has 3") {
		t.Fatalf("answer to item 4: %v", err)
	}
	if _, err := s.AnswerItem(ctx, tk.ID, 1, "thick", nil, "", "ana"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reading without a number: %v", err)
	}
	answer(t, s, tk.ID, 1, "", fp(6.5), "")
	answer(t, s, tk.ID, 3, "all in order", nil, "")
	c.Advance(time.Hour)
	recs, err := s.CompleteInspection(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != RecordDone || recs[0].TicketID != tk.ID || recs[0].Actor != "ana" ||
		!recs[0].OnTime || len(recs[0].Checklist) != 3 || *recs[0].Checklist[0].Value != 6.5 || recs[0].ID == 0 {
		t.Fatalf("records %+v", recs)
	}
	got, evs, err := s.Get(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusClosed || got.FollowUpResult != FollowUpOK {
		t.Fatalf("ticket after completion: %s", got.Status)
	}
	var summary string
	for _, e := range evs {
		if e.Kind == EventInspection {
			summary = e.Detail
		}
	}
	if !strings.Contains(summary, "done by ana") || !strings.Contains(summary, "on time") || !strings.Contains(summary, "trips=4810") {
		t.Fatalf("inspection event %q", summary)
	}
	st := stateOf(t, s, "half", "lift-1")
	if st.TicketID != 0 || !st.NextDue.Equal(c.Now().Add(15*24*time.Hour)) || st.Version != 2 || st.LastCounters["trips"] != 4810 {
		t.Fatalf("state after completion %+v", st)
	}
	if _, err := s.AnswerItem(ctx, tk.ID, 2, "no", nil, "", "ana"); !errors.Is(err, ErrTransition) {
		t.Fatalf("answer on a closed ticket: %v, want ErrTransition", err)
	}
	if rs := history(t, s, InspectionFilter{Kind: RecordDone}); len(rs) != 1 || rs[0].Checklist[2].Answer != "all in order" {
		t.Fatalf("stored done records %+v", rs)
	}
}

// TestFailedItemOpensCorrective: a reading outside its limits needs a note,
// and completing opens a corrective ticket linked to the inspection.
func TestFailedItemOpensCorrective(t *testing.T) { backends(t, testFailedItemOpensCorrective) }

func testFailedItemOpensCorrective(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	tk := openInsp(t, s, "half", "lift-1")
	answerAll(t, s, tk.ID)
	if it := answer(t, s, tk.ID, 1, "", fp(3.2), ""); !it.Failed {
		t.Fatalf("3.2 mm with a minimum of 4: %+v, want failed", it)
	}
	done := Completion{Plan: "half", Device: "lift-1", Actor: "ana"}
	if _, err := s.CompleteInspection(ctx, done); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "explain the failed items 1") {
		t.Fatalf("complete with an unexplained failure: %v", err)
	}
	answer(t, s, tk.ID, 1, "", fp(3.2), "worn; pads ordered")
	recs, err := s.CompleteInspection(ctx, done)
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.Checklist(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	corr := items[0].Corrective
	if corr == 0 || items[1].Corrective != 0 || recs[0].Checklist[0].Corrective != corr {
		t.Fatalf("checklist %+v, record %+v: want item 1's corrective ticket on both", items, recs[0].Checklist)
	}
	ct, _, err := s.Get(ctx, corr)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Related != tk.ID || ct.Key != fmt.Sprintf("corrective:%d:1", tk.ID) || ct.Priority != "P2" ||
		ct.Status != StatusOpen || ct.Source != SourceInspection || !strings.Contains(ct.Description, "below the minimum 4") {
		t.Fatalf("corrective ticket %+v", ct)
	}
	// A corrective ticket is ordinary repair work: closing it completes nothing.
	if _, err := s.Transition(ctx, corr, StatusResolved, "bo", "pads replaced"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentCompletion: two people, through two processes, complete one
// cycle at once: one completion, and the other is told it came too late.
func TestConcurrentCompletion(t *testing.T) { backends(t, testConcurrentCompletion) }

func testConcurrentCompletion(t *testing.T) {
	for _, tc := range []struct {
		name           string
		version, byTkt bool
	}{{"version and ticket", true, true}, {"ticket", false, true}, {"version", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			api, path := openTemp(t, Config{}, c)
			cli := openAt(t, path, Config{}, c)
			var calls atomic.Int32
			api.SetInspectionAdvancer(fakeAdvancer(nil, &calls))
			cli.SetInspectionAdvancer(fakeAdvancer(nil, &calls))
			tk := openInsp(t, api, "half", "lift-1")
			answerAll(t, api, tk.ID)
			seen := stateOf(t, cli, "half", "lift-1")
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, s := range []*Store{api, cli} {
				wg.Go(func() {
					cp := Completion{Plan: "half", Device: "lift-1", Actor: fmt.Sprint("person", i)}
					if tc.version {
						cp.Version = seen.Version
					}
					if tc.byTkt {
						cp.TicketID = tk.ID
					}
					_, errs[i] = s.CompleteInspection(ctx, cp)
				})
			}
			wg.Wait()
			ok, stale := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrStale) && strings.Contains(err.Error(), "completed meanwhile by person"):
					stale++
				default:
					t.Errorf("unexpected error %v", err)
				}
			}
			if ok != 1 || stale != 1 {
				t.Fatalf("%d completions and %d stale, want one of each (%v)", ok, stale, errs)
			}
			if rs := history(t, cli, InspectionFilter{Kind: RecordDone}); len(rs) != 1 {
				t.Fatalf("%d done records, want 1", len(rs))
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("the advancer ran %d times, want once", n)
			}
		})
	}
}

// TestMoveCompletesInspection: closing an inspection ticket in the web UI
// or the CLI (Move) is its completion; cancelling it is not.
func TestMoveCompletesInspection(t *testing.T) { backends(t, testMoveCompletesInspection) }

func testMoveCompletesInspection(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	tk := openInsp(t, s, "half", "lift-1")
	answerAll(t, s, tk.ID)
	if _, err := s.Transition(ctx, tk.ID, StatusResolved, "ana", "done"); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "no inspection plans are loaded") {
		t.Fatalf("resolve without an advancer: %v, want ErrInvalid saying so", err)
	}
	var calls atomic.Int32
	s.SetInspectionAdvancer(fakeAdvancer(nil, &calls))
	other := openInsp(t, s, "quarter", "lift-1")
	if _, err := s.Transition(ctx, other.ID, StatusResolved, "ana", ""); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "answer the required") {
		t.Fatalf("resolve with the checklist unanswered: %v", err)
	}
	if _, err := s.Transition(ctx, tk.ID, StatusAcknowledged, "ana", ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Transition(ctx, tk.ID, StatusResolved, "ana", "brakes fine")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusClosed || calls.Load() != 1 {
		t.Fatalf("after resolve: %s, advancer ran %d times; want closed, once", got.Status, calls.Load())
	}
	rs := history(t, s, InspectionFilter{Plan: "half", Kind: RecordDone})
	if len(rs) != 1 || rs[0].Actor != "ana" || rs[0].Note != "brakes fine" || rs[0].TicketID != tk.ID {
		t.Fatalf("done records %+v", rs)
	}
	if _, err := s.Transition(ctx, other.ID, StatusCancelled, "ana", "duplicate"); err != nil {
		t.Fatal(err)
	}
	if rs := history(t, s, InspectionFilter{Plan: "quarter", Kind: RecordDone}); len(rs) != 0 || calls.Load() != 1 {
		t.Fatalf("cancel advanced the plan: %+v", rs)
	}
	if st := stateOf(t, s, "quarter", "lift-1"); st.TicketID != 0 || st.Status != InspectionDueSoon {
		t.Fatalf("state after cancel %+v, want no ticket and the status kept", st)
	}
}

// TestInspectionClearedAlertKeepsTicket: with on_alert_resolved resolve, a
// clearing alert on an inspection's key does not close the inspection.
func TestInspectionClearedAlertKeepsTicket(t *testing.T) {
	backends(t, testInspectionClearedAlertKeepsTicket)
}

func testInspectionClearedAlertKeepsTicket(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{OnAlertResolved: OnResolvedResolve}, newClock())
	tk := openInsp(t, s, "half", "lift-1")
	if err := s.AlertResolved(ctx, tk.Key, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, tk.ID); got.Status != StatusOpen {
		t.Fatalf("inspection ticket %s after its alert cleared, want open", got.Status)
	}
}

func TestSkipNeedsReason(t *testing.T) { backends(t, testSkipNeedsReason) }

func testSkipNeedsReason(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{}, newClock())
	s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	tk := openInsp(t, s, "half", "lift-1")
	skip := Completion{Plan: "half", Device: "lift-1", Actor: "ana", Skip: true, Note: "  "}
	if _, err := s.CompleteInspection(ctx, skip); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("skip without a reason: %v", err)
	}
	skip.Note = "lift out of service for modernisation"
	recs, err := s.CompleteInspection(ctx, skip) // the checklist is not needed to skip
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != RecordSkipped || recs[0].Note != skip.Note {
		t.Fatalf("records %+v", recs)
	}
	if got, _, _ := s.Get(ctx, tk.ID); got.Status != StatusCancelled {
		t.Fatalf("ticket %s after skip, want cancelled", got.Status)
	}
	if st := stateOf(t, s, "half", "lift-1"); st.Status != InspectionSkipped || st.TicketID != 0 {
		t.Fatalf("state after skip %+v", st)
	}
}

// TestCompleteIncludedPlan: completing the quarterly service completes the
// half-monthly one, and its open ticket closes naming the quarterly's.
func TestCompleteIncludedPlan(t *testing.T) { backends(t, testCompleteIncludedPlan) }

func testCompleteIncludedPlan(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t, Config{Receivers: []Receiver{webhookReceiver("cmms")}}, newClock())
	s.SetInspectionAdvancer(fakeAdvancer(map[string][]string{"quarter": {"half"}}, nil))
	half := openInsp(t, s, "half", "lift-1")
	quarter := openInsp(t, s, "quarter", "lift-1")
	answerAll(t, s, quarter.ID)
	recs, err := s.CompleteInspection(ctx, Completion{Plan: "quarter", Device: "lift-1", Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Plan != "half" || recs[1].Via != "quarter" || recs[1].TicketID != half.ID {
		t.Fatalf("records %+v", recs)
	}
	got, evs, err := s.Get(ctx, half.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		found = found || strings.Contains(e.Detail, fmt.Sprintf("completed with #%d", quarter.ID))
	}
	if got.Status != StatusClosed || !found {
		t.Fatalf("included ticket %s, events %+v", got.Status, evs)
	}
	for _, p := range []string{"half", "quarter"} {
		if st := stateOf(t, s, p, "lift-1"); st.TicketID != 0 || st.Status != InspectionOK {
			t.Errorf("state of %s %+v", p, st)
		}
	}
	// Webhooks see the inspection's events like any other.
	for _, k := range []EventKind{EventInspection, EventChecklist} {
		if n := outboxRows(t, s, "cmms", k); n == 0 {
			t.Errorf("no %s notifications queued", k)
		}
	}
}

// BenchmarkCompleteInspection: one inspection with three checklist items
// completed per iteration (opening and answering it are not timed).
func BenchmarkCompleteInspection(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b, Config{}, newClock())
	s.SetInspectionAdvancer(fakeAdvancer(nil, nil))
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		device := fmt.Sprint("lift-", n)
		tk := openInsp(b, s, "half", device)
		answerAll(b, s, tk.ID)
		b.StartTimer()
		if _, err := s.CompleteInspection(ctx, Completion{Plan: "half", Device: device, Actor: "ana",
			Counters: map[string]float64{"trips": 5000}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/completion")
	b.ReportMetric(0, "ns/op")
}
