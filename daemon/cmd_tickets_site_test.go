package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/facilityd/facilityd/tickets"
)

// TestTicketsListSite: the CLI lists its config's site's tickets, another
// site's with --site, and every site's with --site all.
func TestTicketsListSite(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.MkdirAll(state, 0o750)
	cfg := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf("site: north\nstate_dir: %s\ninfluxdb: {url: \"http://127.0.0.1:1\", bucket: facility/autogen}\n", state)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	south, err := tickets.Open(ctx, filepath.Join(state, "tickets.db"), tickets.Config{Site: "south"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer south.Close()
	for range 2 {
		if _, _, err := south.Create(ctx, "ana", tickets.Manual{Title: "Lift stuck", Priority: "P2"}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(args ...string) map[string]int {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"tickets", "list", "-c", cfg, "--json"}, args...), &out, &errOut); code != 0 {
			t.Fatalf("list %v: exit %d %s", args, code, errOut.String())
		}
		var ts []tickets.Ticket
		if err := json.Unmarshal(out.Bytes(), &ts); err != nil {
			t.Fatalf("list %v: %v\n%s", args, err, out.String())
		}
		by := map[string]int{}
		for _, tk := range ts {
			by[tk.Site]++
		}
		return by
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"tickets", "create", "-c", cfg, "--title", "Tap leaks", "--priority", "P3"}, &out, &errOut); code != 0 {
		t.Fatalf("create: exit %d %s", code, errOut.String())
	}
	for _, tc := range []struct {
		args        []string
		north, sout int
	}{{nil, 1, 0}, {[]string{"--site", "south"}, 0, 2}, {[]string{"--site", "all"}, 1, 2}} {
		if by := list(tc.args...); by["north"] != tc.north || by["south"] != tc.sout || len(by) > 2 {
			t.Errorf("list %v: by site %v, want north %d, south %d", tc.args, by, tc.north, tc.sout)
		}
	}
}
