package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/rules"
)

const silencesUsage = `facilityd silences: silences and maintenance windows

  facilityd silences list -c FILE [--json] [--all]   (recurring windows of the rule files too)
  facilityd silences add -c FILE --match 'device="pump-1"' [--match ...] --comment TEXT
                         (--for 2h | --until 2026-03-01T18:00:00+08:00)
                         [--from 2026-03-01T08:00:00+08:00] [--maintenance] [--by NAME]
  facilityd silences expire -c FILE ID

Matched alerts are still evaluated and recorded, but open no ticket while
muted. The running daemon picks changes up within a second.
`

// stringList collects a repeatable flag.
type stringList []string

// String implements flag.Value.
func (s *stringList) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func cmdSilences(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stdout, silencesUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	fs, path := flags("silences "+sub, stdout)
	asJSON := fs.Bool("json", false, "list: print JSON")
	all := fs.Bool("all", false, "list: expired and future silences too")
	var matchers stringList
	fs.Var(&matchers, "match", `add: a matcher, label="value" (also !=, =~, !~); repeatable`)
	comment := fs.String("comment", "", "add: why (required)")
	var forDur durationFlag
	fs.Var(&forDur, "for", "add: how long, from the start (90m, 8h, 2d)")
	dur := (*time.Duration)(&forDur)
	until := fs.String("until", "", "add: when it ends (RFC 3339)")
	from := fs.String("from", "", "add: when it starts (RFC 3339; default now)")
	maint := fs.Bool("maintenance", false, "add: a planned maintenance window rather than a silence")
	by := fs.String("actor", defaultActor(), "add: who sets it (default: the OS user)")
	fs.StringVar(by, "by", defaultActor(), "add: the same as --actor")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	store := rules.NewSilenceStore(app.SilencesPath(cfg))
	now := time.Now()
	switch sub {
	case "list":
		list, err := store.List()
		if err != nil {
			return err
		}
		var shown []rules.Silence
		for _, s := range list {
			if *all || s.Active(now) || s.StartsAt.After(now) {
				shown = append(shown, s)
			}
		}
		windows := rules.WindowStatuses(cfg.Windows, now)
		if *asJSON {
			out := []any{}
			for _, s := range shown {
				out = append(out, s)
			}
			for _, w := range windows {
				out = append(out, w)
			}
			return writeJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tSTATE\tSTARTS\tENDS\tBY\tMATCHERS\tCOMMENT")
		for _, s := range shown {
			state := "active"
			switch {
			case s.StartsAt.After(now):
				state = "planned"
			case !s.Active(now):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, state, s.StartsAt.Local().Format(time.DateTime),
				s.EndsAt.Local().Format(time.DateTime), s.CreatedBy, strings.Join(s.Matchers.Strings(), ","), s.Comment)
		}
		// Recurring windows: the occurrence in force, or else the next.
		for _, w := range windows {
			state := "planned"
			if w.Active {
				state = "active"
			}
			comment := fmt.Sprintf("%q %s %s", w.Schedule, w.Duration, w.Timezone)
			if w.Comment != "" {
				comment += ": " + w.Comment
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", w.ID, w.Kind, state, w.StartsAt.Local().Format(time.DateTime),
				w.EndsAt.Local().Format(time.DateTime), "rule file", strings.Join(w.Matchers.Strings(), ","), comment)
		}
		return tw.Flush()
	case "add":
		m, err := rules.ParseMatchers(matchers)
		if err != nil {
			return fmt.Errorf("silences add: %w", err)
		}
		if err := needActor("silences add", *by); err != nil {
			return err
		}
		s := rules.Silence{Kind: rules.KindSilence, Matchers: m, StartsAt: now, CreatedBy: *by, Comment: *comment}
		if *maint {
			s.Kind = rules.KindMaintenance
		}
		if *from != "" {
			if s.StartsAt, err = time.Parse(time.RFC3339, *from); err != nil {
				return fmt.Errorf("silences add: --from: %w", err)
			}
		}
		switch {
		case *dur > 0 && *until == "":
			s.EndsAt = s.StartsAt.Add(*dur)
		case *dur == 0 && *until != "":
			if s.EndsAt, err = time.Parse(time.RFC3339, *until); err != nil {
				return fmt.Errorf("silences add: --until: %w", err)
			}
		default:
			return errors.New("silences add: give --for or --until (one of them)")
		}
		out, err := store.Add(s, now)
		if err != nil {
			return fmt.Errorf("silences add: %w", err)
		}
		fmt.Fprintf(stdout, "%s %s until %s\n", out.ID, out.Kind, out.EndsAt.Local().Format(time.DateTime))
		return nil
	case "expire":
		if fs.NArg() != 1 {
			return errors.New("silences expire: want one silence id")
		}
		if err := store.Expire(fs.Arg(0), now); err != nil {
			return fmt.Errorf("silences expire: %w", err)
		}
		fmt.Fprintf(stdout, "%s expired\n", fs.Arg(0))
		return nil
	}
	return fmt.Errorf("silences: unknown subcommand %q: use list, add or expire", sub)
}

var _ flag.Value = (*stringList)(nil)
