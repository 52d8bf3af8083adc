package app

import (
	"net/http"

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
	return reg
}

// metricsHandler serves reg in Prometheus' text format.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
