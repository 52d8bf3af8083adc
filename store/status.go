package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats returns the counters; safe to call at any time.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	pending := int64(w.q.len() + w.encoding)
	w.mu.Unlock()
	memPending, memDropped := w.mem.stats()
	st := WriterStats{
		Accepted: w.accepted.Load(),
		Written:  w.written.Load(),
		Pending:  pending + memPending,
		Skipped:  w.skipped.Load(),
		Thinned:  w.thinned.Load(),
		Errors:   w.errors.Load(),
		Dropped:  memDropped,
	}
	for i := range w.droppedBy {
		st.Dropped += w.droppedBy[i].Load()
	}
	if w.spool != nil {
		sp := w.spool.stats()
		st.Recovered = sp.Recovered
		st.Pending += sp.Pending
		st.Dropped += sp.DroppedFull + sp.DroppedCorrupt
	}
	return st
}

// WriterStatus is the writer's state for /healthz.
type WriterStatus struct {
	// State is "ok" when the last write succeeded or none failed yet,
	// "retrying" while InfluxDB is unreachable, slow or overloaded, and
	// "blocked" while it refuses the token, org or bucket (or answers with
	// a status no InfluxDB write gives).
	State     string           `json:"state"`
	LastWrite *time.Time       `json:"last_write,omitempty"`
	LastError string           `json:"last_error,omitempty"`
	Samples   WriterStats      `json:"samples"`
	DroppedBy map[string]int64 `json:"dropped_by_reason"`
	ErrorsBy  map[string]int64 `json:"errors_by_kind"`
	// Spool is nil when batches are kept in memory only.
	Spool *SpoolStats `json:"spool,omitempty"`
}

// Status returns the writer's state and counters.
func (w *Writer) Status() WriterStatus {
	st := WriterStatus{State: "ok", Samples: w.Stats(), DroppedBy: w.droppedByReason(), ErrorsBy: map[string]int64{}}
	switch k := w.failing.Load(); {
	case k == 0:
	case errorKind(k - 1).blocks():
		st.State = "blocked"
	default:
		st.State = "retrying"
	}
	if ns := w.lastWrite.Load(); ns != 0 {
		t := time.Unix(0, ns)
		st.LastWrite = &t
	}
	if e := w.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	for i, name := range errorKindNames {
		st.ErrorsBy[name] = w.errorsBy[i].Load()
	}
	if w.spool != nil {
		sp := w.spool.stats()
		st.Spool = &sp
	}
	return st
}

func (w *Writer) droppedByReason() map[string]int64 {
	out := make(map[string]int64, numDropReasons)
	for i, name := range dropReasonNames {
		out[name] = w.droppedBy[i].Load()
	}
	_, memDropped := w.mem.stats()
	out[dropReasonNames[dropBufferFull]] += memDropped
	if w.spool != nil {
		sp := w.spool.stats()
		out[dropReasonNames[dropSpoolFull]] += sp.DroppedFull
		out[dropReasonNames[dropCorrupt]] += sp.DroppedCorrupt
	}
	return out
}

// register adds the writer's metrics to reg. Counters are read from the
// writer when scraped, so /metrics and /healthz cannot disagree.
func (w *Writer) register(reg prometheus.Registerer) error {
	if err := reg.Register(w.latency); err != nil {
		return err
	}
	return reg.Register(writerCollector{w})
}

var (
	descIn        = prometheus.NewDesc("facilityd_store_samples_in_total", "Samples accepted for storage.", nil, nil)
	descRecovered = prometheus.NewDesc("facilityd_store_samples_recovered_total", "Samples found in the spool at start, left by an earlier run.", nil, nil)
	descOut       = prometheus.NewDesc("facilityd_store_samples_written_total", "Samples acknowledged by InfluxDB.", nil, nil)
	descSkipped   = prometheus.NewDesc("facilityd_store_samples_skipped_total", "Samples refused before queueing (bad quality, NaN, names line protocol cannot carry).", nil, nil)
	descDropped   = prometheus.NewDesc("facilityd_store_samples_dropped_total", "Samples lost, by reason.", []string{"reason"}, nil)
	descPending   = prometheus.NewDesc("facilityd_store_samples_pending", "Samples in memory or in the spool, not yet written.", nil, nil)
	descErrors    = prometheus.NewDesc("facilityd_store_influxdb_errors_total", "Failed writes to InfluxDB (each retry counted) and spool failures, by kind.", []string{"kind"}, nil)
	descUp        = prometheus.NewDesc("facilityd_store_influxdb_up", "1 unless the last write to InfluxDB failed.", nil, nil)
	descLastWrite = prometheus.NewDesc("facilityd_store_last_write_timestamp_seconds", "Time of the last write InfluxDB acknowledged.", nil, nil)
	descSpoolB    = prometheus.NewDesc("facilityd_store_spool_bytes", "Bytes in spool segments.", nil, nil)
	descSpoolSeg  = prometheus.NewDesc("facilityd_store_spool_segments", "Spool segment files.", nil, nil)
	descCorrupt   = prometheus.NewDesc("facilityd_store_spool_corrupt_records_total", "Damaged spool records or ranges skipped.", nil, nil)
	descCorruptB  = prometheus.NewDesc("facilityd_store_spool_corrupt_bytes_total", "Bytes of damaged spool records skipped.", nil, nil)
)

type writerCollector struct{ w *Writer }

func (c writerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIn, descRecovered, descOut, descSkipped, descDropped, descPending,
		descErrors, descUp, descLastWrite, descSpoolB, descSpoolSeg, descCorrupt, descCorruptB} {
		ch <- d
	}
}

func (c writerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.w.Status()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(descIn, st.Samples.Accepted)
	counter(descRecovered, st.Samples.Recovered)
	counter(descOut, st.Samples.Written)
	counter(descSkipped, st.Samples.Skipped)
	for reason, n := range st.DroppedBy {
		counter(descDropped, n, reason)
	}
	gauge(descPending, float64(st.Samples.Pending))
	for kind, n := range st.ErrorsBy {
		counter(descErrors, n, kind)
	}
	up := 1.0
	if st.State != "ok" {
		up = 0
	}
	gauge(descUp, up)
	if st.LastWrite != nil {
		gauge(descLastWrite, float64(st.LastWrite.UnixNano())/1e9)
	}
	if sp := st.Spool; sp != nil {
		gauge(descSpoolB, float64(sp.Bytes))
		gauge(descSpoolSeg, float64(sp.Segments))
		counter(descCorrupt, sp.CorruptRecords)
		counter(descCorruptB, sp.CorruptBytes)
	}
}
