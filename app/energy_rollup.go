package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/energy/usage"
)

// The daemon's side of the consumption rollup (energy/usage/rollup.go): it
// rolls its meters' quarter hours as they settle and writes the rows
// through the store's writer, spooled while InfluxDB is away like any
// reading.
//
// Every cycle rolls each meter from the start of the UTC day of its last
// roll to the last settled quarter hour: the current day's row is written
// again whole (a day of readings, some 0.7 s of influxd's CPU for 200
// meters read every minute, at most every rollupEvery). Once an hour the
// rows of the last rollupRecheck days are set against InfluxDB's day counts
// of the readings, and the days that differ — readings that came late, a
// spool replayed after an outage — are rolled again. A first start rolls
// energy.rollup.backfill of history, a week a call, pausing as long as each
// call took so that ingest keeps its share of the CPU.

const (
	// RollupFile holds, per meter id, the UTC day its rows are whole up to.
	RollupFile = "energy-rollup.json"
	// rollupEvery is how often the rollup cycles; rollupRecheck how many
	// days back the hourly check for late readings looks.
	rollupEvery   = 5 * time.Minute
	rollupRecheck = 7
	// rollupChunk is the history one call rolls.
	rollupChunk = 7 * 24 * time.Hour
)

// rollupStats are the rollup's metrics.
type rollupStats struct {
	through  atomic.Int64 // Unix seconds: the settled end of the last cycle
	rerolled atomic.Int64 // days rolled again because their readings changed
	errors   atomic.Int64
}

// rollupState is RollupFile.
type rollupState struct {
	// Whole is, per meter id, the UTC midnight up to which its rows hold
	// every quarter: the next roll starts there.
	Whole map[string]time.Time `json:"whole"`
}

func loadRollupState(dir string) rollupState {
	st := rollupState{Whole: map[string]time.Time{}}
	data, err := os.ReadFile(filepath.Join(dir, RollupFile))
	if err == nil {
		_ = json.Unmarshal(data, &st)
	}
	if st.Whole == nil {
		st.Whole = map[string]time.Time{}
	}
	return st
}

func (st rollupState) save(dir string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+RollupFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, RollupFile))
}

// settle is how long after its end a quarter hour is rolled: 5 minutes, or
// two polls of the slowest meter.
func rollupSettle(ms []*usage.Meter) time.Duration {
	s := 5 * time.Minute
	for _, m := range ms {
		s = max(s, 2*m.PollInterval)
	}
	return s
}

// runRollup rolls until ctx ends.
func (r *energyRunner) runRollup(ctx context.Context) {
	if r.energy.Rollup.Disabled || r.a.writer == nil {
		return
	}
	dir := r.cfg.StateDir
	st := loadRollupState(dir)
	lastCheck := time.Time{}
	for {
		now := r.a.now()
		check := now.Sub(lastCheck) >= time.Hour
		if err := r.rollOnce(ctx, &st, now, check); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.a.rollup.errors.Add(1)
			r.a.log.Warn("energy: rollup", "err", err)
		} else if check {
			lastCheck = now
		}
		if err := st.save(dir); err != nil {
			r.a.log.Warn("energy: rollup state not saved", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rollupEvery):
		}
	}
}

// rollOnce rolls every meter up to the last settled quarter hour and, with
// check, rolls again the recent days whose readings changed.
func (r *energyRunner) rollOnce(ctx context.Context, st *rollupState, now time.Time, check bool) error {
	meters := r.usage.Meters()
	to := now.Add(-rollupSettle(meters)).Truncate(15 * time.Minute)
	today := to.UTC().Truncate(24 * time.Hour)
	var errs []error
	// First the days rolled in cycles before this one (their rows have
	// reached InfluxDB): those whose readings changed are rolled again.
	if check {
		stale, err := r.usage.Stale(ctx, today.AddDate(0, 0, -rollupRecheck), today)
		if err != nil {
			errs = append(errs, err)
		}
		for id, days := range stale {
			for _, d := range days {
				if !d.Before(st.Whole[id]) {
					continue // not rolled whole yet: the next cycle will
				}
				rows, err := r.usage.Roll(ctx, d, d.Add(24*time.Hour), id)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				r.writeRollup(rows)
				r.a.rollup.rerolled.Add(1)
				r.a.log.Info("energy: rollup day rolled again, its readings changed", "meter", id, "day", d.Format(time.DateOnly))
			}
		}
	}
	// Meters that start at the same day roll together.
	byStart := map[time.Time][]string{}
	for _, m := range meters {
		from, ok := st.Whole[m.ID]
		if !ok {
			from = to.Add(-r.energy.Rollup.Backfill).UTC().Truncate(24 * time.Hour)
		}
		byStart[from] = append(byStart[from], m.ID)
	}
	for from, ids := range byStart {
		for at := from; at.Before(to); {
			end := at.Add(rollupChunk)
			if end.After(to) {
				end = to
			}
			began := time.Now()
			rows, err := r.usage.Roll(ctx, at, end, ids...)
			if err != nil {
				errs = append(errs, err)
				break
			}
			r.writeRollup(rows)
			whole := end.UTC().Truncate(24 * time.Hour)
			for _, id := range ids {
				st.Whole[id] = whole
			}
			at = whole
			if at.Before(today) { // back-filling: leave ingest its share
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Since(began)):
				}
			} else {
				break
			}
		}
	}
	r.a.rollup.through.Store(to.Unix())
	return errors.Join(errs...)
}

// writeRollup hands the rows to the store's writer.
func (r *energyRunner) writeRollup(rows []usage.RollupRow) {
	if len(rows) == 0 {
		return
	}
	samples := make([]drivers.Sample, 0, 4*len(rows))
	for _, row := range rows {
		samples = append(samples,
			drivers.Sample{Time: row.Day, Device: row.Meter, Measurement: usage.RollupMeasurement, Point: usage.RollupDataField, Value: drivers.String(row.Data)},
			drivers.Sample{Time: row.Day, Device: row.Meter, Measurement: usage.RollupMeasurement, Point: usage.RollupHoursField, Value: drivers.String(row.Hours)},
			drivers.Sample{Time: row.Day, Device: row.Meter, Measurement: usage.RollupMeasurement, Point: usage.RollupQuartersField, Value: drivers.Int(int64(row.Quarters))},
			drivers.Sample{Time: row.Day, Device: row.Meter, Measurement: usage.RollupMeasurement, Point: usage.RollupSamplesField, Value: drivers.Int(int64(row.Samples))})
	}
	r.a.writer.Put(context.Background(), samples)
}
