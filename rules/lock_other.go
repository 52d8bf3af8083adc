//go:build !unix

package rules

// lockFile does not lock where flock is missing: the daemon and the CLI
// should then not change silences at the same moment.
func lockFile(string) (func(), error) { return func() {}, nil }
