// facilityd dashboard: live devices, alerts and tickets, and the actions of
// the engineering team. Every text from the API goes in through textContent
// or property setters, never parsed as markup, and the page is served
// with a Content-Security-Policy that allows only this script.
"use strict";

const TOKEN_KEY = "facilityd-token";
const $ = sel => document.querySelector(sel);

// el builds an element: attrs are properties (className, title, onclick…),
// children are nodes or strings (added as text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e[k] = v;
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const fmtTime = t => t ? new Date(t).toLocaleString() : "";
const fmtVal = v => typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v);
const token = () => sessionStorage.getItem(TOKEN_KEY) || "";

function say(text, ok) {
  const m = $("#msg");
  m.textContent = text;
  m.className = text ? (ok ? "ok" : "err") : "";
}

// api calls the JSON API with the session's token (or, given, another one);
// a failure throws the server's error message, with the HTTP status as
// e.status. A 401 asks for a token at the top right.
async function api(method, path, body, withToken) {
  const headers = { "Accept": "application/json" };
  const tok = withToken === undefined ? token() : withToken;
  if (tok) headers["Authorization"] = "Bearer " + tok;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  let data = null;
  try { data = await r.json(); } catch (e) { /* no JSON body */ }
  if (!r.ok && !(method === "GET" && r.status === 503)) {
    let why = (data && data.error) || ("HTTP " + r.status);
    if (r.status === 401 && withToken === undefined) {
      why = tok ? "the API token was not accepted: paste a valid one at the top right"
        : "this dashboard needs an API token: paste it at the top right";
      askToken();
    }
    const e = new Error(why);
    e.status = r.status;
    throw e;
  }
  return data;
}

// act runs a change, reports it, and refreshes the page.
async function act(what, fn) {
  try {
    await fn();
    say(what + ": done", true);
  } catch (e) {
    say(what + ": " + e.message, false);
  }
  refresh();
}

// --- token ---------------------------------------------------------------

const WHO_KEY = "facilityd-token-who";

function showToken() {
  const who = sessionStorage.getItem(WHO_KEY);
  $("#token-state").textContent = token() ? (who ? "token of " + who : "token set for this tab") : "no token";
  $("#token").value = "";
}

// askToken points at the token field when the API wants one.
function askToken() {
  const f = $("#token-form");
  if (f.classList.contains("need-token")) return;
  f.classList.add("need-token");
  $("#token-state").textContent = token() ? "token not accepted" : "token needed";
  if (document.activeElement === document.body || !document.activeElement) $("#token").focus();
}

// A token is checked with GET /api/v1/whoami before it is kept: a wrong one
// is said to be wrong and forgotten, not stored.
$("#token-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const v = $("#token").value.trim();
  if (!v) return;
  try {
    const me = await api("GET", "/api/v1/whoami", undefined, v);
    sessionStorage.setItem(TOKEN_KEY, v);
    sessionStorage.setItem(WHO_KEY, `${me.name} (${me.role})`);
    $("#token-form").classList.remove("need-token");
    say(`token of ${me.name} (${me.role}) in use for this tab`, true);
    showToken();
    refresh();
  } catch (e) {
    $("#token").value = "";
    $("#token-state").textContent = "token not accepted";
    say("token: " + (e.status === 401 ? "not accepted, not kept" : e.message), false);
    $("#token").focus();
  }
});
$("#token-forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(WHO_KEY);
  showToken();
  refresh();
});

// --- alerts ----------------------------------------------------------------

function silenceMatchers(a) {
  const l = a.labels || {};
  const ms = [`rule="${a.rule}"`];
  if (l.device || a.device) ms.push(`device="${l.device || a.device}"`);
  return ms.join(", ");
}

// mutedBy names what mutes an alert: a silence by its comment (and who set
// it), a maintenance window by name, an inhibiting alert as given.
function mutedBy(a, silences) {
  const byID = new Map(silences.map(s => [s.id, s]));
  return [...(a.silenced_by || []).map(id => {
    const s = byID.get(id);
    if (!s) return id;
    const what = s.comment || s.name || id;
    return s.created_by ? `${what} (${s.created_by})` : what;
  }), a.inhibited_by].filter(Boolean).join(", ");
}

function renderAlerts(alerts, silences) {
  const rows = alerts.map(a => el("tr", {},
    el("td", { className: "sev-" + a.severity }, a.severity),
    el("td", { title: (a.annotations && a.annotations.summary) || "" }, a.rule),
    el("td", {}, a.device),
    el("td", {}, a.state),
    el("td", {}, fmtTime(a.fired_at || a.active_at)),
    el("td", { className: "muted", title: (a.silenced_by || []).join(", ") }, mutedBy(a, silences)),
    el("td", {}, el("button", { type: "button", onclick: () => prefillSilence(a) }, "Silence…"))));
  $("#alerts tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 7, className: "muted" }, "none"))]));
}

function prefillSilence(a) {
  const f = $("#silence-form");
  f.elements.matchers.value = silenceMatchers(a);
  f.elements.comment.focus();
  f.scrollIntoView({ behavior: "smooth", block: "center" });
}

// --- tickets ---------------------------------------------------------------

// drafts keeps what people type into a ticket row across refreshes.
const drafts = new Map();

// ticketActions returns the buttons of a ticket's status; comment is the
// row's text field, sent with resolve and as the follow-up note.
function ticketActions(t) {
  const id = t.id;
  const note = el("input", { type: "text", placeholder: "comment", maxLength: 1000, value: drafts.get(id) || "" });
  note.addEventListener("input", () => drafts.set(id, note.value));
  const post = (action, body, label) => el("button", {
    type: "button", disabled: !token(), title: token() ? "" : "needs an API token",
    onclick: () => act(`#${id} ${label}`, async () => {
      await api("POST", `/api/v1/tickets/${id}/${action}`, body());
      drafts.delete(id);
    }),
  }, label);
  const comment = () => ({ comment: note.value.trim() });
  const out = [];
  switch (t.status) {
    case "open":
      out.push(post("ack", comment, "Acknowledge"), post("start", comment, "Start"));
      break;
    case "acknowledged":
      out.push(post("start", comment, "Start"));
      break;
    case "on_hold":
      out.push(post("start", comment, "Resume"));
      break;
    case "resolved":
      if (t.follow_up_result === "ok") {
        out.push(post("close", comment, "Close"));
      } else {
        out.push(post("follow-up", () => ({ result: "ok", note: note.value.trim() }), "Follow-up OK"),
          post("follow-up", () => ({ result: "failed", note: note.value.trim() }), "Follow-up failed"));
      }
      break;
  }
  if (["open", "acknowledged", "in_progress"].includes(t.status)) {
    out.push(post("hold", comment, "Hold"));
    const resolve = post("resolve", comment, "Resolve");
    resolve.onclick = () => {
      if (!note.value.trim()) { say(`#${id} resolve: write what was done in the comment field`, false); note.focus(); return; }
      act(`#${id} resolve`, async () => { await api("POST", `/api/v1/tickets/${id}/resolve`, comment()); drafts.delete(id); });
    };
    out.push(resolve);
  }
  if (!out.length) return el("span", { className: "muted" }, "—");
  return el("div", { className: "actions" }, note, out);
}

function dueCell(t, now) {
  let kind = "", at = "";
  if (t.status === "open") { kind = "respond"; at = t.respond_by; }
  else if (t.status === "on_hold") return el("td", { className: "muted" }, "paused (on hold)");
  else if (["acknowledged", "in_progress"].includes(t.status)) { kind = "resolve"; at = t.resolve_by; }
  else if (t.status === "resolved" && !t.follow_up_at && t.follow_up_by) { kind = "follow-up"; at = t.follow_up_by; }
  if (!kind) return el("td", { className: "muted" }, t.status === "resolved" ? "follow-up " + (t.follow_up_result || "") : "");
  const late = new Date(at).getTime() < now;
  return el("td", { className: late ? "breached" : "", title: late ? "SLA breached" : "" },
    kind + " by " + fmtTime(at) + (late ? " (late)" : ""));
}

function renderTickets(ts) {
  // Leave the table alone while someone types in it.
  if ($("#tickets").contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
  const now = Date.now();
  const rows = ts.map(t => el("tr", {},
    el("td", {}, String(t.id)),
    el("td", {}, t.status.replace("_", " ")),
    el("td", {}, t.priority),
    el("td", {}, t.title, el("div", { className: "muted" }, [t.device, t.location, t.category].filter(Boolean).join(" · "))),
    el("td", { className: "num" }, String(t.occurrences)),
    dueCell(t, now),
    el("td", {}, t.assignee || ""),
    el("td", {}, ticketActions(t))));
  $("#tickets tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 8, className: "muted" }, "none"))]));
}

$("#report-form").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = ev.target;
  const body = { title: f.elements.title.value.trim(), priority: f.elements.priority.value, location: f.elements.location.value.trim(), category: f.elements.category.value.trim() };
  act("report repair", async () => {
    const t = await api("POST", "/api/v1/tickets", body);
    f.reset();
    say(`ticket #${t.id} opened`, true);
  });
});

// --- silences --------------------------------------------------------------

const silenceForm = $("#silence-form");
silenceForm.elements.for.addEventListener("change", () => { silenceForm.elements.until.disabled = silenceForm.elements.for.value !== "until"; });
silenceForm.addEventListener("submit", ev => {
  ev.preventDefault();
  const f = silenceForm;
  const body = {
    matchers: f.elements.matchers.value.split(",").map(s => s.trim()).filter(Boolean),
    comment: f.elements.comment.value.trim(),
  };
  if (f.elements.for.value === "until") {
    const end = new Date(f.elements.until.value);
    if (!f.elements.until.value || isNaN(end)) { say("silence: choose when it ends", false); return; }
    body.ends_at = end.toISOString();
  } else {
    body.duration = f.elements.for.value;
  }
  act("silence", async () => { await api("POST", "/api/v1/silences", body); f.reset(); f.elements.until.disabled = true; });
});

function renderSilences(list) {
  const rows = list.map(s => el("tr", {},
    el("td", {}, (s.matchers || []).join(", ")),
    el("td", {}, fmtTime(s.ends_at)),
    el("td", {}, s.created_by || ""),
    el("td", {}, s.comment || ""),
    el("td", {}, el("button", {
      type: "button", disabled: !token(), title: token() ? "" : "needs an API token",
      onclick: () => act("expire silence", () => api("DELETE", "/api/v1/silences/" + encodeURIComponent(s.id))),
    }, "Expire"))));
  $("#silences tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colSpan: 5, className: "muted" }, "none"))]));
}

// --- devices ---------------------------------------------------------------

function healthText(h) {
  if (!h || !Object.keys(h).length) return "";
  const parts = [];
  if (typeof h.latency_ms === "number") parts.push(h.latency_ms.toFixed(1) + " ms");
  if (h.errors !== undefined) parts.push(h.errors + " errors");
  if (h.skipped) parts.push(h.skipped + " skipped");
  return parts.join(" · ");
}

function renderDevices(devices) {
  const cards = devices.map(d => {
    const h = d.health || {};
    const state = h.state || d.state;
    const pts = Object.entries(d.points || {}).sort(([a], [b]) => a.localeCompare(b));
    const rows = pts.map(([k, r]) => el("tr", {}, el("td", {}, k), el("td", { className: "num" }, fmtVal(r.value)), el("td", { className: "muted" }, r.unit || "")));
    return el("section", {},
      el("h2", {}, d.id + " ", el("span", { className: "muted" }, [d.type, d.location].filter(Boolean).join(" · ")), " ",
        el("span", { className: "state-" + state }, state), " ",
        el("span", { className: "health muted" }, healthText(h))),
      el("table", {}, rows.length ? rows : el("tr", {}, el("td", { className: "muted" }, "no data yet"))));
  });
  $("#devices").replaceChildren(...cards);
}

// --- refresh ---------------------------------------------------------------

async function refresh() {
  try {
    // a list the API gives as null (none yet) is an empty list
    const [health, devices, alerts, tickets, silences] = (await Promise.all([api("GET", "/healthz"), api("GET", "/api/v1/devices"),
      api("GET", "/api/v1/alerts"), api("GET", "/api/v1/tickets?limit=30"), api("GET", "/api/v1/silences?active=true").catch(() => [])]))
      .map((v, i) => i === 0 ? v : (v || []));
    $("#status").textContent = "status: " + health.status + " · " + devices.length + " devices · updated " + new Date().toLocaleTimeString();
    renderAlerts(alerts, silences || []);
    renderTickets(tickets);
    renderSilences(silences || []);
    renderDevices(devices);
  } catch (e) {
    $("#status").textContent = "not updated: " + e.message;
  }
}

showToken();
refresh();
setInterval(refresh, 2000);
