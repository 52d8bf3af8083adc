// Package notify builds the notifiers of the configured receivers: one
// switch over the kinds, each kind in its own package (webhook, mqtt,
// email).
package notify

import (
	"errors"
	"fmt"

	"github.com/facilityd/facilityd/tickets"
	"github.com/facilityd/facilityd/tickets/notify/email"
	"github.com/facilityd/facilityd/tickets/notify/mqtt"
	"github.com/facilityd/facilityd/tickets/notify/webhook"
)

// New builds the notifier of one receiver; it reads secrets and does no
// other I/O.
func New(r tickets.Receiver) (tickets.Notifier, error) {
	switch {
	case r.Webhook != nil:
		return webhook.New(r.Name, *r.Webhook)
	case r.MQTT != nil:
		return mqtt.New(r.Name, *r.MQTT)
	case r.Email != nil:
		return email.New(r.Name, *r.Email)
	}
	return nil, fmt.Errorf("receiver %q: set one of webhook, mqtt or email", r.Name)
}

// Build builds every receiver's notifier, by name, and reports every
// receiver that fails.
func Build(receivers []tickets.Receiver) (map[string]tickets.Notifier, error) {
	out := map[string]tickets.Notifier{}
	var errs []error
	for _, r := range receivers {
		n, err := New(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("tickets: %w", err))
			continue
		}
		out[r.Name] = n
	}
	return out, errors.Join(errs...)
}
