package store

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"
)

const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	// finalFlushTimeout bounds the last attempt to write what is pending when
	// Run is told to stop, so shutdown cannot hang on a dead server.
	finalFlushTimeout = 5 * time.Second
	// requestTimeout bounds one HTTP write.
	requestTimeout = 10 * time.Second
	// dropLogEvery limits how often overflow is logged; the count is exact.
	dropLogEvery = 10 * time.Second
)

// pointWriter is the part of influxdb-client-go's WriteAPIBlocking the Writer
// uses; tests replace it with a fake.
type pointWriter interface {
	WritePoint(ctx context.Context, point ...*write.Point) error
}

// WriterStats counts samples (one Sample = one field of one point) since the
// Writer was made. Accepted = Written + Dropped + Pending.
type WriterStats struct {
	Accepted int64 // taken by Put into the queue
	Written  int64 // confirmed by InfluxDB
	Dropped  int64 // lost: oldest dropped at the MaxBuffered cap, or in a batch InfluxDB refused (4xx)
	Pending  int64 // queued or in the batch being sent
	Skipped  int64 // refused by Put: quality Bad, NaN/±Inf, empty names, time out of range
	Errors   int64 // failed write requests, each retry counted
}

// Writer is the drivers.Sink that stores samples in InfluxDB. Put only
// queues, in memory and bounded by Config.MaxBuffered; Run sends batches and,
// while InfluxDB is unreachable or overloaded, keeps the batch and retries it
// with exponential back-off, so an outage costs memory, not readings. At most
// MaxBuffered samples wait in the queue plus one batch (BatchSize) in flight.
type Writer struct {
	cfg    Config
	token  string
	tags   func(device string) map[string]string
	logger *slog.Logger

	// Seams for tests: the write API and the back-off bounds.
	connect    func() (pointWriter, func())
	httpClient *http.Client
	minBackoff time.Duration
	maxBackoff time.Duration

	mu       sync.Mutex
	q        *queue
	inflight int // samples taken from q and not yet written or dropped
	kick     chan struct{}
	running  atomic.Bool

	accepted, written, dropped, skipped, errors atomic.Int64
	lastDropLog                                 atomic.Int64 // unix ns
}

var _ drivers.Sink = (*Writer)(nil)

// NewWriter checks cfg (after WithDefaults) and reads the token file; it does
// no I/O to InfluxDB. tags gives the extra tags of a device (site, building,
// floor, ...), may be nil, and must be safe for concurrent use. A nil logger
// discards.
func NewWriter(cfg Config, tags func(device string) map[string]string, logger *slog.Logger) (*Writer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		cfg:        cfg,
		token:      token,
		tags:       tags,
		logger:     logger,
		minBackoff: minBackoff,
		maxBackoff: maxBackoff,
		q:          newQueue(cfg.MaxBuffered, max(4*cfg.BatchSize, 1<<14)),
		kick:       make(chan struct{}, 1),
	}
	w.connect = w.connectInflux
	return w, nil
}

func (w *Writer) connectInflux() (pointWriter, func()) {
	opts := influxdb2.DefaultOptions().
		SetUseGZip(true).
		SetHTTPRequestTimeout(uint(requestTimeout / time.Second))
	if w.httpClient != nil {
		opts.SetHTTPClient(w.httpClient)
	}
	client := influxdb2.NewClientWithOptions(w.cfg.URL, w.token, opts)
	return client.WriteAPIBlocking(w.cfg.Org, w.cfg.Bucket), client.Close
}

// Put queues samples without touching the network. Samples that cannot be
// stored are skipped and counted (see WriterStats.Skipped); a zero Time is
// stamped with the current time. When the queue is full the oldest samples
// make room and are counted as dropped. Put keeps nothing of the slice.
func (w *Writer) Put(_ context.Context, samples []drivers.Sample) {
	var accepted, skipped, dropped int64
	var now time.Time
	w.mu.Lock()
	for i := range samples {
		s := &samples[i]
		if !storable(s) {
			skipped++
			continue
		}
		if s.Time.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			st := *s
			st.Time = now
			s = &st
		}
		if w.q.push(s) {
			dropped++
		}
		accepted++
	}
	full := w.q.len() >= w.cfg.BatchSize
	w.mu.Unlock()

	w.accepted.Add(accepted)
	if skipped > 0 {
		w.skipped.Add(skipped)
	}
	if dropped > 0 {
		w.dropped.Add(dropped)
		w.logDrop()
	}
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *Writer) logDrop() {
	now := time.Now().UnixNano()
	last := w.lastDropLog.Load()
	if now-last < int64(dropLogEvery) || !w.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	w.logger.Warn("influxdb buffer full: dropping oldest samples",
		"max_buffered", w.cfg.MaxBuffered, "dropped_total", w.dropped.Load())
}

// Stats returns the counters; safe to call at any time.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	pending := int64(w.q.len() + w.inflight)
	w.mu.Unlock()
	return WriterStats{
		Accepted: w.accepted.Load(),
		Written:  w.written.Load(),
		Dropped:  w.dropped.Load(),
		Pending:  pending,
		Skipped:  w.skipped.Load(),
		Errors:   w.errors.Load(),
	}
}

// Run sends queued samples until ctx is done: a batch as soon as BatchSize
// samples wait, and whatever waits every FlushInterval. When ctx is done it
// makes one last attempt, bounded by a short timeout, to write what is
// pending, then returns nil; samples still pending are logged. Run may be
// called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("store: Writer.Run called twice")
	}
	api, closeAPI := w.connect()
	defer closeAPI()
	w.logger.Info("influxdb writer started", "config", w.cfg)

	ticker := time.NewTicker(w.cfg.FlushInterval)
	defer ticker.Stop()
	batch := make([]drivers.Sample, 0, w.cfg.BatchSize)
	for {
		var err error
		select {
		case <-ctx.Done():
			w.finalFlush(api, batch)
			return nil
		case <-w.kick:
			batch, err = w.drain(ctx, api, batch, false)
		case <-ticker.C:
			batch, err = w.drain(ctx, api, batch, true)
		}
		if err != nil { // ctx done while retrying; batch is kept
			w.finalFlush(api, batch)
			return nil
		}
	}
}

// drain sends full batches while there are any, and with partial set one
// batch that is not full. It returns the batch still being sent (empty unless
// ctx ended while it was retried).
func (w *Writer) drain(ctx context.Context, api pointWriter, batch []drivers.Sample, partial bool) ([]drivers.Sample, error) {
	for {
		w.mu.Lock()
		n := w.q.len()
		if n == 0 || (n < w.cfg.BatchSize && !partial) {
			w.mu.Unlock()
			return batch, nil
		}
		batch = w.q.take(batch[:0], w.cfg.BatchSize)
		w.inflight = len(batch)
		w.mu.Unlock()

		if err := w.send(ctx, api, batch); err != nil {
			return batch, err
		}
		clear(batch) // release the samples' strings
		batch = batch[:0]
		if n < w.cfg.BatchSize {
			partial = false
		}
	}
}

// send writes batch, retrying while the failure is the server's or the
// network's, until it is written, refused (4xx) or ctx is done.
func (w *Writer) send(ctx context.Context, api pointWriter, batch []drivers.Sample) error {
	points := toPoints(batch, w.tags)
	backoff := w.minBackoff
	for attempt := 1; ; attempt++ {
		err := api.WritePoint(ctx, points...)
		if err == nil {
			w.settle(len(batch), true)
			if attempt > 1 {
				w.logger.Info("influxdb write recovered", "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.errors.Add(1)
		retry, wait := retryable(err)
		if !retry {
			w.settle(len(batch), false)
			w.logger.Error("influxdb refused a batch; dropping it",
				"samples", len(batch), "points", len(points), "err", err)
			return nil
		}
		delay := max(backoff, wait)
		w.logger.Warn("influxdb write failed; keeping the batch and retrying",
			"attempt", attempt, "retry_in", delay, "samples", len(batch), "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, w.maxBackoff)
	}
}

// settle ends the life of the in-flight batch in the counters.
func (w *Writer) settle(n int, written bool) {
	if written {
		w.written.Add(int64(n))
	} else {
		w.dropped.Add(int64(n))
	}
	w.mu.Lock()
	w.inflight = 0
	w.mu.Unlock()
}

// retryable sorts a write error: network failures, 429 and 5xx are worth
// retrying (with the server's Retry-After, if any); any other status and
// encoding errors are the batch's fault and would fail forever.
func retryable(err error) (bool, time.Duration) {
	var herr *http2.Error
	if !errors.As(err, &herr) {
		return false, 0
	}
	s := herr.StatusCode
	if s == 0 || s == http.StatusTooManyRequests || s >= 500 {
		return true, time.Duration(herr.RetryAfter) * time.Second
	}
	return false, 0
}

// finalFlush makes one attempt per batch, without retries, to write the
// in-flight batch and the queue, and logs what is left.
func (w *Writer) finalFlush(api pointWriter, batch []drivers.Sample) {
	ctx, cancel := context.WithTimeout(context.Background(), finalFlushTimeout)
	defer cancel()
	for {
		if len(batch) == 0 {
			w.mu.Lock()
			batch = w.q.take(batch[:0], w.cfg.BatchSize)
			w.inflight = len(batch)
			w.mu.Unlock()
			if len(batch) == 0 {
				return
			}
		}
		err := api.WritePoint(ctx, toPoints(batch, w.tags)...)
		if err != nil {
			w.errors.Add(1)
			if retry, _ := retryable(err); retry || ctx.Err() != nil {
				// What is left stays counted as pending: a durable spool
				// would keep it across the restart.
				w.logger.Error("influxdb writer stopped with samples not written",
					"pending", w.Stats().Pending, "err", err)
				return
			}
			w.settle(len(batch), false)
			w.logger.Error("influxdb refused a batch; dropping it", "samples", len(batch), "err", err)
		} else {
			w.settle(len(batch), true)
		}
		clear(batch)
		batch = batch[:0]
	}
}
