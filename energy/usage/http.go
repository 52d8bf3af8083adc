package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/facilityd/facilityd/internal/httpjson"
)

// NewHandler returns the handler of GET /api/v1/energy/consumption:
//
//	?meter=ID[,ID…]&category=electricity|water|gas&building=B&site=S
//	&from=T&to=T&interval=15m|1h|1d|1mo&tz=ZONE
//
// from and to are RFC 3339 times or dates (YYYY-MM-DD, midnight in the
// zone); tz defaults to zone (UTC when nil). It answers the Report as JSON,
// or {"error": "..."} with 400 for a bad request (ErrBadQuery), 502 when
// InfluxDB fails (ErrSource) and 500 when the engine cannot run. It does no authentication: mounted on the web server's mux under
// /api/, it is behind the server's read tokens like every other GET.
func NewHandler(e *Engine, zone *time.Location) http.Handler {
	if zone == nil {
		zone = time.UTC
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
			return
		}
		q, err := parseQuery(r, zone)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		rep, err := e.Consumption(r.Context(), q)
		if err != nil {
			writeJSON(w, statusOf(err), map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
}

// statusOf is the HTTP status of an error of Consumption: 400 for the
// query's fault, 502 for InfluxDB's, and 500 for the rest (an engine that
// cannot run).
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrBadQuery):
		return http.StatusBadRequest
	case errors.Is(err, ErrSource), errors.Is(err, context.DeadlineExceeded):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

func parseQuery(r *http.Request, zone *time.Location) (Query, error) {
	v := r.URL.Query()
	q := Query{Zone: zone, Building: v.Get("building"), Site: v.Get("site"), Interval: Hour}
	if tz := v.Get("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return q, errorf("tz: unknown time zone %q: use an IANA name such as Asia/Shanghai", tz)
		}
		q.Zone = loc
	}
	for _, m := range v["meter"] {
		for id := range strings.SplitSeq(m, ",") {
			if id != "" {
				q.Meters = append(q.Meters, id)
			}
		}
	}
	if c := v.Get("category"); c != "" {
		q.Category = Category(c)
		if c != string(Electricity) && c != string(Water) && c != string(Gas) {
			return q, errorf("category: unknown %q: use electricity, water or gas", c)
		}
	}
	if s := v.Get("interval"); s != "" {
		iv, err := ParseInterval(s)
		if err != nil {
			return q, errorf("interval: %v", err)
		}
		q.Interval = iv
	}
	var err error
	if q.From, err = parseTime(v.Get("from"), q.Zone); err != nil {
		return q, errorf("from: %v", err)
	}
	if q.To, err = parseTime(v.Get("to"), q.Zone); err != nil {
		return q, errorf("to: %v", err)
	}
	if !q.From.Before(q.To) {
		return q, errorf("from must be before to")
	}
	return q, nil
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, errorf("missing: write an RFC 3339 time or a date such as 2025-06-01")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, errorf("cannot read %q: write an RFC 3339 time or a date such as 2025-06-01", s)
	}
	return t, nil
}

type queryError string

func (e queryError) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	if len(args) == 0 {
		return queryError(format)
	}
	return queryError(fmt.Sprintf(format, args...))
}

// writeJSON writes an answer as every API of facilityd does.
var writeJSON = httpjson.Write
