package config

import (
	"errors"
	"io/fs"
	"os"

	"github.com/facilityd/facilityd/internal/secret"
)

// CheckSecrets reads every secret the config names — HTTP tokens, the
// InfluxDB token file, receivers' secrets and passwords — as run would, and
// reports each that is missing, unreadable or too short at the place it is
// configured. Secrets are read, never returned or printed.
func (c *Config) CheckSecrets() []error {
	var errs []error
	for i := range c.HTTP.Tokens {
		t := &c.HTTP.Tokens[i]
		if _, err := os.Stat(t.File); t.Generate && t.File != "" && errors.Is(err, fs.ErrNotExist) {
			continue // run creates it
		}
		if _, err := t.Secret(); err != nil {
			errs = append(errs, c.errAt(t, "", "%v", err))
		}
	}
	if err := c.InfluxDB.CheckToken(); err != nil {
		errs = append(errs, c.errAt(&c.InfluxDB, "token_file", "%v", err))
	}
	for i := range c.Tickets.Receivers {
		r := &c.Tickets.Receivers[i]
		check := func(at any, field, file, env string) {
			if _, err := secret.Read(file, env); err != nil {
				errs = append(errs, c.errAt(at, field+"_file", "receiver %q: %s: %v", r.Name, field, err))
			}
		}
		if w := r.Webhook; w != nil {
			check(w, "secret", w.SecretFile, w.SecretEnv)
		}
		if m := r.MQTT; m != nil {
			check(m, "password", m.PasswordFile, m.PasswordEnv)
		}
		if e := r.Email; e != nil {
			check(e, "password", e.PasswordFile, e.PasswordEnv)
		}
	}
	return errs
}
