package energy

import (
	"bytes"
	"context"
	"fmt"
)

// ContentTypes are the media types of the formats a report is written in.
var ContentTypes = map[string]string{
	"html": "text/html; charset=utf-8",
	"pdf":  "application/pdf",
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// Render writes the report in format (html, pdf, csv or xlsx); pdf starts
// a headless Chromium (FindChromium) for the print and stops it after.
func (r *Report) Render(ctx context.Context, format string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch format {
	case "html":
		err = r.WriteHTML(&buf)
	case "csv":
		err = r.WriteCSV(&buf)
	case "xlsx":
		err = r.WriteXLSX(&buf)
	case "pdf":
		bin, ferr := FindChromium()
		if ferr != nil {
			return nil, ferr
		}
		b, cancel, cerr := NewChromium(ctx, bin)
		if cerr != nil {
			return nil, cerr
		}
		err = r.WritePDF(b, &buf)
		cancel()
	default:
		return nil, fmt.Errorf("format %q: write html, pdf, csv or xlsx", format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return buf.Bytes(), nil
}
