package web

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
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

// browser is a headless Chromium on one console, collecting the page's
// console errors and warnings.
type browser struct {
	t        *testing.T
	ctx      context.Context
	dir      string
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(testenv.Chromium(t), timeout)
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, dir: artifacts(t)}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				b.problems = append(b.problems, "console."+string(ev.Type))
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text+" "+exceptionText(ev.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				b.problems = append(b.problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs actions, looking a node up again when a redraw replaced it
// between the query and the action.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	for _, a := range actions {
		err := chromedp.Do(b.ctx, a)
		for try := 0; err != nil && strings.Contains(err.Error(), "Could not find node") && try < 3; try++ {
			time.Sleep(200 * time.Millisecond)
			err = chromedp.Do(b.ctx, a)
		}
		if err != nil {
			b.t.Fatalf("%s: %v", what, err)
		}
	}
}

// eval runs a script for its side effect.
func (b *browser) eval(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr+"; true")); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls expr until it is true; an expression that throws (a node not
// drawn yet) is false.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	expr = "(() => { try { return !!(" + expr + ") } catch (e) { return false } })()"
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Text("body"))
		b.t.Fatalf("%s: %v\npage: %.2500s", what, err, body)
	}
}

func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noProblems fails the test for console errors since the last call; those
// that contain one of expected (such as a refusal the test asked for) are
// dropped.
func (b *browser) noProblems(page string, expected ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var bad []string
	for _, p := range b.problems {
		ok := false
		for _, e := range expected {
			ok = ok || strings.Contains(p, e)
		}
		if !ok {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		b.t.Errorf("%s: console: %s", page, strings.Join(bad, "\n  "))
	}
	b.problems = nil
}

func (b *browser) useToken(tok, name string) {
	b.t.Helper()
	b.run("token "+name, chromedp.SendKeys("#token", tok), chromedp.Click(`#token-form button[type=submit]`))
	b.wait("token of "+name, `document.querySelector("#token-state").textContent.includes(`+quote(name)+`)`)
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

	b := newBrowser(t, 150*time.Second)
	b.run("open", chromedp.Navigate(base+"#/inspections"))
	b.wait("asks for a token", `document.querySelector("#token-state").textContent.includes("token needed")`)
	b.useToken(operatorToken, "ana")
	b.noProblems("before the token", "401") // the first loads, refused until the token is in

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
	b.shot("inspections")
	b.noProblems("inspections")

	// Done, by clicking: the form under the row, a note, record.
	b.run("done", chromedp.Click(`[id="ins-elevator_quarterly:elevator-1"] .act-done`))
	b.wait("completion form", `!!document.querySelector(".ins-form-row:not(.hidden) .ins-form")`)
	b.run("note", chromedp.SendKeys(`.ins-form-row:not(.hidden) input[name=note]`, "ropes and brake checked"),
		chromedp.Click(`.ins-form-row:not(.hidden) .act-record`))
	b.wait("done said", `document.querySelector("#msg").className === "ok" && document.querySelector("#msg").textContent.includes("done")`)
	if got := f.completions(); len(got) != 1 || got[0].Plan != "elevator_quarterly" || got[0].Device != "elevator-1" ||
		got[0].Actor != "ana" || got[0].Note != "ropes and brake checked" || got[0].Skip || got[0].Version != 3 {
		t.Fatalf("completions after done: %+v", got)
	}
	// Skip needs a reason: refused in the page, then sent with one.
	b.run("skip", chromedp.Click(`[id="ins-pump_service:pump-1"] .act-skip`), chromedp.Click(`.ins-form-row:not(.hidden) .act-record`))
	b.wait("skip needs a reason", `document.querySelector("#msg").className === "err" && document.querySelector("#msg").textContent.includes("needs a reason")`)
	b.run("reason", chromedp.SendKeys(`.ins-form-row:not(.hidden) input[name=note]`, "pump out of service until the 12th"),
		chromedp.SendKeys(`.ins-form-row:not(.hidden) input[name="r:run_hours"]`, "1850.5"),
		chromedp.Click(`.ins-form-row:not(.hidden) .act-record`))
	b.wait("skip said", `document.querySelector("#msg").className === "ok"`)
	if got := f.completions(); len(got) != 2 || !got[1].Skip || got[1].Plan != "pump_service" ||
		got[1].Note != "pump out of service until the 12th" || got[1].Counters["run_hours"] != 1850.5 {
		t.Fatalf("completions after skip: %+v", got)
	}
	b.noProblems("done and skip")

	// A pair's page: its state and its history.
	b.run("pair", chromedp.Click(`[id="ins-pump_service:pump-1"] a.ins-link`))
	b.wait("pair page", `location.hash === "#/inspection/pump_service%3Apump-1" && document.querySelectorAll(".ins-row").length === 1 && `+
		`document.querySelector(".insrec-done") && document.body.textContent.includes("bearings greased") && document.body.textContent.includes("run_hours 1999.50")`)
	b.wait("nav", `document.querySelector('#nav a[data-route="inspections"]').classList.contains("active")`)
	b.shot("inspection")
	b.run("back", chromedp.Navigate(base+"#/inspections"))
	b.wait("list", `document.querySelectorAll(".ins-row").length === 4`)

	// The month calendar: today's due pair on today, the overdue one shown.
	b.run("calendar", chromedp.Click(`.mode-calendar`))
	b.wait("calendar", `document.querySelectorAll(".cal-grid .cal-day").length >= 28 && !!document.querySelector(".cal-day.today .cal-item.ins-due") && `+
		`document.querySelectorAll(".cal-item.ins-overdue").length >= 1`)
	b.shot("inspections-calendar")
	b.run("list again", chromedp.Click(`.mode-list`))

	// A device's page lists its inspections.
	b.run("device page", chromedp.Navigate(base+"#/device/elevator-1"))
	b.wait("device inspections", `document.querySelectorAll(".ins-table .ins-row").length === 2 && !!document.querySelector(".ins-table .ins-row-overdue")`)
	b.shot("device-elevator")
	b.noProblems("device page")

	// The checklist: closing is refused until the required reading is in.
	b.run("ticket", chromedp.Navigate(base+"#/ticket/"+strconv.FormatInt(tk.ID, 10)))
	b.wait("checklist", `document.querySelectorAll(".checklist .cl-item").length === 3 && document.querySelector(".cl-left").textContent.includes("not answered yet: 1")`)
	b.wait("limits", `document.querySelector("#cl-1").textContent.includes("0.20 – 0.60 mm")`)
	b.run("close too early", chromedp.Click(".act-close"))
	b.wait("server refuses", `document.querySelector("#msg").className === "err" && document.querySelector("#msg").textContent.includes("answer the required checklist items 1")`)
	b.shot("checklist-refused")
	b.noProblems("close refused", "400")
	b.run("reading", chromedp.SendKeys(`#cl-1 input[name=value]`, "0.45"), chromedp.Click(`#cl-1 .act-answer`))
	b.wait("answered", `document.querySelector("#cl-1.answered") && document.querySelector("#cl-1").textContent.includes("0.45 mm") && document.querySelector("#cl-1").textContent.includes("ana")`)
	b.run("door lock fails", chromedp.SetValue(`#cl-2 select[name=answer]`, "no"), chromedp.SendKeys(`#cl-2 input[name=note]`, "door 3 lock worn"),
		chromedp.Click(`#cl-2 .act-answer`))
	b.wait("failed in red", `document.querySelector("#cl-2.failed") && getComputedStyle(document.querySelector("#cl-2 td")).color === "rgb(163, 21, 21)"`)
	b.shot("checklist")
	b.run("close", chromedp.Click(".act-close"))
	b.wait("closed", `[...document.querySelectorAll(".facts dd")][0].textContent === "closed"`)
	b.wait("corrective link", `!!document.querySelector("#cl-2 a.corrective")`)
	b.shot("checklist-closed")
	b.noProblems("checklist")
	got, _, err := st.Get(ctx, tk.ID)
	if err != nil || got.Status != tickets.StatusClosed {
		t.Fatalf("ticket after close: %v, %v", got.Status, err)
	}
	items, err := st.Checklist(ctx, tk.ID)
	if err != nil || items[0].Value == nil || *items[0].Value != 0.45 || items[0].AnsweredBy != "ana" || items[1].Corrective == 0 {
		t.Fatalf("checklist after close: %+v, %v", items, err)
	}
	corrective := strconv.FormatInt(items[1].Corrective, 10)
	b.run("corrective", chromedp.Click("#cl-2 a.corrective"))
	b.wait("links back", `location.hash === "#/ticket/`+corrective+`" && document.querySelector("a.related")?.getAttribute("href") === "#/ticket/`+strconv.FormatInt(tk.ID, 10)+`"`)
	b.wait("no stray text on a ticket without a checklist", `!document.querySelector(".checklist") && `+
		`![...document.querySelector(".page").childNodes].some(n => n.nodeType === Node.TEXT_NODE)`)
	b.noProblems("corrective ticket")

	// Chinese: the glyphs need a CJK font (fonts-wqy-microhei, .ci/run).
	b.run("Chinese", chromedp.Navigate(base+"#/ticket/"+strconv.FormatInt(other.ID, 10)), chromedp.SetValue("#lang", "zh-CN"))
	b.eval("language", `document.querySelector("#lang").dispatchEvent(new Event("change"))`)
	b.wait("zh checklist", `document.querySelector(".checklist h2").textContent === "巡检检查表" && document.querySelector(".act-close").textContent === "关闭：完成巡检"`)
	b.shot("checklist-zh")
	b.run("inspections zh", chromedp.Navigate(base+"#/inspections"))
	b.wait("zh list", `document.querySelector('[id="ins-elevator_quarterly:elevator-1"] .ins-status').textContent === "逾期"`)
	b.shot("inspections-zh")
	b.run("English", chromedp.SetValue("#lang", "en"))
	b.eval("language", `document.querySelector("#lang").dispatchEvent(new Event("change"))`)
	b.noProblems("Chinese")

	// A viewer sees what there is, and no button that changes it.
	b.run("forget", chromedp.Click("#token-forget"))
	b.useToken(viewerToken, "wall-display")
	b.noProblems("between the tokens", "401")
	b.wait("viewer's list", `document.querySelectorAll(".ins-row").length === 4`)
	b.wait("no done or skip", `!document.querySelector(".act-done, .act-skip, .ins-actions")`)
	b.shot("inspections-viewer")
	b.run("viewer's ticket", chromedp.Navigate(base+"#/ticket/"+strconv.FormatInt(other.ID, 10)))
	b.wait("checklist without answers", `document.querySelectorAll(".checklist .cl-item").length === 3 && document.body.classList.contains("role-viewer")`)
	b.wait("no change buttons", `!document.querySelector(".act-answer, .cl-form, .actions, .act-close, .act-ack, .act-assign, .act-comment, input.note")`)
	b.wait("no stray text", `![...document.querySelector(".page").childNodes].some(n => n.nodeType === Node.TEXT_NODE)`)
	b.shot("ticket-viewer")
	b.run("viewer's queue", chromedp.Navigate(base+"#/tickets"))
	b.wait("no report form", `!!document.querySelector(".pager") && !document.querySelector("#report-form")`)
	b.run("viewer's alerts", chromedp.Navigate(base+"#/alerts"))
	b.wait("no silence form", `document.body.textContent.includes("Active silences") && !document.querySelector("#silence-form, .act-silence")`)
	b.noProblems("viewer")

	// On a phone: the list scrolls sideways, the calendar fits.
	b.run("phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"#/inspections"))
	b.wait("phone list", `document.querySelectorAll(".ins-row").length === 4`)
	b.run("phone calendar", chromedp.Click(`.mode-calendar`))
	b.wait("phone calendar", `document.querySelector(".cal-grid").scrollWidth <= document.querySelector(".cal-grid").clientWidth + 1`)
	b.shot("inspections-phone")
	b.noProblems("phone")
}
