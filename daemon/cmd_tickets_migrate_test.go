package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

func TestTicketsMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tickets.db")
	s, err := tickets.Open(ctx, path, tickets.Config{Site: "north"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pump-1", "fan-2", "pump-1"} {
		if _, _, err := s.Raise(ctx, tickets.Alert{Key: key, Title: key + " tripped", Priority: "P2", Source: tickets.SourceRule}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := s.List(ctx, tickets.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	cli := func(args ...string) (string, int) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"tickets", "migrate"}, args...), &out, &errOut)
		return out.String() + errOut.String(), code
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "postgres://x@127.0.0.1:1/db"}, "--from is required"},
		{[]string{"--from", path, "--to", "postgres://x@127.0.0.1:1/db"}, "want sqlite:PATH"},
		{[]string{"--from", "sqlite:" + path + ".typo", "--to", "postgres://x@127.0.0.1:1/db"}, "no such file"},
		{[]string{"--from", "sqlite:" + path, "--to", "sqlite:" + path}, "the same database"},
		{[]string{"--from", "sqlite:" + path, "--to", "mysql://u:hunter2@h/db"}, "mysql://…@h/db"},
	} {
		out, code := cli(tc.args...)
		if code == 0 || !strings.Contains(out, tc.want) || strings.Contains(out, "hunter2") {
			t.Errorf("%v: exit %d %q, want an error with %q", tc.args, code, out, tc.want)
		}
	}

	url := testenv.StartPostgres(t).NewDatabase(t)
	out, code := cli("--from", "sqlite:"+path, "--to", url, "--json")
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	var counts []tickets.TableCount
	if err := json.Unmarshal([]byte(out), &counts); err != nil || counts[0].Table != "tickets" || counts[0].Rows != 2 {
		t.Fatalf("migrate printed %s (%v), want 2 tickets copied", out, err)
	}
	d, err := tickets.Open(ctx, url, tickets.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.List(ctx, tickets.Filter{Site: tickets.AllSites})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || got[0].ID != want[0].ID || got[0].Occurrences != want[0].Occurrences ||
		got[1].Key != want[1].Key || got[0].Site != "north" || got[1].Site != "north" {
		t.Fatalf("after migrate: %+v, want %+v", got, want)
	}
	// The site's daemon, pointed at the new database, finds its tickets
	// as its own: a repeat of the fault adds an occurrence.
	n, err := tickets.Open(ctx, url, tickets.Config{Site: "north"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if tk, created, err := n.Raise(ctx, tickets.Alert{Key: "fan-2", Title: "fan-2 tripped", Priority: "P2",
		Source: tickets.SourceRule}); err != nil || created || tk.Occurrences != 2 {
		t.Fatalf("north's raise after migrate: created=%v occurrences=%d err %v, want a second occurrence", created, tk.Occurrences, err)
	}
	if out, code := cli("--from", "sqlite:"+path, "--to", url); code == 0 || !strings.Contains(out, "new database") {
		t.Fatalf("second migrate: exit %d %s, want refused", code, out)
	}
	// A second site moves into the database the first one uses: its
	// ticket goes in after north's two.
	southPath := filepath.Join(t.TempDir(), "south.db")
	so, err := tickets.Open(ctx, southPath, tickets.Config{Site: "south"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := so.Raise(ctx, tickets.Alert{Key: "pump-1", Title: "pump-1 tripped", Priority: "P2", Source: tickets.SourceRule}); err != nil {
		t.Fatal(err)
	}
	so.Close()
	if out, code := cli("--from", "sqlite:"+southPath, "--to", url); code != 0 || !strings.Contains(out, "ids +2") {
		t.Fatalf("south's migrate into north's database: exit %d %s, want its ids after north's (+2)", code, out)
	}
	all, err := d.List(ctx, tickets.Filter{Site: tickets.AllSites})
	if err != nil || len(all) != 3 || all[0].Site != "south" || all[0].ID != 3 {
		t.Fatalf("after south's migrate: %+v (%v), want north's 2 and south's as ticket 3", all, err)
	}
}
