// Package store writes samples to InfluxDB (batched, retried, buffered while
// InfluxDB is away) and reads history back with Flux.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/secret"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Config is the influxdb section of the config file. The same fields serve
// InfluxDB 1.8 (bucket "db/rp", token empty or "user:password") and 2.x
// (token, org, bucket).
type Config struct {
	URL    string `yaml:"url"`
	Org    string `yaml:"org"`
	Bucket string `yaml:"bucket"`
	// Token authenticates; TokenFile, when set, is read instead so the secret
	// stays out of the config file.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// BatchSize points are sent at once; FlushInterval bounds how long a
	// point waits in a batch.
	BatchSize     int           `yaml:"batch_size"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	// MaxBuffered samples wait in memory to be batched: one flush interval's
	// worth normally, more only when the disk is slow, and the whole backlog
	// when there is no spool. Beyond it the oldest are dropped and counted.
	MaxBuffered int `yaml:"max_buffered"`

	// Fsync says when spooled batches are forced to disk: always (before a
	// batch is sent), interval (every FsyncInterval) or never (left to the
	// OS). A kill -9 loses nothing the spool holds under any policy; the
	// policy decides what a power cut or kernel crash can take.
	Fsync FsyncPolicy `yaml:"fsync"`
	// FsyncInterval is the period of the interval policy; FlushInterval
	// when empty.
	FsyncInterval time.Duration `yaml:"fsync_interval"`
	// MaxSpoolBytes caps the spool on disk; when it is full and a write
	// tried then fails, the oldest segments are dropped and their samples
	// counted. At least MinSpoolBytes.
	MaxSpoolBytes int64 `yaml:"max_spool_bytes"`
	// HealthEvery thins the devices' health (drivers.HealthMeasurement) on
	// its way to InfluxDB, as a historian stores on change with a
	// heartbeat: a health point is written when up or state differs from
	// what was last written for the device, and otherwise at most once per
	// HealthEvery (the latest value: errors and skipped are cumulative, so
	// nothing of them is lost; latency is then a sample every HealthEvery).
	// Empty means DefaultHealthEvery; a duration at or below the poll
	// interval (1ms, say) writes every poll's. The rules and the live state
	// get every poll's health whatever this says.
	HealthEvery time.Duration `yaml:"health_every"`
}

// DefaultHealthEvery is the HealthEvery used when a Config leaves it empty.
const DefaultHealthEvery = 10 * time.Second

// FsyncPolicy says when the spool forces its writes to disk.
type FsyncPolicy string

// Fsync policies.
const (
	FsyncAlways   FsyncPolicy = "always"
	FsyncInterval FsyncPolicy = "interval"
	FsyncNever    FsyncPolicy = "never"
)

// UnmarshalYAML accepts only the known policies.
func (p *FsyncPolicy) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "fsync policy", FsyncAlways, FsyncInterval, FsyncNever)
	*p = v
	return err
}

// DefaultMaxSpoolBytes is the spool's cap when max_spool_bytes is empty:
// about a week of the demo building's readings.
const DefaultMaxSpoolBytes = 1 << 30

// MinSpoolBytes is the smallest MaxSpoolBytes. The spool is cut into
// segments of a sixteenth of the cap, which it drops whole when full, and a
// segment is at least minSegBytes; below 16 segments' worth the cap could
// not be kept, or a full spool would lose most of what it holds at once.
const MinSpoolBytes = 16 * minSegBytes

// WithDefaults returns c with empty fields filled in.
func (c Config) WithDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = 5000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = 1_000_000
	}
	if c.Fsync == "" {
		c.Fsync = FsyncInterval
	}
	if c.FsyncInterval == 0 {
		c.FsyncInterval = c.FlushInterval
	}
	if c.MaxSpoolBytes == 0 {
		c.MaxSpoolBytes = DefaultMaxSpoolBytes
	}
	if c.HealthEvery == 0 {
		c.HealthEvery = DefaultHealthEvery
	}
	return c
}

// LogValue keeps the token out of logs: a Config handed to slog shows whether
// a token is set, never the token itself.
func (c Config) LogValue() slog.Value {
	token := "unset"
	if c.Token != "" {
		token = "set"
	}
	return slog.GroupValue(
		slog.String("url", redact.URL(c.URL)),
		slog.String("org", c.Org),
		slog.String("bucket", c.Bucket),
		slog.String("token", token),
		slog.String("token_file", c.TokenFile),
		slog.Int("batch_size", c.BatchSize),
		slog.Duration("flush_interval", c.FlushInterval),
		slog.Int("max_buffered", c.MaxBuffered),
		slog.String("fsync", string(c.Fsync)),
		slog.Duration("fsync_interval", c.FsyncInterval),
		slog.Int64("max_spool_bytes", c.MaxSpoolBytes),
		slog.Duration("health_every", c.HealthEvery),
	)
}

// String formats the config like LogValue, without the token, so that %v in
// an error message cannot leak it either.
func (c Config) String() string { return c.LogValue().String() }

// Validate checks the fields NewWriter and NewQuerier depend on, so that
// config checks can report them before the daemon starts.
func (c Config) Validate() error { return c.validate() }

// validate checks the fields NewWriter and NewQuerier depend on.
func (c Config) validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("influxdb: url is empty; write for example http://127.0.0.1:8086")
	case err != nil:
		return fmt.Errorf("influxdb: url %q: %w", redact.URL(c.URL), errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("influxdb: url %q: scheme must be http or https", redact.URL(c.URL))
	case u.Host == "":
		return fmt.Errorf("influxdb: url %q: no host", redact.URL(c.URL))
	case c.Bucket == "":
		return errors.New(`influxdb: bucket is empty; write "db/rp" for InfluxDB 1.8 (e.g. "facility/autogen") or the bucket name for 2.x`)
	case c.BatchSize < 0:
		return fmt.Errorf("influxdb: batch_size %d is negative", c.BatchSize)
	case c.FlushInterval < 0:
		return fmt.Errorf("influxdb: flush_interval %v is negative", c.FlushInterval)
	case c.MaxBuffered < 0:
		return fmt.Errorf("influxdb: max_buffered %d is negative", c.MaxBuffered)
	case c.Fsync != "" && c.Fsync != FsyncAlways && c.Fsync != FsyncInterval && c.Fsync != FsyncNever:
		return fmt.Errorf("influxdb: fsync %q: use always, interval or never", c.Fsync)
	case c.FsyncInterval < 0:
		return fmt.Errorf("influxdb: fsync_interval %v is negative", c.FsyncInterval)
	case c.HealthEvery < 0:
		return fmt.Errorf("influxdb: health_every %v is negative", c.HealthEvery)
	case c.MaxSpoolBytes < 0:
		return fmt.Errorf("influxdb: max_spool_bytes %d is negative", c.MaxSpoolBytes)
	case c.MaxSpoolBytes != 0 && c.MaxSpoolBytes < MinSpoolBytes:
		return fmt.Errorf("influxdb: max_spool_bytes %d is below the minimum %d (1 MiB): the spool drops whole segments of at least %d bytes; write %d or more, or leave it empty for %d",
			c.MaxSpoolBytes, MinSpoolBytes, minSegBytes, MinSpoolBytes, DefaultMaxSpoolBytes)
	}
	return nil
}

// CheckToken reads the token file, if any, as Open would: it reports a
// missing or empty file without revealing the token.
func (c Config) CheckToken() error {
	_, err := c.token()
	return err
}

// token returns the secret: the contents of TokenFile when set, else Token.
// Errors name the file, never its contents.
func (c Config) token() (string, error) {
	if c.TokenFile == "" {
		return c.Token, nil
	}
	tok, err := secret.Read(c.TokenFile, "")
	if err != nil {
		return "", fmt.Errorf("influxdb: token_file: %w", err)
	}
	return tok, nil
}
