package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/facilityd/facilityd/drivers/mqtt"
	"github.com/facilityd/facilityd/drivers/mqtt/broker"
	mqttevents "github.com/facilityd/facilityd/events/mqtt"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/tickets"
)

// statusEvery is how often device statuses are compared and the changed
// ones published.
const statusEvery = 2 * time.Second

// startMQTTBroker runs the embedded broker for the whole run when the
// config has one, and waits until it listens so that the first
// generation's driver connects at once. A reload does not restart it.
func (a *app) startMQTTBroker(ctx context.Context, wg *sync.WaitGroup) error {
	cfg := a.current()
	if cfg.MQTT == nil || cfg.MQTT.Embedded == nil {
		return nil
	}
	b, err := broker.New(*cfg.MQTT.Embedded, a.log.With("component", "mqtt-broker"))
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	wg.Go(func() {
		err := b.Run(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("embedded mqtt broker stopped", "err", err)
		}
		errc <- err
	})
	select {
	case <-b.Ready():
		return nil
	case err := <-errc:
		return fmt.Errorf("embedded mqtt broker: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// mqttLink is the MQTT of one driver build: the input driver and the
// outbound events, which publish over the driver's connection.
type mqttLink struct {
	drv    *mqtt.Driver
	events *mqttevents.Publisher
}

// publishStatuses publishes the status of every device, Modbus and MQTT,
// whenever it changes (the publisher drops unchanged ones).
func (a *app) publishStatuses(ctx context.Context, m *mqttLink) {
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		a.mu.RLock()
		poller := a.poller
		a.mu.RUnlock()
		if poller != nil {
			for id, st := range poller.States() {
				m.events.PublishDeviceStatus(mqttevents.DeviceStatus{Device: id, Status: string(st.Status), Driver: "modbus", LastSeen: st.LastAnswer, LastError: st.LastError})
			}
		}
		for id, st := range m.drv.States() {
			m.events.PublishDeviceStatus(mqttevents.DeviceStatus{Device: id, Status: string(st.Status), Driver: "mqtt", LastSeen: st.LastMessage, LastError: st.LastError})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mqttLinked is the current generation's MQTT, or nil.
func (a *app) mqttLinked() *mqttLink {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.mqtt
}

func (a *app) setMQTT(m *mqttLink) {
	a.mu.Lock()
	a.mqtt = m
	a.mu.Unlock()
}

// mqttStates returns the status of every MQTT device by id, for the
// device view (web.go merges it with the poller's).
func (a *app) mqttStates() map[string]string {
	out := map[string]string{}
	if m := a.mqttLinked(); m != nil {
		for id, st := range m.drv.States() {
			out[id] = string(st.Status)
		}
	}
	return out
}

// publishTransitions sends alert transitions to publish.alerts; the alert
// handler calls it with every batch of transitions.
func (a *app) publishTransitions(ts []rules.Transition) {
	m := a.mqttLinked()
	if m == nil {
		return
	}
	for _, t := range ts {
		al := t.Alert
		state := t.To.String()
		if t.Resolved() {
			state = "resolved"
		}
		m.events.PublishAlert(mqttevents.AlertEvent{
			Fingerprint: al.Fingerprint, Rule: al.Rule, Device: al.Device, Type: al.Type, Location: al.Location,
			Severity: string(al.Severity), State: state, From: t.From.String(), At: t.At, ActiveAt: al.ActiveAt,
			Labels: al.Labels, Annotations: al.Annotations, Values: al.Values,
		})
	}
}

// publishTicket sends an automatic ticket event (opened, reopened,
// occurrence, alert_resolved) to publish.tickets, best effort. Every ticket
// event, people's actions included, with delivery guaranteed through the
// outbox, goes to a tickets receiver of kind mqtt.
func (a *app) publishTicket(tk tickets.Ticket, event string, at time.Time) {
	m := a.mqttLinked()
	if m == nil {
		return
	}
	m.events.PublishTicketEvent(mqttevents.TicketEvent{
		Event: event, ID: tk.ID, Key: tk.Key, Title: tk.Title, Device: tk.Device, Location: tk.Location,
		Category: tk.Category, Priority: tk.Priority, Status: string(tk.Status), Occurrences: tk.Occurrences, At: at,
	})
}
