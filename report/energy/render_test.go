package energy

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/facilityd/facilityd/internal/testenv"
)

// artifact writes a rendered report where FACILITYD_ARTIFACTS points (kept
// for a reader to look at), or into the test's temporary directory.
func artifact(t *testing.T, name string, data []byte) string {
	t.Helper()
	dir := os.Getenv("FACILITYD_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHTML(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			r := monthReport(t, lang)
			var buf bytes.Buffer
			if err := r.WriteHTML(&buf); err != nil {
				t.Fatal(err)
			}
			h := buf.String()
			artifact(t, "energy-2026-11-"+lang+".html", buf.Bytes())
			for _, bad := range []string{"<script", "<link", "src=", "url(", "http://", "https://"} {
				if bad == "http://" && strings.Count(h, "http://") == strings.Count(h, `xmlns="http://www.w3.org/2000/svg"`) {
					continue
				}
				if strings.Contains(h, bad) {
					t.Errorf("the page has %q: it must be self-contained", bad)
				}
			}
			if n := strings.Count(h, "<svg"); n != 5 {
				t.Errorf("%d charts, want 5 (daily, CUSUM of each category, profile)", n)
			}
			want := []string{"@page { size: A4", r.Num(meterOf(t, r, "main").Cost, 2), "#41"}
			if lang == "zh-CN" {
				want = append(want, "能耗报告", "空调", "峰", "谷", "同比与环比", "处理中")
			} else {
				want = append(want, "Energy report", "Air conditioning", "Valley", "Normalized")
			}
			for _, w := range want {
				if !strings.Contains(h, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
		})
	}
}

func TestMessagesComplete(t *testing.T) {
	for k := range messages["en"] {
		if _, ok := messages["zh-CN"][k]; !ok {
			t.Errorf("zh-CN lacks %q", k)
		}
	}
	for k := range messages["zh-CN"] {
		if _, ok := messages["en"][k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
}

func TestCSV(t *testing.T) {
	r := monthReport(t, "en")
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Fatal("no UTF-8 byte-order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != 1+4*30 {
		t.Errorf("%d rows, want a header and 4 meters × 30 days", len(rows))
	}
	sums := map[string][2]float64{}
	for _, row := range rows[1:] {
		start, err1 := time.Parse(time.RFC3339, row[2])
		end, err2 := time.Parse(time.RFC3339, row[3])
		q, err3 := strconv.ParseFloat(row[4], 64)
		c, err4 := strconv.ParseFloat(row[6], 64)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || end.Sub(start) != 24*time.Hour || row[7] != "CNY" {
			t.Fatalf("bad row %v", row)
		}
		s := sums[row[0]]
		sums[row[0]] = [2]float64{s[0] + q, s[1] + c}
	}
	for _, m := range r.Meters {
		if s := sums[m.Meter]; math.Abs(s[0]-m.Quantity) > 1e-6 || math.Abs(s[1]-m.EnergyCost) > 1e-6 {
			t.Errorf("meter %s: CSV sums to %.4f %s, %.4f CNY; the report says %.4f, %.4f", m.Meter, s[0], m.Unit, s[1], m.Quantity, m.EnergyCost)
		}
	}
}

func TestXLSX(t *testing.T) {
	r := monthReport(t, "en")
	var buf bytes.Buffer
	if err := r.WriteXLSX(&buf); err != nil {
		t.Fatal(err)
	}
	artifact(t, "energy-2026-11.xlsx", buf.Bytes())
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	for _, want := range []string{"Summary", "Meters", "Daily consumption", "Time-of-use bands", "Comparison", "Baseline vs actual", "Data quality"} {
		if !strings.Contains(strings.Join(sheets, "|"), want) {
			t.Errorf("sheets %v lack %q", sheets, want)
		}
	}
	// Meters: numbers in G (quantity) and K (cost), SUMIF totals.
	rows, _ := f.GetRows("Meters")
	if !strings.Contains(rows[0][6], "Quantity") || !strings.Contains(rows[0][10], "(CNY)") {
		t.Errorf("meters header %v: want units", rows[0])
	}
	typ, _ := f.GetCellType("Meters", "K2")
	if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("K2 is of type %v, want a number", typ)
	}
	v, _ := f.GetCellValue("Meters", "K2", excelize.Options{RawCellValue: true})
	if got, err := strconv.ParseFloat(v, 64); err != nil || math.Abs(got-r.Meters[0].Cost) > 1e-6 {
		t.Errorf("K2 = %q, want %.6f", v, r.Meters[0].Cost)
	}
	last := len(rows)
	if fm, _ := f.GetCellFormula("Meters", "K"+strconv.Itoa(last)); !strings.HasPrefix(fm, "SUMIF(") {
		t.Errorf("the meters' total is %q, want a SUMIF formula", fm)
	}
	if fm, _ := f.GetCellFormula("Daily consumption", "B32"); fm != "SUM(B2:B31)" {
		t.Errorf("the daily total is %q, want SUM(B2:B31)", fm)
	}
	// The total formula gives the figure the report has.
	got, err := f.CalcCellValue("Meters", "K"+strconv.Itoa(last), excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	billed := 0.0
	for _, c := range r.Categories {
		billed += c.Cost
	}
	if g, _ := strconv.ParseFloat(got, 64); math.Abs(g-billed) > 0.01 {
		t.Errorf("the meters' total computes to %s, want %.2f", got, billed)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	charts := 0
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			charts++
		}
	}
	if charts != 1 {
		t.Errorf("%d charts in the workbook, want 1", charts)
	}
}

var rePage = regexp.MustCompile(`/Type\s*/Page[^s]`)

// TestPDFAndScreenshot prints the report in headless Chromium, checks the
// PDF's pages and footer, and takes a screenshot of the page.
func TestPDFAndScreenshot(t *testing.T) {
	b := testenv.Chromium(t)
	for _, lang := range Languages {
		r := monthReport(t, lang)
		var pdf bytes.Buffer
		if err := r.WritePDF(b, &pdf); err != nil {
			t.Fatal(err)
		}
		p := artifact(t, "energy-2026-11-"+lang+".pdf", pdf.Bytes())
		if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
			t.Fatalf("%s: not a PDF", lang)
		}
		pages := len(rePage.FindAll(pdf.Bytes(), -1))
		if pages < 2 || pages > 12 {
			t.Errorf("%s: %d pages, want a few", lang, pages)
		}
		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Logf("pdftotext (poppler-utils) not installed: the footer's text is not checked")
		} else {
			out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			want := "page 1 of " + strconv.Itoa(pages)
			if lang == "zh-CN" {
				want = "第 1 页，共 " + strconv.Itoa(pages) + " 页"
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: the PDF's text lacks the footer %q", lang, want)
			}
		}
		t.Logf("%s: %d pages, %d bytes", lang, pages, pdf.Len())

		var html bytes.Buffer
		if err := r.WriteHTML(&html); err != nil {
			t.Fatal(err)
		}
		tab, cancel := chromedp.NewContext(b)
		if err := chromedp.Do(tab, chromedp.EmulateViewport(820, 1100), chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		tree, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
		if err == nil {
			_, err = chromedp.Call(tab, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: html.String()})
		}
		if err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		artifact(t, "energy-2026-11-"+lang+".png", png)
	}
}
