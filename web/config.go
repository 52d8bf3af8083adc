// Package web serves the HTTP API, the dashboard, /metrics and /healthz.
package web

// Config is the http section of the config file.
type Config struct {
	Listen string `yaml:"listen"`
	// Tokens may use the API; anything that changes state needs one.
	Tokens []Token `yaml:"tokens"`
}
