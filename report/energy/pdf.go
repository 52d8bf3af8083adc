package energy

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"os"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// FindChromium returns the Chromium to print with: $FACILITYD_CHROMIUM,
// else /usr/bin/chromium, or an error saying how to get one.
func FindChromium() (string, error) {
	bin := "/usr/bin/chromium"
	if p := os.Getenv("FACILITYD_CHROMIUM"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("pdf: no Chromium at %s: PDF is printed by headless Chromium; install it (apt-get install chromium) or set FACILITYD_CHROMIUM to its path, or choose --format html", bin)
	}
	return bin, nil
}

// NewChromium starts a headless Chromium at bin and returns its browser
// context; cancel stops it.
func NewChromium(ctx context.Context, bin string) (context.Context, context.CancelFunc, error) {
	dir, err := os.MkdirTemp("", "facilityd-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(dir))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	cancel := func() { cancelCtx(); cancelAlloc(); os.RemoveAll(dir) }
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("pdf: start %s: %w", bin, err)
	}
	return bctx, cancel, nil
}

// Footer is the page footer Chromium prints on every page: the report and
// "page N of M".
func (r *Report) Footer() string {
	label := r.T("title") + " " + r.Period.Name
	if r.Site != "" {
		label = r.Site + " · " + label
	}
	return `<div style="font: 8px sans-serif; width: 100%; text-align: center; color: #555;">` +
		r.Tf("footer", html.EscapeString(label), `<span class="pageNumber"></span>`, `<span class="totalPages"></span>`) + `</div>`
}

// WritePDF renders the report to HTML and prints it to PDF in the browser
// of browser (a chromedp context, see NewChromium), A4 with the page
// numbers in the footer.
func (r *Report) WritePDF(browser context.Context, w interface{ Write([]byte) (int, error) }) error {
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		return err
	}
	pdf, err := PrintPDF(browser, buf.String(), r.Footer())
	if err != nil {
		return err
	}
	_, err = w.Write(pdf)
	return err
}

// PrintPDF loads doc into a new tab of browser and prints it on A4 with
// footer as the page footer template.
func PrintPDF(browser context.Context, doc, footer string) ([]byte, error) {
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		return nil, fmt.Errorf("pdf: open a tab: %w", err)
	}
	step, cancelT := context.WithTimeout(tab, 2*time.Minute)
	defer cancelT()
	tree, err := chromedp.Call(step, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	if _, err := chromedp.Call(step, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: doc}); err != nil {
		return nil, fmt.Errorf("pdf: load the report: %w", err)
	}
	pdf, err := chromedp.Run(step, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFPreferCSSPageSize(),
		chromedp.PDFPrintBackground(),
		chromedp.PDFHeaderTemplate(`<span></span>`),
		chromedp.PDFFooterTemplate(footer),
	))
	if err != nil {
		return nil, fmt.Errorf("pdf: print in chromium: %w", err)
	}
	return pdf, nil
}
