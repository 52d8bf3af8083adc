package web

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/facilityd/facilityd/internal/testenv"
	"github.com/facilityd/facilityd/tickets"
)

// flatHistory is a HistoryService with a flat line for every point, for
// pages whose charts are not what a test looks at.
type flatHistory struct{}

func (flatHistory) PointHistory(_ context.Context, device string, points []string, from, to time.Time) (History, error) {
	h := History{Device: device, From: from, To: to, Step: to.Sub(from).Seconds()}
	for _, p := range points {
		h.Series = append(h.Series, HistorySeries{Point: p, T: []int64{from.Unix(), to.Unix()}, V: []float64{1, 1}})
	}
	return h, nil
}

func (flatHistory) AlertHistory(context.Context, string, time.Time, time.Time, int) ([]AlertEvent, error) {
	return []AlertEvent{}, nil
}

// browser is a console tab whose waits take up to 10 s, an expression that
// throws (a node not drawn yet) being false.
type browser struct{ *testenv.Page }

func (b browser) wait(what, expr string) {
	b.T.Helper()
	b.Wait(what, testenv.OrFalse(expr), 10*time.Second)
}

func (b browser) useToken(tok, name string) {
	b.T.Helper()
	b.Run("token "+name, chromedp.SendKeys("#token", tok), chromedp.Click(`#token-form button[type=submit]`))
	b.wait("token of "+name, `document.querySelector("#token-state").textContent.includes(`+testenv.JSString(name)+`)`)
}

// consoleInspections lists four pairs of the site's devices, one per
// status that the page colours, around now.
func consoleInspections(now time.Time, ticketID int64) []Inspection {
	day := 24 * time.Hour
	mk := func(plan, title, device, status string, due time.Time) Inspection {
		return Inspection{ID: InspectionID(plan, device), Title: title, Category: "lifts", Location: "Building A",
			Interval: "every 15d or 5000 trips", InspectionState: tickets.InspectionState{Plan: plan, Device: device,
				Status: status, NextDue: due, Version: 3, LastDone: due.Add(-15 * day), DueBy: "calendar"}}
	}
	half := mk("elevator_half_monthly", "电梯半月维保 / Lift half-monthly service", "elevator-1", tickets.InspectionDue, now)
	half.TicketID = ticketID
	half.NextCounters = map[string]float64{"trips": 5000}
	quarterly := mk("elevator_quarterly", "电梯季度维保 / Lift quarterly service", "elevator-1", tickets.InspectionOverdue, now.Add(-10*day))
	pump := mk("pump_service", "Pump service", "pump-1", tickets.InspectionDueSoon, now.Add(5*day))
	pump.Interval, pump.Category = "every 6mo or 2000 run_hours", "water"
	pump.NextCounters, pump.DueBy = map[string]float64{"run_hours": 2000}, "run_hours"
	pump.Estimated = now.Add(4 * day)
	fire := mk("fire_monthly", "消防设施月度检查 / Fire monthly check", "fire-panel-1", tickets.InspectionOK, now.Add(25*day))
	fire.Category = "fire"
	return []Inspection{quarterly, half, pump, fire}
}

// TestConsoleInspections drives the inspection pages in headless Chromium:
// the due list with an overdue and a due pair, done and skip by clicking
// (the API gets them), the month calendar, a device's inspections, the
// checklist of a real inspection ticket (closing is refused with the
// server's message until the required reading is typed in; a failed item
// gets its corrective ticket, which links back), Chinese, and a viewer's
// token that sees no change buttons.
func TestConsoleInspections(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	ctx := context.Background()
	_, st := ticketServer(t)
	st.SetInspectionAdvancer(func(states map[string]tickets.InspectionState, c tickets.Completion) ([]tickets.InspectionState, []tickets.InspectionRecord, error) {
		s := states[c.Plan]
		s.Plan, s.Device = c.Plan, c.Device
		kind := tickets.RecordDone
		if c.Skip {
			kind, s.Status = tickets.RecordSkipped, tickets.InspectionSkipped
		} else {
			s.LastDone, s.Status = c.At, tickets.InspectionOK
		}
		rec := tickets.InspectionRecord{Plan: c.Plan, Device: c.Device, Kind: kind, Note: c.Note, DueAt: s.NextDue, OnTime: !c.At.After(s.NextDue)}
		s.NextDue = c.At.AddDate(0, 0, 15)
		return []tickets.InspectionState{s}, []tickets.InspectionRecord{rec}, nil
	})
	now := time.Now()
	checklist := []tickets.ChecklistItem{
		{Text: "制动器间隙 / Brake gap", Required: true, Evidence: tickets.EvidenceReading, Unit: "mm", Min: ptr(0.2), Max: ptr(0.6)},
		{Text: "层门门锁可靠 / Landing door locks hold", Evidence: tickets.EvidenceYesNo, Priority: "P2"},
		{Text: "备注 / Remarks", Evidence: tickets.EvidenceText},
	}
	open := func(plan, device, title string) tickets.Ticket {
		tk, _, err := st.OpenInspection(ctx, tickets.InspectionState{Plan: plan, Device: device, Status: tickets.InspectionDue, NextDue: now, DueBy: "calendar"},
			tickets.Alert{Title: title, Priority: "P3", Category: "lifts", Location: "Building A"}, checklist, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	tk := open("elevator_half_monthly", "elevator-1", "电梯半月维保 / Lift half-monthly service")
	other := open("elevator_quarterly", "elevator-1", "电梯季度维保 / Lift quarterly service")
	f := &fakeInspections{list: consoleInspections(now, tk.ID), store: st}
	s := New(Deps{Status: &siteStatus{}, Tickets: st, Silences: dashSilences{}, Inspections: f, History: flatHistory{},
		Events: NewHub(), Auth: testAuth(t), Read: ReadToken}, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.Serve(sctx, ln)
	go s.Watch(sctx, 200*time.Millisecond)
	base := "http://" + ln.Addr().String() + "/"

	b := browser{testenv.NewPage(t, 150*time.Second, testenv.ArtifactDir(t, "", filepath.Join("testdata", "artifacts")))}
	b.Run("open", chromedp.Navigate(base+"#/inspections"))
	b.wait("asks for a token", `document.querySelector("#token-state").textContent.includes("token needed")`)
	b.useToken(operatorToken, "ana")
	b.NoProblems("before the token", "401") // the first loads, refused until the token is in

	// The due list: colours by status, overdue first.
	overdue := `document.querySelector('[id="ins-elevator_quarterly:elevator-1"]')`
	due := `document.querySelector('[id="ins-elevator_half_monthly:elevator-1"]')`
	b.wait("due list", overdue+`?.classList.contains("ins-row-overdue") && `+due+`?.classList.contains("ins-row-due")`)
	b.wait("statuses", overdue+`.querySelector(".ins-status.ins-overdue").textContent === "overdue" && `+
		due+`.querySelector(".ins-status.ins-due").textContent === "due" && `+
		`getComputedStyle(`+overdue+`.querySelector(".ins-status")).backgroundColor === "rgb(198, 40, 40)"`)
	b.wait("ticket link and counters", due+`.querySelector('a[href="#/ticket/`+strconv.FormatInt(tk.ID, 10)+`"]') && `+due+`.textContent.includes("trips at 5000")`)
	b.wait("feed link with its warning", `document.querySelector(".ics-link").href.endsWith("/api/v1/inspections.ics?token=`+operatorToken+`") && `+
		`document.querySelector(".ics-warn").textContent.includes("contains your API token")`)
	b.Shot("inspections")
	b.NoProblems("inspections")

	// Done, by clicking: the form under the row, a note, record.
	b.Run("done", chromedp.Click(`[id="ins-elevator_quarterly:elevator-1"] .act-done`))
	b.wait("completion form", `!!document.querySelector(".ins-form-row:not(.hidden) .ins-form")`)
	b.Run("note", chromedp.SendKeys(`.ins-form-row:not(.hidden) input[name=note]`, "ropes and brake checked"),
		chromedp.Click(`.ins-form-row:not(.hidden) .act-record`))
	b.wait("done said", `document.querySelector("#msg").className === "ok" && document.querySelector("#msg").textContent.includes("done")`)
	if got := f.completions(); len(got) != 1 || got[0].Plan != "elevator_quarterly" || got[0].Device != "elevator-1" ||
		got[0].Actor != "ana" || got[0].Note != "ropes and brake checked" || got[0].Skip || got[0].Version != 3 {
		t.Fatalf("completions after done: %+v", got)
	}
	// Skip needs a reason: refused in the page, then sent with one.
	b.Run("skip", chromedp.Click(`[id="ins-pump_service:pump-1"] .act-skip`), chromedp.Click(`.ins-form-row:not(.hidden) .act-record`))
	b.wait("skip needs a reason", `document.querySelector("#msg").className === "err" && document.querySelector("#msg").textContent.includes("needs a reason")`)
	b.Run("reason", chromedp.SendKeys(`.ins-form-row:not(.hidden) input[name=note]`, "pump out of service until the 12th"),
		chromedp.SendKeys(`.ins-form-row:not(.hidden) input[name="r:run_hours"]`, "1850.5"),
		chromedp.Click(`.ins-form-row:not(.hidden) .act-record`))
	b.wait("skip said", `document.querySelector("#msg").className === "ok"`)
	if got := f.completions(); len(got) != 2 || !got[1].Skip || got[1].Plan != "pump_service" ||
		got[1].Note != "pump out of service until the 12th" || got[1].Counters["run_hours"] != 1850.5 {
		t.Fatalf("completions after skip: %+v", got)
	}
	b.NoProblems("done and skip")

	// A pair's page: its state and its history.
	b.Run("pair", chromedp.Click(`[id="ins-pump_service:pump-1"] a.ins-link`))
	b.wait("pair page", `location.hash === "#/inspection/pump_service%3Apump-1" && document.querySelectorAll(".ins-row").length === 1 && `+
		`document.querySelector(".insrec-done") && document.body.textContent.includes("bearings greased") && document.body.textContent.includes("run_hours 1999.50")`)
	b.wait("nav", `document.querySelector('#nav a[data-route="inspections"]').classList.contains("active")`)
	b.Shot("inspection")
	b.Run("back", chromedp.Navigate(base+"#/inspections"))
	b.wait("list", `document.querySelectorAll(".ins-row").length === 4`)

	// The month calendar: today's due pair on today, the overdue one shown.
	b.Run("calendar", chromedp.Click(`.mode-calendar`))
	b.wait("calendar", `document.querySelectorAll(".cal-grid .cal-day").length >= 28 && !!document.querySelector(".cal-day.today .cal-item.ins-due") && `+
		`document.querySelectorAll(".cal-item.ins-overdue").length >= 1`)
	b.Shot("inspections-calendar")
	b.Run("list again", chromedp.Click(`.mode-list`))

	// A device's page lists its inspections.
	b.Run("device page", chromedp.Navigate(base+"#/device/elevator-1"))
	b.wait("device inspections", `document.querySelectorAll(".ins-table .ins-row").length === 2 && !!document.querySelector(".ins-table .ins-row-overdue")`)
	b.Shot("device-elevator")
	b.NoProblems("device page")

	// The checklist: closing is refused until the required reading is in.
	b.Run("ticket", chromedp.Navigate(base+"#/ticket/"+strconv.FormatInt(tk.ID, 10)))
	b.wait("checklist", `document.querySelectorAll(".checklist .cl-item").length === 3 && document.querySelector(".cl-left").textContent.includes("not answered yet: 1")`)
	b.wait("limits", `document.querySelector("#cl-1").textContent.includes("0.20 – 0.60 mm")`)
	b.Run("close too early", chromedp.Click(".act-close"))
	b.wait("server refuses", `document.querySelector("#msg").className === "err" && document.querySelector("#msg").textContent.includes("answer the required checklist items 1")`)
	b.Shot("checklist-refused")
	b.NoProblems("close refused", "400")
	b.Run("reading", chromedp.SendKeys(`#cl-1 input[name=value]`, "0.45"), chromedp.Click(`#cl-1 .act-answer`))
	b.wait("answered", `document.querySelector("#cl-1.answered") && document.querySelector("#cl-1").textContent.includes("0.45 mm") && document.querySelector("#cl-1").textContent.includes("ana")`)
	b.Run("door lock fails", chromedp.SetValue(`#cl-2 select[name=answer]`, "no"), chromedp.SendKeys(`#cl-2 input[name=note]`, "door 3 lock worn"),
		chromedp.Click(`#cl-2 .act-answer`))
	b.wait("failed in red", `document.querySelector("#cl-2.failed") && getComputedStyle(document.querySelector("#cl-2 td")).color === "rgb(163, 21, 21)"`)
	b.Shot("checklist")
	b.Run("close", chromedp.Click(".act-close"))
	b.wait("closed", `[...document.querySelectorAll(".facts dd")][0].textContent === "closed"`)
	b.wait("corrective link", `!!document.querySelector("#cl-2 a.corrective")`)
	b.Shot("checklist-closed")
	b.NoProblems("checklist")
	got, _, err := st.Get(ctx, tk.ID)
	if err != nil || got.Status != tickets.StatusClosed {
		t.Fatalf("ticket after close: %v, %v", got.Status, err)
	}
	items, err := st.Checklist(ctx, tk.ID)
	if err != nil || items[0].Value == nil || *items[0].Value != 0.45 || items[0].AnsweredBy != "ana" || items[1].Corrective == 0 {
		t.Fatalf("checklist after close: %+v, %v", items, err)
	}
	corrective := strconv.FormatInt(items[1].Corrective, 10)
	b.Run("corrective", chromedp.Click("#cl-2 a.corrective"))
	b.wait("links back", `location.hash === "#/ticket/`+corrective+`" && document.querySelector("a.related")?.getAttribute("href") === "#/ticket/`+strconv.FormatInt(tk.ID, 10)+`"`)
	b.wait("no stray text on a ticket without a checklist", `!document.querySelector(".checklist") && `+
		`![...document.querySelector(".page").childNodes].some(n => n.nodeType === Node.TEXT_NODE)`)
	b.NoProblems("corrective ticket")

	// Chinese: the glyphs need a CJK font (fonts-wqy-microhei, .ci/run).
	b.Run("Chinese", chromedp.Navigate(base+"#/ticket/"+strconv.FormatInt(other.ID, 10)), chromedp.SetValue("#lang", "zh-CN"))
	b.Exec("language", `document.querySelector("#lang").dispatchEvent(new Event("change"))`)
	b.wait("zh checklist", `document.querySelector(".checklist h2").textContent === "巡检检查表" && document.querySelector(".act-close").textContent === "关闭：完成巡检"`)
	b.Shot("checklist-zh")
	b.Run("inspections zh", chromedp.Navigate(base+"#/inspections"))
	b.wait("zh list", `document.querySelector('[id="ins-elevator_quarterly:elevator-1"] .ins-status').textContent === "逾期"`)
	b.Shot("inspections-zh")
	b.Run("English", chromedp.SetValue("#lang", "en"))
	b.Exec("language", `document.querySelector("#lang").dispatchEvent(new Event("change"))`)
	b.NoProblems("Chinese")

	// A viewer sees what there is, and no button that changes it.
	b.Run("forget", chromedp.Click("#token-forget"))
	b.useToken(viewerToken, "wall-display")
	b.NoProblems("between the tokens", "401")
	b.wait("viewer's list", `document.querySelectorAll(".ins-row").length === 4`)
	b.wait("no done or skip", `!document.querySelector(".act-done, .act-skip, .ins-actions")`)
	b.Shot("inspections-viewer")
	b.Run("viewer's ticket", chromedp.Navigate(base+"#/ticket/"+strconv.FormatInt(other.ID, 10)))
	b.wait("checklist without answers", `document.querySelectorAll(".checklist .cl-item").length === 3 && document.body.classList.contains("role-viewer")`)
	b.wait("no change buttons", `!document.querySelector(".act-answer, .cl-form, .actions, .act-close, .act-ack, .act-assign, .act-comment, input.note")`)
	b.wait("no stray text", `![...document.querySelector(".page").childNodes].some(n => n.nodeType === Node.TEXT_NODE)`)
	b.Shot("ticket-viewer")
	b.Run("viewer's queue", chromedp.Navigate(base+"#/tickets"))
	b.wait("no report form", `!!document.querySelector(".pager") && !document.querySelector("#report-form")`)
	b.Run("viewer's alerts", chromedp.Navigate(base+"#/alerts"))
	b.wait("no silence form", `document.body.textContent.includes("Active silences") && !document.querySelector("#silence-form, .act-silence")`)
	b.NoProblems("viewer")

	// On a phone: the list scrolls sideways, the calendar fits.
	b.Run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"#/inspections"))
	b.wait("phone list", `document.querySelectorAll(".ins-row").length === 4`)
	b.Run("phone calendar", chromedp.Click(`.mode-calendar`))
	b.wait("phone calendar", `document.querySelector(".cal-grid").scrollWidth <= document.querySelector(".cal-grid").clientWidth + 1`)
	b.Shot("inspections-phone")
	b.NoProblems("phone")
}
