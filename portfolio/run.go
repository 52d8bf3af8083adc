package portfolio

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

// Run serves the portfolio of cfg until ctx ends. The ticket database is
// opened as the daemons open it (in the background when PostgreSQL cannot
// be reached yet: the view says so meanwhile), but never migrated: one at
// an older schema is refused (tickets.ErrSchemaBehind), since a migration
// such as 7 would give every existing ticket the opener's site, and the
// portfolio has none; a site's daemon migrates it. The portfolio writes no
// ticket and keeps no state.
func Run(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		return err
	}
	defer q.Close()
	st, err := tickets.OpenWaiting(ctx, cfg.Tickets.Database, tickets.Config{NoMigrate: true}, nil, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := NewServer(cfg, Options{Energy: NewEnergy(cfg, q), Tickets: StoreTickets(st)}, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("portfolio: http.listen: %w", err)
	}
	return s.Serve(ctx, ln)
}
