package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8086":                                       "http://127.0.0.1:8086",
		"http://u:hunter2@h:8086/x":                                   "http://u:xxxxx@h:8086/x",
		"tcp://user:s3cr%40t@broker:1883":                             "tcp://user:xxxxx@broker:1883",
		"postgres://fd:hunter2@db:5432/facilityd?sslmode=verify-full": "postgres://fd:xxxxx@db:5432/facilityd?sslmode=verify-full",
		"%zz://u:hunter2@h":                                           "xxxxx@h",
		"not a url":                                                   "not a url",
	} {
		got := URL(in)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "s3cr") {
			t.Errorf("URL(%q) = %q leaks the password", in, got)
		}
	}
}
