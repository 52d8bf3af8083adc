package tickets

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleTickets() []Ticket {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	return []Ticket{
		{ID: 12, Status: StatusOpen, Priority: "P1", Device: "pump-2", Title: "Pump 2 tripped\tagain",
			Occurrences: 3, FirstSeen: at, RespondBy: at.Add(30 * time.Minute), Key: "k1", Source: SourceRule},
		{ID: 7, Status: StatusInProgress, Priority: "P3", Title: strings.Repeat("long title ", 10),
			Occurrences: 1, FirstSeen: at, RespondBy: at.Add(4 * time.Hour), ResolveBy: at.Add(72 * time.Hour),
			Assignee: "carl", Key: "k2", Source: SourceInspection},
		{ID: 3, Status: StatusClosed, Priority: "P2", Title: "done", Occurrences: 1, FirstSeen: at, Key: "k3", Source: SourceManual},
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleTickets()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want header and 3 rows:\n%s", len(lines), buf.String())
	}
	for _, col := range []string{"ID", "STATUS", "PRIO", "CATEGORY", "ASSIGNEE", "DEVICE", "TITLE", "OCCUR", "FIRST-SEEN", "DUE"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header %q lacks %s", lines[0], col)
		}
	}
	// Aligned: every row's status starts where the header's does.
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned with header:\n%s\n%s", lines[0], l)
		}
	}
	if !strings.HasSuffix(lines[3], "  -") {
		t.Errorf("a closed ticket has a deadline: %q", lines[3])
	}
	for _, want := range []string{"Pump 2 tripped again", "2026-03-02 08:30Z respond", "2026-03-05 08:00Z resolve", "carl", "  -  ", "…"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != "[]" {
		t.Fatalf("no tickets: %q, want []", got)
	}
	buf.Reset()
	if err := WriteJSON(&buf, sampleTickets()); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0]["id"] != float64(12) || got[0]["respond_by"] != "2026-03-02T08:30:00Z" ||
		got[0]["first_seen"] == nil {
		t.Fatalf("decoded %v", got)
	}
	if _, ok := got[0]["follow_up_by"]; ok {
		t.Errorf("unset follow_up_by written: %v", got[0])
	}
}
