// Tickets: the queue (filters, search, paging, SLA countdowns), a ticket's
// page (history, comment, assign, the lifecycle buttons, cancel) and the
// form that reports a repair.
"use strict";

const PAGE_SIZE = 25;

// sla returns the kind and time of a ticket's next deadline, or null.
function sla(tk) {
  if (tk.status === "open") return { kind: "respond", at: tk.respond_by };
  if (tk.status === "on_hold") return null;
  if (["acknowledged", "in_progress"].includes(tk.status)) return { kind: "resolve", at: tk.resolve_by };
  if (tk.status === "resolved" && !tk.follow_up_at && tk.follow_up_by) return { kind: "follow_up", at: tk.follow_up_by };
  return null;
}

// countdown is a cell that the page's clock keeps counting (tickCountdowns).
function countdown(tk) {
  const s = sla(tk);
  if (!s) return el("span", { className: "muted" }, tk.status === "on_hold" ? t("sla.paused") : "");
  const left = el("span", { className: "left" }, fmtLeft(s.at));
  left.dataset.at = s.at;
  const late = new Date(s.at).getTime() < Date.now();
  return el("span", { className: "countdown" + (late ? " breached" : ""), title: fmtTime(s.at) }, t("sla." + s.kind) + " ", left);
}

// tickCountdowns updates every countdown on the page.
function tickCountdowns() {
  const now = Date.now();
  document.querySelectorAll(".countdown .left").forEach(n => {
    const at = new Date(n.dataset.at).getTime();
    n.textContent = fmtLeft(n.dataset.at, now);
    n.parentNode.classList.toggle("breached", at < now);
    n.parentNode.classList.toggle("soon", at >= now && at - now < 3600e3);
  });
}

// seen holds the updated_at of each ticket as the page last drew it (from
// the database, like the stream's), so that the stream's news of a change
// already drawn, such as our own, redraws nothing.
const seen = new Map();

// postTicket sends a ticket action.
function postTicket(id, action, body) {
  return api("POST", `/api/v1/tickets/${id}/${action}`, body);
}

// actionButtons returns the lifecycle buttons of a ticket's status; note is
// the comment field, sent with the change.
function actionButtons(tk, note, after) {
  if (viewer()) return [];
  const post = (action, body, label, check) => el("button", {
    type: "button", disabled: !canChange(), title: token() ? "" : t("needsToken"), className: "act-" + action,
    onclick: () => {
      if (check && !check()) return;
      act(`#${tk.id} ${label}`, async () => { await postTicket(tk.id, action, body()); note.value = ""; if (after) after(); });
    },
  }, label);
  const comment = () => ({ comment: note.value.trim() });
  const out = [];
  switch (tk.status) {
    case "open": out.push(post("ack", comment, t("act.ack")), post("start", comment, t("act.start"))); break;
    case "acknowledged": out.push(post("start", comment, t("act.start"))); break;
    case "on_hold": out.push(post("start", comment, t("act.resume"))); break;
    case "resolved":
      if (tk.follow_up_result === "ok") out.push(post("close", comment, t("act.close")));
      else out.push(post("follow-up", () => ({ result: "ok", note: note.value.trim() }), t("act.followOK")),
        post("follow-up", () => ({ result: "failed", note: note.value.trim() }), t("act.followFailed")));
      break;
  }
  if (["open", "acknowledged", "in_progress"].includes(tk.status)) {
    out.push(post("hold", comment, t("act.hold")));
  }
  // An inspection ticket is its own follow-up: closing it completes the
  // inspection, which the server refuses (saying why) until the checklist
  // is done.
  if (isInspectionTicket(tk) && ["open", "acknowledged", "in_progress", "on_hold"].includes(tk.status)) {
    out.push(post("close", comment, t("act.complete")));
  } else if (["open", "acknowledged", "in_progress"].includes(tk.status)) {
    out.push(post("resolve", comment, t("act.resolve"), () => {
      if (note.value.trim()) return true;
      say(`#${tk.id}: ${t("act.resolveNeedsComment")}`, false);
      note.focus();
      return false;
    }));
  }
  if (["open", "acknowledged", "in_progress", "on_hold"].includes(tk.status)) {
    out.push(post("cancel", comment, t("act.cancel"), () => {
      if (note.value.trim()) return true;
      say(`#${tk.id}: ${t("act.cancelNeedsComment")}`, false);
      note.focus();
      return false;
    }));
  }
  return out;
}

// --- queue -------------------------------------------------------------------

const queue = { status: "open", priority: "", assignee: "", category: "", q: "", page: 0 };

function queueFilters(onChange) {
  const sel = (name, opts) => el("select", { name, onchange: ev => { queue[name] = ev.target.value; queue.page = 0; onChange(); } },
    opts.map(([v, label]) => el("option", { value: v, selected: queue[name] === v }, label)));
  const text = (name, ph, size) => el("input", {
    name, value: queue[name], placeholder: ph, size, type: name === "q" ? "search" : "text",
    onchange: ev => { queue[name] = ev.target.value.trim(); queue.page = 0; onChange(); },
  });
  return el("form", { className: "filters", onsubmit: ev => ev.preventDefault() },
    el("label", {}, t("tk.status"), sel("status", [["open", t("tk.openAll")], ["", t("all")],
      ...["open", "acknowledged", "in_progress", "on_hold", "resolved", "closed", "cancelled"].map(s => ["=" + s, t("status." + s)])])),
    el("label", {}, t("tk.prio"), sel("priority", [["", t("all")], ["P1", "P1"], ["P2", "P2"], ["P3", "P3"], ["P4", "P4"]])),
    el("label", {}, t("tk.assignee"), text("assignee", t("tk.anyone"), 10)),
    el("label", {}, t("tk.category"), text("category", t("tk.any"), 10)),
    el("label", {}, t("tk.search"), text("q", t("tk.searchPh"), 18)));
}

// loadQueue reads one page of the queue: the server filters, searches and
// pages, and says how many match in all (X-Total-Count).
async function loadQueue() {
  const p = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(queue.page * PAGE_SIZE) });
  if (queue.status === "open") p.set("open", "true");
  else if (queue.status.startsWith("=")) p.set("status", queue.status.slice(1));
  for (const k of ["priority", "assignee", "category", "q"]) if (queue[k]) p.set(k, queue[k]);
  const r = await request("GET", "/api/v1/tickets?" + p);
  const total = +(r.headers.get("X-Total-Count") || (r.data || []).length);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (queue.page > pages - 1) { queue.page = pages - 1; return loadQueue(); } // the queue shrank under us
  return { list: r.data || [], total, pages };
}

function queueTable({ list, total, pages }, reload) {
  const rows = list.map(tk => [
    el("a", { href: "#/ticket/" + tk.id }, "#" + tk.id),
    { text: t("status." + tk.status), className: "st-" + tk.status }, { text: tk.priority, className: "prio-" + tk.priority },
    el("span", {}, el("a", { href: "#/ticket/" + tk.id }, tk.title), el("div", { className: "muted small" }, [tk.device, tk.location, tk.category].filter(Boolean).join(" · "))),
    { text: String(tk.occurrences), className: "num" }, countdown(tk), tk.assignee || "", fmtTime(tk.created_at)]);
  const pager = el("div", { className: "pager" },
    el("button", { type: "button", disabled: queue.page === 0, className: "prev", onclick: () => { queue.page--; reload(); } }, t("pg.prev")),
    el("span", {}, t("pg.info", { page: queue.page + 1, pages, n: total })),
    el("button", { type: "button", disabled: queue.page >= pages - 1, className: "next", onclick: () => { queue.page++; reload(); } }, t("pg.next")));
  return el("div", {}, table(["#", t("tk.status"), t("tk.prio"), t("tk.title"), t("tk.occ"), t("tk.due"), t("tk.assignee"), t("tk.created")], rows), pager);
}

function reportForm() {
  const f = el("form", { id: "report-form", className: "form" },
    el("label", {}, t("rp.title"), el("input", { name: "title", required: true, maxLength: 500, placeholder: t("rp.titlePh") })),
    el("label", {}, t("tk.prio"), el("select", { name: "priority" }, ["P1", "P2", "P3", "P4"].map(p => el("option", { value: p, selected: p === "P3" }, t("rp." + p))))),
    el("label", {}, t("rp.location"), el("input", { name: "location", maxLength: 500, placeholder: t("rp.locationPh") })),
    el("label", {}, t("tk.category"), el("input", { name: "category", maxLength: 200, placeholder: "plumbing" })),
    el("button", { type: "submit" }, t("rp.submit")));
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    const body = { title: f.elements.title.value.trim(), priority: f.elements.priority.value, location: f.elements.location.value.trim(), category: f.elements.category.value.trim() };
    act(t("rp.submit"), async () => {
      const tk = await api("POST", "/api/v1/tickets", body);
      location.hash = "#/ticket/" + tk.id;
    });
  });
  return f;
}

pages.tickets = {
  async draw(view) {
    const box = el("div", {});
    const reload = async () => { box.replaceChildren(queueTable(await loadQueue(), reload)); tickCountdowns(); };
    await reload();
    view.append(section(t("tk.queue"), "wide", queueFilters(reload), box));
    if (!viewer()) view.append(section(t("rp.heading"), "", reportForm()));
    view.reload = reload; // the shown draw's (see pages.device)
  },
  shown(view) { this.reload = view.reload; },
  onTicket() {
    // Several changes come at once: reload the queue once for them.
    clearTimeout(this.pending);
    this.pending = setTimeout(() => { if (page === this && this.reload) this.reload(); }, 300);
  },
  leave() { clearTimeout(this.pending); },
};

// --- one ticket --------------------------------------------------------------

function eventText(e) {
  return t("ev." + e.kind, {}, e.kind);
}

pages.ticket = {
  async draw(view, [id]) {
    this.id = +id;
    const { ticket: tk, events } = await api("GET", "/api/v1/tickets/" + encodeURIComponent(id));
    seen.set(tk.id, tk.updated_at);
    const note = el("input", { type: "text", className: "note", placeholder: t("tp.commentPh"), maxLength: 1000 });
    const after = () => {};
    const info = [[t("tk.status"), t("status." + tk.status)], [t("tk.prio"), tk.priority], [t("tk.assignee"), tk.assignee || "—"],
      [t("tk.category"), tk.category || "—"], [t("al.device"), tk.device ? el("a", { href: "#/device/" + encodeURIComponent(tk.device) }, tk.device) : "—"],
      [t("rp.location"), tk.location || "—"], [t("tk.source"), t("src." + tk.source, {}, tk.source)], [t("tk.occ"), String(tk.occurrences)],
      [t("tk.created"), fmtTime(tk.created_at)], [t("tk.due"), countdown(tk)]];
    if (tk.related) info.push([t("tp.related"), el("a", { href: "#/ticket/" + tk.related, className: "related" }, "#" + tk.related)]);
    const checklist = isInspectionTicket(tk) ? await checklistSection(tk) : null;
    const assignee = el("input", { type: "text", name: "assignee", value: tk.assignee || "", size: 14, placeholder: t("tp.assigneePh") });
    const comment = el("textarea", { name: "text", rows: 2, maxLength: 4000, placeholder: t("tp.commentTextPh") });
    const canAct = canChange();
    // A closed or cancelled ticket keeps its assignee; comments still go in.
    const done = ["closed", "cancelled"].includes(tk.status);
    const buttons = actionButtons(tk, note, after);
    const hist = (events || []).map(e => [fmtTime(e.at), e.actor || "", eventText(e), e.detail || ""]);
    // DOM append writes null as text: leave the missing sections out.
    view.append(...[
      section(`#${tk.id} ${tk.title}`, "wide ticket-head",
        el("dl", { className: "facts" }, info.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        tk.description ? el("p", { className: "desc" }, tk.description) : null,
        buttons.length ? el("div", { className: "actions" }, note, buttons) : null),
      checklist,
      viewer() || done ? null : section(t("tp.assign"), "", el("form", {
        className: "inline", onsubmit: ev => {
          ev.preventDefault();
          act(t("tp.assign"), () => postTicket(tk.id, "assign", { assignee: assignee.value.trim() }));
        },
      }, assignee, el("button", { type: "submit", disabled: !canAct, className: "act-assign" }, t("tp.assign")))),
      viewer() ? null : section(t("tp.comment"), "", el("form", {
        className: "inline", onsubmit: ev => {
          ev.preventDefault();
          if (!comment.value.trim()) return;
          act(t("tp.comment"), () => postTicket(tk.id, "comment", { text: comment.value.trim() }));
        },
      }, comment, el("button", { type: "submit", disabled: !canAct, className: "act-comment" }, t("tp.addComment")))),
      section(t("tp.history"), "wide", table([t("al.time"), t("tp.actor"), t("tp.what"), t("tp.note")], hist))].filter(Boolean));
  },
  onTicket(tk) {
    if (tk.id !== this.id || seen.get(tk.id) === tk.updated_at) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(async () => {
      if (page !== this) return;
      const active = document.activeElement;
      if (active && ["INPUT", "TEXTAREA"].includes(active.tagName) && active.value) return; // someone is typing
      // A redraw of our own change may have drawn it meanwhile.
      const now = await api("GET", "/api/v1/tickets/" + this.id).catch(() => null);
      if (now && seen.get(this.id) !== now.ticket.updated_at) render();
    }, 300);
  },
  leave() { clearTimeout(this.pending); },
};
