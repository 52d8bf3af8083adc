package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestStateDirLock refuses a second daemon on a state dir in use, and lets
// one start again once the first has stopped.
func TestStateDirLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "facilityd.yaml")
	text := fmt.Sprintf("site: lock\nstate_dir: %q\ninfluxdb: {url: \"http://127.0.0.1:%d\", bucket: facility/autogen}\n",
		filepath.Join(dir, "state"), testenv.FreePort(t))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, app.Options{}) }()
	lock := filepath.Join(dir, "state", "facilityd.lock")
	deadline := time.Now().Add(10 * time.Second)
	for { // the first daemon holds the lock once it has written its pid
		if b, _ := os.ReadFile(lock); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first daemon did not take the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	err = app.Run(second, cfg, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by another facilityd") {
		t.Fatalf("second daemon on the same state dir: err %v, want refused", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first daemon: %v", err)
	}
	third, cancel3 := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel3() }()
	if err := app.Run(third, cfg, app.Options{}); err != nil {
		t.Fatalf("daemon after the first stopped: %v", err)
	}
}
