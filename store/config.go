// Package store writes samples to InfluxDB (batched, retried, buffered while
// InfluxDB is away) and reads history back with Flux.
package store

import "time"

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
