package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/tickets"
)

const ticketsUsage = `facilityd tickets SUBCOMMAND -c FILE [options] [ID]

  list       [--status S,S] [--open] [--device ID] [--category C] [--priority P] [--assignee A] [--limit N]
             [--site S|all]                   (default: the config's site)
  show       ID
  ack|start|hold|resolve|close|cancel  ID [-m COMMENT]
  assign     ID --to NAME [-m COMMENT]        (--to "" unassigns)
  comment    ID -m TEXT
  follow-up  ID --result ok|failed [-m NOTE]
  create     --title T --priority P1..P4 [--description D] [--device ID] [--location L]
             [--category C] [--key K]         (a repair reported at the front desk)
  stats      [--from TIME] [--until TIME]     (MTTA and MTTR per category; default: the last 30 days)
  outbox                                      (notifications per receiver)
  migrate    --from sqlite:PATH --to postgres://...  (move a site's tickets, history and outbox to PostgreSQL)

Every subcommand takes --json; changes are recorded as --actor (default $USER, else the OS user).
`

// ticketMoves are the subcommands that only change the status.
var ticketMoves = map[string]tickets.Status{
	"ack": tickets.StatusAcknowledged, "start": tickets.StatusInProgress, "hold": tickets.StatusOnHold,
	"resolve": tickets.StatusResolved, "close": tickets.StatusClosed, "cancel": tickets.StatusCancelled,
}

// cmdTickets is the operator's CLI over the daemon's ticket database. Its
// changes queue notifications like the API's; the daemon delivers them.
func cmdTickets(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, ticketsUsage)
		if len(args) == 0 {
			return errors.New("tickets: want a subcommand")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs, path := flags("tickets "+sub, stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	actor := fs.String("actor", defaultActor(), "who makes the change, for the ticket's history (default: the OS user)")
	comment := fs.String("m", "", "comment, note or text")
	force := fs.Bool("force", false, "resolve, close or cancel a ticket whose alert still fires (needs -m saying why)")
	var f tickets.Filter
	var status, site string
	var m tickets.Manual
	to, result, from, until := fs.String("to", "", "assign: assignee"), fs.String("result", "", "follow-up: ok or failed"),
		fs.String("from", "", "stats: start, RFC 3339, YYYY-MM-DD or a duration before now such as -7d"), fs.String("until", "", "stats: end, RFC 3339, YYYY-MM-DD, now or a duration before now")
	switch sub {
	case "migrate":
		return cmdTicketsMigrate(ctx, args, stdout)
	case "list":
		fs.StringVar(&status, "status", "", "only these statuses, comma-separated")
		fs.BoolVar(&f.OpenOnly, "open", false, "only open tickets")
		fs.StringVar(&f.Device, "device", "", "only this device")
		fs.StringVar(&f.Category, "category", "", "only this category")
		fs.StringVar(&f.Priority, "priority", "", "only this priority")
		fs.StringVar(&f.Assignee, "assignee", "", "only this assignee")
		fs.IntVar(&f.Limit, "limit", 0, "at most this many, newest first")
		fs.StringVar(&site, "site", "", "only this site's tickets (default: the config's site; all: every site sharing the database)")
	case "create":
		fs.StringVar(&m.Title, "title", "", "what is wrong (required)")
		fs.StringVar(&m.Priority, "priority", "", "P1 (urgent) to P4 (required)")
		fs.StringVar(&m.Description, "description", "", "details")
		fs.StringVar(&m.Device, "device", "", "device id, if any")
		fs.StringVar(&m.Location, "location", "", "where")
		fs.StringVar(&m.Category, "category", "", "team or trade: plumbing, electrical, lifts…")
		fs.StringVar(&m.Key, "key", "", "a reference (call number): creating twice with it opens one ticket")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	st, err := tickets.Open(ctx, app.TicketsPath(cfg), cfg.Tickets, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	// Resolving or closing an inspection ticket completes the inspection.
	if _, err := inspectionEngine(cfg, st); err != nil {
		return err
	}
	printOne := func(t tickets.Ticket, err error) error {
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, t)
		}
		return tickets.WriteTable(stdout, []tickets.Ticket{t})
	}
	switch sub {
	case "list":
		if status != "" {
			f.Status = strings.Split(status, ",")
		}
		f.Site = site // "": the config's
		if site == "all" {
			f.Site = tickets.AllSites
		}
		ts, err := st.List(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			return tickets.WriteJSON(stdout, ts)
		}
		return tickets.WriteTable(stdout, ts)
	case "stats":
		return ticketStats(ctx, st, stdout, *from, *until, *asJSON)
	case "outbox":
		states, err := st.Outbox(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, states)
		}
		for _, o := range states {
			fmt.Fprintf(stdout, "%-16s pending %d, delivered %d, dropped %d", o.Receiver, o.Pending, o.Delivered, o.Dropped)
			if !o.Oldest.IsZero() {
				fmt.Fprintf(stdout, ", oldest queued %s", o.Oldest.Format(time.RFC3339))
			}
			if o.LastError != "" {
				fmt.Fprintf(stdout, "; last error: %s", o.LastError)
			}
			fmt.Fprintln(stdout)
		}
		return nil
	case "create":
		if err := needActor("tickets create", *actor); err != nil {
			return err
		}
		t, created, err := st.Create(ctx, *actor, m)
		if err == nil && !created && !*asJSON {
			fmt.Fprintf(stdout, "ticket %d is already open for key %q: recorded as a repeat\n", t.ID, m.Key)
		}
		return printOne(t, err)
	}
	if len(pos) != 1 {
		return fmt.Errorf("tickets %s: want one ticket id\n\n%s", sub, ticketsUsage)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return fmt.Errorf("tickets %s: bad ticket id %q", sub, pos[0])
	}
	if sub != "show" {
		if err := needActor("tickets "+sub, *actor); err != nil {
			return err
		}
	}
	if to, ok := ticketMoves[sub]; ok {
		return printOne(st.Move(ctx, id, tickets.Move{To: to, Actor: *actor, Comment: *comment, Force: *force}))
	}
	switch sub {
	case "show":
		return showTicket(ctx, st, stdout, id, *asJSON)
	case "assign":
		if !flagSet(fs, "to") {
			return errors.New(`tickets assign: want --to NAME (--to "" unassigns)`)
		}
		return printOne(st.Assign(ctx, id, *to, *actor, *comment))
	case "comment":
		return printOne(st.Comment(ctx, id, *actor, *comment))
	case "follow-up":
		return printOne(st.FollowUp(ctx, id, *actor, *result, *comment))
	}
	return fmt.Errorf("tickets: unknown subcommand %q\n\n%s", sub, ticketsUsage)
}

// parseInterspersed parses flags before and after positional arguments, so
// that "ack 12 -m 'on my way'" works; it returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func showTicket(ctx context.Context, st *tickets.Store, stdout io.Writer, id int64, asJSON bool) error {
	t, events, err := st.Get(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, map[string]any{"ticket": t, "events": events})
	}
	if err := tickets.WriteTable(stdout, []tickets.Ticket{t}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\n", t.Title)
	for _, l := range []struct {
		name string
		v    string
	}{
		{"key", t.Key}, {"source", t.Source}, {"category", t.Category}, {"location", t.Location},
		{"assignee", t.Assignee}, {"respond by", stampOf(t.RespondBy)}, {"resolve by", stampOf(t.ResolveBy)},
		{"follow-up by", stampOf(t.FollowUpBy)}, {"follow-up", t.FollowUpResult},
	} {
		if l.v != "" {
			fmt.Fprintf(stdout, "  %-13s %s\n", l.name+":", l.v)
		}
	}
	if t.Description != "" {
		fmt.Fprintf(stdout, "\n%s\n", t.Description)
	}
	fmt.Fprintln(stdout)
	for _, e := range events {
		fmt.Fprintf(stdout, "%s  %-10s %-14s %s\n", e.At.Format("2006-01-02 15:04:05"), e.Actor, e.Kind, e.Detail)
	}
	return nil
}

func stampOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func ticketStats(ctx context.Context, st *tickets.Store, stdout io.Writer, from, until string, asJSON bool) error {
	end, start := time.Now(), time.Time{}
	for _, p := range []struct {
		name, v string
		dst     *time.Time
	}{{"--from", from, &start}, {"--until", until, &end}} {
		if p.v == "" {
			continue
		}
		t, err := parseWhen(p.v, end)
		if err != nil {
			return fmt.Errorf("tickets stats: %s %w", p.name, err)
		}
		*p.dst = t
	}
	if start.IsZero() {
		start = end.AddDate(0, 0, -30)
	}
	cs, err := st.Stats(ctx, start, end)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, map[string]any{"from": start.UTC(), "to": end.UTC(), "categories": cs})
	}
	fmt.Fprintf(stdout, "tickets opened %s to %s\n", start.Format(time.RFC3339), end.Format(time.RFC3339))
	fmt.Fprintf(stdout, "%-16s %7s %9s %10s %8s %10s %9s\n", "CATEGORY", "TICKETS", "RESPONDED", "MTTA", "RESOLVED", "MTTR", "BREACHES")
	for _, c := range cs {
		name := c.Category
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(stdout, "%-16s %7d %9d %10s %8d %10s %9d\n", name, c.Tickets, c.Responded, c.MTTA.Round(time.Second),
			c.Resolved, c.MTTR.Round(time.Second), c.Breaches[tickets.BreachRespond]+c.Breaches[tickets.BreachResolve]+c.Breaches[tickets.BreachFollowUp])
	}
	return nil
}
