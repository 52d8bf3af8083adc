package web

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewAuth(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("file-secret-0123456789\n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("short-secret\n"), 0o600)
	a, err := NewAuth([]Token{{Name: "ana", Role: "admin", File: good}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer file-secret-0123456789")
	if p, ok := a.authenticate(req); !ok || p.name != "ana" || p.role != RoleAdmin {
		t.Fatalf("authenticate: %+v %v", p, ok)
	}
	req.Header.Set("Authorization", "Basic file-secret-0123456789")
	if _, ok := a.authenticate(req); ok {
		t.Fatal("a Basic header authenticated")
	}
	for _, tt := range []struct {
		tok  Token
		want string
	}{
		{Token{Name: "bob", Role: "operator", File: short}, `http token "bob": secret missing or shorter than 16`},
		{Token{Name: "bob", Role: "operator"}, `http token "bob": secret missing`},
		{Token{Name: "bob", Role: "root", File: good}, `unknown role "root"`},
		{Token{Name: "bob", Role: "viewer", File: filepath.Join(dir, "missing")}, "no such file"},
	} {
		_, err := NewAuth([]Token{tt.tok})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want %q", tt.tok, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), "file-secret")) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}
