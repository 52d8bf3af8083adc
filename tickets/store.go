package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/internal/redact"
)

// systemActor is the actor of the events facilityd records by itself.
const systemActor = "facilityd"

// Store is the ticket database. It is safe for concurrent use, and several
// processes (the daemon and the operator CLI) may open the same file.
type Store struct {
	path    string  // the SQLite file or the PostgreSQL URL, as given
	site    string  // Config.Site, or "default": fixed for the store's life
	name    string  // path for messages: without a password
	dialect dialect // of db
	db      *sql.DB
	now     func() time.Time

	cfgMu sync.RWMutex
	cfg   Config // with defaults; replaced whole by Reconfigure, never changed in place

	instance string // makes notification ids unique beyond this file

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	wakeMu sync.Mutex
	wake   chan struct{} // closed and replaced when the outbox gains rows

	advMu   sync.RWMutex
	advance InspectionAdvancer // nil until the inspection plans are loaded

	// setup is the pool that migrates and reads the instance: db itself
	// on SQLite, a pool of its own on PostgreSQL, whose db refuses
	// connections until ready is closed (see OpenWaiting).
	setup   *sql.DB
	ready   chan struct{}
	opened  chan struct{} // closed when the opener of OpenWaiting returned
	stopMu  sync.Mutex
	stop    context.CancelFunc // of the opener; nil without one
	stateMu sync.Mutex
	state   OpenState
}

// Open opens or creates the ticket database and brings its schema up to
// date. database is a SQLite file, or a postgres:// (postgresql://) URL
// for a PostgreSQL database that the daemons of many sites share. now is
// the clock for created/updated times and SLA deadlines; nil means
// time.Now. A PostgreSQL server that cannot be reached is an error; the
// daemon opens with OpenWaiting instead.
func Open(ctx context.Context, database string, cfg Config, now func() time.Time) (*Store, error) {
	s, err := newStore(database, cfg, now)
	if err != nil {
		return nil, err
	}
	err = s.connect(ctx)
	if s.setup != s.db {
		s.setup.Close()
	}
	if err != nil {
		s.db.Close()
		return nil, err
	}
	close(s.ready)
	return s, nil
}

// newStore builds the store of database and its connection pool, without
// connecting: until ready is closed, a PostgreSQL pool refuses connections.
func newStore(database string, cfg Config, now func() time.Time) (*Store, error) {
	if database == "" {
		return nil, fmt.Errorf("tickets: open: %w: empty database path", ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if siteOf(cfg) == AllSites {
		return nil, fmt.Errorf("tickets: open: %w: site %q is reserved for every site: name the site", ErrInvalid, AllSites)
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{path: database, name: database, site: siteOf(cfg), cfg: cfg.withDefaults(), now: now, stmts: map[string]*sql.Stmt{},
		wake: make(chan struct{}), ready: make(chan struct{}), opened: make(chan struct{})}
	close(s.opened) // no opener running; OpenWaiting replaces it
	var err error
	if isPostgresURL(database) {
		s.dialect, s.name = dialectPostgres, redact.URL(database)
		s.db, s.setup, err = openPostgres(database, s.ready)
	} else {
		s.db, err = openSQLite(database)
		s.setup = s.db
	}
	if err != nil {
		return nil, fmt.Errorf("tickets: open %s: %w", s.name, redactErr(err, database))
	}
	return s, nil
}

// connect brings the schema up to date and reads the instance name,
// through the setup pool (the store's own refuses until ready).
func (s *Store) connect(ctx context.Context) error {
	if s.cfg.NoMigrate {
		if err := s.checkSchema(ctx); err != nil {
			return fmt.Errorf("tickets: open %s: %w", s.name, redactErr(err, s.path))
		}
	} else if err := migrateWaiting(ctx, s.setup, s.dialect, stamp(s.now()), s.site); err != nil {
		return fmt.Errorf("tickets: open %s: %w", s.name, redactErr(err, s.path))
	}
	if err := s.setup.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance'`).Scan(&s.instance); err != nil {
		return fmt.Errorf("tickets: open %s: read instance: %w", s.name, redactErr(err, s.path))
	}
	return nil
}

// redactErr keeps the password of a database URL out of err, should a
// driver quote the URL back.
func redactErr(err error, database string) error {
	if !isPostgresURL(database) {
		return err
	}
	u, perr := url.Parse(database)
	if perr != nil {
		return redact.New(database).Error(err)
	}
	pw, _ := u.User.Password()
	if pw == "" {
		return err
	}
	return redact.New(pw).Error(err)
}

func openSQLite(path string) (*sql.DB, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("%w: path must not contain '?'", ErrInvalid)
	}
	// Every connection gets the same pragmas. _txlock=immediate takes the
	// write lock at BEGIN, so a read-then-write transaction (Raise) never
	// fails to upgrade its lock under contention; busy_timeout makes writers
	// wait for each other instead of failing. synchronous=NORMAL is durable
	// enough in WAL mode: a power cut loses at most the last commits, and an
	// alert that is still firing raises its ticket again.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return sql.Open("sqlite", path+"?"+q.Encode())
}

// config returns the current config. A transaction takes it once, so a
// reload never splits one change between two configs.
func (s *Store) config() Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.cfg
}

// Reconfigure replaces the SLA limits, policies, escalation, receivers and
// outbox tuning at once, for the changes that start after it returns; an
// invalid cfg is an error and keeps the old config. Tickets keep the
// deadlines they have, and notifications already queued keep their
// receivers. cfg.Database is ignored: the store stays on its file (the
// caller decides whether a new path needs a restart). A new cfg.Site is
// an error: the store's rows are its site's for its life.
func (s *Store) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if site := siteOf(cfg); site != s.site {
		return fmt.Errorf("tickets: %w: site %q: changing it (from %q) needs a restart", ErrInvalid, site, s.site)
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	cfg.Database, cfg.Site = s.cfg.Database, s.cfg.Site
	s.cfg = cfg.withDefaults()
	return nil
}

// Path is the database as given to Open: the SQLite file or the
// PostgreSQL URL, which may hold a password (see Name).
func (s *Store) Path() string { return s.path }

// Name is the database for messages: the SQLite file, or the PostgreSQL
// URL without its password.
func (s *Store) Name() string { return s.name }

// Site is the site whose tickets the store raises, reconciles, checks and
// dispatches (Config.Site; "default" when empty).
func (s *Store) Site() string { return s.site }

// siteOf is the site of a store opened with cfg.
func siteOf(cfg Config) string {
	if site := strings.TrimSpace(cfg.Site); site != "" {
		return site
	}
	return DefaultSite
}

// DefaultSite is the site of a config that names none, as the config
// package's default.
const DefaultSite = "default"

// Postgres reports whether the store is on PostgreSQL.
func (s *Store) Postgres() bool { return s.dialect == dialectPostgres }

// Close closes the database, after stopping the opener of OpenWaiting.
func (s *Store) Close() error {
	s.stopMu.Lock()
	if s.stop != nil {
		s.stop()
	}
	opened := s.opened
	s.stopMu.Unlock()
	<-opened
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	s.stmtMu.Unlock()
	return s.db.Close()
}

// prepare returns the prepared statement of q, preparing it once: parsing
// SQL is most of the cost of a small statement.
func (s *Store) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[q]; st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.dialect.rebind(q))
	if err != nil {
		return nil, err
	}
	s.stmts[q] = st
	return st, nil
}

// readTx begins a read-only transaction that sees one state of the
// database throughout, as SQLite's do; on PostgreSQL that takes
// REPEATABLE READ, its default READ COMMITTED sees each statement's own.
func (s *Store) readTx(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == dialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.db.BeginTx(ctx, opts)
}

// txn is one write transaction with its statements and clock.
type txn struct {
	ctx context.Context
	tx  *sql.Tx
	s   *Store
	now time.Time
	cfg Config // the store's config when the transaction began
	// site is whose keys, inspection states and outbox rows the
	// transaction reads and writes: the store's, or the ticket's own
	// while a change by id completes an inspection (completeTicket).
	site   string
	stmts  map[string]*sql.Stmt
	queued bool // the outbox gained rows
}

func (x *txn) stmt(q string) (*sql.Stmt, error) {
	if st := x.stmts[q]; st != nil {
		return st, nil
	}
	ps, err := x.s.prepare(x.ctx, q)
	if err != nil {
		return nil, err
	}
	st := x.tx.StmtContext(x.ctx, ps)
	x.stmts[q] = st
	return st, nil
}

func (x *txn) exec(q string, args ...any) (sql.Result, error) {
	st, err := x.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(x.ctx, args...)
}

func (x *txn) queryRow(q string, args ...any) scanner {
	st, err := x.stmt(q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(x.ctx, args...)
}

func (x *txn) query(q string, args ...any) (*sql.Rows, error) {
	st, err := x.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(x.ctx, args...)
}

// savepoint runs fn so that its failure leaves the transaction usable:
// PostgreSQL aborts a transaction at its first error, SQLite does not.
func (x *txn) savepoint(fn func() error) error {
	if x.s.dialect != dialectPostgres {
		return fn()
	}
	if _, err := x.tx.ExecContext(x.ctx, `SAVEPOINT guard`); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rerr := x.tx.ExecContext(x.ctx, `ROLLBACK TO SAVEPOINT guard`); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := x.tx.ExecContext(x.ctx, `RELEASE SAVEPOINT guard`)
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// inTx runs fn in a write transaction at the store's current time and
// commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(*txn) error) error {
	return s.inTxAt(ctx, s.now().UTC(), fn)
}

func (s *Store) inTxAt(ctx context.Context, now time.Time, fn func(*txn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op once committed
	if s.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(writeLock)); err != nil {
			return err
		}
	}
	x := &txn{ctx: ctx, tx: tx, s: s, now: now, cfg: s.config(), site: s.site, stmts: map[string]*sql.Stmt{}}
	if err := fn(x); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if x.queued {
		s.signal()
	}
	return nil
}

// signal wakes every dispatcher waiting for new outbox rows.
func (s *Store) signal() {
	s.wakeMu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.wakeMu.Unlock()
}

// woken returns a channel closed at the next signal.
func (s *Store) woken() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

// load reads ticket id inside x.
func (x *txn) load(id int64) (Ticket, error) {
	return scanTicket(x.queryRow(selectTicket+" WHERE id = ?", id))
}

// save writes every mutable column of t.
func (x *txn) save(t *Ticket) error {
	t.UpdatedAt = x.now
	_, err := x.exec(`UPDATE tickets SET priority = ?, status = ?, assignee = ?, occurrences = ?, last_seen = ?,
		updated_at = ?, resolve_by = ?, follow_up_by = ?, responded_at = ?, alert_resolved_at = ?, resolved_at = ?,
		follow_up_at = ?, follow_up_result = ?, closed_at = ?, held_since = ? WHERE id = ?`,
		t.Priority, t.Status, t.Assignee, t.Occurrences, stamp(t.LastSeen), stamp(t.UpdatedAt), stamp(t.ResolveBy),
		nullStamp(t.FollowUpBy), nullStamp(t.RespondedAt), nullStamp(t.AlertResolvedAt), nullStamp(t.ResolvedAt),
		nullStamp(t.FollowUpAt), t.FollowUpResult, nullStamp(t.ClosedAt), nullStamp(t.HeldSince), t.ID)
	return err
}

// event records what happened to t in its history and queues the
// notifications of the receivers that want it, plus extra receivers.
func (x *txn) event(t *Ticket, actor string, kind EventKind, detail string, extra ...string) error {
	var id int64
	if err := x.queryRow(`INSERT INTO events (ticket_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		t.ID, stamp(x.now), actor, kind, detail).Scan(&id); err != nil {
		return err
	}
	ev := Event{ID: id, TicketID: t.ID, At: x.now, Actor: actor, Kind: kind, Detail: detail}
	return x.enqueue(ev, t, extra)
}

// migrateWaiting runs migrate, trying again while another process holds the
// file in a way SQLite reports at once instead of through busy_timeout (its
// switch to WAL mode on a new file, a reader that must not wait): the daemon
// and the CLI may open one file at the same moment.
func migrateWaiting(ctx context.Context, db *sql.DB, d dialect, now, site string) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := migrate(ctx, db, d, now, site)
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// timeLayout has a fixed width, so stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// stamp formats t for the database, in UTC.
func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullStamp is stamp with the zero time as NULL.
func nullStamp(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: stamp(t), Valid: true}
}
