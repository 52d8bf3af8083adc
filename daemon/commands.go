package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/lean"
)

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	tuned := lean.Daemon()
	app.ReleaseInitMemory()
	fs, path := flags("run", stderr)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	logger, cfg, err := parseAndLoad(fs, args, path, level, stderr)
	if err != nil {
		return err
	}
	logger.Info("starting facilityd", append([]any{"version", version, "config", *path, "devices", len(cfg.Devices), "rules", len(cfg.Rules)}, tuned...)...)
	return app.Run(ctx, cfg, app.Options{Logger: logger, Reload: reloads(ctx)})
}

func cmdCheck(args []string, stdout io.Writer) error {
	fs, path := flags("check", stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if errs := cfg.CheckSecrets(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	points := 0
	for _, d := range cfg.Devices {
		points += len(cfg.Profiles[d.Profile].Points)
	}
	fmt.Fprintf(stdout, "%s: ok: %d devices, %d points, %d profiles, %d rules, %d inspection plans (%d plan × device pairs)\n",
		*path, len(cfg.Devices), points, len(cfg.Profiles), len(cfg.Rules), len(cfg.Inspections), cfg.InspectionPairs())
	return nil
}

// faultFlags collects repeated --fault options.
type faultFlags []sim.Fault

func (f *faultFlags) String() string { return fmt.Sprint(*f) }

func (f *faultFlags) Set(s string) error {
	fault, err := sim.ParseFault(s)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

func cmdSim(ctx context.Context, args []string, stderr io.Writer) error {
	fs, path := flags("sim", stderr)
	var faults faultFlags
	fs.Var(&faults, "fault", "inject a fault, DEVICE:KIND@DELAY (e.g. pump-1:low_pressure@10s); repeatable")
	seed := fs.Int64("seed", 1, "random seed of the models' noise")
	var span spanFlag
	fs.Var(&span, "backfill", "before serving, write this much simulated history (e.g. 30d, 36h) up to now into the config's InfluxDB")
	step := fs.Duration("backfill-step", sim.DefaultBackfillStep, "time between backfilled samples")
	only := fs.Bool("backfill-only", false, "write the --backfill history and exit without serving")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	logger, cfg, err := parseAndLoad(fs, args, path, level, stderr)
	if err != nil {
		return err
	}
	for _, f := range faults {
		if !slices.ContainsFunc(cfg.Devices, func(d *config.Device) bool { return d.ID == f.Device }) {
			return fmt.Errorf("--fault %s: no device %q in %s", f, f.Device, *path)
		}
	}
	if *only && span == 0 {
		return errors.New("sim: --backfill-only needs --backfill DURATION")
	}
	if *step <= 0 {
		return fmt.Errorf("sim: --backfill-step %s: want a positive duration such as 1m", *step)
	}
	var state map[string]map[string]float64
	if span > 0 {
		opts := backfillOptions{span: time.Duration(span), step: *step, seed: *seed, now: time.Now()}
		// A fault's delay counts from the start of what it runs in: with
		// --backfill-only, the history (to tune rules on a fault); before
		// live serving, the live start, so the history stays healthy.
		histFaults := faults
		if !*only {
			histFaults = nil
		}
		if state, err = backfill(ctx, cfg, histFaults, opts, logger); err != nil {
			return err
		}
		if *only {
			return nil
		}
	}
	runs, err := simulators(cfg, faults, *seed, state, logger)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return errors.New("sim: the config has no Modbus TCP or MQTT devices to simulate")
	}
	errc := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errc <- run(ctx) }()
	}
	var errs []error
	for range runs {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// parseAndLoad parses a long-running command's flags, then builds its logger
// and loads its config.
func parseAndLoad(fs *flag.FlagSet, args []string, path, level *string, stderr io.Writer) (*slog.Logger, *config.Config, error) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	logger, err := newLogger(stderr, *level)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return nil, nil, err
	}
	return logger, cfg, nil
}
