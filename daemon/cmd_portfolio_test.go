package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestPortfolioCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"portfolio", "-c", "../portfolio/testdata/portfolio.good.yaml", "--check"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "ok (2 sites)") {
		t.Errorf("good: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run([]string{"portfolio", "-c", "../portfolio/testdata/portfolio.bad.yaml", "--check"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `portfolio.bad.yaml:6:3: unknown field "databse"`) {
		t.Errorf("bad: exit %d\n%s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"portfolio", "--help"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "GET /api/v1/portfolio") {
		t.Errorf("--help: exit %d\n%s", code, errOut.String())
	}
}
