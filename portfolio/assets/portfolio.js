"use strict";
// The portfolio page: one GET of /api/v1/portfolio, drawn as a ranked table
// (cards on a phone). Every string from the API goes in as text.
const LANG_KEY = "facilityd-lang";
const TOKEN_KEY = "facilityd-token";
const REFRESH_MS = 60000;

function pickLang() {
  const q = new URLSearchParams(location.search).get("lang");
  if (q && MESSAGES[q]) return q;
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && MESSAGES[saved]) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}
let lang = pickLang();
let last = null; // the last view, redrawn when the language changes

// t is the message key in the page's language, with {name} filled from args.
function t(key, args) {
  let s = (MESSAGES[lang] && MESSAGES[lang][key]) || MESSAGES.en[key] || key;
  for (const [k, v] of Object.entries(args || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function num(x, digits) {
  if (x === null || x === undefined) return "–";
  return Number(x).toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// Dates are shown in the portfolio's time zone, whatever the browser's.
let zone = "UTC";
function day(s) { return new Date(s).toLocaleDateString(lang, { month: "short", day: "numeric", timeZone: zone }); }
function span(p) {
  if (p.to === p.from) return day(p.from) + " –";
  return day(p.from) + " – " + new Date(p.to).toLocaleString(lang, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: zone });
}

function applyLabels() {
  document.documentElement.lang = lang;
  document.getElementById("lang").value = lang;
  document.title = "facilityd · " + t("title");
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
}

function showMsg(text) {
  const m = document.getElementById("msg");
  m.textContent = text || "";
  m.className = text ? "err" : "";
}

async function load() {
  const headers = { Accept: "application/json" };
  const tok = sessionStorage.getItem(TOKEN_KEY);
  if (tok) headers.Authorization = "Bearer " + tok;
  document.getElementById("status").textContent = t("loading");
  try {
    const r = await fetch("api/v1/portfolio", { headers });
    if (r.status === 401) {
      document.getElementById("token-form").hidden = false;
      showMsg(tok ? t("token.rejected") : t("token.needed"));
      document.getElementById("status").textContent = "";
      return;
    }
    if (!r.ok) throw new Error(r.status + " " + r.statusText);
    last = await r.json();
    showMsg("");
    draw(last);
  } catch (e) {
    showMsg(t("failed", { why: e.message }));
    document.getElementById("status").textContent = "";
  }
}

function total(value, label) {
  const d = el("div", "total");
  d.append(el("b", null, value), el("span", null, label));
  return d;
}

// change is an energy figure's change against last year, as a short line.
function change(f) {
  if (f.last_year_kwh === null || f.last_year_kwh === undefined) return el("span", "sub", t("vs.nodata"));
  if (f.change_pct === null || f.change_pct === undefined) return el("span", "sub", t("vs.none"));
  const c = f.change_pct;
  return el("span", "sub " + (c > 0 ? "bad" : "good"), t("vs.lastyear") + " " + (c > 0 ? "+" : "") + num(c, 1) + " %");
}

// vsBaseline is an energy figure against the site's baselines' expectation.
function vsBaseline(f) {
  if (f.baseline_kwh === null || f.baseline_kwh === undefined) return el("span", "sub", t("vs.baseline.nodata"));
  if (f.vs_baseline_pct === null || f.vs_baseline_pct === undefined)
    return el("span", "sub", t("vs.baseline.none", { kwh: num(f.baseline_kwh, 0), pct: num(f.baseline_coverage_pct, 1) }));
  const c = f.vs_baseline_pct;
  const s = el("span", "sub " + (c > 0 ? "bad" : "good"), t("vs.baseline") + " " + (c > 0 ? "+" : "") + num(c, 1) + " %");
  s.title = t("vs.baseline.of", { kwh: num(f.baseline_kwh, 0), pct: num(f.baseline_coverage_pct, 1) });
  return s;
}

function energyCell(f, label) {
  const td = el("td", "num");
  td.dataset.label = label;
  const box = el("div");
  box.append(el("span", null, num(f.kwh, 0) + " kWh"), el("span", "sub", num(f.kwh_per_m2, 2) + " kWh/m²"), vsBaseline(f), change(f),
    el("span", "sub", t("coverage", { pct: num(f.coverage_pct, 1) })));
  td.append(box);
  return td;
}

function slaCell(s, label) {
  const td = el("td", "num");
  td.dataset.label = label;
  if (!s) { td.textContent = t("unknown"); return td; }
  const box = el("div");
  if (s.met_pct === null) box.append(el("span", "muted", t("none")));
  else box.append(el("span", s.met_pct < 90 ? "bad" : "", num(s.met_pct, 1) + " %"), el("span", "sub", t("of", { met: s.met, due: s.due })));
  td.append(box);
  return td;
}

function draw(v) {
  zone = v.zone || "UTC";
  applyLabels();
  document.getElementById("status").textContent = "";
  document.getElementById("periods").textContent = t("periods", {
    this: span(v.this_month), last: span(v.last_month), zone: v.zone,
    at: new Date(v.generated_at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", timeZone: zone }) });
  document.getElementById("note").textContent = t("note") +
    (v.unlisted_sites && v.unlisted_sites.length ? " " + t("unlisted", { sites: v.unlisted_sites.join(", ") }) : "");

  const tot = v.totals;
  const box = document.getElementById("totals");
  box.replaceChildren(
    total(num(v.sites.length, 0), t("total.sites")),
    total(num(tot.floor_area_m2, 0) + " m²", t("total.area")),
    total(num(tot.open_total, 0), t("total.open")),
    total(num(tot.inspections_overdue, 0), t("total.overdue")),
    total(num(tot.this_month_kwh, 0) + " kWh", t("total.this")),
    total(num(tot.last_month_kwh, 0) + " kWh", t("total.last")),
    total(num(tot.last_month_kwh_per_m2, 2) + " kWh/m²", t("total.intensity")));

  const max = Math.max(0, ...v.sites.filter(s => s.energy).map(s => s.energy.last_month.kwh_per_m2));
  const rows = v.sites.map(s => {
    const tr = el("tr");
    tr.dataset.site = s.site;
    const rank = el("td", "num", s.rank || "–"); rank.dataset.label = t("col.rank");
    const name = el("td"); name.dataset.label = t("col.site");
    const nb = el("div");
    nb.append(el("span", "site-name", s.name), el("span", "sub", s.site + " · " + num(s.floor_area_m2, 0) + " m²"));
    name.append(nb);
    const open = el("td"); open.dataset.label = t("col.open");
    const overdue = el("td", "num"); overdue.dataset.label = t("col.overdue");
    if (s.tickets) {
      const chips = el("div", "chips");
      for (const p of ["P1", "P2", "P3", "P4"]) {
        const n = s.tickets.open[p] || 0;
        chips.append(el("span", "chip " + p.toLowerCase() + (n ? "" : " zero"), p + " " + n));
      }
      open.append(chips);
      overdue.textContent = s.tickets.inspections_overdue;
      if (s.tickets.inspections_overdue > 0) overdue.className = "num bad";
    } else {
      open.textContent = t("unknown");
      overdue.textContent = t("unknown");
    }
    const cells = [rank, name, open, slaCell(s.tickets && s.tickets.response, t("col.response")),
      slaCell(s.tickets && s.tickets.resolution, t("col.resolution")), overdue];
    const intensity = el("td"); intensity.dataset.label = t("col.intensity");
    if (s.energy) {
      cells.push(energyCell(s.energy.this_month, t("col.this")), energyCell(s.energy.last_month, t("col.last")));
      const bar = el("div", "bar"), fill = el("div");
      fill.style.width = (max > 0 ? 100 * s.energy.last_month.kwh_per_m2 / max : 0).toFixed(1) + "%";
      bar.append(fill);
      const b = el("div");
      b.append(el("span", null, num(s.energy.last_month.kwh_per_m2, 2)), bar);
      intensity.append(b);
    } else {
      for (const l of [t("col.this"), t("col.last")]) { const td = el("td", "num", t("unknown")); td.dataset.label = l; cells.push(td); }
      intensity.textContent = t("unknown");
    }
    cells.push(intensity);
    tr.append(...cells);
    return tr;
  });
  document.querySelector("#sites tbody").replaceChildren(...rows);

  const errs = document.getElementById("errors");
  errs.hidden = !v.errors.length;
  errs.querySelector("ul").replaceChildren(...v.errors.map(e =>
    el("li", null, (e.site || t("all")) + " · " + t("part." + e.part) + ": " + e.error)));
}

document.getElementById("lang").addEventListener("change", e => {
  lang = e.target.value;
  localStorage.setItem(LANG_KEY, lang);
  applyLabels();
  if (last) draw(last);
});
document.getElementById("token-form").addEventListener("submit", e => {
  e.preventDefault();
  const v = document.getElementById("token").value.trim();
  if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
  load();
});
applyLabels();
load();
setInterval(load, REFRESH_MS);
