// Package testenv starts the real services that integration tests need —
// InfluxDB 1.8 and Mosquitto — each on free loopback ports with a temporary
// data directory, and stops them when the test ends.
//
// A test that needs a service it cannot find skips with a hint on how to install
// it, except in CI (CI=true), where a missing service fails the test: CI must
// never pass by silently skipping what it is there to check.
package testenv

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
