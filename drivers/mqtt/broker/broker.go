// Package broker is facilityd's embedded MQTT broker (mochi-mqtt) for small
// sites and the demo: one listener, plain or TLS, and username/password
// authentication; anonymous access is not offered. Sessions and retained
// messages live in memory.
package broker

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/facilityd/facilityd/internal/secret"
)

// Config is the mqtt.embedded section of the config file.
type Config struct {
	// Listen is host:port; 127.0.0.1:1883 by default. Port 0 picks a free
	// port (see Broker.Addr).
	Listen string `yaml:"listen"`
	// TLS makes the listener TLS when CertFile and KeyFile are set;
	// ClientCAFile then also requires client certificates signed by it.
	TLS TLSConfig `yaml:"tls"`
	// Users may connect; every user may publish and subscribe to any topic.
	Users []User `yaml:"users"`
}

// TLSConfig names the broker's certificate files.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// User is one account. PasswordFile, when set, is read at start instead of
// Password, so the secret stays out of the config file.
type User struct {
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// LogValue shows a user without the password.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", u.Username), slog.String("password_file", u.PasswordFile))
}

// String formats the user like LogValue.
func (u User) String() string { return u.LogValue().String() }

// DefaultListen is where the broker listens when Listen is empty.
const DefaultListen = "127.0.0.1:1883"

// WithDefaults returns c with empty fields filled in.
func (c Config) WithDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	return c
}

// Check reports what is wrong with a Config that had its defaults applied;
// it does no I/O.
func (c *Config) Check() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen %q: want host:port, e.g. 127.0.0.1:1883", c.Listen)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls: cert_file and key_file go together")
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		add("tls: client_ca_file needs cert_file and key_file")
	}
	if len(c.Users) == 0 {
		add("users: at least one user is required (anonymous access is not offered)")
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Username == "":
			add("users[%d]: username is required", i)
		case seen[u.Username]:
			add("users[%d]: user %q is listed twice", i, u.Username)
		}
		seen[u.Username] = true
		if (u.Password == "") == (u.PasswordFile == "") {
			add("user %q: set one of password or password_file", u.Username)
		}
	}
	return errs
}

// Broker is an embedded MQTT broker.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	ready   chan struct{}
	addr    atomic.Value // string
	running atomic.Bool
}

// New checks the configuration; it does no I/O. A nil logger discards logs.
func New(cfg Config, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	if errs := cfg.Check(); len(errs) > 0 {
		return nil, fmt.Errorf("embedded broker: %w", errors.Join(errs...))
	}
	return &Broker{cfg: cfg, log: logger, ready: make(chan struct{})}, nil
}

// Ready is closed once the broker listens; Addr is valid from then on.
func (b *Broker) Ready() <-chan struct{} { return b.ready }

// Addr is the address the broker listens on, once Ready.
func (b *Broker) Addr() string {
	s, _ := b.addr.Load().(string)
	return s
}

// Run reads the password and certificate files, listens and serves until
// ctx is done, then disconnects every client and returns nil. Run may be
// called once.
func (b *Broker) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("embedded broker: Run called twice")
	}
	users := map[string][]byte{}
	for _, u := range b.cfg.Users {
		pw := u.Password
		if u.PasswordFile != "" {
			var err error
			if pw, err = secret.Read(u.PasswordFile, ""); err != nil {
				return fmt.Errorf("embedded broker: user %q: password_file: %w", u.Username, err)
			}
		}
		users[u.Username] = []byte(pw)
	}
	var tc *tls.Config
	if b.cfg.TLS.CertFile != "" {
		var err error
		if tc, err = b.cfg.TLS.load(); err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
	}
	// mochi drops a QoS 1 message when a subscriber already has 8192
	// waiting: a burst (a gateway replaying its backlog) must not lose
	// readings because facilityd was busy for a moment. 64 Ki per client
	// costs a few MiB at most for the handful of clients of a site.
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 64 * 1024
	caps.MaximumInflight = 65535
	srv := mochi.New(&mochi.Options{
		InlineClient: false,
		Capabilities: caps,
		Logger:       slog.New(warnOnly{b.log.Handler()}),
	})
	if err := srv.AddHook(&auth{users: users, log: b.log}, nil); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	l := &ordered{Listener: listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.cfg.Listen, TLSConfig: tc}), clients: &srv.Listeners.ClientsWg}
	if err := srv.AddListener(l); err != nil {
		return fmt.Errorf("embedded broker: listen on %s: %w", b.cfg.Listen, err)
	}
	if err := srv.Serve(); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	b.addr.Store(l.Address())
	b.log.Info("embedded mqtt broker listening", "addr", l.Address(), "tls", tc != nil, "users", len(users))
	close(b.ready)
	<-ctx.Done()
	l.closing()
	return srv.Close()
}

// ordered is mochi's TCP listener with its clients counted in where Close
// can see them. mochi adds a new client to Listeners.ClientsWg on the
// connection's own goroutine while Server.Close waits on that group: a
// connection arriving as the broker stops is an Add racing a Wait (the race
// detector reports it, and WaitGroup forbids it). ordered adds each
// connection to the group itself, under a lock that closing takes before
// Close waits, so mochi's own Add never starts the count from zero and every
// Add happens before the Wait; connections arriving after closing are
// refused.
type ordered struct {
	listeners.Listener
	clients *sync.WaitGroup
	mu      sync.Mutex
	closed  bool
}

func (o *ordered) Serve(establish listeners.EstablishFn) {
	o.Listener.Serve(func(id string, c net.Conn) error {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return c.Close()
		}
		o.clients.Add(1)
		o.mu.Unlock()
		defer o.clients.Done()
		return establish(id, c)
	})
}

// closing refuses the connections that arrive from now on.
func (o *ordered) closing() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

func (t TLSConfig) load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls cert_file/key_file: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCAFile != "" {
		pool, err := secret.CertPool(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls client_ca_file: %w", err)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// auth is a mochi hook that lets known users in, comparing passwords in
// constant time, and lets them use every topic.
type auth struct {
	mochi.HookBase
	users map[string][]byte
	log   *slog.Logger
}

func (a *auth) ID() string { return "facilityd-auth" }

func (a *auth) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (a *auth) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	want, ok := a.users[string(pk.Connect.Username)]
	if ok && subtle.ConstantTimeCompare(want, pk.Connect.Password) == 1 {
		return true
	}
	a.log.Warn("embedded mqtt broker refused a client: unknown user or wrong password", "client_id", cl.ID, "username", string(pk.Connect.Username), "remote", cl.Net.Remote)
	return false
}

func (a *auth) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// warnOnly passes mochi's warnings and errors on and drops its chatter.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

// Handle drops mochi's unlabelled per-connection errors (a client that
// went away), which it logs as warnings with an empty message.
func (w warnOnly) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "" {
		return nil
	}
	return w.Handler.Handle(ctx, r)
}

func (w warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(as)} }
func (w warnOnly) WithGroup(n string) slog.Handler       { return warnOnly{w.Handler.WithGroup(n)} }
