package testenv

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestPostgres(t *testing.T) {
	p := StartPostgres(t)
	a, b := p.NewDatabase(t), p.NewDatabase(t)
	if a == b || !strings.HasPrefix(a, "postgres://postgres@127.0.0.1:") {
		t.Fatalf("databases %q and %q, want two URLs on loopback", a, b)
	}
	dial := func() error {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if dial() == nil {
		t.Fatal("server still listens after Stop")
	}
	p.Start(t)
	if err := dial(); err != nil {
		t.Fatalf("after Start: %v", err)
	}
}
