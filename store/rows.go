package store

import (
	"context"
	"fmt"
	"time"
)

// For packages that build their own Flux (energy/usage): the same escaping
// the store uses, and a way to run a query and read its rows. The Flux text
// is the caller's; every value from outside must go through FluxString.

// FluxString returns s as a Flux string literal, quotes included, escaped as
// the store escapes every name it sends.
func FluxString(s string) string { return fluxString(s) }

// FluxTime returns t as a Flux time value.
func FluxTime(t time.Time) string { return fluxTime(t) }

// FluxDuration returns d as a Flux duration literal in nanoseconds.
func FluxDuration(d time.Duration) string { return fluxDuration(d) }

// Bucket is the bucket (1.8: "db/rp") the querier reads.
func (q *Querier) Bucket() string { return q.cfg.Bucket }

// QueryRows runs the Flux query and calls fn with each row's columns by
// name ("result" is the yield's name), in the order InfluxDB sends them.
// An error from fn stops the query and is returned. Errors never carry the
// token.
func (q *Querier) QueryRows(ctx context.Context, query string, fn func(row map[string]any) error) error {
	res, err := q.api.Query(ctx, query)
	if err != nil {
		return q.red.Error(fmt.Errorf("influxdb: query: %w", err))
	}
	defer res.Close()
	for res.Next() {
		if err := fn(res.Record().Values()); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return q.red.Error(fmt.Errorf("influxdb: query: %w", err))
	}
	return nil
}
