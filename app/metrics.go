package app

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry makes the registry of the daemon's self metrics. It is the
// app's own, never Prometheus' global default, and is handed to the parts
// that export metrics (store.WriterOptions.Registerer) and to /metrics.
func newRegistry(a *app) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "facilityd_live_series",
			Help: "Device points held in live state.",
		}, func() float64 { return float64(a.live.Stats().Series) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "facilityd_live_refused_samples_total",
			Help: "Samples not kept in live state because it holds its maximum of series.",
		}, func() float64 { return float64(a.live.Stats().Refused) }),
	)
	now := time.Now
	if a.now != nil {
		now = a.now
	}
	a.reloadMetrics = newReloadMetrics(reg, now())
	a.ingestMetrics.ruleDrops = prometheus.NewCounter(prometheus.CounterOpts{Name: "facilityd_rule_queue_dropped_samples_total",
		Help: "Samples the rules skipped because their queue was full (storage still has them)."})
	reg.MustRegister(a.ingestMetrics.ruleDrops)
	reg.MustRegister(driverCollector{a},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "facilityd_energy_rollup_through_seconds",
			Help: "The settled end of the energy rollup's last cycle, as a Unix time (0 before the first)."},
			func() float64 { return float64(a.rollup.through.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "facilityd_energy_rollup_rerolled_days_total",
			Help: "Days of a meter rolled up again because their readings changed after the roll (late readings, a replayed spool)."},
			func() float64 { return float64(a.rollup.rerolled.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "facilityd_energy_rollup_errors_total",
			Help: "Energy rollup cycles that failed (InfluxDB unreachable or refusing the query)."},
			func() float64 { return float64(a.rollup.errors.Load()) }))
	a.modbusMetrics = newModbusMetrics(reg)
	a.ruleMetrics = newRuleMetrics(reg)
	return reg
}

// reloadMetrics are vmalert's and Prometheus' reload gauges.
type reloadMetrics struct {
	ok      prometheus.Gauge
	at      prometheus.Gauge
	reloads *prometheus.CounterVec
}

func newReloadMetrics(reg prometheus.Registerer, now time.Time) reloadMetrics {
	m := reloadMetrics{
		ok: prometheus.NewGauge(prometheus.GaugeOpts{Name: "facilityd_config_last_reload_successful",
			Help: "Whether the last config reload succeeded (1) or kept the running config (0)."}),
		at: prometheus.NewGauge(prometheus.GaugeOpts{Name: "facilityd_config_last_reload_success_timestamp_seconds",
			Help: "When the config was last loaded successfully (at start or on reload), as a Unix time."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "facilityd_config_reloads_total",
			Help: "Config reloads by result (success, failure)."}, []string{"result"}),
	}
	reg.MustRegister(m.ok, m.at, m.reloads)
	m.ok.Set(1)
	m.at.Set(float64(now.Unix()))
	return m
}

func (m reloadMetrics) record(ok bool, now time.Time) {
	if m.ok == nil {
		return
	}
	if ok {
		m.ok.Set(1)
		m.at.Set(float64(now.Unix()))
		m.reloads.WithLabelValues("success").Inc()
		return
	}
	m.ok.Set(0)
	m.reloads.WithLabelValues("failure").Inc()
}

// metricsHandler serves reg in Prometheus' text format.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
