//go:build !unix

package app

// lockStateDir does nothing where flock is not available.
func lockStateDir(string) (func(), error) { return func() {}, nil }
