package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/facilityd/facilityd/portfolio"
)

const portfolioUsage = `facilityd portfolio -c FILE [--check] [--log-level info]
  One web view and API across the sites that share a ticket database
  (PostgreSQL) and an InfluxDB (readings tagged site): per site the open
  tickets by priority, SLA response and resolution met, inspections
  overdue, and electricity this month and last month in kWh and kWh/m²,
  ranked, against the sites' baselines (the hourly expectations each
  site's daemon writes to InfluxDB, energy_expected) and the same period a
  year before. FILE is the portfolio's own config (timezone, http,
  influxdb, tickets.database, sites with id, name, floor_area_m2 and
  meters). GET /api/v1/portfolio is the JSON; the
  page is at /. --check validates FILE and exits.
`

// cmdPortfolio runs `facilityd portfolio`.
func cmdPortfolio(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("facilityd portfolio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "/etc/facilityd/portfolio.yaml", "the portfolio's config file")
	fs.Usage = func() { fmt.Fprint(stderr, portfolioUsage) }
	check := fs.Bool("check", false, "validate the config and exit")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("portfolio: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := portfolio.Load(*path)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "%s: ok (%d sites)\n", *path, len(cfg.Sites))
		return nil
	}
	logger, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	if err := portfolio.Run(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("portfolio: %w", err)
	}
	return nil
}
