// The checklist of an inspection ticket on its page: each item with its
// limits and answer, failed items in red with their corrective ticket, and
// for operators a field to answer it (POST /api/v1/tickets/{id}/checklist).
// Closing the ticket completes the inspection; the server refuses it,
// saying which items are missing, until the required ones are answered.
"use strict";

// isInspectionTicket says whether a ticket is an inspection's own (which has
// a checklist), not a corrective ticket opened from one.
const isInspectionTicket = tk => tk.source === "inspection" && (tk.key || "").startsWith("inspection:");

// limits says what a reading must be: 4–10 mm, ≥ 4 mm, ≤ 10 mm.
function limits(it) {
  const u = it.unit ? " " + it.unit : "";
  const has = v => v !== undefined && v !== null;
  if (has(it.min) && has(it.max)) return `${fmtVal(it.min)} – ${fmtVal(it.max)}${u}`;
  if (has(it.min)) return `≥ ${fmtVal(it.min)}${u}`;
  if (has(it.max)) return `≤ ${fmtVal(it.max)}${u}`;
  return it.unit || "";
}

function answerText(it) {
  if (!it.answered_at) return el("span", { className: "muted" }, it.required ? t("cl.missing") : "—");
  const v = it.evidence === "reading" ? `${fmtVal(it.value)}${it.unit ? " " + it.unit : ""}`
    : it.evidence === "yes_no" ? t("cl." + it.answer, {}, it.answer) : it.answer;
  return el("span", {}, el("b", {}, v), " ", it.failed ? el("span", { className: "cl-failed-tag" }, t("cl.failed")) : null,
    it.note ? el("div", { className: "small" }, it.note) : null,
    el("div", { className: "muted small" }, t("cl.by", { who: it.answered_by || "", at: fmtTime(it.answered_at) })));
}

// answerForm is the field that answers one item: a number for a reading,
// yes or no, or text; and a note (a failed item needs one).
function answerForm(tk, it) {
  const input = it.evidence === "reading" ? el("input", { type: "number", step: "any", name: "value", size: 7, value: it.value ?? "", placeholder: it.unit || "" })
    : it.evidence === "yes_no" ? el("select", { name: "answer" }, el("option", { value: "" }, "…"),
      ["yes", "no"].map(a => el("option", { value: a, selected: it.answer === a }, t("cl." + a))))
      : el("input", { type: "text", name: "answer", size: 16, maxLength: 2000, value: it.answer || "" });
  const note = el("input", { type: "text", name: "note", size: 16, maxLength: 2000, value: it.note || "", placeholder: t("cl.notePh") });
  const f = el("form", { className: "cl-form inline" }, input, note,
    el("button", { type: "submit", className: "act-answer", disabled: !canChange(), title: token() ? "" : t("needsToken") }, t("cl.save")));
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    const body = { index: it.index, answer: "", note: note.value.trim() };
    if (it.evidence === "reading") {
      if (input.value.trim() === "" || isNaN(+input.value)) { say(`#${tk.id} ${it.index}: ${t("cl.needNumber")}`, false); input.focus(); return; }
      body.value = +input.value;
    } else {
      body.answer = input.value.trim();
      if (!body.answer) { say(`#${tk.id} ${it.index}: ${t("cl.needAnswer")}`, false); input.focus(); return; }
    }
    act(`#${tk.id} ${t("cl.item", { n: it.index })}`, () => api("POST", `/api/v1/tickets/${tk.id}/checklist`, body));
  });
  return f;
}

// checklistSection reads and draws ticket tk's checklist (null if it has
// none).
async function checklistSection(tk) {
  let items;
  try {
    items = await api("GET", `/api/v1/tickets/${tk.id}/checklist`) || [];
  } catch (e) {
    return section(t("cl.title"), "wide", el("p", { className: "muted" }, e.message));
  }
  if (!items.length) return null;
  const answering = tk.status !== "closed" && tk.status !== "cancelled" && tk.status !== "resolved" && !viewer();
  const heads = ["#", t("cl.item.text"), t("cl.limits"), t("cl.answer"), t("cl.corrective"), answering ? t("cl.answerIt") : null].filter(Boolean);
  const rows = items.map(it => el("tr", { className: "cl-item" + (it.failed ? " failed" : "") + (it.answered_at ? " answered" : ""), id: "cl-" + it.index },
    [el("span", {}, String(it.index)),
      el("span", {}, it.text, it.required ? el("span", { className: "req", title: t("cl.required") }, " *") : null,
        el("div", { className: "muted small" }, t("cl.ev." + it.evidence, {}, it.evidence))),
      limits(it), answerText(it),
      it.corrective ? el("a", { href: "#/ticket/" + it.corrective, className: "corrective" }, "#" + it.corrective) : "",
      answering ? answerForm(tk, it) : null].filter(c => c !== null).map(c => el("td", {}, c))));
  const left = items.filter(it => it.required && !it.answered_at).length;
  const said = !["open", "acknowledged", "in_progress", "on_hold"].includes(tk.status) ? t("cl.recorded") : left ? t("cl.left", { n: left }) : t("cl.complete");
  return section(t("cl.title"), "wide checklist",
    el("p", { className: left && answering ? "cl-left" : "muted small" }, said),
    el("div", { className: "scroll" }, stackable(el("table", {}, el("thead", {}, el("tr", {}, heads.map(h => el("th", {}, h)))), el("tbody", {}, rows)))));
}
