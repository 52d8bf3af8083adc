package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/facilityd/facilityd/tickets"
)

const ticketsMigrateUsage = `facilityd tickets migrate --from sqlite:PATH --to postgres://USER@HOST:PORT/DB [--json]

Copies a site's ticket database into a new one: every ticket with its id and history, SLA
breaches, the outbox (pending notifications stay pending, with the same ids), the applied change
ids of the alert queue, inspection states, records and checklists. The copy is whole or nothing,
and a database that already holds rows of the site is refused. Into a database that other sites
already use, the rows go in after theirs: ids are shifted by the largest there (printed as +N),
and ticket numbers change by that much. Stop the site's daemon first, then point its
tickets.database at the new database. Put the password in PGPASSWORD or ~/.pgpass rather than
on the command line.

Tickets, inspections and notifications keep their site. A database older than facilityd's sites
(schema 6) has none: its rows become --site's, which must be the site: of the daemon whose file it is.
`

// cmdTicketsMigrate is "facilityd tickets migrate": the move of a site's
// SQLite tickets to the PostgreSQL of many sites.
func cmdTicketsMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("facilityd tickets migrate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, ticketsMigrateUsage); fs.PrintDefaults() }
	from := fs.String("from", "", "the database to copy: sqlite:PATH (or a postgres:// URL)")
	to := fs.String("to", "", "the new database: a postgres:// URL (or sqlite:PATH)")
	asJSON := fs.Bool("json", false, "print JSON")
	site := fs.String("site", tickets.DefaultSite, "the site whose rows they are, for a database from before sites (its daemon's site:)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tickets migrate: unexpected argument %q", fs.Arg(0))
	}
	src, err := ticketsDatabase("--from", *from)
	if err != nil {
		return err
	}
	dst, err := ticketsDatabase("--to", *to)
	if err != nil {
		return err
	}
	if src == dst {
		return errors.New("tickets migrate: --from and --to are the same database")
	}
	if !strings.Contains(src, "://") {
		// Open would make a new, empty file: a typo must not copy nothing.
		if _, err := os.Stat(src); err != nil {
			return fmt.Errorf("tickets migrate: --from: %w", err)
		}
	}
	s, err := tickets.Open(ctx, src, tickets.Config{Site: *site}, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := tickets.Open(ctx, dst, tickets.Config{Site: *site}, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	counts, err := tickets.CopyDatabase(ctx, s, d)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, counts)
	}
	for _, c := range counts {
		fmt.Fprintf(stdout, "%-20s %d rows", c.Table, c.Rows)
		if c.IDOffset != 0 {
			fmt.Fprintf(stdout, ", ids +%d", c.IDOffset)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "copied %s to %s\n", s.Name(), d.Name())
	return nil
}

// ticketsDatabase reads a --from or --to: sqlite:PATH, or a postgres://
// (postgresql://) URL, as tickets.Open takes them.
func ticketsDatabase(flagName, v string) (string, error) {
	switch {
	case v == "":
		return "", fmt.Errorf("tickets migrate: %s is required: sqlite:PATH or postgres://USER@HOST/DB", flagName)
	case strings.HasPrefix(v, "sqlite:"):
		if p := strings.TrimPrefix(v, "sqlite:"); p != "" {
			return p, nil
		}
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		return v, nil
	}
	return "", fmt.Errorf("tickets migrate: %s %q: want sqlite:PATH or postgres://USER@HOST/DB", flagName, redactDB(v))
}

// redactDB hides what may be a password in a database argument.
func redactDB(v string) string {
	if i, j := strings.Index(v, "://"), strings.LastIndexByte(v, '@'); i >= 0 && j > i {
		return v[:i+3] + "…" + v[j:]
	}
	return v
}
