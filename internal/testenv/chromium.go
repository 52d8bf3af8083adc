package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumBin is Debian's Chromium.
const chromiumBin = "/usr/bin/chromium"

// Chromium starts a headless Chromium for t (FACILITYD_CHROMIUM overrides
// the binary) and returns a browser context that ends with the test. A
// missing browser skips the test, or fails it when CI=true.
func Chromium(t testing.TB) context.Context {
	t.Helper()
	bin := chromiumBin
	if p := os.Getenv("FACILITYD_CHROMIUM"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: chromium not found at %s (CI=true, so this fails instead of skipping): apt-get install -y chromium", bin)
		}
		t.Skipf("testenv: chromium not found at %s: apt-get install -y chromium", bin)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("testenv: start chromium: %v", err)
	}
	return ctx
}
