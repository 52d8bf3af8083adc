package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestSitesShareOnePostgres runs three daemons on one PostgreSQL: two of
// site north and one of site south, each polling its own building whose
// device ids and rules are the same, with the same fault. North's two
// daemons share one ticket; south has its own; each console lists its own
// site's ticket only.
func TestSitesShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	url := testenv.StartPostgres(t).NewDatabase(t)
	influx := testenv.StartInfluxd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var addrs []string
	for _, site := range []string{"north", "north", "south"} {
		cfg, httpAddr := building(t, influx)
		text, err := os.ReadFile(cfg.Path)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(text), "site: test-site\n", "site: "+site+"\n", 1) +
			fmt.Sprintf("tickets: {database: %q}\n", url)
		if err := os.WriteFile(cfg.Path, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		if cfg, err = config.Load(cfg.Path); err != nil {
			t.Fatal(err)
		}
		if cfg.Site != site {
			t.Fatalf("config site %q, want %q", cfg.Site, site)
		}
		startSim(t, ctx, cfg, logger, "pump-1:low_pressure@1s", sim.Config{Seed: 3})
		stop := startDaemon(t, ctx, cfg, logger, httpAddr)
		defer stop()
		addrs = append(addrs, httpAddr)
	}
	var keys []string
	for i, addr := range addrs {
		tk := waitTicket(t, ctx, addr) // fails on more than one
		if want := []string{"north", "north", "south"}[i]; tk.Site != want || tk.Device != "pump-1" {
			t.Errorf("daemon %d lists ticket %d of site %q on %q, want its own site %s's on pump-1", i, tk.ID, tk.Site, tk.Device, want)
		}
		keys = append(keys, tk.Key)
	}
	if keys[0] != keys[2] {
		t.Fatalf("the sites' keys differ (%q, %q): the test wants the same rule on the same device id", keys[0], keys[2])
	}
	st, err := tickets.Open(ctx, url, tickets.Config{Site: "north"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	time.Sleep(time.Second) // a duplicate would have had time to land
	ts, err := st.List(ctx, tickets.Filter{Site: tickets.AllSites})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int{}
	for _, tk := range ts {
		by[tk.Site]++
	}
	if len(ts) != 2 || by["north"] != 1 || by["south"] != 1 {
		t.Fatalf("tickets in PostgreSQL: %d, by site %v; want one for north and one for south", len(ts), by)
	}
}
