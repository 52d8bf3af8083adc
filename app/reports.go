package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/energy/usage"
	"github.com/facilityd/facilityd/report/archive"
	energyreport "github.com/facilityd/facilityd/report/energy"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/web"
)

// ReportsDir is the archive of generated reports, in the state dir.
const ReportsDir = "reports"

// reportRunner makes the scheduled reports of the reports: section,
// archives every report it makes and queues its delivery in the ticket
// outbox; it also serves the archive and on-demand reports to the API.
type reportRunner struct {
	a       *app
	archive *archive.Archive
	gen     sync.Mutex // one report is made at a time: each takes a CPU and a browser
	// pending are the deliveries that could not be queued yet (the ticket
	// store not open yet, say), retried at every wake.
	pendMu  sync.Mutex
	pending []reportDelivery
}

type reportDelivery struct {
	key       string
	receivers []string
	notice    tickets.ReportNotice
}

var _ web.ReportService = (*reportRunner)(nil)

// startReports opens the archive and runs the schedules for the whole run;
// a reload's schedules are read at the next wake (at most a minute).
func (a *app) startReports(ctx context.Context, wg *sync.WaitGroup) error {
	cfg := a.current()
	arch, err := archive.Open(filepath.Join(cfg.StateDir, ReportsDir))
	if err != nil {
		return err
	}
	a.reports = &reportRunner{a: a, archive: arch}
	wg.Go(func() { a.reports.run(ctx) })
	return nil
}

// reportWake bounds a sleep of the scheduler, so that a reload's schedules
// and pending deliveries are seen.
const reportWake = time.Minute

// run makes, at start, each schedule's report of the last full period when
// the archive has none (missed while the daemon was down, or a new
// schedule), and queues again the deliveries of the last one (a no-op when
// they were queued); then it makes each schedule's report when it falls
// due.
func (r *reportRunner) run(ctx context.Context) {
	last := r.a.now()
	for _, s := range r.schedules() {
		if ctx.Err() != nil {
			return
		}
		r.runSchedule(ctx, r.a.current(), s, last)
	}
	for {
		now := r.a.now()
		wake := now.Add(reportWake)
		for _, s := range r.schedules() {
			if next := s.Cron.Next(last); next.Before(wake) {
				wake = next
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wake.Sub(now), 10*time.Millisecond)):
		}
		now = r.a.now()
		r.retryPending(ctx)
		for _, s := range r.schedules() {
			if !s.Cron.Next(last).After(now) {
				r.runSchedule(ctx, r.a.current(), s, now)
			}
		}
		last = now
	}
}

func (r *reportRunner) schedules() []*config.ReportSchedule {
	cfg := r.a.current()
	if cfg.Reports == nil {
		return nil
	}
	return cfg.Reports.Schedules
}

// runSchedule makes s's report of the last full period before now in every
// format, unless the archive has it already, and queues its delivery.
func (r *reportRunner) runSchedule(ctx context.Context, cfg *config.Config, s *config.ReportSchedule, now time.Time) {
	log := r.a.log.With("component", "reports", "report", s.Name)
	p, err := energyreport.Before(strings.TrimPrefix(string(s.Period), "previous_"), now, cfg.Zone)
	if err != nil {
		log.Error("reports: period", "err", err)
		return
	}
	have := map[string]archive.Entry{}
	entries, err := r.archive.List()
	if err != nil {
		log.Error("reports: archive unreadable", "err", err)
		return
	}
	for _, e := range entries {
		if e.Name == s.Name && e.Period == p.Name && e.Lang == s.Lang && e.Building == s.Building && e.Category == s.Category {
			if _, ok := have[e.Format]; !ok {
				have[e.Format] = e // the newest
			}
		}
	}
	var missing []string
	for _, f := range s.Formats {
		if _, ok := have[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		start := time.Now()
		made, err := r.make(ctx, cfg, s.Name, p, s.Lang, s.Building, s.Category, missing, now)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("reports: not made", "period", p.Name, "err", err)
			}
			return
		}
		for _, e := range made {
			have[e.Format] = e
		}
		log.Info("reports: made and archived", "period", p.Name, "formats", missing, "took", time.Since(start).Round(time.Millisecond))
	}
	if len(s.Receivers) == 0 {
		return
	}
	n := tickets.ReportNotice{Name: s.Name, Kind: s.Kind, Period: p.Name, From: p.From, To: p.To, Lang: s.Lang,
		Building: s.Building, Category: s.Category}
	for _, f := range s.Formats {
		e := have[f]
		if e.GeneratedAt.After(n.GeneratedAt) {
			n.GeneratedAt = e.GeneratedAt
		}
		n.Files = append(n.Files, tickets.ReportFile{Format: f, Name: e.File, Path: filepath.Join(r.archive.Dir(), e.File),
			Size: e.Size, URL: r.fileURL(cfg, e.File)})
	}
	d := reportDelivery{key: s.Name + "-" + p.Name, receivers: s.Receivers, notice: n}
	if err := r.deliver(ctx, d); err != nil {
		log.Warn("reports: delivery not queued yet; retrying", "err", err)
		r.pendMu.Lock()
		r.pending = append(r.pending, d)
		r.pendMu.Unlock()
	}
}

func (r *reportRunner) deliver(ctx context.Context, d reportDelivery) error {
	k, err := r.a.tickets.EnqueueReport(ctx, d.key, d.receivers, d.notice)
	if err == nil && k > 0 {
		r.a.log.Info("reports: delivery queued", "component", "reports", "report", d.notice.Name, "period", d.notice.Period, "receivers", k)
	}
	return err
}

func (r *reportRunner) retryPending(ctx context.Context) {
	r.pendMu.Lock()
	pending := r.pending
	r.pending = nil
	r.pendMu.Unlock()
	for _, d := range pending {
		if err := r.deliver(ctx, d); err != nil {
			r.pendMu.Lock()
			r.pending = append(r.pending, d)
			r.pendMu.Unlock()
		}
	}
}

// fileURL is the link to an archived file: reports.base_url, else the
// API's listen address.
func (r *reportRunner) fileURL(cfg *config.Config, file string) string {
	base := ""
	if cfg.Reports != nil {
		base = strings.TrimSuffix(cfg.Reports.BaseURL, "/")
	}
	if base == "" && cfg.HTTP.Listen != "" {
		base = "http://" + cfg.HTTP.Listen
	}
	return base + "/api/v1/reports/files/" + file
}

// make builds the energy report of p once and archives it in each format.
func (r *reportRunner) make(ctx context.Context, cfg *config.Config, name string, p energyreport.Period, lang, building, category string,
	formats []string, now time.Time) ([]archive.Entry, error) {
	rep, data, err := r.build(ctx, cfg, p, lang, building, category, formats, now)
	if err != nil {
		return nil, err
	}
	var out []archive.Entry
	for _, f := range formats {
		e, err := r.archive.Save(archive.Entry{Name: name, Kind: "energy", Period: p.Name, From: p.From, To: p.To, Format: f, Lang: lang,
			Building: building, Category: category, Partial: rep.Partial, GeneratedAt: now}, data[f])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// build makes the energy report of p in formats.
func (r *reportRunner) build(ctx context.Context, cfg *config.Config, p energyreport.Period, lang, building, category string,
	formats []string, now time.Time) (*energyreport.Report, map[string][]byte, error) {
	if cfg.Energy == nil || cfg.Energy.Usage == nil || len(cfg.Energy.Usage.Meters) == 0 {
		return nil, nil, fmt.Errorf("%w: the config has no energy meters", web.ErrBadReport)
	}
	r.gen.Lock()
	defer r.gen.Unlock()
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		return nil, nil, err
	}
	defer q.Close()
	src := NewReportSource(cfg, q, func(ctx context.Context) ([]tickets.Ticket, error) {
		return r.a.tickets.List(ctx, tickets.Filter{Source: tickets.SourceEnergy})
	})
	rep, err := energyreport.Build(ctx, src, energyreport.Options{Period: p, Site: cfg.Site, Building: building,
		Category: usage.Category(category), Zone: cfg.Zone, Tariffs: cfg.ReportTariffs(), Calendar: cfg.EnergyCalendar(), Lang: lang, Now: now})
	if err != nil {
		return nil, nil, err
	}
	data := map[string][]byte{}
	for _, f := range formats {
		if data[f], err = rep.Render(ctx, f); err != nil {
			return nil, nil, err
		}
	}
	return rep, data, nil
}

func (r *reportRunner) info(e archive.Entry) web.ReportInfo {
	return web.ReportInfo{Name: e.Name, Kind: e.Kind, Period: e.Period, From: e.From, To: e.To, Format: e.Format, Lang: e.Lang,
		GeneratedAt: e.GeneratedAt, Size: e.Size, URL: "/api/v1/reports/files/" + e.File, File: e.File,
		ContentType: energyreport.ContentTypes[e.Format]}
}

// Reports implements web.ReportService.
func (r *reportRunner) Reports(context.Context) ([]web.ReportInfo, error) {
	entries, err := r.archive.List()
	if err != nil {
		return nil, err
	}
	out := make([]web.ReportInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, r.info(e))
	}
	return out, nil
}

// ReportFile implements web.ReportService.
func (r *reportRunner) ReportFile(_ context.Context, file string) (web.ReportInfo, *os.File, error) {
	e, ok, err := r.archive.Latest(func(e archive.Entry) bool { return e.File == file })
	if err != nil {
		return web.ReportInfo{}, nil, err
	}
	p, perr := r.archive.Path(file)
	if !ok || perr != nil {
		return web.ReportInfo{}, nil, web.ErrNoReport
	}
	f, err := os.Open(p)
	if err != nil {
		return web.ReportInfo{}, nil, err
	}
	return r.info(e), f, nil
}

// EnergyReport implements web.ReportService: the newest archived report of
// the period, whichever schedule made it, else one made now, archived as
// on-demand when its period is over. A period not over yet is made afresh
// at each request and never archived (see partialInfo).
func (r *reportRunner) EnergyReport(ctx context.Context, q web.EnergyReportQuery) (web.ReportInfo, []byte, error) {
	cfg := r.a.current()
	bad := func(err error) (web.ReportInfo, []byte, error) {
		return web.ReportInfo{}, nil, fmt.Errorf("%w: %v", web.ErrBadReport, err)
	}
	if _, ok := energyreport.ContentTypes[q.Format]; !ok {
		return bad(fmt.Errorf("format %q: write html, pdf, csv or xlsx", q.Format))
	}
	if _, err := energyreport.ParseLang(q.Lang); err != nil {
		return bad(err)
	}
	if q.Category != "" && q.Category != string(usage.Electricity) && q.Category != string(usage.Water) && q.Category != string(usage.Gas) {
		return bad(fmt.Errorf("category %q: write electricity, water or gas", q.Category))
	}
	p, err := energyreport.ParsePeriod(q.Period, cfg.Zone)
	if err != nil {
		return bad(err)
	}
	now := r.a.now()
	e, ok, err := r.archive.Latest(func(e archive.Entry) bool {
		return e.Kind == "energy" && e.Period == p.Name && e.Format == q.Format && e.Lang == q.Lang &&
			e.Building == q.Building && e.Category == q.Category && !e.Partial
	})
	if err != nil {
		return web.ReportInfo{}, nil, err
	}
	if ok {
		path, perr := r.archive.Path(e.File)
		if perr == nil {
			data, err := os.ReadFile(path)
			if err == nil {
				return r.info(e), data, nil
			}
		}
	}
	if now.Before(p.To) {
		rep, data, err := r.build(ctx, cfg, p, q.Lang, q.Building, q.Category, []string{q.Format}, now)
		if err != nil {
			return web.ReportInfo{}, nil, err
		}
		return r.partialInfo(rep, q, now, len(data[q.Format])), data[q.Format], nil
	}
	made, err := r.make(ctx, cfg, "on-demand", p, q.Lang, q.Building, q.Category, []string{q.Format}, now)
	if err != nil {
		return web.ReportInfo{}, nil, err
	}
	path, err := r.archive.Path(made[0].File)
	if err != nil {
		return web.ReportInfo{}, nil, errors.Join(web.ErrNoReport, err)
	}
	data, err := os.ReadFile(path)
	return r.info(made[0]), data, err
}

// partialInfo describes the report of a period not over yet, which is
// served as it is made and never archived: it changes every quarter hour,
// and the archive, which never overwrites, would keep a stale copy per
// request. So it has no URL, and its file name, for the download only, is
// no archive name: it says partial and the local time its data runs to
// (on-demand-energy-2026-12-en-partial-to-20261203T1745.html).
func (r *reportRunner) partialInfo(rep *energyreport.Report, q web.EnergyReportQuery, now time.Time, size int) web.ReportInfo {
	e := archive.Entry{Name: "on-demand", Kind: "energy", Period: rep.Period.Name, From: rep.Period.From, To: rep.Period.To,
		Format: q.Format, Lang: q.Lang, Building: q.Building, Category: q.Category, Partial: true, GeneratedAt: now, Size: int64(size)}
	e.File = archive.BaseName(e) + "-partial-to-" + rep.End.In(rep.Zone).Format("20060102T1504") + "." + q.Format
	info := r.info(e)
	info.URL = ""
	return info
}
