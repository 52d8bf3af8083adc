package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/tickets"
)

func TestTicketsCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf("site: t\nstate_dir: %s\ninfluxdb: {url: \"http://127.0.0.1:1\", bucket: facility/autogen}\n",
		filepath.Join(dir, "state"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "state"), 0o750)
	t.Setenv("USER", "ana")
	cli := func(args ...string) (string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{"tickets", args[0], "-c", cfg}, args[1:]...)
		code := run(args, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	ok := func(args ...string) string {
		t.Helper()
		out, code := cli(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
		return out
	}
	var tk tickets.Ticket
	out := ok("create", "--title", "Leaking tap, flat 12B", "--priority", "P3", "--category", "plumbing",
		"--key", "call-7", "--actor", "front-desk", "--json")
	if err := json.Unmarshal([]byte(out), &tk); err != nil || tk.ID == 0 || tk.Source != "manual" {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if out := ok("create", "--title", "Leaking tap, flat 12B", "--priority", "P3", "--key", "call-7"); !strings.Contains(out, "already open") {
		t.Errorf("create again with the key: %s", out)
	}
	id := fmt.Sprint(tk.ID)
	if out, code := cli("ack", id, "--actor", " "); code != 1 || !strings.Contains(out, "--actor") {
		t.Errorf("ack with no actor: exit %d %s", code, out)
	}
	ok("ack", id, "-m", "on my way") // flags after the id
	ok("assign", "--to", "carl", id)
	ok("comment", id, "-m", "washer replaced")
	ok("resolve", id, "--actor", "carl")
	if out, code := cli("close", id); code != 1 || !strings.Contains(out, "follow-up") {
		t.Errorf("close before the follow-up: exit %d %s", code, out)
	}
	ok("follow-up", id, "--result", "ok", "-m", "tenant confirms")
	if out := ok("close", id); !strings.Contains(out, "closed") {
		t.Errorf("close: %s", out)
	}
	var shown struct {
		Ticket tickets.Ticket
		Events []tickets.Event
	}
	if err := json.Unmarshal([]byte(ok("show", id, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, e := range shown.Events {
		who = append(who, string(e.Kind)+":"+e.Actor)
	}
	want := "created:front-desk occurrence:ana transition:ana assigned:ana comment:ana transition:carl follow_up:ana transition:ana"
	if strings.Join(who, " ") != want {
		t.Errorf("history %v\nwant    %s", who, want)
	}
	if out := ok("show", id); !strings.Contains(out, "washer replaced") || !strings.Contains(out, "assignee:") {
		t.Errorf("show:\n%s", out)
	}
	if out := ok("list", "--status", "closed", "--category", "plumbing"); !strings.Contains(out, "Leaking tap") {
		t.Errorf("list:\n%s", out)
	}
	if out := ok("list", "--open"); strings.Contains(out, "Leaking tap") {
		t.Errorf("list --open shows the closed ticket:\n%s", out)
	}
	if out := ok("stats"); !strings.Contains(out, "plumbing") || !strings.Contains(out, "MTTR") {
		t.Errorf("stats:\n%s", out)
	}
	ok("outbox")
	for _, bad := range [][]string{{"ack"}, {"ack", "x"}, {"assign", id}, {"frobnicate", id}, {"follow-up", id, "--result", "meh"}} {
		if out, code := cli(bad...); code == 0 {
			t.Errorf("%v: exit 0\n%s", bad, out)
		}
	}
	t.Setenv("USER", "") // the OS account name is recorded instead
	if u, err := user.Current(); err == nil && u.Username != "" {
		ok("comment", id, "-m", "who am I")
		if out := ok("show", id, "--json"); !strings.Contains(out, `"actor": "`+u.Username+`"`) {
			t.Errorf("comment without $USER not recorded as %q:\n%s", u.Username, out)
		}
	}
}

// TestTicketsUsageListsEverySubcommand: the usage text names every
// subcommand the command dispatches, migrate included.
func TestTicketsUsageListsEverySubcommand(t *testing.T) {
	for _, sub := range []string{"list", "show", "assign", "comment", "follow-up", "create", "stats", "outbox", "migrate"} {
		if !strings.Contains(ticketsUsage, "\n  "+sub+" ") {
			t.Errorf("tickets usage does not list %q", sub)
		}
	}
}
