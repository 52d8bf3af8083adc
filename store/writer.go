package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/redact"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
	// finalFlushTimeout bounds the attempt to deliver what is queued when
	// Run is told to stop; what is left stays in the spool.
	finalFlushTimeout = 5 * time.Second
	// requestTimeout bounds one HTTP write.
	requestTimeout = 10 * time.Second
	// probeEvery is how often a writer backing off from an unreachable
	// InfluxDB asks it for /ping, so that a server back from an outage
	// waits about this long for writes to resume, not up to maxBackoff.
	probeEvery = time.Second
	// probeTimeout bounds one /ping.
	probeTimeout = 2 * time.Second
	// roomWait bounds how long a batch for a full spool waits for the
	// outcome of one write attempt before the oldest segment is dropped.
	roomWait = requestTimeout + probeTimeout + time.Second
	// logEvery limits how often repeated problems are logged; counts are exact.
	logEvery = 10 * time.Second
)

// WriterOptions are a Writer's collaborators.
type WriterOptions struct {
	// Tags gives the extra tags of a device (site, building, floor, ...).
	// It may be nil and must be safe for concurrent use.
	Tags func(device string) map[string]string
	// Logger receives the writer's logs; nil discards them.
	Logger *slog.Logger
	// SpoolDir holds the durable spool. Empty keeps batches in memory only
	// (bounded by MaxBuffered, lost when the process ends).
	SpoolDir string
	// Registerer receives the writer's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// WriterStats counts samples (one Sample = one field of one point) since the
// Writer was made. Accepted + Recovered = Written + Dropped + Pending.
type WriterStats struct {
	Accepted  int64 `json:"accepted"`  // taken by Put
	Recovered int64 `json:"recovered"` // found in the spool at start, left by an earlier run
	Written   int64 `json:"written"`   // acknowledged by InfluxDB
	Dropped   int64 `json:"dropped"`   // lost, for a reason counted in WriterStatus.DroppedBy
	Pending   int64 `json:"pending"`   // in memory or in the spool
	Skipped   int64 `json:"skipped"`   // refused by Put: quality Bad, NaN/±Inf, names line protocol cannot carry, time out of range
	Thinned   int64 `json:"thinned"`   // health samples left out by Config.HealthEvery (not in Accepted)
	Errors    int64 `json:"errors"`    // failed write requests, each retry counted
}

// Writer is the drivers.Sink that stores samples in InfluxDB.
//
// Put only queues in memory. Every FlushInterval, or as soon as BatchSize
// samples wait, the queue is encoded into a batch (gzipped line protocol)
// and appended to the spool on disk; a sender reads batches back in order
// and writes them to InfluxDB, retrying with back-off while InfluxDB is
// unreachable, slow or overloaded; while it does not answer at all it is
// probed every second, so that writes resume about a second after it is
// back, whatever the back-off. So an outage costs disk (up to MaxSpoolBytes,
// then the oldest batches go, but only once a write was tried and failed),
// and a crash costs at most the samples of the last flush interval, which
// had not reached the spool.
type Writer struct {
	cfg    Config
	token  string
	red    *redact.Redactor // the token, in InfluxDB's answers
	tags   func(device string) map[string]string
	logger *slog.Logger

	// Seams for tests: the write request, the probe (nil: never probe),
	// the back-off bounds and the probe period.
	post       func(ctx context.Context, body []byte) error
	probe      func(ctx context.Context) bool
	httpClient *http.Client
	minBackoff time.Duration
	maxBackoff time.Duration
	probeEvery time.Duration

	mu       sync.Mutex
	q        *queue
	encoding int // samples taken from q and not yet stored as a batch
	kick     chan struct{}
	ready    chan struct{} // a batch was stored
	running  atomic.Bool
	stopping atomic.Bool
	stopped  chan struct{} // closed when Run starts stopping
	nudge    chan struct{} // a full spool needs room: attempt now rather than wait out the back-off
	attempts attemptLog

	health map[string][]healthMark // the health last written per device and point; under mu

	spool *spool // nil without a spool directory
	mem   *memQueue
	enc   *encoder
	buf   []drivers.Sample

	accepted, written, skipped, errors, thinned atomic.Int64
	droppedBy                                   [numDropReasons]atomic.Int64
	errorsBy                                    [numErrorKinds]atomic.Int64
	lastWrite                                   atomic.Int64 // unix ns of the last acknowledged write
	lastErr                                     atomic.Pointer[string]
	failing                                     atomic.Int32 // errorKind+1 of the failure being retried, 0 when fine
	latency                                     prometheus.Histogram
	logLimits                                   sync.Map // what -> *atomic.Int64, unix ns last logged
}

var _ drivers.Sink = (*Writer)(nil)

// NewWriter checks cfg (after WithDefaults), reads the token file and opens
// the spool, reporting what an earlier run left in it; it does no I/O to
// InfluxDB.
func NewWriter(cfg Config, opts WriterOptions) (*Writer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		cfg:        cfg,
		token:      token,
		red:        redact.New(token),
		tags:       opts.Tags,
		logger:     logger,
		minBackoff: minBackoff,
		maxBackoff: maxBackoff,
		probeEvery: probeEvery,
		q:          newQueue(cfg.MaxBuffered, max(4*cfg.BatchSize, 1<<14)),
		kick:       make(chan struct{}, 1),
		ready:      make(chan struct{}, 1),
		stopped:    make(chan struct{}),
		nudge:      make(chan struct{}, 1),
		mem:        newMemQueue(cfg.MaxBuffered),
		enc:        newEncoder(),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "facilityd_store_batch_duration_seconds",
			Help:    "Time of one write request to InfluxDB, from sending a batch to its answer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
	}
	if opts.SpoolDir != "" {
		if w.spool, err = openSpool(opts.SpoolDir, cfg, logger); err != nil {
			return nil, err
		}
	}
	if opts.Registerer != nil {
		if err := w.register(opts.Registerer); err != nil {
			return nil, fmt.Errorf("influxdb: metrics: %w", err)
		}
	}
	return w, nil
}

// Put queues samples without touching the network or the disk. Samples that
// cannot be stored are skipped and counted (see WriterStats.Skipped); a zero
// Time is stamped with the current time. When the queue is full the oldest
// samples make room and are counted as dropped. Put keeps nothing of the
// slice.
func (w *Writer) Put(_ context.Context, samples []drivers.Sample) {
	var accepted, skipped, dropped, thinned int64
	var now time.Time
	var names checkedNames
	w.mu.Lock()
	for i := range samples {
		s := &samples[i]
		if !names.storable(s) {
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
		if s.Measurement == drivers.HealthMeasurement && !w.healthDue(s) {
			thinned++
			continue
		}
		if w.q.push(s) {
			dropped++
		}
		accepted++
	}
	full := w.q.len() >= w.cfg.BatchSize
	w.mu.Unlock()

	w.accepted.Add(accepted)
	if thinned > 0 {
		w.thinned.Add(thinned)
	}
	if skipped > 0 {
		w.skipped.Add(skipped)
	}
	if dropped > 0 {
		w.droppedBy[dropBufferFull].Add(dropped)
		w.logLimited("buffer", slog.LevelWarn, "influxdb buffer full: dropping oldest samples",
			"max_buffered", w.cfg.MaxBuffered, "dropped_total", w.droppedBy[dropBufferFull].Load())
	}
	if full {
		notify(w.kick)
	}
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// logLimited logs msg at most once per logEvery for each what.
func (w *Writer) logLimited(what string, level slog.Level, msg string, args ...any) {
	v, _ := w.logLimits.LoadOrStore(what, new(atomic.Int64))
	last := v.(*atomic.Int64)
	now := time.Now().UnixNano()
	prev := last.Load()
	if prev != 0 && now-prev < int64(logEvery) || !last.CompareAndSwap(prev, now) {
		return
	}
	w.logger.Log(context.Background(), level, msg, args...)
}

// Run batches, spools and sends until ctx is done. Then it stores what is
// queued in the spool, tries for a few seconds to deliver what waits, and
// returns nil; what is left stays in the spool for the next start (without a
// spool it is lost, and logged). Run may be called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("store: Writer.Run called twice")
	}
	if w.post == nil {
		post, probe, closeClient := w.connect()
		defer closeClient()
		w.post, w.probe = post, probe
	}
	spoolDir := ""
	if w.spool != nil {
		spoolDir = w.spool.dir
	}
	w.logger.Info("influxdb writer started", "config", w.cfg, "spool", spoolDir)

	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	sent := make(chan struct{})
	go func() { // owned: Run waits for sent below
		defer close(sent)
		w.sendLoop(sendCtx)
	}()
	w.batchLoop(ctx)

	w.stopping.Store(true)
	close(w.stopped)
	t := time.NewTimer(finalFlushTimeout)
	select {
	case <-sent:
		t.Stop()
	case <-t.C:
		cancelSend()
		<-sent
	}
	if w.spool != nil {
		w.spool.close()
	}
	if st := w.Stats(); st.Pending > 0 {
		if w.spool != nil {
			w.logger.Warn("influxdb writer stopped; samples wait in the spool for the next start",
				"pending", st.Pending, "spool", spoolDir)
		} else {
			w.logger.Error("influxdb writer stopped with samples not written", "pending", st.Pending)
		}
	}
	return nil
}

// batchLoop turns the queue into batches: full ones as soon as they are,
// and whatever waits every FlushInterval. When ctx is done it stores what
// is left and returns.
func (w *Writer) batchLoop(ctx context.Context) {
	flush := time.NewTicker(w.cfg.FlushInterval)
	defer flush.Stop()
	var fsync <-chan time.Time
	if w.spool != nil && w.cfg.Fsync == FsyncInterval {
		t := time.NewTicker(w.cfg.FsyncInterval)
		defer t.Stop()
		fsync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			w.batch(ctx, true)
			return
		case <-w.kick:
			w.batch(ctx, false)
		case <-flush.C:
			w.batch(ctx, true)
			if w.spool != nil {
				w.spool.saveAck()
			}
		case <-fsync:
			w.spool.sync()
		}
	}
}

// encodeChunk is how many samples batch takes from the queue at a time.
const encodeChunk = 512

// batch stores full batches while there are any, and with partial set also
// the rest of the queue.
func (w *Writer) batch(ctx context.Context, partial bool) {
	for {
		w.mu.Lock()
		n := w.q.len()
		if n == 0 || (n < w.cfg.BatchSize && !partial) {
			w.mu.Unlock()
			return
		}
		// The batch is taken and encoded a chunk at a time, so that the
		// samples between the queue and the line protocol take a chunk's
		// room, not a batch's (640 KB at the default batch size).
		w.enc.begin()
		for taken := 0; ; {
			w.buf = w.q.take(w.buf[:0], min(encodeChunk, w.cfg.BatchSize-taken))
			taken += len(w.buf)
			w.encoding = taken
			more := taken < w.cfg.BatchSize && w.q.len() > 0
			w.mu.Unlock()
			w.enc.add(w.buf, w.tags)
			clear(w.buf) // release the samples' strings
			if !more {
				break
			}
			w.mu.Lock()
		}
		rec := w.enc.finish()
		w.store(ctx, rec)
		w.mu.Lock()
		w.encoding = 0
		w.mu.Unlock()
		notify(w.ready)
		if n < w.cfg.BatchSize {
			partial = false
		}
	}
}

// store puts a batch in the spool, or in memory when there is no spool or
// the disk fails.
func (w *Writer) store(ctx context.Context, rec *record) {
	if w.spool != nil {
		w.makeRoom(ctx, rec)
		err := w.spool.append(rec)
		if err == nil {
			return
		}
		w.errorsBy[errSpool].Add(1)
		w.logLimited("spool", slog.LevelError, "spool write failed; keeping batches in memory meanwhile", "err", err)
	}
	w.mem.append(rec)
}

// sendLoop delivers batches in order until ctx is done, or, once Run is
// stopping, until none is left or InfluxDB fails.
func (w *Writer) sendLoop(ctx context.Context) {
	backoff := w.minBackoff
	for {
		rec, err := w.nextRecord()
		if err != nil {
			w.logLimited("spool-read", slog.LevelError, "spool read failed; retrying", "err", err)
			if !w.sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, w.maxBackoff)
			continue
		}
		backoff = w.minBackoff
		if rec == nil {
			if w.stopping.Load() {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-w.stopped: // look once more: the batcher's last batch
			case <-w.ready:
			}
			continue
		}
		if err := w.deliver(ctx, rec); err != nil {
			return
		}
		w.release(rec)
	}
}

func (w *Writer) nextRecord() (*record, error) {
	if w.spool != nil {
		if rec, err := w.spool.next(); rec != nil || err != nil {
			return rec, err
		}
	}
	return w.mem.next(), nil
}

func (w *Writer) release(rec *record) {
	if rec.seg != 0 {
		w.spool.ack(rec)
	} else {
		w.mem.ack(rec)
	}
}

// sleep waits d, and reports whether it did: it returns false at once when
// ctx is done or Run is stopping, since a batch that is waiting to be
// retried stays in the spool for the next start.
func (w *Writer) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.stopped:
		return false
	case <-t.C:
		return true
	}
}

// healthMark is what was last written of one health point of a device:
// 72 bytes in the device's slice, where a map of device and point to time
// and value took about 150 a point (1.7 MB at 1,000 meters of 5 health
// points, 0.4 MB now).
type healthMark struct {
	point string
	at    time.Time
	v     packedValue
}

// healthDue says whether a health sample goes to InfluxDB (see
// Config.HealthEvery) and, if so, notes it as written. Called under mu.
func (w *Writer) healthDue(s *drivers.Sample) bool {
	if w.health == nil {
		w.health = map[string][]healthMark{}
	}
	marks := w.health[s.Device]
	i := slices.IndexFunc(marks, func(m healthMark) bool { return m.point == s.Point })
	v := pack(s.Value)
	if i < 0 {
		w.health[s.Device] = append(marks, healthMark{point: s.Point, at: s.Time, v: v})
		return true
	}
	last := &marks[i]
	due := s.Time.Sub(last.at) >= w.cfg.HealthEvery || s.Time.Before(last.at) ||
		((s.Point == drivers.HealthUp || s.Point == drivers.HealthState) && v != last.v)
	if due {
		last.at, last.v = s.Time, v
	}
	return due
}
