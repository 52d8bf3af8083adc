package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	res, err := q.queryAPI().Query(ctx, query)
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

// For the same packages, InfluxQL: 1.8 answers it on /query, and 2.x and
// Cloud on their v1-compatible /query once the bucket has a DBRP mapping.
// Where Flux cannot push aggregateWindow down to storage (1.8's Flux 0.65
// costs about 150 µs per window and series), InfluxQL's GROUP BY time() is
// the fast way to aggregate in the database.

// InfluxQLString returns s as an InfluxQL string literal, quotes included.
func InfluxQLString(s string) string { return influxQLQuote(s, '\'') }

// InfluxQLIdent returns s as a quoted InfluxQL identifier (a measurement,
// field or tag name).
func InfluxQLIdent(s string) string { return influxQLQuote(s, '"') }

// influxQLQuote quotes s the way InfluxQL's scanner reads it back: only
// backslash, the quote and newline need escaping, and any other escape is an
// error there.
func influxQLQuote(s string, quote byte) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for i := range len(s) {
		switch c := s[i]; c {
		case '\\', quote:
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// InfluxQLSeries is one series of an InfluxQL answer: rows of one statement
// for one set of tag values. A long series may come in several parts.
type InfluxQLSeries struct {
	// Statement is the index of the statement, from 0.
	Statement int
	Name      string
	Tags      map[string]string
	Columns   []string
	// Values are the rows, one value per column: time first, as integer
	// nanoseconds; numbers as json.Number (exact, integers included),
	// strings, booleans or nil.
	Values [][]any
}

// influxQLChunk is one JSON object of a (chunked) /query answer.
type influxQLChunk struct {
	Results []struct {
		StatementID int    `json:"statement_id"`
		Error       string `json:"error"`
		Series      []struct {
			Name    string            `json:"name"`
			Tags    map[string]string `json:"tags"`
			Columns []string          `json:"columns"`
			Values  [][]any           `json:"values"`
		} `json:"series"`
	} `json:"results"`
	Error string `json:"error"`
}

// QueryInfluxQL runs the InfluxQL statements (separated by semicolons) on
// /query and calls fn with each series of their answer as it arrives, in
// the order InfluxDB sends them. The database and retention policy are the
// bucket's: "db/rp", or on 2.x a bucket name its DBRP mapping knows as a
// database. It authenticates as the Flux queries do (Authorization: Token,
// which 1.8 reads as user:password), answers are streamed in chunks, and
// times are integer nanoseconds. An error from fn stops the query and is
// returned; a statement's error is returned as soon as it arrives. Errors
// never carry the token.
func (q *Querier) QueryInfluxQL(ctx context.Context, query string, fn func(InfluxQLSeries) error) error {
	form := url.Values{"q": {query}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {"10000"}}
	db, rp, _ := strings.Cut(q.cfg.Bucket, "/")
	form.Set("db", db)
	if rp != "" {
		form.Set("rp", rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(q.cfg.URL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return q.red.Error(fmt.Errorf("influxdb: influxql: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := q.client.HTTPService().DoHTTPRequestWithResponse(req, nil)
	if err != nil {
		return q.red.Error(fmt.Errorf("influxdb: influxql: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		var c influxQLChunk
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &c) == nil && c.Error != "" {
			msg = c.Error
		}
		return q.red.Error(fmt.Errorf("influxdb: influxql: %s: %s", resp.Status, msg))
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	for {
		var c influxQLChunk
		if err := dec.Decode(&c); err == io.EOF {
			return nil
		} else if err != nil {
			return q.red.Error(fmt.Errorf("influxdb: influxql: reading the answer: %w", err))
		}
		if c.Error != "" {
			return q.red.Error(fmt.Errorf("influxdb: influxql: %s", c.Error))
		}
		for _, r := range c.Results {
			if r.Error != "" {
				return q.red.Error(fmt.Errorf("influxdb: influxql: statement %d: %s", r.StatementID, r.Error))
			}
			for _, s := range r.Series {
				if err := fn(InfluxQLSeries{Statement: r.StatementID, Name: s.Name, Tags: s.Tags, Columns: s.Columns, Values: s.Values}); err != nil {
					return err
				}
			}
		}
	}
}
