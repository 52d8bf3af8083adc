package tickets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrSchemaBehind is a database whose schema is older than this facilityd's
// (or absent), opened by a store that must not migrate it
// (Config.NoMigrate).
var ErrSchemaBehind = errors.New("not migrated here")

// checkSchema is connect's step for a store of Config.NoMigrate: the schema
// must be the current one, since migrating is a site's daemon's to do (a
// step such as 7 gives the existing rows the migrating process's site).
// It writes nothing, and a SQLite file that does not exist is not created.
func (s *Store) checkSchema(ctx context.Context) error {
	if s.dialect == dialectSQLite {
		if _, err := os.Stat(s.path); err != nil {
			return fmt.Errorf("no ticket database at %s (%w); start a site's daemon (it creates it) first", s.path, ErrSchemaBehind)
		}
	}
	var version int
	err := s.setup.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version)
	var pe *pgconn.PgError
	switch {
	case err == nil:
	case strings.Contains(err.Error(), "no such table"), errors.As(err, &pe) && pe.Code == "42P01": // undefined_table
		version = 0 // a database no daemon has opened yet
	default:
		return err
	}
	switch {
	case version > len(migrations):
		return fmt.Errorf("database schema version %d is newer than this facilityd knows (%d): upgrade facilityd", version, len(migrations))
	case version < len(migrations):
		return fmt.Errorf("ticket database at schema %d, this facilityd's is %d (%w); start a site's daemon (it migrates) first",
			version, len(migrations), ErrSchemaBehind)
	}
	return nil
}
