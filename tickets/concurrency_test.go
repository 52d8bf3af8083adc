package tickets

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentRulesAndPeople: rules raise one key in batches while
// people, through another Store on the same file (the CLI) and this one
// (the API), comment, assign and move the ticket. Nothing is lost: every
// occurrence is counted, every change is in the history once.
func TestConcurrentRulesAndPeople(t *testing.T) { backends(t, testConcurrentRulesAndPeople) }

func testConcurrentRulesAndPeople(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	api, path := openTemp(t, Config{}, c)
	cli := openAt(t, path, Config{}, c)
	first, _ := raise(t, api, alert("pump"))
	const batches, perBatch, people, edits = 20, 5, 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, batches+people*edits)
	wg.Go(func() {
		for range batches {
			alerts := make([]Alert, perBatch)
			for i := range alerts {
				alerts[i] = alert("pump")
			}
			if _, err := api.RaiseBatch(ctx, alerts); err != nil {
				errs <- err
			}
		}
	})
	for p := range people {
		s := []*Store{api, cli}[p%2]
		wg.Go(func() {
			for i := range edits {
				var err error
				switch i % 3 {
				case 0:
					_, err = s.Comment(ctx, first.ID, fmt.Sprint("person", p), fmt.Sprint("note ", i))
				case 1:
					_, err = s.Assign(ctx, first.ID, fmt.Sprint("person", p), fmt.Sprint("person", p), "")
				case 2: // on_hold ↔ in_progress, from whatever status it has
					// Others may move it between the two tries (on
					// PostgreSQL's round trips, they do): try again.
					for range 20 {
						if _, err = s.Transition(ctx, first.ID, StatusOnHold, fmt.Sprint("person", p), ""); err == nil {
							break
						}
						if _, err = s.Transition(ctx, first.ID, StatusInProgress, fmt.Sprint("person", p), ""); err == nil {
							break
						}
					}
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, evs, err := api.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + batches*perBatch; got.Occurrences != want {
		t.Errorf("occurrences %d, want %d", got.Occurrences, want)
	}
	kinds := map[EventKind]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds[EventOccurrence] != batches || kinds[EventComment] != people*4 || kinds[EventAssigned] != people*3 ||
		kinds[EventTransition] != people*3 {
		t.Errorf("history %v, want %d occurrence events and every person's changes", kinds, batches)
	}
	if ts := list(t, api, Filter{}); len(ts) != 1 {
		t.Errorf("%d tickets, want 1", len(ts))
	}
}
