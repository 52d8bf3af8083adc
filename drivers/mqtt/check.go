package mqtt

import "fmt"

// Check reports what is wrong with a Config that had its defaults applied:
// the connection's keys, the driver's and the publish section's; it does no
// I/O. Messages name the key and say what to write instead.
func (c *Config) Check() []error {
	errs := c.Config.Check()
	if c.HealthInterval <= 0 {
		errs = append(errs, fmt.Errorf("health_interval %s must be positive", c.HealthInterval))
	}
	if c.MaxPayload <= 0 {
		errs = append(errs, fmt.Errorf("max_payload %d must be positive (bytes)", c.MaxPayload))
	}
	return append(errs, c.Publish.Check()...)
}
