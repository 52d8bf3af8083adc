package portfolio

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facilityd/facilityd/internal/testenv"
)

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
	runPage(t, s, "portfolio", func(b context.Context, check func(string, string)) {
		check("two sites, a first", `document.querySelectorAll("#sites tbody tr").length === 2 &&
			document.querySelector("#sites tbody tr").dataset.site === "tower-a"`)
		check("a's last month", `document.querySelector("#sites tbody tr").textContent.includes("2.88 kWh/m²")`)
		check("a's response met", `document.querySelector("#sites tbody tr").textContent.includes("75.0 %")`)
		check("b's name", `document.querySelectorAll("#sites tbody tr")[1].textContent.includes("大厦 B")`)
	})
}

// runPage serves s, opens its page in Chromium, proves that the console
// listener hears an error, then runs checks in en and zh-CN on a desktop
// and a phone, keeping a screenshot of each as PREFIX-LANG[-phone] in
// $FACILITYD_ARTIFACTS/portfolio, else testdata/artifacts (ignored by git).
func runPage(t *testing.T, s *Server, prefix string, checks func(b context.Context, check func(what, expr string))) {
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

	b := testenv.NewPage(t, 90*time.Second, testenv.ArtifactDir(t, "portfolio", filepath.Join("testdata", "artifacts")))
	check := func(what, expr string) {
		t.Helper()
		b.Wait(what, expr, 15*time.Second)
	}

	// The listener hears a console error: a page without problems then
	// means something.
	b.Run("probe", chromedp.Navigate("about:blank"))
	b.Exec("probe", `console.error("probe")`)
	deadline := time.Now().Add(5 * time.Second)
	for p := []string(nil); ; {
		p = append(p, b.Problems()...)
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
		b.Run("viewport", chromedp.EmulateViewport(c.w, c.h))
		b.Run("open "+c.shot, chromedp.Navigate(base+"?lang="+c.lang))
		want := map[string]string{"en": "Sites, ranked", "zh-CN": "按上月单位面积能耗"}[c.lang]
		check(c.shot+": labels", `document.querySelector("h2").textContent.includes(`+testenv.JSString(want)+`)`)
		checks(b.Ctx, check)
		if c.w < 500 { // a phone: the rows are cards, no wider than the screen
			check(c.shot+": fits", `document.documentElement.scrollWidth <= window.innerWidth + 1 &&
				getComputedStyle(document.querySelector("thead")).display === "none"`)
		}
		b.Shot(c.shot)
		b.NoProblems(c.shot)
	}
}
