package testenv

import (
	"context"
	"encoding/json"
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
)

// Page is a tab of a headless Chromium (see Chromium) that a browser test
// drives, collecting the problems its console reports: console.error and
// console.warn with their arguments, exceptions with their text and
// description (an Error's stack), and log entries at error or warning, such
// as a failed load, with their URL.
type Page struct {
	// T is the test that failures go to; a test that runs subtests on one
	// page sets it to the subtest's while it runs.
	T testing.TB
	// Ctx is the tab's chromedp context.
	Ctx context.Context
	// Dir is where Shot keeps the screenshots.
	Dir string
	// Expected, when set, drops the problems it is true for from every
	// Problems and NoProblems: those the test expects on every page.
	Expected func(problem string) bool

	mu       sync.Mutex
	problems []string
}

// NewPage starts Chromium for t and returns its tab, which ends after
// timeout or with the test; Shot keeps its screenshots in dir.
func NewPage(t testing.TB, timeout time.Duration, dir string) *Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(Chromium(t), timeout)
	t.Cleanup(cancel)
	return listen(&Page{T: t, Ctx: ctx, Dir: dir})
}

// NewTab opens another tab of p's browser, with p's test, Dir and Expected.
func (p *Page) NewTab() *Page {
	p.T.Helper()
	ctx, cancel := chromedp.NewContext(p.Ctx)
	p.T.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		p.T.Fatal(err)
	}
	return listen(&Page{T: p.T, Ctx: ctx, Dir: p.Dir, Expected: p.Expected})
}

// listen collects what p's tab says on its console.
func listen(p *Page) *Page {
	p.T.Helper()
	err := chromedp.Listen(p.Ctx, func(ev any) {
		var problem string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
				return
			}
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			problem = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
		case *runtime.EventExceptionThrown:
			problem = "exception: " + ExceptionText(ev.ExceptionDetails)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level != cdplog.EntryLevelError && ev.Entry.Level != cdplog.EntryLevelWarning {
				return
			}
			problem = "log: " + ev.Entry.Text + " " + ev.Entry.URL
		default:
			return
		}
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	})
	if err != nil {
		p.T.Fatal(err)
	}
	if _, err := chromedp.Call(p.Ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		p.T.Fatal(err)
	}
	return p
}

// ExceptionText is an exception's text and, for a thrown value, its
// description (an Error's message and stack).
func ExceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Text + " " + d.Exception.Description
	}
	return d.Text
}

// Run runs actions; a node that a redraw replaced between the query and
// the action is looked up again.
func (p *Page) Run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	for _, a := range actions {
		err := chromedp.Do(p.Ctx, a)
		for try := 0; err != nil && strings.Contains(err.Error(), "Could not find node") && try < 3; try++ {
			time.Sleep(200 * time.Millisecond)
			err = chromedp.Do(p.Ctx, a)
		}
		if err != nil {
			p.T.Fatalf("%s: %v", what, err)
		}
	}
}

// Eval evaluates expr on p for its value.
func Eval[T any](p *Page, expr string) T {
	p.T.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.T.Fatalf("%s: %v", expr, err)
	}
	return v
}

// Exec runs a script for its side effect.
func (p *Page) Exec(what, expr string) {
	p.T.Helper()
	if _, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](expr+"; true")); err != nil {
		p.T.Fatalf("%s: %v", what, err)
	}
}

// Wait polls expr until it is true, failing the test with the page's text
// after timeout (or at once when expr throws).
func (p *Page) Wait(what, expr string, timeout time.Duration) {
	p.T.Helper()
	if _, err := chromedp.Run(p.Ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		body, _ := chromedp.Run(p.Ctx, chromedp.Text("body"))
		p.T.Fatalf("%s: %v\npage: %.2500s", what, err, body)
	}
}

// OrFalse is expr as an expression that is false where expr throws (a node
// not drawn yet), for Wait.
func OrFalse(expr string) string {
	return "(() => { try { return !!(" + expr + ") } catch (e) { return false } })()"
}

// Shot keeps a screenshot of the whole page as Dir/name.png.
func (p *Page) Shot(name string) {
	p.T.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.T.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(p.Dir, name+".png"), png, 0o644); err != nil {
		p.T.Fatal(err)
	}
}

// Problems returns what the console reported since the last call, less
// what Expected drops, and forgets it.
func (p *Page) Problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, pr := range p.problems {
		if p.Expected == nil || !p.Expected(pr) {
			out = append(out, pr)
		}
	}
	p.problems = nil
	return out
}

// NoProblems fails the test with the console's problems since the last
// call (see Problems) but the log entries that contain one of expected,
// such as the failed load of a refusal the test asked for (a script's
// console.error or an exception is never expected).
func (p *Page) NoProblems(page string, expected ...string) {
	p.T.Helper()
	var bad []string
	for _, pr := range p.Problems() {
		ok := false
		for _, e := range expected {
			ok = ok || strings.HasPrefix(pr, "log: ") && strings.Contains(pr, e)
		}
		if !ok {
			bad = append(bad, pr)
		}
	}
	if len(bad) > 0 {
		p.T.Errorf("%s: console: %s", page, strings.Join(bad, "\n  "))
	}
}

// JSString quotes s as a JavaScript string literal.
func JSString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// ArtifactDir is where a test keeps its screenshots and logs which:
// $FACILITYD_ARTIFACTS/sub (sub may be empty) when that is set, else
// fallback, or a temporary directory of the test when fallback is empty.
func ArtifactDir(t testing.TB, sub, fallback string) string {
	t.Helper()
	dir := fallback
	if a := os.Getenv("FACILITYD_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, sub)
	}
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}
