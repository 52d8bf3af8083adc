package tickets

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/facilityd/facilityd/internal/retry"
)

// ErrNotOpen is what the store's methods return while OpenWaiting has not
// yet reached the database.
var ErrNotOpen = errors.New("ticket database not reached yet (the daemon keeps trying)")

// Back-off of OpenWaiting between attempts.
const (
	openRetryMin = time.Second
	openRetryMax = 30 * time.Second
	// openLogEvery is how often a database still unreachable is logged
	// again, besides the first failure and the recovery.
	openLogEvery = 5 * time.Minute
)

// OpenState is whether the store reached its database, for /healthz.
type OpenState struct {
	// Open is true once the schema is up to date and the store serves.
	Open bool `json:"open"`
	// Attempts is how many tries failed before (or since start, while
	// not open).
	Attempts int `json:"attempts,omitempty"`
	// Error is the last failure, without a password.
	Error string `json:"error,omitempty"`
	// Since is when the first attempt failed.
	Since time.Time `json:"since,omitzero"`
}

// openPostgres builds the store's pool, which refuses connections until
// ready is closed, and the setup pool that migrates.
func openPostgres(database string, ready <-chan struct{}) (db, setup *sql.DB, err error) {
	base, err := stdlib.GetDefaultDriver().(driver.DriverContext).OpenConnector(database)
	if err != nil {
		return nil, nil, err
	}
	db = sql.OpenDB(gatedConnector{Connector: base, ready: ready})
	// A new connection is a new server process: keep a few. No cap on open
	// connections, though: a writer that holds the write lock may need a
	// second one to prepare a statement while the others wait for the lock
	// on theirs.
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	setup = sql.OpenDB(base)
	return db, setup, nil
}

// gatedConnector is PostgreSQL's connector, closed until ready: no
// statement of the store runs on a schema that is not brought up to date.
type gatedConnector struct {
	driver.Connector
	ready <-chan struct{}
}

// Connect implements driver.Connector.
func (g gatedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	select {
	case <-g.ready:
		return g.Connector.Connect(ctx)
	default:
		return nil, ErrNotOpen
	}
}

// OpenWaiting opens the store like Open, but a PostgreSQL server that
// cannot be reached (down, restarting, the network between) is not an
// error: it returns the store at once, not open yet, and keeps trying in
// the background with back-off until it opens or the store is closed.
// Until then the store's methods return ErrNotOpen; Ready is closed when it
// opens, and State says how the attempts go. log hears the first failure,
// one line every few minutes while it lasts, and the recovery. Errors that
// trying again cannot mend (a bad URL, a schema newer than this facilityd)
// are returned as by Open. A SQLite file is opened as by Open.
func OpenWaiting(ctx context.Context, database string, cfg Config, now func() time.Time, log *slog.Logger) (*Store, error) {
	if !isPostgresURL(database) {
		return Open(ctx, database, cfg, now)
	}
	s, err := newStore(database, cfg, now)
	if err != nil {
		return nil, err
	}
	err = s.connect(ctx)
	if err == nil {
		s.setup.Close()
		close(s.ready)
		return s, nil
	}
	if !unreachable(err) || ctx.Err() != nil {
		s.setup.Close()
		s.db.Close()
		return nil, err
	}
	// The one line of the outage, with the recovery's: the components
	// that read the store meanwhile skip ErrNotOpen (NotOpen) unlogged.
	log.Warn("ticket database unreachable; alert transitions wait in the ticket queue, inspections, energy checks and "+
		"the console's tickets wait for it; trying again in the background",
		"database", s.name, "err", err)
	s.setState(OpenState{Attempts: 1, Error: err.Error(), Since: time.Now()})
	octx, cancel := context.WithCancel(context.Background())
	s.stopMu.Lock()
	s.stop, s.opened = cancel, make(chan struct{})
	s.stopMu.Unlock()
	go s.keepOpening(octx, log)
	return s, nil
}

// keepOpening tries to connect until it does or ctx is done.
func (s *Store) keepOpening(ctx context.Context, log *slog.Logger) {
	defer close(s.opened)
	defer s.setup.Close()
	lastLog := time.Now()
	for failures := 1; ; failures++ {
		if !retry.Sleep(ctx, retry.Jitter(retry.Backoff(failures, openRetryMin, openRetryMax), 0.2)) {
			return
		}
		err := s.connect(ctx)
		if err == nil {
			st := s.State()
			log.Info("ticket database reached; the ticket queue catches up", "database", s.name,
				"after", time.Since(st.Since).Round(time.Second), "attempts", failures+1)
			s.setState(OpenState{Open: true})
			close(s.ready)
			return
		}
		if ctx.Err() != nil {
			return
		}
		st := s.State()
		st.Attempts, st.Error = failures+1, err.Error()
		s.setState(st)
		if !unreachable(err) {
			// A server that answers but refuses to open (a schema newer
			// than this facilityd): loud, and still tried again, since
			// the daemon is up and an operator may mend it.
			log.Error("ticket database refuses to open; trying again", "database", s.name, "err", err)
			lastLog = time.Now()
		} else if time.Since(lastLog) >= openLogEvery {
			log.Warn("ticket database still unreachable", "database", s.name, "for", time.Since(st.Since).Round(time.Second),
				"attempts", st.Attempts, "err", err)
			lastLog = time.Now()
		}
	}
}

func (s *Store) setState(st OpenState) {
	s.stateMu.Lock()
	s.state = st
	s.stateMu.Unlock()
}

// State says whether the store is open and, if not, how the attempts go.
func (s *Store) State() OpenState {
	select {
	case <-s.ready:
		return OpenState{Open: true}
	default:
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	return s.state
}

// Ready is closed once the store is open: at once after Open, when the
// database is reached after OpenWaiting.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// unreachable reports whether err is the server not being there (or not
// yet accepting), which trying again mends, rather than something it said
// about the database.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, context.DeadlineExceeded), pgconn.SafeToRetry(err):
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P0x: shutting down, starting up.
		return len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:4] == "57P0")
	}
	return false
}
