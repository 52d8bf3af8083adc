// Package secret reads the secrets facilityd is configured with — from a
// file or an environment variable, never from the config text — and the
// CA certificates of TLS connections, the same way everywhere: surrounding
// whitespace (the newline an editor or echo leaves) is not part of a
// secret, an empty one is an error, and errors name the file or variable,
// never the content.
package secret

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// Read returns the secret in file, or else in the environment variable env;
// "" and no error when neither is set.
func Read(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("secret file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("secret file %s is empty", file)
		}
		return s, nil
	case env != "":
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return "", fmt.Errorf("environment variable %s is unset or empty", env)
		}
		return s, nil
	}
	return "", nil
}

// CertPool reads the PEM certificates of a CA file.
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
