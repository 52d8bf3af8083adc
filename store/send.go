package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// errorKind sorts failed writes, for metrics and for what to do next.
type errorKind int

const (
	errNetwork     errorKind = iota // connection refused, reset, DNS: retry
	errTimeout                      // no answer in requestTimeout: retry
	errRateLimited                  // 429: retry after Retry-After
	errServer                       // 5xx: retry (503 with Retry-After)
	errAuth                         // 401, 403: hold and retry; no point is at fault
	errNotFound                     // 404, or 2.x's 400 for a missing org: hold and retry
	errTooLarge                     // 413: split the batch
	errRejected                     // 400, 422: the batch holds bad points; split to find them
	errSpool                        // the spool could not take a batch
	errUnexpected                   // another status (405, 3xx): hold and retry; no point is known to be at fault
	numErrorKinds
)

// blocks reports whether a failure of this kind waits for a person (token,
// org, bucket, a proxy in the way) rather than for InfluxDB to recover.
func (k errorKind) blocks() bool { return k == errAuth || k == errNotFound || k == errUnexpected }

var errorKindNames = [numErrorKinds]string{"network", "timeout", "rate_limited", "server", "auth", "not_found", "too_large", "rejected", "spool", "unexpected"}

// dropReason says why samples were lost.
type dropReason int

const (
	dropBufferFull dropReason = iota // MaxBuffered reached in memory
	dropSpoolFull                    // MaxSpoolBytes reached
	dropRejected                     // InfluxDB refused the point (4xx)
	dropTooLarge                     // one line larger than InfluxDB takes (413)
	dropCorrupt                      // the spool record holding it was damaged
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"buffer_full", "spool_full", "rejected", "too_large", "corrupt"}

// connect builds the write request on influxdb-client-go's HTTP service,
// which adds the token ("Authorization: Token ...") and turns error answers
// into *http2.Error. The body is sent as the spool holds it, already gzipped.
// The probe asks /ping (1.8 and 2.x, no token needed) whether InfluxDB
// answers at all.
func (w *Writer) connect() (post func(context.Context, []byte) error, probe func(context.Context) bool, closeClient func()) {
	opts := influxdb2.DefaultOptions().SetHTTPRequestTimeout(uint(requestTimeout / time.Second))
	if w.httpClient != nil {
		opts.SetHTTPClient(w.httpClient)
	}
	client := influxdb2.NewClientWithOptions(w.cfg.URL, w.token, opts)
	svc := client.HTTPService()
	target := svc.ServerAPIURL() + "write?" + url.Values{
		"org": {w.cfg.Org}, "bucket": {w.cfg.Bucket}, "precision": {"ns"},
	}.Encode()
	post = func(ctx context.Context, body []byte) error {
		err := svc.DoPostRequest(ctx, target, bytes.NewReader(body), func(req *http.Request) {
			req.Header.Set("Content-Encoding", "gzip")
			req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		}, func(resp *http.Response) error {
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
		if err != nil { // a nil *http2.Error must not become a non-nil error
			return err
		}
		return nil
	}
	ping := svc.ServerURL() + "ping"
	httpClient := opts.HTTPClient()
	probe = func(ctx context.Context) bool {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ping, nil)
		if err != nil {
			return false
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return resp.StatusCode/100 == 2
	}
	return post, probe, client.Close
}

// part is a run of lines of a record, sent as one request.
type part struct {
	lo, hi int
	body   []byte // gzipped; built from the lines when nil
}

// errStopping ends a delivery that failed while Run is stopping: the batch
// stays queued for the next start.
var errStopping = errors.New("stopping")

// deliver writes rec: retrying while the failure is the network's or the
// server's, splitting it when InfluxDB finds it too large or refuses points
// in it, until every line is written or dropped. It returns an error only
// when ctx is done or Run is stopping; rec is then not finished.
func (w *Writer) deliver(ctx context.Context, rec *record) error {
	parts := []part{{0, rec.lines, rec.body()}}
	var lines [][]byte
	var fields []int
	samplesOf := func(p part) int64 {
		if lines == nil {
			return int64(rec.samples)
		}
		n := 0
		for _, f := range fields[p.lo:p.hi] {
			n += f
		}
		return int64(n)
	}
	backoff := w.minBackoff
	for attempt := 1; len(parts) > 0; attempt++ {
		p := &parts[0]
		if p.body == nil {
			p.body = gzipLines(lines[p.lo:p.hi])
		}
		start := time.Now()
		err := w.post(ctx, p.body)
		w.latency.Observe(time.Since(start).Seconds())
		if err == nil {
			w.attemptEnded(true)
			w.written.Add(samplesOf(*p))
			w.lastWrite.Store(time.Now().UnixNano())
			if w.failing.Swap(0) != 0 {
				w.logger.Info("influxdb write recovered", "attempts", attempt)
			}
			parts, backoff, attempt = parts[1:], w.minBackoff, 0
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		kind, wait := classify(err)
		w.errors.Add(1)
		w.errorsBy[kind].Add(1)
		// InfluxDB's answer, or a proxy's, may echo the request's token.
		msg := w.red.String(err.Error())
		w.lastErr.Store(&msg)
		switch kind {
		case errTooLarge, errRejected:
			w.attemptEnded(true) // InfluxDB answers; splitting settles the batch
			if lines == nil {
				var serr error
				if lines, fields, serr = rec.splitLines(); serr != nil {
					// Cannot happen to a record whose checksum held.
					w.drop(dropCorrupt, int64(rec.samples), "batch cannot be split", serr, nil)
					return nil
				}
			}
			reason := map[errorKind]dropReason{errTooLarge: dropTooLarge, errRejected: dropRejected}[kind]
			if n := p.hi - p.lo; n == 1 || droppedAll(err, n) {
				w.drop(reason, samplesOf(*p), "InfluxDB refused points; dropping them", err, lines[p.lo:p.hi])
				parts = parts[1:]
				continue
			}
			mid := (p.lo + p.hi) / 2
			parts = append([]part{{lo: p.lo, hi: mid}, {lo: mid, hi: p.hi}}, parts[1:]...)
		default:
			w.attemptEnded(false)
			if w.stopping.Load() {
				return errStopping
			}
			w.failing.Store(int32(kind) + 1)
			delay := max(backoff, wait)
			level, logMsg := slog.LevelWarn, "influxdb write failed; keeping the batch and retrying"
			if kind.blocks() {
				level = slog.LevelError
				logMsg += " (check the token, org and bucket; batches wait in the spool meanwhile)"
			}
			w.logger.Log(ctx, level, logMsg,
				"attempt", attempt, "retry_in", delay, "samples", samplesOf(*p), "kind", errorKindNames[kind], "err", msg)
			if !w.backOff(ctx, kind, delay, wait > backoff) {
				return errStopping
			}
			backoff = min(2*backoff, w.maxBackoff)
		}
	}
	return nil
}

// drop counts and logs samples lost for reason.
func (w *Writer) drop(reason dropReason, samples int64, msg string, err error, lines [][]byte) {
	total := w.droppedBy[reason].Add(samples)
	args := []any{"reason", dropReasonNames[reason], "samples", samples, "dropped_total", total}
	if err != nil {
		args = append(args, "err", w.red.String(err.Error()))
	}
	if len(lines) > 0 {
		const show = 200
		first := string(bytes.TrimSpace(lines[0]))
		if len(first) > show {
			first = first[:show] + "..."
		}
		args = append(args, "lines", len(lines), "line", first)
	}
	w.logLimited("drop-"+dropReasonNames[reason], slog.LevelError, msg, args...)
}

// partialWrite is how InfluxDB ends a partial-write message (1.8's
// tsdb.PartialWriteError, kept by 2.x): "partial write: <reason> dropped=N".
var partialWrite = regexp.MustCompile(`^(?:.*: )?partial write: .* dropped=(\d+)$`)

// droppedAll reports whether InfluxDB's partial-write answer says it
// dropped all n lines, so that splitting would only repeat the refusal.
func droppedAll(err error, n int) bool {
	var herr *http2.Error
	if !errors.As(err, &herr) {
		return false
	}
	m := partialWrite.FindStringSubmatch(influxMessage(herr))
	return m != nil && m[1] == strconv.Itoa(n)
}

// noOrg is InfluxDB 2.x's answer (400, code "invalid") to a write without
// org or orgID: a missing setting, not a bad point. Its code is the one bad
// line protocol gets, so the fixed message (influxdb.ErrInvalidOrgFilter)
// tells them apart.
const noOrg = "Please provide either orgID or org"

// influxCode returns InfluxDB 2.x's error code ("invalid", "not found",
// "unauthorized", ...) from the JSON body or X-Platform-Error-Code; empty
// for 1.8, which has none.
func influxCode(herr *http2.Error) string {
	if c := herr.Header.Get("X-Platform-Error-Code"); c != "" {
		return c
	}
	// Without a JSON code the client fills in the status line instead.
	if herr.Code == "" || strings.HasPrefix(herr.Code, strconv.Itoa(herr.StatusCode)+" ") {
		return ""
	}
	return herr.Code
}

// influxMessage returns what InfluxDB said: 2.x's "message", or 1.8's
// "error", which it repeats in X-Influxdb-Error.
func influxMessage(herr *http2.Error) string {
	if herr.Message != "" {
		return herr.Message
	}
	return herr.Header.Get("X-Influxdb-Error")
}

// classify sorts a write error by its status code, and by InfluxDB's error
// code where the status alone does not tell, and returns how long the
// server asked to wait (Retry-After), if it did. The message's words decide
// nothing: a type conflict on a field named bucket_level is a bad point.
func classify(err error) (errorKind, time.Duration) {
	var herr *http2.Error
	if !errors.As(err, &herr) {
		return errNetwork, 0
	}
	wait := retryAfter(herr)
	switch s := herr.StatusCode; {
	case s == 0:
		var nerr net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout() {
			return errTimeout, 0
		}
		return errNetwork, 0
	case s == http.StatusBadRequest && influxMessage(herr) == noOrg:
		return errNotFound, wait
	case s == http.StatusBadRequest, s == http.StatusUnprocessableEntity:
		return errRejected, 0
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		return errAuth, wait
	case s == http.StatusNotFound:
		return errNotFound, wait
	case s == http.StatusRequestEntityTooLarge:
		return errTooLarge, 0
	case s == http.StatusRequestTimeout:
		return errTimeout, wait
	case s == http.StatusTooManyRequests:
		return errRateLimited, wait
	case s >= 500:
		return errServer, wait
	}
	// A status InfluxDB does not give for bad points (a proxy's 405, a
	// 3xx not followed): hold the batch rather than drop it.
	return errUnexpected, wait
}

// maxRetryAfter caps what a server may ask for, so that a bad header
// cannot stop writes for days.
const maxRetryAfter = 10 * time.Minute

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(herr *http2.Error) time.Duration {
	var d time.Duration
	if herr.RetryAfter > 0 {
		d = time.Duration(herr.RetryAfter) * time.Second
	} else if v := herr.Header.Get("Retry-After"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	}
	return min(max(d, 0), maxRetryAfter)
}
