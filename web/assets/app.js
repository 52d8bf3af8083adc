// facilityd console: the core every page uses — building nodes, calling
// the API with the tab's token, the live event stream, and the router.
// Every text from the API goes in through textContent or property setters,
// never parsed as markup, and the page is served with a
// Content-Security-Policy that allows only these scripts.
"use strict";

const TOKEN_KEY = "facilityd-token";
const WHO_KEY = "facilityd-token-who";
const ROLE_KEY = "facilityd-token-role";
const $ = sel => document.querySelector(sel);

// el builds an element: attrs are properties (className, title, onclick…),
// children are nodes or strings (added as text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e[k] = v;
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const fmtTime = tm => tm ? new Date(tm).toLocaleString(lang()) : "";
const fmtVal = v => v === null || v === undefined ? "n/a" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v);
const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
// role is the token's role from GET /api/v1/whoami: viewer, operator or
// admin ("" before it is known).
const role = () => (token() && sessionStorage.getItem(ROLE_KEY)) || "";
// viewer says whether the tab's token may only read: its change buttons
// are not shown at all (the server would refuse them with 403).
const viewer = () => role() === "viewer";
// canChange says whether change buttons work: a token that is not a
// viewer's. Without a token they show, disabled, saying one is needed.
const canChange = () => !!token() && !viewer();

// loadRole asks whoami for the role of a token kept from before the role
// was stored, and redraws when it is known.
async function loadRole() {
  if (!token() || sessionStorage.getItem(ROLE_KEY)) return;
  try {
    const me = await api("GET", "/api/v1/whoami");
    sessionStorage.setItem(ROLE_KEY, me.role);
    render();
  } catch (e) { /* the token field says why */ }
}

// fmtAge says how long ago a time was: 5 s, 3 min, 2 h, 4 d.
function fmtAge(tm, now) {
  const s = Math.max(0, Math.round(((now || Date.now()) - new Date(tm).getTime()) / 1000));
  if (s < 120) return t("age.s", { n: s });
  if (s < 7200) return t("age.min", { n: Math.round(s / 60) });
  if (s < 172800) return t("age.h", { n: Math.round(s / 3600) });
  return t("age.d", { n: Math.round(s / 86400) });
}

// fmtLeft says how long until a time, or how long past it (negative).
function fmtLeft(tm, now) {
  let s = Math.round((new Date(tm).getTime() - (now || Date.now())) / 1000);
  const late = s < 0;
  s = Math.abs(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const txt = h >= 48 ? t("age.d", { n: Math.floor(h / 24) }) : h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(sec).padStart(2, "0")}s`;
  return late ? t("sla.late", { d: txt }) : t("sla.left", { d: txt });
}

// say shows a message under the header; one that reports success goes
// after a while, an error stays until the next message.
function say(text, ok) {
  const m = $("#msg");
  m.textContent = text;
  m.className = text ? (ok ? "ok" : "err") : "";
  clearTimeout(say.timer);
  if (text && ok) say.timer = setTimeout(() => { if (m.textContent === text) say("", true); }, 8000);
}

// api calls the JSON API with the session's token (or, given, another one);
// a failure throws the server's error message, with the HTTP status as
// e.status. A 401 asks for a token at the top right.
async function api(method, path, body, withToken) {
  return (await request(method, path, body, withToken)).data;
}

// request is api with the response's headers: {data, headers}.
async function request(method, path, body, withToken) {
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
      why = tok ? t("token.rejected") : t("token.needed.long");
      askToken();
    }
    const e = new Error(why);
    e.status = r.status;
    throw e;
  }
  return { data, headers: r.headers };
}

// act runs a change, reports it, and redraws the page.
async function act(what, fn) {
  try {
    await fn();
    say(what + ": " + t("done"), true);
  } catch (e) {
    say(what + ": " + e.message, false);
  }
  render();
}

// --- token ---------------------------------------------------------------

// showToken says who is signed in in this tab: signed in, the form shows
// the name and role and a sign-out button; signed out, the token field.
function showToken() {
  const who = sessionStorage.getItem(WHO_KEY);
  $("#token-state").textContent = token() ? (who ? t("token.of", { who }) : t("token.set")) : t("token.none");
  $("#token-form").classList.toggle("signed-in", !!token());
  $("#token").value = "";
}

// askToken points at the token field when the API wants one.
function askToken() {
  const f = $("#token-form");
  if (f.classList.contains("need-token")) return;
  f.classList.add("need-token");
  $("#token-state").textContent = token() ? t("token.notAccepted") : t("token.needed");
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
    sessionStorage.setItem(ROLE_KEY, me.role);
    $("#token-form").classList.remove("need-token");
    say(t("token.inUse", { who: `${me.name} (${me.role})` }), true);
    showToken();
    live.restart();
    render();
  } catch (e) {
    $("#token").value = "";
    $("#token-state").textContent = t("token.notAccepted");
    say(t("token.label") + ": " + (e.status === 401 ? t("token.notKept") : e.message), false);
    $("#token").focus();
  }
});
$("#token-forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(WHO_KEY);
  sessionStorage.removeItem(ROLE_KEY);
  showToken();
  live.restart();
  render();
});

// --- state and the live stream --------------------------------------------

// state is what the pages draw: loaded at start and on every (re)connect,
// then kept current by the event stream.
const state = { overview: null, devices: new Map(), alerts: [], health: null, ticketsChanged: 0 };

// loadAll reads everything the header and the overview need.
async function loadAll() {
  const [overview, devices, alerts] = await Promise.all([api("GET", "/api/v1/overview"), api("GET", "/api/v1/devices"), api("GET", "/api/v1/alerts")]);
  state.overview = overview;
  state.devices = new Map((devices || []).map(d => [d.id, d]));
  state.alerts = alerts || [];
}

// live follows GET /api/v1/events. EventSource cannot send headers, so the
// tab's token goes as ?token= (the server takes it there for this route
// only). The browser reconnects by itself; every (re)connect starts with
// hello, which reloads the state.
const live = {
  src: null,
  retry: null,
  async start() {
    const tok = token();
    // Without a token the API may refuse to be read: ask first, so that
    // the stream is not opened only to be refused; the token field says
    // what to do, and a new token restarts the stream.
    try { await api("GET", "/api/v1/overview"); } catch (e) {
      if (e.status === 401) { $("#live").textContent = t("live.off"); $("#live").className = "live-off"; return; }
    }
    if (tok !== token()) return; // the token changed meanwhile: its restart opens the stream
    if (this.src) this.src.close();
    const src = new EventSource("/api/v1/events" + (tok ? "?token=" + encodeURIComponent(tok) : ""));
    this.src = src;
    src.addEventListener("hello", async () => {
      $("#live").textContent = t("live.on");
      $("#live").className = "live-on";
      try { await loadAll(); } catch (e) { /* the header says why */ }
      render();
    });
    src.addEventListener("overview", ev => { state.overview = JSON.parse(ev.data); drawHeader(); page.onOverview && page.onOverview(); });
    src.addEventListener("device", ev => { const d = JSON.parse(ev.data); state.devices.set(d.id, d); page.onDevice && page.onDevice(d); });
    src.addEventListener("alerts", ev => { state.alerts = JSON.parse(ev.data) || []; page.onAlerts && page.onAlerts(); });
    src.addEventListener("ticket", ev => { state.ticketsChanged++; page.onTicket && page.onTicket(JSON.parse(ev.data)); });
    src.onerror = () => {
      $("#live").textContent = t("live.off");
      $("#live").className = "live-off";
      if (src.readyState === EventSource.CLOSED) { // refused (401): try again later
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.restart(), 10000);
      }
    };
  },
  restart() {
    if (this.src) this.src.close();
    clearTimeout(this.retry);
    this.start();
  },
};

// --- header ----------------------------------------------------------------

function drawHeader() {
  const o = state.overview;
  if (!o) return;
  const badge = $("#site-state");
  badge.textContent = t("state." + o.state);
  badge.className = "badge state-" + o.state;
  $("#status").textContent = t("status", { state: t("state." + o.state), n: (o.devices || []).length, time: new Date().toLocaleTimeString(lang()) });
  document.title = (o.state === "ok" ? "" : "⚠ ") + "facilityd";
}

// --- router ----------------------------------------------------------------

// pages maps the first part of the hash to a page: draw(main, args) fills
// the view; the on* handlers take live events while it shows.
const pages = {};
let page = {};

function route() {
  const parts = (location.hash.replace(/^#\/?/, "") || "overview").split("/").map(decodeURIComponent);
  return { name: pages[parts[0]] ? parts[0] : "overview", args: parts.slice(1) };
}

let renderSeq = 0;

// render draws the page of the hash, and the header.
async function render() {
  const r = route();
  const seq = ++renderSeq;
  document.querySelectorAll("#nav a").forEach(a => a.classList.toggle("active", a.dataset.route === r.name || (a.dataset.route === "tickets" && r.name === "ticket") || (a.dataset.route === "inspections" && r.name === "inspection")));
  document.body.classList.toggle("role-viewer", viewer());
  const p = pages[r.name];
  if (page !== p && page.leave) page.leave();
  page = p;
  try {
    if (!state.overview) await loadAll();
    drawHeader();
    const view = el("div", { className: "page page-" + r.name });
    await p.draw(view, r.args);
    if (seq !== renderSeq) return; // another render started meanwhile
    $("#view").replaceChildren(view);
    if (p.shown) p.shown(view);
  } catch (e) {
    if (seq !== renderSeq) return;
    $("#status").textContent = t("notUpdated", { why: e.message });
    $("#view").replaceChildren(el("p", { className: "muted" }, t("notUpdated", { why: e.message })));
  }
}

// section builds a titled box.
function section(title, cls, ...children) {
  return el("section", { className: cls || "" }, el("h2", {}, title), ...children);
}

// table builds a table from header texts and rows (arrays of cells: nodes,
// strings or {text, className, title}).
function table(heads, rows, empty) {
  const cell = (tag, c) => c instanceof Node ? el(tag, {}, c)
    : (c && typeof c === "object" && !Array.isArray(c)) ? el(tag, { className: c.className || "", title: c.title || "", colSpan: c.colSpan || 1 }, c.node || c.text)
      : el(tag, {}, c);
  const body = rows.length ? rows.map(r => el("tr", {}, r.map(c => cell("td", c))))
    : [el("tr", {}, el("td", { colSpan: heads.length, className: "muted" }, empty || t("none")))];
  return el("div", { className: "scroll" }, stackable(el("table", {}, el("thead", {}, el("tr", {}, heads.map(h => el("th", {}, h)))), el("tbody", {}, body))));
}

// stackable labels each body cell with its column's header (data-label)
// and, for a table of more than four columns, marks it to stack on a phone:
// each row a block, each cell under its header's name (app.css), so that
// no column is cut off at the right. A cell spanning columns (a form, "no
// items") has no label.
function stackable(tbl) {
  const heads = [...tbl.querySelectorAll("thead th")].map(th => th.textContent);
  if (heads.length > 4) tbl.classList.add("stack");
  for (const tr of tbl.querySelectorAll("tbody tr")) {
    [...tr.cells].forEach((td, i) => {
      if (td.colSpan === 1 && heads[i]) td.dataset.label = heads[i];
    });
  }
  return tbl;
}

// pointLabel is a point's label in the page's language, or its name.
function pointLabel(r, name) {
  if (r && lang() === "zh-CN" && r.label_zh) return r.label_zh;
  return (r && r.label) || name;
}
