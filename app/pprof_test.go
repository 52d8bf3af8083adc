package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/internal/testenv"
)

// TestPprof: off by default; with http.pprof on a loopback address the
// profiler answers there (and not on the API's port); a non-loopback
// address is a config error naming the field.
func TestPprof(t *testing.T) {
	dir := t.TempDir()
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	pprofAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	write := func(pprof string) string {
		path := filepath.Join(dir, "facilityd.yaml")
		text := fmt.Sprintf("site: t\nstate_dir: %q\ninfluxdb: {url: \"http://127.0.0.1:%d\", bucket: facility/autogen}\nhttp: {listen: %q%s}\n",
			filepath.Join(dir, "state"), testenv.FreePort(t), httpAddr, pprof)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if _, err := config.Load(write(", pprof: 0.0.0.0:6060")); err == nil || !strings.Contains(err.Error(), "http.pprof") || !strings.Contains(err.Error(), ":4:") {
		t.Fatalf("non-loopback pprof: %v", err)
	}
	cfg, err := config.Load(write(fmt.Sprintf(", pprof: %q", pprofAddr)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)}) }()
	defer func() { cancel(); <-done }()
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
	}
	if !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index: %q", body)
	}
	resp, err := http.Get("http://" + httpAddr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "goroutine") {
		t.Error("the API's port serves the profiler")
	}
}
