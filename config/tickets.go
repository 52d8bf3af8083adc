package config

// validateTickets reports the tickets section's problems at their places.
func (c *Config) validateTickets() []error {
	var errs []error
	for _, p := range c.Tickets.Problems() {
		errs = append(errs, c.errAt(p.At, p.Field, "tickets: %s", p.Msg))
	}
	return errs
}
