package web

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"time"
)

// ReportService is what the report routes need; the app provides it over
// the archive in state_dir/reports/ and the energy report.
type ReportService interface {
	// Reports lists the archive, newest first.
	Reports(ctx context.Context) ([]ReportInfo, error)
	// ReportFile opens the archived file named file; ErrNoReport when the
	// archive has none.
	ReportFile(ctx context.Context, file string) (ReportInfo, *os.File, error)
	// EnergyReport is the archived energy report that q names, or one
	// generated now (and archived when its period is over). An error
	// wrapping ErrBadReport is the query's fault.
	EnergyReport(ctx context.Context, q EnergyReportQuery) (ReportInfo, []byte, error)
}

// ErrNoReport is an archived report that does not exist: 404.
var ErrNoReport = errors.New("no such report")

// ErrBadReport is a report query that cannot be answered: 400.
var ErrBadReport = errors.New("bad report query")

// EnergyReportQuery is what GET /api/v1/reports/energy asks for.
type EnergyReportQuery struct {
	Period, Format, Lang, Building, Category string
}

// ReportInfo is one archived report as GET /api/v1/reports lists it.
type ReportInfo struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Period      string    `json:"period"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Format      string    `json:"format"`
	Lang        string    `json:"lang"`
	GeneratedAt time.Time `json:"generated_at"`
	Size        int64     `json:"size"`
	URL         string    `json:"url"`
	// File and ContentType serve the file; not in the listing.
	File        string `json:"-"`
	ContentType string `json:"-"`
}

func (s *Server) reportRoutes() {
	s.mux.HandleFunc("GET /api/v1/reports", s.reportList)
	s.mux.HandleFunc("GET /api/v1/reports/energy", s.energyReport)
	s.mux.HandleFunc("GET /api/v1/reports/files/{file}", s.reportFile)
}

func (s *Server) reportList(w http.ResponseWriter, r *http.Request) {
	rs, err := s.Reports.Reports(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if rs == nil {
		rs = []ReportInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": rs})
}

func (s *Server) reportFile(w http.ResponseWriter, r *http.Request) {
	info, f, err := s.Reports.ReportFile(r.Context(), r.PathValue("file"))
	if errors.Is(err, ErrNoReport) {
		writeError(w, http.StatusNotFound, "no archived report "+r.PathValue("file"))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer f.Close()
	reportHeaders(w, info)
	http.ServeContent(w, r, info.File, info.GeneratedAt, f)
}

func (s *Server) energyReport(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := EnergyReportQuery{Period: v.Get("period"), Format: v.Get("format"), Lang: v.Get("lang"),
		Building: v.Get("building"), Category: v.Get("category")}
	if q.Format == "" {
		q.Format = "html"
	}
	if q.Lang == "" {
		q.Lang = "en"
	}
	if q.Period == "" {
		writeError(w, http.StatusBadRequest, "period is required: a month (2026-11), an ISO week (2026-W47), a quarter (2026-Q4) or a year (2026)")
		return
	}
	info, data, err := s.Reports.EnergyReport(r.Context(), q)
	switch {
	case errors.Is(err, ErrBadReport):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	reportHeaders(w, info)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// reportHeaders serve a report as a download under its archive name; an
// HTML report is a document of its own, its inline styles and SVG only.
func reportHeaders(w http.ResponseWriter, info ReportInfo) {
	w.Header().Set("Content-Type", info.ContentType)
	w.Header().Set("Content-Disposition", `inline; filename="`+info.File+`"`)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox")
}
