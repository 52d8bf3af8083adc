package web

import (
	"context"
	"log/slog"
	"net"
	"os"
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

	b := testenv.NewPage(t, 30*time.Second, os.Getenv("FACILITYD_SCREENSHOTS"))
	wait := func(sel, want string) string {
		t.Helper()
		b.Wait(sel+" says "+want, `document.querySelector(`+testenv.JSString(sel)+`).textContent.includes(`+testenv.JSString(want)+`)`, 10*time.Second)
		got, _ := chromedp.Run(b.Ctx, chromedp.Text(sel))
		return got
	}
	stored := func() string { return testenv.Eval[string](b, `sessionStorage.getItem("facilityd-token") || ""`) }
	b.Run("open", chromedp.Navigate(url))
	wait("#token-state", "token needed")

	b.Run("wrong token", chromedp.SendKeys("#token", "wrong-token-0123456789"), chromedp.Click(`#token-form button:not([type=button])`))
	if msg := wait("#msg", "not accepted"); !strings.Contains(msg, "not kept") || stored() != "" {
		t.Errorf("wrong token: message %q, stored %q; want refused and not kept", msg, stored())
	}

	b.Run("viewer token", chromedp.SendKeys("#token", viewerToken), chromedp.Click(`#token-form button:not([type=button])`))
	if msg := wait("#msg", "wall-display"); !strings.Contains(msg, "viewer") || stored() != viewerToken {
		t.Errorf("viewer token: message %q, stored %q", msg, stored())
	}
	// with a token the page refreshes without an error
	if status := wait("#status", "devices"); strings.Contains(status, "not updated") {
		t.Errorf("status %q", status)
	}
	if b.Dir != "" {
		b.Shot("dashboard-token")
	}
}
