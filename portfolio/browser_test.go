package portfolio

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/facilityd/facilityd/internal/testenv"
)

// artifacts is where screenshots go: $FACILITYD_ARTIFACTS/portfolio, else
// testdata/artifacts (ignored by git).
func artifacts(t *testing.T) string {
	dir := filepath.Join("testdata", "artifacts")
	if d := os.Getenv("FACILITYD_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, "portfolio")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPage loads the page in headless Chromium over the fake sites: the
// ranked rows with their figures, in English and Chinese, on a desktop and
// a phone, with nothing on the console; screenshots are kept.
func TestPage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	cfg := loadGood(t)
	now := time.Now().In(cfg.Zone)
	tk := &fakeTickets{counts: []SiteTickets{
		{Site: "tower-a", Open: map[string]int{"P1": 1, "P3": 2}, ResponseDue: 4, ResponseMet: 3, ResolutionDue: 2, ResolutionMet: 2, InspectionsOverdue: 1},
		{Site: "tower-b", Open: map[string]int{"P2": 5}, ResponseDue: 5, ResponseMet: 5},
	}}
	s, err := NewServer(cfg, Options{Energy: fakeEnergy(cfg, now), Tickets: tk}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	runPage(t, s, artifacts(t), "portfolio", func(b context.Context, check func(string, string)) {
		check("two sites, a first", `document.querySelectorAll("#sites tbody tr").length === 2 &&
			document.querySelector("#sites tbody tr").dataset.site === "tower-a"`)
		check("a's last month", `document.querySelector("#sites tbody tr").textContent.includes("2.88 kWh/m²")`)
		check("a's response met", `document.querySelector("#sites tbody tr").textContent.includes("75.0 %")`)
		check("b's name", `document.querySelectorAll("#sites tbody tr")[1].textContent.includes("大厦 B")`)
	})
}

// runPage serves s, opens its page in Chromium, proves that the console
// listener hears an error, then runs checks in en and zh-CN on a desktop
// and a phone, keeping a screenshot of each in dir as PREFIX-LANG[-phone].
func runPage(t *testing.T, s *Server, dir, prefix string, checks func(b context.Context, check func(what, expr string))) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String() + "/"

	b := testenv.Chromium(t)
	b, cancelB := context.WithTimeout(b, 90*time.Second)
	defer cancelB()
	var mu sync.Mutex
	var problems []string
	err = chromedp.Listen(b, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	check := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(b, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			body, _ := chromedp.Run(b, chromedp.Text("body"))
			t.Fatalf("%s: %v\npage: %.2000s", what, err, body)
		}
	}
	takeProblems := func() []string {
		mu.Lock()
		defer mu.Unlock()
		p := problems
		problems = nil
		return p
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// The listener hears a console error: a page without problems then
	// means something.
	do("probe", chromedp.Navigate("about:blank"))
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`console.error("probe"), true`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p := []string(nil); ; {
		p = append(p, takeProblems()...)
		if strings.Contains(strings.Join(p, "\n"), "probe") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the console listener did not hear console.error")
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, c := range []struct {
		lang, shot string
		w, h       int64
	}{
		{"en", prefix + "-en", 1280, 900},
		{"zh-CN", prefix + "-zh-CN", 1280, 900},
		{"zh-CN", prefix + "-zh-CN-phone", 390, 844},
		{"en", prefix + "-en-phone", 390, 844},
	} {
		do("viewport", chromedp.EmulateViewport(c.w, c.h))
		do("open "+c.shot, chromedp.Navigate(base+"?lang="+c.lang))
		want := map[string]string{"en": "Sites, ranked", "zh-CN": "按上月单位面积能耗"}[c.lang]
		check(c.shot+": labels", `document.querySelector("h2").textContent.includes(`+jsString(want)+`)`)
		checks(b, check)
		if c.w < 500 { // a phone: the rows are cards, no wider than the screen
			check(c.shot+": fits", `document.documentElement.scrollWidth <= window.innerWidth + 1 &&
				getComputedStyle(document.querySelector("thead")).display === "none"`)
		}
		shot(c.shot)
		if p := takeProblems(); len(p) > 0 {
			t.Errorf("%s: console: %s", c.shot, strings.Join(p, "\n  "))
		}
	}
}

func jsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
