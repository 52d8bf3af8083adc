package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/tickets"
)

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs, path := flags("run", stderr)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	logger.Info("starting facilityd", "version", version, "config", *path, "devices", len(cfg.Devices), "rules", len(cfg.Rules))
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
	points := 0
	for _, d := range cfg.Devices {
		points += len(cfg.Profiles[d.Profile].Points)
	}
	fmt.Fprintf(stdout, "%s: ok: %d devices, %d points, %d profiles, %d rules\n", *path, len(cfg.Devices), points, len(cfg.Profiles), len(cfg.Rules))
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
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	// One simulator per listen address: devices behind the same address are
	// unit ids of one server, as behind a real gateway.
	byAddr := map[string][]sim.Device{}
	var order []string
	for _, d := range cfg.Devices {
		if d.Modbus == nil || d.Modbus.Transport != "tcp" {
			continue
		}
		if _, ok := byAddr[d.Modbus.Address]; !ok {
			order = append(order, d.Modbus.Address)
		}
		byAddr[d.Modbus.Address] = append(byAddr[d.Modbus.Address], sim.Device{ID: d.ID, UnitID: d.Modbus.UnitID, Profile: cfg.Profiles[d.Profile]})
	}
	if len(order) == 0 {
		return errors.New("sim: the config has no Modbus TCP devices to simulate")
	}
	errc := make(chan error, len(order))
	for _, addr := range order {
		var mine []sim.Fault
		for _, f := range faults {
			for _, d := range byAddr[addr] {
				if d.ID == f.Device {
					mine = append(mine, f)
				}
			}
		}
		s, err := sim.New(sim.Config{Addr: addr, Devices: byAddr[addr], Seed: *seed}, mine, logger)
		if err != nil {
			return err
		}
		go func() { errc <- s.Run(ctx) }()
		go func() {
			select {
			case <-s.Ready():
				ids := make([]string, 0, len(byAddr[addr]))
				for _, d := range byAddr[addr] {
					ids = append(ids, fmt.Sprintf("%s(unit %d)", d.ID, d.UnitID))
				}
				logger.Info("simulator listening", "addr", s.Addr(), "devices", strings.Join(ids, " "))
			case <-ctx.Done():
			}
		}()
	}
	for _, f := range faults {
		if !slicesContainsDevice(cfg, f.Device) {
			return fmt.Errorf("--fault %s: no device %q in %s", f, f.Device, *path)
		}
	}
	var errs []error
	for range order {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func slicesContainsDevice(cfg *config.Config, id string) bool {
	for _, d := range cfg.Devices {
		if d.ID == id {
			return true
		}
	}
	return false
}

func cmdTickets(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("tickets: want a subcommand: list or show")
	}
	sub, args := args[0], args[1:]
	fs, path := flags("tickets "+sub, stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "list: only these statuses, comma-separated")
	device := fs.String("device", "", "list: only this device")
	if err := fs.Parse(args); err != nil {
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
	switch sub {
	case "list":
		f := tickets.Filter{Device: *device}
		if *status != "" {
			f.Status = strings.Split(*status, ",")
		}
		ts, err := st.List(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			return tickets.WriteJSON(stdout, ts)
		}
		return tickets.WriteTable(stdout, ts)
	case "show":
		if fs.NArg() != 1 {
			return errors.New("tickets show: want one ticket id")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("tickets show: bad id %q", fs.Arg(0))
		}
		t, events, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, map[string]any{"ticket": t, "events": events})
		}
		if err := tickets.WriteTable(stdout, []tickets.Ticket{t}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s\n\n", t.Description)
		for _, e := range events {
			fmt.Fprintf(stdout, "%s  %-10s %-14s %s\n", e.At.Format("2006-01-02 15:04:05"), e.Actor, e.Kind, e.Detail)
		}
		return nil
	}
	return fmt.Errorf("tickets: unknown subcommand %q: use list or show", sub)
}
