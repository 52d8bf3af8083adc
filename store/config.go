// Package store writes samples to InfluxDB (batched, retried, buffered while
// InfluxDB is away) and reads history back with Flux.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
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
	// MaxBuffered points are held in memory while InfluxDB is unreachable;
	// beyond it the oldest are dropped and counted.
	MaxBuffered int `yaml:"max_buffered"`
}

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
		slog.String("url", redactURL(c.URL)),
		slog.String("org", c.Org),
		slog.String("bucket", c.Bucket),
		slog.String("token", token),
		slog.String("token_file", c.TokenFile),
		slog.Int("batch_size", c.BatchSize),
		slog.Duration("flush_interval", c.FlushInterval),
		slog.Int("max_buffered", c.MaxBuffered),
	)
}

// String formats the config like LogValue, without the token, so that %v in
// an error message cannot leak it either.
func (c Config) String() string { return c.LogValue().String() }

// validate checks the fields NewWriter and NewQuerier depend on.
func (c Config) validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("influxdb: url is empty; write for example http://127.0.0.1:8086")
	case err != nil:
		return fmt.Errorf("influxdb: url %q: %w", redactURL(c.URL), errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("influxdb: url %q: scheme must be http or https", redactURL(c.URL))
	case u.Host == "":
		return fmt.Errorf("influxdb: url %q: no host", redactURL(c.URL))
	case c.Bucket == "":
		return errors.New(`influxdb: bucket is empty; write "db/rp" for InfluxDB 1.8 (e.g. "facility/autogen") or the bucket name for 2.x`)
	case c.BatchSize < 0:
		return fmt.Errorf("influxdb: batch_size %d is negative", c.BatchSize)
	case c.FlushInterval < 0:
		return fmt.Errorf("influxdb: flush_interval %v is negative", c.FlushInterval)
	case c.MaxBuffered < 0:
		return fmt.Errorf("influxdb: max_buffered %d is negative", c.MaxBuffered)
	}
	return nil
}

// token returns the secret: the contents of TokenFile when set, else Token.
// Errors name the file, never its contents.
func (c Config) token() (string, error) {
	if c.TokenFile == "" {
		return c.Token, nil
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("influxdb: token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("influxdb: token_file %q is empty", c.TokenFile)
	}
	return tok, nil
}

// redactURL hides a password written into the URL (http://user:pass@host).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "xxxxx" + s[i:]
		}
		return s
	}
	return u.Redacted()
}
