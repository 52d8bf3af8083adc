package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s")
	os.WriteFile(f, []byte("  s3cret-value\r\n"), 0o600)
	empty := filepath.Join(dir, "e")
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("SECRET_TEST_ENV", "env-value\n")
	for _, tt := range []struct {
		file, env, want, err string
	}{
		{file: f, want: "s3cret-value"},
		{env: "SECRET_TEST_ENV", want: "env-value"},
		{file: f, env: "SECRET_TEST_ENV", want: "s3cret-value"},
		{file: empty, err: "is empty"},
		{file: filepath.Join(dir, "missing"), err: "no such file"},
		{env: "SECRET_TEST_UNSET_SURELY", err: "SECRET_TEST_UNSET_SURELY is unset or empty"},
		{},
	} {
		got, err := Read(tt.file, tt.env)
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Read(%q, %q) = %q, %v; want %q, %q", tt.file, tt.env, got, err, tt.want, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error reveals the secret: %v", err)
		}
	}
}

func TestCertPool(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, []byte("not a certificate"), 0o600)
	if _, err := CertPool(f); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CertPool of junk: %v", err)
	}
	if _, err := CertPool(f + ".missing"); err == nil {
		t.Error("CertPool of a missing file: no error")
	}
}
