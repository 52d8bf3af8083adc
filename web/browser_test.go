package web

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facilityd/facilityd/internal/testenv"
)

// TestDashboardTokenInBrowser drives the dashboard in headless Chromium
// against a server whose reads need a token: the page asks for one, a wrong
// token is refused when entered and not kept, a viewer's is accepted and
// named.
func TestDashboardTokenInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	srv, _ := ticketServer(t)
	s := New(Deps{Status: dashStatus{}, Tickets: srv.Tickets, Silences: dashSilences{}, Auth: testAuth(t), Read: ReadToken},
		slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, ln)
	url := "http://" + ln.Addr().String() + "/"

	b := testenv.Chromium(t)
	b, cancelB := context.WithTimeout(b, 30*time.Second)
	defer cancelB()
	wait := func(sel, want string) string {
		t.Helper()
		expr := `document.querySelector(` + quote(sel) + `).textContent.includes(` + quote(want) + `)`
		if _, err := chromedp.Run(b, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			got, _ := chromedp.Run(b, chromedp.Text(sel))
			t.Fatalf("%s never said %q (it says %q): %v", sel, want, got, err)
		}
		got, _ := chromedp.Run(b, chromedp.Text(sel))
		return got
	}
	stored := func() string {
		v, err := chromedp.Run(b, chromedp.Evaluate[string](`sessionStorage.getItem("facilityd-token") || ""`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := chromedp.Do(b, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	wait("#token-state", "token needed")

	if err := chromedp.Do(b, chromedp.SendKeys("#token", "wrong-token-0123456789"), chromedp.Click(`#token-form button:not([type=button])`)); err != nil {
		t.Fatal(err)
	}
	if msg := wait("#msg", "not accepted"); !strings.Contains(msg, "not kept") || stored() != "" {
		t.Errorf("wrong token: message %q, stored %q; want refused and not kept", msg, stored())
	}

	if err := chromedp.Do(b, chromedp.SendKeys("#token", viewerToken), chromedp.Click(`#token-form button:not([type=button])`)); err != nil {
		t.Fatal(err)
	}
	if msg := wait("#msg", "wall-display"); !strings.Contains(msg, "viewer") || stored() != viewerToken {
		t.Errorf("viewer token: message %q, stored %q", msg, stored())
	}
	// with a token the page refreshes without an error
	if status := wait("#status", "devices"); strings.Contains(status, "not updated") {
		t.Errorf("status %q", status)
	}
	if dir := os.Getenv("FACILITYD_SCREENSHOTS"); dir != "" {
		if shot, err := chromedp.Run(b, chromedp.FullScreenshot(100)); err == nil {
			os.WriteFile(filepath.Join(dir, "dashboard-token.png"), shot, 0o644)
		}
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
