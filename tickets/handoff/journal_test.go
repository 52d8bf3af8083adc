package handoff

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/facilityd/facilityd/tickets"
)

func change(key string) tickets.Change {
	return tickets.Change{Alert: tickets.Alert{Key: key, Title: "t " + key, Priority: "P2", Source: "rule"}}
}

func keys(cs []tickets.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Alert.Key)
	}
	return out
}

func open(t *testing.T, path string) *Journal {
	t.Helper()
	j, skipped, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != 0 {
		t.Fatalf("skipped %d lines", skipped)
	}
	return j
}

func TestJournalSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q")
	j := open(t, path)
	if err := j.Append([]tickets.Change{change("a"), change("b")}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]tickets.Change{change("c"), {Alert: tickets.Alert{Key: "a"}, Resolved: true}}); err != nil {
		t.Fatal(err)
	}
	first := j.Peek(10)
	if got := keys(first); len(got) != 4 || got[0] != "a" || got[3] != "a" || !first[3].Resolved {
		t.Fatalf("peek %v", got)
	}
	if first[0].ID == "" || first[0].ID == first[1].ID {
		t.Fatalf("ids %q %q: want unique ids", first[0].ID, first[1].ID)
	}
	if err := j.Done(2); err != nil {
		t.Fatal(err)
	}
	j.Close() // a crash would not close; the lines were written either way

	j = open(t, path)
	got := j.Peek(10)
	if k := keys(got); len(k) != 2 || k[0] != "c" || !got[1].Resolved {
		t.Fatalf("after reopen: %v, want [c a(resolved)]", k)
	}
	if got[0].ID != first[2].ID {
		t.Fatalf("id changed across reopen: %q, want %q", got[0].ID, first[2].ID)
	}
	select {
	case <-j.Wake():
	default:
		t.Fatal("a reopened journal with pending changes must wake its reader")
	}
	j.Close()
}

func TestJournalTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q")
	j := open(t, path)
	j.Append([]tickets.Change{change("a")})
	j.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"add":{"id":"x","alert":{"key":"torn"`) // a crash mid-write
	f.Close()
	j = open(t, path)
	if k := keys(j.Peek(10)); len(k) != 1 || k[0] != "a" {
		t.Fatalf("after torn tail: %v, want [a]", k)
	}
	// Appends after the cut start on a line of their own.
	j.Append([]tickets.Change{change("b")})
	j.Close()
	j = open(t, path)
	if k := keys(j.Peek(10)); len(k) != 2 || k[1] != "b" {
		t.Fatalf("append after torn tail: %v, want [a b]", k)
	}
	j.Close()
}

func TestJournalCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q")
	j := open(t, path)
	big := change("k")
	big.Alert.Description = string(make([]byte, 4096))
	for range 300 {
		j.Append([]tickets.Change{big})
	}
	if err := j.Done(300); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Size() != 0 {
		t.Fatalf("journal of an empty queue is %d bytes after passing %d: want it truncated", st.Size(), compactAt)
	}
	j.Append([]tickets.Change{change("after")})
	j.Close()
	j = open(t, path)
	if k := keys(j.Peek(10)); len(k) != 1 || k[0] != "after" {
		t.Fatalf("after compaction: %v", k)
	}
	j.Close()
}
