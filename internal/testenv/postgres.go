package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// postgresBins is where Debian's postgresql package installs the server
// binaries, one folder per major version.
const postgresBins = "/usr/lib/postgresql/*/bin"

// Postgres is a PostgreSQL server with a temporary data directory,
// listening on a free loopback port and on a unix socket in that
// directory, with trust authentication for the user postgres. Each test
// takes a database of its own from it (NewDatabase). Stop and Start take
// the server away and bring it back on the same port.
type Postgres struct {
	// Addr is 127.0.0.1:port.
	Addr string

	bin     string // the folder of initdb, pg_ctl, createdb
	base    string // removed by Close
	data    string
	cred    *syscall.Credential // the postgres OS user when running as root; nil otherwise
	mu      sync.Mutex
	n       int // databases made
	running bool
}

// StartPostgres starts a PostgreSQL server for t and stops it when the test
// ends. A missing PostgreSQL skips the test, or fails it when CI=true.
// Starting one takes about a second: a package with many tests shares one
// through SharedPostgres.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := startPostgres()
	if err != nil {
		missingOrFail(t, err)
	}
	t.Cleanup(p.Close)
	return p
}

// errNoPostgres is a PostgreSQL that is not installed, as opposed to one
// that failed to start.
type errNoPostgres struct{ msg string }

func (e errNoPostgres) Error() string { return e.msg }

func missingOrFail(t testing.TB, err error) {
	t.Helper()
	if _, ok := err.(errNoPostgres); !ok {
		t.Fatalf("testenv: postgres: %v", err)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %v (CI=true, so this fails instead of skipping): apt-get install -y postgresql", err)
	}
	t.Skipf("testenv: %v: apt-get install -y postgresql", err)
}

// SharedPostgres is one PostgreSQL server for all the tests of a package,
// started by the first test that asks for a database. The package's
// TestMain calls Close after m.Run.
type SharedPostgres struct {
	once sync.Once
	p    *Postgres
	err  error
}

// Database returns the URL of a new, empty database on the shared server
// for t (dropped with the server). A missing PostgreSQL skips t, or fails
// it when CI=true.
func (s *SharedPostgres) Database(t testing.TB) string {
	t.Helper()
	s.once.Do(func() { s.p, s.err = startPostgres() })
	if s.err != nil {
		missingOrFail(t, s.err)
	}
	return s.p.NewDatabase(t)
}

// Close stops the shared server, if it was started, and removes its data.
func (s *SharedPostgres) Close() {
	if s.p != nil {
		s.p.Close()
	}
}

func findPostgres() (string, error) {
	if dir := os.Getenv("FACILITYD_POSTGRES_BIN"); dir != "" {
		return dir, nil
	}
	found, _ := filepath.Glob(filepath.Join(postgresBins, "pg_ctl"))
	if len(found) == 0 {
		return "", errNoPostgres{"postgres: no pg_ctl under " + postgresBins}
	}
	// the newest major version
	slices.SortFunc(found, func(a, b string) int { return majorOf(a) - majorOf(b) })
	return filepath.Dir(found[len(found)-1]), nil
}

func majorOf(pgCtl string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(pgCtl))))
	return n
}

func startPostgres() (*Postgres, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: bin}
	// PostgreSQL refuses to run as root: run it as the postgres user of
	// the package, in a folder that user can reach.
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and no postgres user to run the server as: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.base, err = os.MkdirTemp("", "facilityd-postgres-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()
	if err := os.Chmod(p.base, 0o755); err != nil {
		return nil, err
	}
	p.data = filepath.Join(p.base, "data")
	for _, dir := range []string{p.data, p.sockDir()} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
		if uid >= 0 {
			if err := os.Chown(dir, uid, gid); err != nil {
				return nil, err
			}
		}
	}
	if uid >= 0 {
		if err := os.WriteFile(p.logPath(), nil, 0o600); err != nil {
			return nil, err
		}
		if err := os.Chown(p.logPath(), uid, gid); err != nil {
			return nil, err
		}
	}
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "--no-sync",
		"-E", "UTF8", "--locale=C"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	for range 3 { // a free port is free only until someone else takes it
		var port int
		if port, err = freePort(); err != nil {
			return nil, err
		}
		p.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		if err = p.start(); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *Postgres) sockDir() string { return filepath.Join(p.base, "sock") }
func (p *Postgres) logPath() string { return filepath.Join(p.base, "postgres.log") }
func (p *Postgres) port() string    { return p.Addr[strings.LastIndexByte(p.Addr, ':')+1:] }

// run runs one of the server's programs as the server's user.
func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.base
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return nil
	}
	// Durability is not what tests check: fsync off makes a database a
	// few milliseconds instead of a few hundred.
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", p.port(), p.sockDir())
	if out, err := p.run("pg_ctl", "-D", p.data, "-l", p.logPath(), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, tail(p.logPath()))
	}
	p.running = true
	return nil
}

// Start brings a stopped server back on its port; it does nothing when
// the server runs.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
}

// Stop stops the server (fast shutdown: clients are disconnected); Start
// brings it back with its data.
func (p *Postgres) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return
	}
	_, _ = p.run("pg_ctl", "-D", p.data, "-m", "fast", "-w", "-t", "30", "stop")
	p.running = false
}

// Close stops the server and removes its data.
func (p *Postgres) Close() {
	p.Stop()
	if p.base != "" {
		_ = os.RemoveAll(p.base)
	}
}

// URL is the postgres:// URL of database db on the server.
func (p *Postgres) URL(db string) string {
	return "postgres://postgres@" + p.Addr + "/" + db + "?sslmode=disable"
}

// NewDatabase creates an empty database named after t and returns its URL.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	p.mu.Lock()
	p.n++
	name := fmt.Sprintf("t%d_%s", p.n, sanitize(t.Name()))
	p.mu.Unlock()
	if out, err := p.run("createdb", "-h", p.sockDir(), "-p", p.port(), "-U", "postgres", name); err != nil {
		t.Fatalf("testenv: postgres: createdb %s: %v\n%s", name, err, out)
	}
	return p.URL(name)
}

// sanitize makes a test name a short database name.
func sanitize(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	if len(b) > 50 { // PostgreSQL names stop at 63 bytes
		b = b[len(b)-50:]
	}
	return string(b)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > logTailMax {
		b = b[len(b)-logTailMax:]
	}
	return string(b)
}
