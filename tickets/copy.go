package tickets

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// idColumns are, by table, the columns holding ids of an identity table
// (by the table it names), which a copy into a database that other sites
// use shifts by that table's offset.
var idColumns = map[string]map[string]string{
	"tickets":            {"id": "tickets", "related_id": "tickets"},
	"events":             {"id": "events", "ticket_id": "tickets"},
	"sla_breaches":       {"ticket_id": "tickets"},
	"outbox":             {"id": "outbox", "event_id": "events"},
	"inspection_state":   {"ticket_id": "tickets"},
	"inspection_records": {"id": "inspection_records", "ticket_id": "tickets"},
	"checklist_items":    {"ticket_id": "tickets", "corrective": "tickets"},
}

// siteTables are the tables whose rows carry a site.
var siteTables = []string{"tickets", "inspection_state", "inspection_records", "outbox"}

// TableCount is the number of rows CopyDatabase copied into one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	// IDOffset is what the copy added to the ids of an identity table's
	// rows, copied into a database other sites already use (0: ids kept).
	IDOffset int64 `json:"id_offset,omitempty"`
}

// CopyDatabase copies every ticket with its id, history, SLA breaches,
// outbox (pending notifications stay pending), applied change ids,
// inspection state, records and checklists, and the instance name, from
// one store into another that holds none of them: the move of a site from
// its SQLite file to PostgreSQL.
//
// Into a database that other sites already use (none of the source's own
// sites), the rows go in after theirs: each identity table's ids are
// shifted by the largest id there (TableCount.IDOffset), and so is every
// reference to them, and the database keeps its instance name. Ticket
// numbers then change by the offset; notifications already queued keep
// their ids and payloads as queued. It reads from in one transaction, which
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
		offsets, err := copyOffsets(ctx, src, x.tx, to)
		if err != nil {
			return err
		}
		before := map[string]int64{}
		for _, table := range copyTables {
			var n int64
			if err := x.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				return err
			}
			before[table] = n
		}
		out = out[:0]
		for _, table := range copyTables {
			n, err := copyTable(ctx, src, x.tx, from.dialect, to.dialect, table, offsets)
			if err != nil {
				return fmt.Errorf("table %s: %w", table, err)
			}
			out = append(out, TableCount{Table: table, Rows: n, IDOffset: offsets[table]})
		}
		// related_id points at other tickets, in any order: set it once
		// all of them are in.
		if err := copyRelated(ctx, src, x.tx, to.dialect, offsets["tickets"]); err != nil {
			return err
		}
		if offsets == nil {
			var instance string
			if err := src.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance'`).Scan(&instance); err != nil {
				return fmt.Errorf("read instance: %w", err)
			}
			// The notification ids already queued carry the source's
			// instance: the ids made from now on must too, for receivers
			// to keep them apart. A database of other sites keeps its own.
			if _, err := x.tx.ExecContext(ctx, to.dialect.rebind(`UPDATE meta SET value = ? WHERE key = 'instance'`),
				instance); err != nil {
				return err
			}
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
			if n != before[c.Table]+c.Rows {
				return fmt.Errorf("table %s: %d rows after the copy, want %d", c.Table, n, before[c.Table]+c.Rows)
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

// copyOffsets checks that the target holds none of the source's sites and
// returns the offset of each identity table's ids: nil for a target that
// holds no rows at all (the ids are kept), else the largest id of each.
func copyOffsets(ctx context.Context, src, dst *sql.Tx, to *Store) (map[string]int64, error) {
	empty := true
	for _, table := range copyTables {
		var n int64
		if err := dst.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return nil, err
		}
		empty = empty && n == 0
	}
	if empty {
		return nil, nil
	}
	var sites []string
	for _, table := range siteTables {
		rows, err := src.QueryContext(ctx, `SELECT DISTINCT site FROM `+table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var site string
			if err := rows.Scan(&site); err != nil {
				rows.Close()
				return nil, err
			}
			if !slices.Contains(sites, site) {
				sites = append(sites, site)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, site := range sites {
		for _, table := range siteTables {
			var n int64
			if err := dst.QueryRowContext(ctx, to.dialect.rebind(`SELECT COUNT(*) FROM `+table+` WHERE site = ?`), site).Scan(&n); err != nil {
				return nil, err
			}
			if n > 0 {
				return nil, fmt.Errorf("%w: %s already has %d rows of site %q in %s: copy a site only once, into a new database "+
					"or one that other sites use", ErrInvalid, to.name, n, site, table)
			}
		}
	}
	offsets := map[string]int64{}
	for _, table := range identityTables {
		var top int64
		if err := dst.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+table).Scan(&top); err != nil {
			return nil, err
		}
		offsets[table] = top
	}
	return offsets, nil
}

// copyTable copies every row of table, in the order of its key, with the
// ids of idColumns shifted by the offsets of the tables they name, and
// returns their number.
func copyTable(ctx context.Context, src, dst *sql.Tx, from, to dialect, table string, offsets map[string]int64) (int64, error) {
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
	shift := make([]int64, len(cols))
	for i, c := range cols {
		sel[i] = c
		shift[i] = offsets[idColumns[table][c]]
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
			if id, ok := v.(int64); ok && shift[i] != 0 {
				vals[i] = id + shift[i]
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("row %v: %w", vals[0], err)
		}
		n++
	}
	return n, rows.Err()
}

func copyRelated(ctx context.Context, src, dst *sql.Tx, to dialect, offset int64) error {
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
		if _, err := dst.ExecContext(ctx, to.rebind(`UPDATE tickets SET related_id = ? WHERE id = ?`),
			related+offset, id+offset); err != nil {
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
