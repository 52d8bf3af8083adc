package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	energyusage "github.com/facilityd/facilityd/energy/usage"
	energyreport "github.com/facilityd/facilityd/report/energy"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

const reportUsage = `facilityd report energy -c FILE (--period P | --from DATE --to DATE)
        [--site all|SITE] [--building B] [--category electricity|water|gas]
        [--format html|pdf|csv|xlsx] [--lang en|zh-CN] [--tariffs FILE] -o OUT
  The energy report of a period, from the consumption in InfluxDB, the baselines
  and the energy tickets: per meter, category and sub-item, cost at the tariff,
  change against the previous period and last year, baseline and CUSUM, peak
  demand, base load, load profile, EnPIs, carbon, anomalies, data quality.
  P is a month (2026-11), an ISO week (2026-W47), a quarter (2026-Q4) or a year
  (2026), in the config's timezone; --to is exclusive. A period not over yet is
  reported up to now and marked partial. Prices come from the config's tariffs:
  section, or --tariffs FILE (a file holding one). --format defaults to OUT's
  extension; pdf prints the HTML in headless Chromium (/usr/bin/chromium or
  $FACILITYD_CHROMIUM). -o - writes to standard output.
  --site all reports every site of the InfluxDB bucket (tag site) that has the
  config's meters' series, with the meters named SITE/ID and a section of
  totals per site; --site SITE one other site built like this one. Across
  sites nothing is weather-normalized (the config's weather point is its own
  site's), and the energy tickets are those of the ticket database, each
  with its site.
`

// cmdReport runs `facilityd report energy`.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, reportUsage)
		return errors.New("report: want a report kind: energy")
	}
	switch kind, rest := args[0], args[1:]; kind {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, reportUsage)
		return nil
	case "energy":
		return cmdReportEnergy(ctx, rest, stdout, stderr)
	default:
		return fmt.Errorf("report: unknown report %q: use energy", kind)
	}
}

func cmdReportEnergy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("report energy", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reportUsage) }
	period := fs.String("period", "", "2026-11, 2026-W47, 2026-Q4 or 2026")
	from, to := fs.String("from", "", "start date (YYYY-MM-DD)"), fs.String("to", "", "end date, exclusive (YYYY-MM-DD)")
	building := fs.String("building", "", "only this building")
	site := fs.String("site", "", "all (every site in the bucket) or a site built like the config's (default: the config's)")
	category := fs.String("category", "", "only electricity, water or gas")
	format := fs.String("format", "", "html, pdf, csv or xlsx (default: from -o's extension)")
	lang := fs.String("lang", "en", "en or zh-CN")
	tariffFile := fs.String("tariffs", "", "a tariff file (default: the config's tariffs: section)")
	out := fs.String("o", "", "output file, or - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report energy: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("report energy: want -o OUT (a file, or - for standard output)")
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(filepath.Ext(*out), ".")
	}
	switch f {
	case "html", "pdf", "csv", "xlsx":
	case "":
		return errors.New("report energy: want --format html, pdf, csv or xlsx")
	default:
		return fmt.Errorf("report energy: --format %q: write html, pdf, csv or xlsx", f)
	}
	if _, err := energyreport.ParseLang(*lang); err != nil {
		return fmt.Errorf("report energy: --lang: %w", err)
	}
	var cat energyusage.Category
	if *category != "" {
		cat = energyusage.Category(*category)
		if cat != energyusage.Electricity && cat != energyusage.Water && cat != energyusage.Gas {
			return fmt.Errorf("report energy: --category %q: write electricity, water or gas", *category)
		}
	}
	var chromium string
	if f == "pdf" { // say so before any query
		var err error
		if chromium, err = energyreport.FindChromium(); err != nil {
			return err
		}
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if cfg.Energy == nil || cfg.Energy.Usage == nil || len(cfg.Energy.Usage.Meters) == 0 {
		return fmt.Errorf("report energy: %s has no meters: write an energy: section with meters", *path)
	}
	p, err := reportPeriod(*period, *from, *to, cfg.Zone)
	if err != nil {
		return fmt.Errorf("report energy: %w", err)
	}
	tariffs := cfg.ReportTariffs()
	if *tariffFile != "" {
		data, err := os.ReadFile(*tariffFile)
		if err != nil {
			return err
		}
		if tariffs, err = energyreport.Decode(*tariffFile, data); err != nil {
			return err
		}
	}
	if tariffs == nil {
		fmt.Fprintln(stderr, "report energy: no tariffs (the config has no tariffs: section, no reports.tariffs_file and no --tariffs FILE): costs are not priced")
	}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		return err
	}
	defer q.Close()
	var src energyreport.Source = app.NewReportSource(cfg, q, reportTickets(cfg))
	reportSite := cfg.Site
	if *site != "" && *site != cfg.Site {
		meters, sites, warnings, err := siteMeters(ctx, q, cfg.Energy.Usage, *site)
		if err != nil {
			return fmt.Errorf("report energy: --site %s: %w", *site, err)
		}
		for _, w := range warnings {
			fmt.Fprintln(stderr, "report energy:", w)
		}
		if len(meters.Meters) == 0 {
			return fmt.Errorf("report energy: --site %s: no site in %s has a series of the config's meters", *site, cfg.InfluxDB.Bucket)
		}
		fmt.Fprintf(stderr, "report energy: sites %s; not weather-normalized across sites\n", strings.Join(sites, ", "))
		src, reportSite = newSitesSource(cfg, q, meters, reportTickets(cfg)), *site
	}
	r, err := energyreport.Build(ctx, src, energyreport.Options{Period: p, Site: reportSite, Building: *building, Category: cat,
		Zone: cfg.Zone, Tariffs: tariffs, Calendar: cfg.EnergyCalendar(), Lang: *lang, Now: time.Now()})
	if err != nil {
		return fmt.Errorf("report energy: %w", err)
	}
	var buf bytes.Buffer
	switch f {
	case "html":
		err = r.WriteHTML(&buf)
	case "csv":
		err = r.WriteCSV(&buf)
	case "xlsx":
		err = r.WriteXLSX(&buf)
	case "pdf":
		b, cancel, cerr := energyreport.NewChromium(ctx, chromium)
		if cerr != nil {
			return cerr
		}
		err = r.WritePDF(b, &buf)
		cancel()
	}
	if err != nil {
		return fmt.Errorf("report energy: %s: %w", f, err)
	}
	if *out == "-" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "report energy: %s %s written to %s (%d bytes)\n", p.Name, f, *out, buf.Len())
	return nil
}

// reportPeriod reads --period, or --from and --to, in loc.
func reportPeriod(period, from, to string, loc *time.Location) (energyreport.Period, error) {
	switch {
	case period != "" && (from != "" || to != ""):
		return energyreport.Period{}, errors.New("give --period or --from and --to, not both")
	case period != "":
		return energyreport.ParsePeriod(period, loc)
	case from == "" || to == "":
		return energyreport.Period{}, errors.New("want --period (2026-11, 2026-W47, 2026-Q4, 2026) or --from DATE --to DATE")
	}
	f, err := parseDay("from", from, loc)
	if err != nil {
		return energyreport.Period{}, err
	}
	t, err := parseDay("to", to, loc)
	if err != nil {
		return energyreport.Period{}, err
	}
	return energyreport.NewRange(f, t)
}

// reportTickets lists the store's energy tickets for the report; none when
// there is no store yet.
func reportTickets(cfg *config.Config) func(ctx context.Context) ([]tickets.Ticket, error) {
	return func(ctx context.Context) ([]tickets.Ticket, error) {
		path := app.TicketsPath(cfg)
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
		st, err := tickets.Open(ctx, path, cfg.Tickets, nil)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return st.List(ctx, tickets.Filter{Source: tickets.SourceEnergy})
	}
}
