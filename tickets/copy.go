package tickets

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// copyTables are the tables CopyDatabase moves, parents before children.
// schema_migrations is not among them: both ends are at the same version
// once opened. meta is handled apart (the instance).
var copyTables = []string{
	"tickets", "events", "sla_breaches", "outbox", "applied_changes",
	"inspection_state", "inspection_records", "checklist_items",
}

// identityTables are the tables whose ids come from a sequence on
// PostgreSQL, which must go on after the copied ids.
var identityTables = []string{"tickets", "events", "outbox", "inspection_records"}

// TableCount is the number of rows CopyDatabase copied into one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// CopyDatabase copies every ticket with its id, history, SLA breaches,
// outbox (pending notifications stay pending), applied change ids,
// inspection state, records and checklists, and the instance name, from
// one store into another that holds none of them: the move of a site from
// its SQLite file to PostgreSQL. It reads from in one transaction, which
// on SQLite also keeps writers out until it is done, and writes to in one
// transaction, checked by counting before it commits: the copy is whole
// or nothing. Nothing may write to either store meanwhile; stop the
// daemon first.
func CopyDatabase(ctx context.Context, from, to *Store) ([]TableCount, error) {
	src, err := from.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("tickets: copy: read %s: %w", from.name, err)
	}
	defer src.Rollback() // read only: nothing to commit
	var out []TableCount
	err = to.inTx(ctx, func(x *txn) error {
		for _, table := range copyTables {
			var n int64
			if err := x.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%w: %s already has %d rows in %s: copy only into a new database",
					ErrInvalid, to.name, n, table)
			}
		}
		out = out[:0]
		for _, table := range copyTables {
			n, err := copyTable(ctx, src, x.tx, from.dialect, to.dialect, table)
			if err != nil {
				return fmt.Errorf("table %s: %w", table, err)
			}
			out = append(out, TableCount{Table: table, Rows: n})
		}
		// related_id points at other tickets, in any order: set it once
		// all of them are in.
		if err := copyRelated(ctx, src, x.tx, to.dialect); err != nil {
			return err
		}
		var instance string
		if err := src.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance'`).Scan(&instance); err != nil {
			return fmt.Errorf("read instance: %w", err)
		}
		// The notification ids already queued carry the source's instance:
		// the ids made from now on must too, for receivers to keep them apart.
		if _, err := x.tx.ExecContext(ctx, to.dialect.rebind(`UPDATE meta SET value = ? WHERE key = 'instance'`),
			instance); err != nil {
			return err
		}
		if to.dialect == dialectPostgres {
			for _, table := range identityTables {
				if _, err := x.tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'),
					COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM `+table); err != nil {
					return fmt.Errorf("table %s: sequence: %w", table, err)
				}
			}
		}
		for _, c := range out {
			var n int64
			if err := x.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+c.Table).Scan(&n); err != nil {
				return err
			}
			if n != c.Rows {
				return fmt.Errorf("table %s: %d rows after the copy, want %d", c.Table, n, c.Rows)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: copy %s to %s: %w", from.name, to.name, err)
	}
	if err := to.refreshInstance(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// copyTable copies every row of table, in the order of its key, and
// returns their number.
func copyTable(ctx context.Context, src, dst *sql.Tx, from, to dialect, table string) (int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table+` LIMIT 0`)
	if err != nil {
		return 0, err
	}
	cols, err := rows.Columns()
	rows.Close()
	if err != nil {
		return 0, err
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = c
		if table == "tickets" && c == "related_id" {
			sel[i] = "NULL" // see copyRelated
		}
	}
	rows, err = src.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+table+` ORDER BY 1, 2`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	ins, err := dst.PrepareContext(ctx, to.rebind(`INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES (?`+
		strings.Repeat(", ?", len(cols)-1)+`)`))
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok { // every column is text or a number
				vals[i] = string(b)
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("row %v: %w", vals[0], err)
		}
		n++
	}
	return n, rows.Err()
}

func copyRelated(ctx context.Context, src, dst *sql.Tx, to dialect) error {
	rows, err := src.QueryContext(ctx, `SELECT id, related_id FROM tickets WHERE related_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, related int64
		if err := rows.Scan(&id, &related); err != nil {
			return err
		}
		if _, err := dst.ExecContext(ctx, to.rebind(`UPDATE tickets SET related_id = ? WHERE id = ?`), related, id); err != nil {
			return fmt.Errorf("ticket %d: related ticket %d: %w", id, related, err)
		}
	}
	return rows.Err()
}

// refreshInstance reads the instance name again after CopyDatabase
// replaced it.
func (s *Store) refreshInstance(ctx context.Context) error {
	var instance string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance'`).Scan(&instance); err != nil {
		return fmt.Errorf("tickets: %s: read instance: %w", s.name, err)
	}
	s.instance = instance
	return nil
}
