package web

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/facilityd/facilityd/tickets"
)

// TestTicketActionsStayOnTheirSite: on a database that sites share, a
// site's API reads another site's ticket but does not change it; its own
// it changes as before.
func TestTicketActionsStayOnTheirSite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tickets.db")
	ctx := context.Background()
	open := func(site string) *tickets.Store {
		st, err := tickets.Open(ctx, path, tickets.Config{Site: site}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	north, south := open("north"), open("south")
	theirs, _, err := south.Create(ctx, "sam", tickets.Manual{Title: "Pump 2 noisy", Priority: "P3"})
	if err != nil {
		t.Fatal(err)
	}
	ours, _, err := north.Create(ctx, "ana", tickets.Manual{Title: "Lamp out", Priority: "P4"})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Tickets: north, Auth: testAuth(t)}, slog.New(slog.DiscardHandler))

	if code := call(t, s, "GET", "/api/v1/tickets/"+strconv.FormatInt(theirs.ID, 10), viewerToken, "", nil); code != http.StatusOK {
		t.Errorf("reading south's ticket from north: %d, want 200", code)
	}
	for _, action := range []string{"ack", "assign", "comment", "cancel"} {
		body := map[string]string{"ack": `{}`, "assign": `{"assignee": "bo"}`, "comment": `{"text": "seen"}`, "cancel": `{"comment": "dup"}`}[action]
		var answer map[string]any
		code := call(t, s, "POST", "/api/v1/tickets/"+strconv.FormatInt(theirs.ID, 10)+"/"+action, operatorToken, body, &answer)
		if code != http.StatusForbidden {
			t.Errorf("%s on south's ticket through north's API: %d %v, want 403", action, code, answer)
		}
	}
	got, _, err := south.Get(ctx, theirs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tickets.StatusOpen || got.Assignee != "" {
		t.Errorf("south's ticket changed through north's API: status %s, assignee %q", got.Status, got.Assignee)
	}
	if code := call(t, s, "POST", "/api/v1/tickets/"+strconv.FormatInt(ours.ID, 10)+"/ack", operatorToken, `{}`, nil); code != http.StatusOK {
		t.Errorf("ack of north's own ticket: %d, want 200", code)
	}
}
