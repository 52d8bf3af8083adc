package tickets

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// tableTime is short enough for a terminal and still unambiguous (UTC).
const tableTime = "2006-01-02 15:04Z"

// maxTitle keeps one long title from pushing every row off the screen.
const maxTitle = 48

// WriteTable writes ts as aligned columns for the operator CLI. DUE is
// the deadline the ticket works towards now (see Ticket.Due).
func WriteTable(w io.Writer, ts []Ticket) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPRIO\tCATEGORY\tASSIGNEE\tDEVICE\tTITLE\tOCCUR\tFIRST-SEEN\tDUE")
	for _, t := range ts {
		kind, due := t.Due()
		dueCell := "-"
		if kind != "" {
			dueCell = timeCell(due) + " " + kind
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.Status, t.Priority,
			cell(t.Category, 0), cell(t.Assignee, 0), cell(t.Device, 0), cell(t.Title, maxTitle), t.Occurrences,
			timeCell(t.FirstSeen), dueCell)
	}
	return tw.Flush()
}

// cell makes s safe for one tabwriter cell: no tabs or line breaks, "-" when
// empty, and at most limit runes (0: no limit).
func cell(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if r := []rune(s); limit > 0 && len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(tableTime)
}

// WriteJSON writes ts as an indented JSON array; no tickets is [].
func WriteJSON(w io.Writer, ts []Ticket) error {
	if ts == nil {
		ts = []Ticket{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ts)
}
