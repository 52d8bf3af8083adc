package portfolio

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// TestRunRefusesOldSchema: the portfolio, first to open a ticket database
// of an older schema, refuses it with an error that says what to do and
// leaves it as it was (migration 7 would have given its tickets the
// portfolio's empty site); the database is a SQLite file of a site's
// daemon set back to schema 6.
func TestRunRefusesOldSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "tickets.db")
	st, err := tickets.Open(ctx, path, tickets.Config{Site: "tower-a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version > 6`); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("portfolio.yaml", fmt.Appendf(nil, `influxdb: {url: "http://127.0.0.1:1", bucket: facility/autogen}
http: {listen: "127.0.0.1:%d"}
tickets: {database: %q}
sites: [{id: tower-a, floor_area_m2: 1000, meters: [{id: main, device: meter-1, counter: import_energy}]}]
`, testenv.FreePort(t), path), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	err = Run(ctx, cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "ticket database at schema 6") || !strings.Contains(err.Error(), "start a site's daemon (it migrates) first") {
		t.Fatalf("Run: %v, want the schema-6 database refused", err)
	}
	var version int
	if err := db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != 6 {
		t.Errorf("schema after Run: %d %v, want 6 (not migrated)", version, err)
	}
	t.Logf("Run: %v", err)
}
