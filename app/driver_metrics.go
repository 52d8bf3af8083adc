package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
)

// driverCollector exports the drivers' own counters at scrape time: Modbus
// per gateway (a device's address), MQTT per device. Both label sets are
// bounded by the config, never by what arrives. Poll durations are a
// histogram observed as polls happen (modbusMetrics).
type driverCollector struct{ a *app }

var (
	modbusRequestsDesc = prometheus.NewDesc("facilityd_modbus_requests_total",
		"Modbus requests sent, retries included, per gateway.", []string{"gateway"}, nil)
	modbusErrorsDesc = prometheus.NewDesc("facilityd_modbus_errors_total",
		"Modbus requests that failed and points that did not decode, per gateway.", []string{"gateway"}, nil)
	modbusSkippedDesc = prometheus.NewDesc("facilityd_modbus_skipped_polls_total",
		"Poll ticks missed because the previous poll was still running, per gateway.", []string{"gateway"}, nil)
	modbusDevicesDesc = prometheus.NewDesc("facilityd_modbus_devices",
		"Modbus devices by gateway and status (unknown, online, degraded, offline).", []string{"gateway", "status"}, nil)
	mqttMessagesDesc = prometheus.NewDesc("facilityd_mqtt_messages_total",
		"MQTT messages received, per device.", []string{"device"}, nil)
	mqttMalformedDesc = prometheus.NewDesc("facilityd_mqtt_malformed_messages_total",
		"MQTT messages not stored: malformed, oversize or stamped outside the timestamp window, per device.", []string{"device"}, nil)
)

// Describe implements prometheus.Collector.
func (driverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{modbusRequestsDesc, modbusErrorsDesc, modbusSkippedDesc,
		modbusDevicesDesc, mqttMessagesDesc, mqttMalformedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c driverCollector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.a.current()
	if cfg == nil {
		return
	}
	c.a.mu.RLock()
	poller := c.a.poller
	c.a.mu.RUnlock()
	if poller != nil {
		gateway := map[string]string{}
		for _, d := range cfg.Devices {
			if d.Modbus != nil {
				gateway[d.ID] = d.Modbus.Address
			}
		}
		type agg struct {
			requests, errors, skipped int64
			status                    map[string]int
		}
		gws := map[string]*agg{}
		for id, st := range poller.States() {
			gw := gateway[id]
			g := gws[gw]
			if g == nil {
				g = &agg{status: map[string]int{"unknown": 0, "online": 0, "degraded": 0, "offline": 0}}
				gws[gw] = g
			}
			g.requests += st.Requests
			g.errors += st.Errors
			g.skipped += st.Skipped
			g.status[string(st.Status)]++
		}
		for gw, g := range gws {
			ch <- prometheus.MustNewConstMetric(modbusRequestsDesc, prometheus.CounterValue, float64(g.requests), gw)
			ch <- prometheus.MustNewConstMetric(modbusErrorsDesc, prometheus.CounterValue, float64(g.errors), gw)
			ch <- prometheus.MustNewConstMetric(modbusSkippedDesc, prometheus.CounterValue, float64(g.skipped), gw)
			for status, n := range g.status {
				ch <- prometheus.MustNewConstMetric(modbusDevicesDesc, prometheus.GaugeValue, float64(n), gw, status)
			}
		}
	}
	if m := c.a.mqttLinked(); m != nil {
		for id, st := range m.drv.States() {
			ch <- prometheus.MustNewConstMetric(mqttMessagesDesc, prometheus.CounterValue, float64(st.Messages), id)
			ch <- prometheus.MustNewConstMetric(mqttMalformedDesc, prometheus.CounterValue, float64(st.Errors), id)
		}
	}
}

// modbusMetrics hold what a scrape cannot rebuild from the poller's
// counters: the distribution of poll durations.
type modbusMetrics struct {
	pollDuration *prometheus.HistogramVec
}

// modbusPollBuckets span a fast gateway on the LAN (1 ms) to a slow serial
// line or a poll that ran into its timeout (5 s).
var modbusPollBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

func newModbusMetrics(reg prometheus.Registerer) modbusMetrics {
	m := modbusMetrics{pollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "facilityd_modbus_poll_duration_seconds",
		Help:    "How long each answered poll of one device took (all its read requests), per gateway.",
		Buckets: modbusPollBuckets,
	}, []string{"gateway"})}
	reg.MustRegister(m.pollDuration)
	return m
}

// observing returns a sink that passes every sample on to next and records,
// per gateway, the duration of every answered poll of devs: the poller
// reports it as the drivers.HealthLatency sample of each poll, in
// milliseconds. Other devices' latency samples (MQTT's are message delays)
// are not Modbus polls and are left out.
func (m modbusMetrics) observing(devs []modbus.Device, next drivers.Sink) drivers.Sink {
	if m.pollDuration == nil {
		return next
	}
	byDevice := make(map[string]prometheus.Observer, len(devs))
	for _, d := range devs {
		byDevice[d.ID] = m.pollDuration.WithLabelValues(d.Config.Address)
	}
	return drivers.SinkFunc(func(ctx context.Context, samples []drivers.Sample) {
		for i := range samples {
			s := &samples[i]
			if s.Measurement != drivers.HealthMeasurement || s.Point != drivers.HealthLatency {
				continue
			}
			if o := byDevice[s.Device]; o != nil {
				o.Observe(s.Value.Float64() / 1000)
			}
		}
		next.Put(ctx, samples)
	})
}

// ruleMetrics count rule evaluations as Prometheus counts its own
// (prometheus_rule_evaluations_total, _duration_seconds).
type ruleMetrics struct {
	evaluations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
}

func newRuleMetrics(reg prometheus.Registerer) ruleMetrics {
	m := ruleMetrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "facilityd_rule_evaluations_total",
			Help: "Evaluations of the rules: on samples (a device's poll or message) and on the clock (timers, staleness)."}, []string{"trigger"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "facilityd_rule_evaluation_duration_seconds",
			Help:    "How long one evaluation of the rules took.",
			Buckets: []float64{0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5}}, []string{"trigger"}),
	}
	reg.MustRegister(m.evaluations, m.duration)
	return m
}

// observe records one evaluation that started at start.
func (m ruleMetrics) observe(trigger string, start time.Time) {
	if m.evaluations == nil {
		return
	}
	m.evaluations.WithLabelValues(trigger).Inc()
	m.duration.WithLabelValues(trigger).Observe(time.Since(start).Seconds())
}
