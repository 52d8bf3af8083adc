// Inspections: the due list (status colours, done and skip for operators),
// a month calendar of due dates, the iCalendar feed's link, and the list on
// a device's page. GET /api/v1/inspections gives plan × device pairs,
// soonest due first.
"use strict";

const INS_STATUSES = ["overdue", "due", "due_soon", "ok", "skipped"];

// insDue is when a pair falls due, whichever comes first: the estimate
// from the counters' daily use, else the calendar date ("" if neither).
const insDue = p => p.estimated || p.next_due || "";
const fmtDate = tm => tm ? new Date(tm).toLocaleDateString(lang()) : "";
// dayKey is a local calendar day, YYYY-MM-DD.
const dayKey = d => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

function insStatus(s) {
  return el("span", { className: "ins-status ins-" + s }, t("ins." + s, {}, s));
}

// insWhy says what makes a pair due: the calendar, or a counter with the
// value it falls due at.
function insWhy(p) {
  const c = Object.entries(p.next_counters || {}).map(([pt, v]) => t("ins.counterAt", { point: pt, v: fmtVal(v) }));
  const by = p.due_by && p.due_by !== "calendar" ? t("ins.byCounter", { point: p.due_by }) : p.due_by ? t("ins.byCalendar") : "";
  return [by, ...c].filter(Boolean).join(" · ");
}

// completionForm is the row under a pair where done or skip is recorded:
// a note (a skip's reason), when, and the counters' readings (empty: the
// live values).
function completionForm(p, action, close) {
  const readings = Object.keys(p.next_counters || {}).map(pt => el("label", {}, pt,
    el("input", { type: "number", step: "any", name: "r:" + pt, size: 8, placeholder: t("ins.live") })));
  const f = el("form", { className: "ins-form inline" },
    el("label", {}, action === "skip" ? t("ins.reason") : t("ins.note"),
      el("input", { type: "text", name: "note", maxLength: 2000, size: 28, placeholder: action === "skip" ? t("ins.reasonPh") : t("ins.notePh") })),
    el("label", {}, t("ins.at"), el("input", { type: "datetime-local", name: "at" })),
    readings,
    el("button", { type: "submit", className: "act-record" }, action === "skip" ? t("ins.recordSkip") : t("ins.recordDone")),
    el("button", { type: "button", onclick: close }, t("ins.cancel")));
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    const note = f.elements.note.value.trim();
    if (action === "skip" && !note) { say(`${p.id}: ${t("ins.skipNeedsReason")}`, false); f.elements.note.focus(); return; }
    const body = { note, version: p.version };
    if (f.elements.at.value) {
      const at = new Date(f.elements.at.value);
      if (isNaN(at)) { say(`${p.id}: ${t("ins.badTime")}`, false); return; }
      body.at = at.toISOString();
    }
    const r = {};
    for (const pt of Object.keys(p.next_counters || {})) {
      const v = f.elements["r:" + pt].value.trim();
      if (v !== "") r[pt] = +v;
    }
    if (Object.keys(r).length) body.readings = r;
    act(`${p.title || p.plan} · ${p.device} ${action === "skip" ? t("ins.skip") : t("ins.done")}`,
      () => api("POST", `/api/v1/inspections/${encodeURIComponent(p.id)}/${action}`, body));
  });
  return f;
}

// inspectionsTable lists pairs; withDevice adds the device column. Each
// row has done and skip buttons that open the completion form beneath it,
// unless the token is a viewer's.
function inspectionsTable(list, withDevice) {
  const heads = [t("ins.status"), t("ins.plan"), withDevice ? t("al.device") : null, t("ins.dueAt"), t("ins.why"),
    t("ins.interval"), t("ins.lastDone"), t("al.ticket"), viewer() ? null : ""].filter(h => h !== null);
  const rows = [];
  for (const p of list) {
    const formCell = el("td", { colSpan: heads.length });
    const formRow = el("tr", { className: "ins-form-row hidden" }, formCell);
    const open = action => {
      formCell.replaceChildren(completionForm(p, action, () => formRow.classList.add("hidden")));
      formRow.classList.remove("hidden");
      formCell.querySelector("input[name=note]").focus();
    };
    const btn = (action, label) => el("button", {
      type: "button", className: "act-" + action, disabled: !canChange(), title: token() ? "" : t("needsToken"),
      onclick: () => open(action),
    }, label);
    const due = insDue(p);
    const cells = [insStatus(p.status),
      el("span", {}, el("a", { href: "#/inspection/" + encodeURIComponent(p.id), className: "ins-link" }, el("b", {}, p.title || p.plan)), el("div", { className: "muted small" }, [p.plan, p.category, p.location].filter(Boolean).join(" · "))),
      withDevice ? el("a", { href: "#/device/" + encodeURIComponent(p.device) }, p.device) : null,
      el("span", { title: fmtTime(due) }, fmtDate(due) || "—",
        p.estimated && p.next_due && fmtDate(p.estimated) !== fmtDate(p.next_due) ? el("div", { className: "muted small" }, t("ins.calendarDue", { d: fmtDate(p.next_due) })) : null),
      el("span", { className: "small" }, insWhy(p)), el("span", { className: "small" }, p.interval || ""),
      el("span", { title: fmtTime(p.last_done) }, p.last_done ? fmtDate(p.last_done) : t("ins.never")),
      p.ticket_id ? el("a", { href: "#/ticket/" + p.ticket_id }, "#" + p.ticket_id) : "",
      viewer() ? null : el("span", { className: "ins-actions" }, btn("done", t("ins.doneBtn")), " ", btn("skip", t("ins.skipBtn")))]
      .filter(c => c !== null);
    rows.push(el("tr", { className: "ins-row ins-row-" + p.status, id: "ins-" + p.id }, cells.map(c => el("td", {}, c))), formRow);
  }
  if (!rows.length) rows.push(el("tr", {}, el("td", { colSpan: heads.length, className: "muted" }, t("ins.noneDue"))));
  return el("div", { className: "scroll" }, stackable(el("table", { className: "ins-table" },
    el("thead", {}, el("tr", {}, heads.map(h => el("th", {}, h)))), el("tbody", {}, rows))));
}

// --- calendar ----------------------------------------------------------------

// calendar draws the month of first (a Date on its first day) with each
// pair on its due day in the browser's time zone; pairs overdue from before
// the month and pairs without a date are listed above it.
function calendar(list, first, onMonth) {
  const next = new Date(first.getFullYear(), first.getMonth() + 1, 1);
  const byDay = new Map();
  const earlier = [], undated = [];
  for (const p of list) {
    const due = insDue(p);
    if (!due) { undated.push(p); continue; }
    const d = new Date(due);
    if (d < first && ["overdue", "due"].includes(p.status)) earlier.push(p);
    const k = dayKey(d);
    if (!byDay.has(k)) byDay.set(k, []);
    byDay.get(k).push(p);
  }
  const chip = p => el("a", { className: "cal-item ins-" + p.status, href: "#/device/" + encodeURIComponent(p.device), title: `${p.plan} · ${t("ins." + p.status)}` },
    `${p.device}: ${p.title || p.plan}`);
  // weeks start on Monday
  const start = new Date(first);
  start.setDate(1 - ((first.getDay() + 6) % 7));
  const wd = new Intl.DateTimeFormat(lang(), { weekday: "short" });
  const heads = [...Array(7)].map((_, i) => el("div", { className: "cal-head" }, wd.format(new Date(start.getFullYear(), start.getMonth(), start.getDate() + i))));
  const today = dayKey(new Date());
  const cells = [];
  for (let d = new Date(start); d < next || d.getDay() !== 1; d.setDate(d.getDate() + 1)) {
    const k = dayKey(d);
    cells.push(el("div", { className: "cal-day" + (d.getMonth() !== first.getMonth() ? " other" : "") + (k === today ? " today" : "") },
      el("div", { className: "cal-n" }, String(d.getDate())), (byDay.get(k) || []).map(chip)));
    cells[cells.length - 1].dataset.day = k;
  }
  const title = first.toLocaleDateString(lang(), { year: "numeric", month: "long" });
  return el("div", { className: "calendar" },
    el("div", { className: "chart-bar" },
      el("button", { type: "button", className: "cal-prev", onclick: () => onMonth(-1) }, "‹"),
      el("b", { className: "cal-title" }, title),
      el("button", { type: "button", className: "cal-next", onclick: () => onMonth(1) }, "›"),
      el("button", { type: "button", className: "cal-today", onclick: () => onMonth(0) }, t("ins.today"))),
    earlier.length ? el("div", { className: "cal-earlier" }, el("span", { className: "muted small" }, t("ins.overdueBefore")), " ", earlier.map(chip)) : null,
    undated.length ? el("div", { className: "cal-earlier" }, el("span", { className: "muted small" }, t("ins.undated")), " ", undated.map(chip)) : null,
    el("div", { className: "cal-grid" }, heads, cells));
}

// --- the page ------------------------------------------------------------------

const insView = { show: "", device: "", mode: "list", month: null };

function insFilters(onChange) {
  const show = el("select", { name: "show", onchange: ev => { insView.show = ev.target.value; onChange(); } },
    [["", t("all")], ["overdue", t("ins.onlyOverdue")], ["7d", t("ins.within", { d: t("range.7d") })], ["30d", t("ins.within", { d: t("range.30d") })]]
      .map(([v, label]) => el("option", { value: v, selected: insView.show === v }, label)));
  const device = el("input", { name: "device", size: 12, value: insView.device, placeholder: t("tk.any"), onchange: ev => { insView.device = ev.target.value.trim(); onChange(); } });
  const mode = m => el("button", { type: "button", className: "mode-" + m + (insView.mode === m ? " on" : ""), onclick: () => { insView.mode = m; onChange(); } }, t("ins.mode." + m));
  return el("form", { className: "filters", onsubmit: ev => ev.preventDefault() },
    el("label", {}, t("ins.show"), show), el("label", {}, t("al.device"), device), el("span", {}, mode("list"), " ", mode("calendar")));
}

// icsLink is the calendar feed's address for subscribing. Calendar apps
// cannot send headers, so the tab's token goes in the address: the page
// says so.
function icsLink() {
  const href = "/api/v1/inspections.ics" + (token() ? "?token=" + encodeURIComponent(token()) : "");
  return el("div", { className: "ics" }, el("a", { href, className: "ics-link" }, t("ins.ics")), " ",
    el("span", { className: token() ? "ics-warn small" : "muted small" }, token() ? t("ins.icsToken") : t("ins.icsNoToken")));
}

function insSummary(list) {
  const n = s => list.filter(p => p.status === s).length;
  return el("div", { className: "count-group" }, INS_STATUSES.map(s => el("span", { className: "chip ins-" + s + (n(s) ? "" : " zero") }, el("b", {}, String(n(s))), " ", t("ins." + s))));
}

async function loadInspections() {
  const q = new URLSearchParams();
  if (insView.show === "overdue") q.set("overdue", "true");
  else if (insView.show) q.set("due_within", insView.show);
  if (insView.device) q.set("device", insView.device);
  return await api("GET", "/api/v1/inspections" + (q.size ? "?" + q : "")) || [];
}

pages.inspections = {
  async draw(view) {
    const box = el("div", {});
    if (!insView.month) { const now = new Date(); insView.month = new Date(now.getFullYear(), now.getMonth(), 1); }
    const draw = async () => {
      const list = await loadInspections();
      const onMonth = d => {
        const m = insView.month;
        insView.month = d === 0 ? new Date(new Date().getFullYear(), new Date().getMonth(), 1) : new Date(m.getFullYear(), m.getMonth() + d, 1);
        draw();
      };
      box.replaceChildren(insFilters(draw), insSummary(list), insView.mode === "calendar" ? calendar(list, insView.month, onMonth) : inspectionsTable(list, true));
    };
    await draw();
    view.append(section(t("ins.title"), "wide", icsLink(), box));
    view.reload = draw; // the shown draw's (see pages.device)
  },
  shown(view) { this.reload = view.reload; },
  // An inspection ticket opened or closed moves its pair: read the list
  // again, once for a burst of changes, unless a form is being filled in.
  onTicket() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      if (page !== this || document.querySelector(".ins-form-row:not(.hidden)")) return;
      this.reload().catch(e => say(e.message, false));
    }, 500);
  },
  leave() { clearTimeout(this.pending); },
};

// counters writes readings by point: trips 4810 · run_hours 1999.5.
const counters = m => Object.entries(m || {}).map(([k, v]) => `${k} ${fmtVal(v)}`).join(" · ");

// One pair: its state, done and skip, and its history for the record.
pages.inspection = {
  async draw(view, [id]) {
    const { inspection: p, history } = await api("GET", "/api/v1/inspections/" + encodeURIComponent(id));
    const rows = [...(history || [])].reverse().map(r => [fmtTime(r.at), { text: t("insrec." + r.kind, {}, r.kind), className: "insrec-" + r.kind },
      r.actor || "", r.via ? t("ins.via", { plan: r.via }) : "", fmtDate(r.due_at),
      r.kind === "done" ? { text: r.on_time ? t("ins.onTime") : t("ins.late"), className: r.on_time ? "" : "breached" } : "",
      counters(r.counters), r.ticket_id ? el("a", { href: "#/ticket/" + r.ticket_id }, "#" + r.ticket_id) : "", r.note || ""]);
    view.append(
      section(`${p.title || p.plan} · ${p.device}`, "wide", p.description ? el("p", { className: "desc" }, p.description) : "",
        el("p", { className: "small" }, t("ins.lastCounters"), " ", counters(p.last_counters) || "—"),
        inspectionsTable([p], true)),
      section(t("ins.history"), "wide", table([t("al.time"), t("ins.what"), t("tp.actor"), "", t("ins.dueAt"), t("ins.onTimeCol"),
        t("ins.counters"), t("al.ticket"), t("tp.note")], rows)));
  },
};

// drawDeviceInspections fills box with a device's inspections.
async function drawDeviceInspections(box, device) {
  try {
    box.replaceChildren(inspectionsTable(await api("GET", "/api/v1/inspections?device=" + encodeURIComponent(device)) || [], false));
  } catch (e) {
    box.replaceChildren(el("p", { className: "muted" }, e.message));
  }
}
