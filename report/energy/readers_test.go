package energy

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/facilityd/facilityd/internal/testenv"
)

// systemPython is Debian's, with python3-openpyxl: not a pyenv python3
// that may come first in PATH.
const systemPython = "/usr/bin/python3"

// openpyxlMeters reads the Meters sheet of the workbook at p with openpyxl,
// an independent reader: for each row, the meter and its numeric cells
// (quantity, energy, fixed, demand and total cost), and the formula of the
// total row.
const openpyxlMeters = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb[sys.argv[2]]
rows = []
for row in ws.iter_rows(min_row=2):
    vals = [c.value for c in row]
    rows.append({"meter": vals[0], "nums": [v if isinstance(v, (int, float)) else None for v in vals[6:11]],
                 "cells": [str(v) if v is not None else "" for v in vals[6:11]]})
print(json.dumps({"sheets": wb.sheetnames, "rows": rows}))
`

// TestXLSXOpenpyxl: the workbook read back by openpyxl has, per meter, the
// numbers of the report (the ones the HTML and CSV print), as numeric
// cells, and the total as a formula.
func TestXLSXOpenpyxl(t *testing.T) {
	if _, err := os.Stat(systemPython); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: install python3-openpyxl", systemPython)
		}
		t.Skip("no " + systemPython)
	}
	r := monthReport(t, "en")
	var buf bytes.Buffer
	if err := r.WriteXLSX(&buf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r.xlsx")
	os.WriteFile(p, buf.Bytes(), 0o644)
	out, err := exec.Command(systemPython, "-c", openpyxlMeters, p, r.T("meters")).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, out)
	}
	var got struct {
		Sheets []string
		Rows   []struct {
			Meter any
			Nums  []*float64
			Cells []string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Rows) != len(r.Meters)+1 {
		t.Fatalf("openpyxl read %d rows on the meters sheet, want %d meters and the total", len(got.Rows), len(r.Meters))
	}
	var csvBuf bytes.Buffer
	if err := r.WriteCSV(&csvBuf); err != nil {
		t.Fatal(err)
	}
	for i, m := range r.Meters {
		row := got.Rows[i]
		if row.Meter != m.Meter {
			t.Errorf("row %d: meter %v, want %s", i+2, row.Meter, m.Meter)
		}
		for j, want := range []float64{m.Quantity, m.EnergyCost, m.FixedCost, m.DemandCost, m.Cost} {
			if row.Nums[j] == nil || math.Abs(*row.Nums[j]-want) > 1e-6 {
				t.Errorf("%s column %d: %q, want the number %.6f", m.Meter, 7+j, row.Cells[j], want)
			}
		}
	}
	total := got.Rows[len(r.Meters)]
	if !strings.HasPrefix(total.Cells[4], "=SUMIF(") {
		t.Errorf("total %v: want a SUMIF formula", total.Cells)
	}
	// The CSV's quantities sum per meter to the same figures.
	sums := map[string]float64{}
	lines := strings.Split(strings.TrimPrefix(csvBuf.String(), "\ufeff"), "\n")
	header := strings.Split(strings.TrimSpace(lines[0]), ",")
	qcol := -1
	for i, h := range header {
		if strings.HasPrefix(h, "quantity") {
			qcol = i
		}
	}
	if qcol < 0 {
		t.Fatalf("CSV header %v has no quantity", header)
	}
	for _, l := range lines[1:] {
		f := strings.Split(strings.TrimSpace(l), ",")
		if len(f) <= qcol {
			continue
		}
		v, _ := strconv.ParseFloat(f[qcol], 64)
		sums[f[0]] += v
	}
	for i, m := range r.Meters {
		if n := got.Rows[i].Nums[0]; n != nil && math.Abs(sums[m.Meter]-*n) > 1e-3 {
			t.Errorf("%s: CSV sums to %.4f, the XLSX (openpyxl) says %.4f", m.Meter, sums[m.Meter], *n)
		}
	}
}

var rePages = regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`)

// TestBrowserRendering: the HTML report in headless Chromium writes
// nothing to the console (the listener is proven on a page that does),
// its screenshot is kept as an artifact, and pdfinfo counts the PDF's
// pages as the report expects.
func TestBrowserRendering(t *testing.T) {
	b := testenv.Chromium(t)
	messages := func(doc, shot string) []string {
		tab, cancel := chromedp.NewContext(b)
		defer cancel()
		if err := chromedp.Do(tab, chromedp.EmulateViewport(820, 1100), chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		lctx, stop := context.WithCancel(tab)
		var mu sync.Mutex
		var msgs []string
		done := make(chan struct{})
		stream := chromedp.Console(lctx)
		go func() {
			defer close(done)
			for m, err := range stream {
				if err != nil {
					return
				}
				mu.Lock()
				msgs = append(msgs, m.String())
				mu.Unlock()
			}
		}()
		tree, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
		if err == nil {
			_, err = chromedp.Call(tab, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: doc})
		}
		if err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // late messages
		stop()
		<-done
		if shot != "" {
			artifact(t, shot, png)
		}
		mu.Lock()
		defer mu.Unlock()
		return msgs
	}
	if got := messages(`<html><body><img src="http://127.0.0.1:1/x.png"><script>console.error("probe")</script></body></html>`, ""); len(got) == 0 {
		t.Fatal("the console listener heard nothing from a page that writes an error: the check below would prove nothing")
	}
	r := monthReport(t, "zh-CN")
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if got := messages(html.String(), "energy-2026-11-zh-CN-browser.png"); len(got) > 0 {
		t.Errorf("the report wrote to the console: %q", got)
	}

	if _, err := exec.LookPath("pdfinfo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdfinfo (poppler-utils) missing")
		}
		t.Skip("no pdfinfo")
	}
	var pdf bytes.Buffer
	if err := r.WritePDF(b, &pdf); err != nil {
		t.Fatal(err)
	}
	p := artifact(t, "energy-2026-11-zh-CN-pdfinfo.pdf", pdf.Bytes())
	out, err := exec.Command("pdfinfo", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	m := rePages.FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo: no page count in %s", out)
	}
	pages, _ := strconv.Atoi(string(m[1]))
	if want := len(rePage.FindAll(pdf.Bytes(), -1)); pages != want || pages < 2 || pages > 12 {
		t.Errorf("pdfinfo counts %d pages, the PDF's objects %d; want the same, a few", pages, want)
	}
	t.Logf("zh-CN PDF: %d pages (pdfinfo)", pages)
}
