// Package web serves the HTTP API, the dashboard, /metrics and /healthz.
package web

// Config is the http section of the config file.
type Config struct {
	Listen string `yaml:"listen"`
	// TokenFile holds the API token needed for anything that changes state.
	TokenFile string `yaml:"token_file"`
}
