package web

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/facilityd/facilityd/tickets"
)

// inspectionCalendar serves the upcoming inspections as an iCalendar feed
// (RFC 5545) that the team's calendar app subscribes to: one all-day event
// per plan × device on its due date. Calendar apps cannot send a bearer
// header, so with read: token the feed also takes the token as ?token= (a
// viewer token: the feed's address is then a secret, as calendar services'
// private addresses are).
func (s *Server) inspectionCalendar(w http.ResponseWriter, r *http.Request) {
	list, err := s.Inspections.Inspections(r.Context(), InspectionQuery{})
	if err != nil {
		s.ticketError(w, err)
		return
	}
	body, err := Calendar(list, time.Now(), r.Host)
	if err != nil {
		s.log.Error("inspections: calendar", "err", err)
		writeError(w, http.StatusInternalServerError, "inspections: calendar cannot be encoded")
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="inspections.ics"`)
	w.Write(body)
}

// Calendar encodes the inspections' due dates as an iCalendar object: one
// VEVENT per pair that has a due date and is not skipped, dated in the
// plan's zone. host makes the UIDs unique beyond this daemon; stamp is the
// DTSTAMP.
func Calendar(list []Inspection, stamp time.Time, host string) ([]byte, error) {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//facilityd//inspections//EN")
	cal.Props.SetText(ical.PropCalendarScale, "GREGORIAN")
	cal.Props.SetText(ical.PropMethod, "PUBLISH")
	cal.Props.SetText("X-WR-CALNAME", "facilityd inspections / 巡检保养计划")
	refresh := ical.NewProp(ical.PropRefreshInterval)
	refresh.SetDuration(time.Hour)
	cal.Props.Set(refresh)
	cal.Props.SetText("X-PUBLISHED-TTL", "PT1H")
	if host == "" {
		host = "facilityd"
	}
	host, _, _ = strings.Cut(host, ":")
	sort.SliceStable(list, func(i, j int) bool { return list[i].Due().Before(list[j].Due()) })
	for _, in := range list {
		due := in.Due()
		if due.IsZero() || in.Status == tickets.InspectionSkipped {
			continue
		}
		loc := in.Zone
		if loc == nil {
			loc = time.Local
		}
		day := due.In(loc)
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		ev := ical.NewEvent()
		ev.Props.SetText(ical.PropUID, fmt.Sprintf("%s-%s@%s", in.ID, start.Format("20060102"), host))
		ev.Props.SetDateTime(ical.PropDateTimeStamp, stamp.UTC())
		ev.Props.SetDate(ical.PropDateTimeStart, start)
		ev.Props.SetDate(ical.PropDateTimeEnd, start.AddDate(0, 0, 1))
		ev.Props.SetText(ical.PropSummary, summaryOf(in))
		ev.Props.SetText(ical.PropDescription, describe(in, loc))
		if in.Location != "" {
			ev.Props.SetText(ical.PropLocation, in.Location)
		}
		if in.Category != "" {
			ev.Props.SetText(ical.PropCategories, in.Category)
		}
		if !in.UpdatedAt.IsZero() {
			ev.Props.SetDateTime(ical.PropLastModified, in.UpdatedAt.UTC())
		}
		ev.Props.SetText(ical.PropTransparency, "TRANSPARENT")
		cal.Children = append(cal.Children, ev.Component)
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, err
	}
	return fold(buf.Bytes()), nil
}

func summaryOf(in Inspection) string {
	s := in.Title
	if s == "" {
		s = in.Plan
	}
	switch in.Status {
	case tickets.InspectionOverdue:
		s = "OVERDUE 已逾期: " + s
	case tickets.InspectionDue:
		s = "DUE 到期: " + s
	}
	return in.Device + ": " + s
}

func describe(in Inspection, loc *time.Location) string {
	var b strings.Builder
	if in.Description != "" {
		b.WriteString(in.Description + "\n")
	}
	if in.Interval != "" {
		b.WriteString("Interval / 周期: " + in.Interval + "\n")
	}
	if in.DueBy != "" && in.DueBy != "calendar" {
		fmt.Fprintf(&b, "Due by counter %s at %g (estimated from the last 30 days' use)\n", in.DueBy, in.NextCounters[in.DueBy])
	}
	if !in.LastDone.IsZero() {
		b.WriteString("Last done / 上次完成: " + in.LastDone.In(loc).Format("2006-01-02") + "\n")
	}
	b.WriteString("Status / 状态: " + in.Status)
	if in.TicketID != 0 {
		fmt.Fprintf(&b, "\nTicket / 工单: #%d", in.TicketID)
	}
	return b.String()
}

// fold folds content lines longer than 75 octets as RFC 5545 section 3.1
// asks (CRLF and a space), never inside a UTF-8 sequence.
func fold(src []byte) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<24)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		limit := 75
		for len(line) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			out.WriteString(line[:cut])
			out.WriteString("\r\n ")
			line = line[cut:]
			limit = 74 // the leading space counts
		}
		out.WriteString(line)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}
