// Energy: today against the baselines (GET /api/v1/energy/today), today and
// this month per category and sub-item with the month's cost (GET
// /api/v1/energy/consumption?cost=true), each meter's baseline, the anomalies found
// against them with their tickets, and the latest reports.
"use strict";

// startOf returns midnight of today, or of this month's first day, in the
// browser's zone, as RFC 3339.
function startOf(what) {
  const d = new Date();
  const s = what === "month" ? new Date(d.getFullYear(), d.getMonth(), 1) : new Date(d.getFullYear(), d.getMonth(), d.getDate());
  return s.toISOString();
}

// usageRows sums a consumption report's groups by category and sub-item.
function usageRows(rep) {
  const rows = new Map();
  for (const g of (rep && rep.groups) || []) {
    if (g.level !== "site" && g.level !== "sub_item") continue;
    const k = g.category + "/" + (g.level === "sub_item" ? g.sub_item : "");
    const r = rows.get(k) || { category: g.category, sub: g.level === "sub_item" ? g.sub_item : "", unit: g.unit, total: 0 };
    r.total += g.total;
    rows.set(k, r);
  }
  return [...rows.values()].sort((a, b) => a.category.localeCompare(b.category) || a.sub.localeCompare(b.sub));
}

// consumption asks for from … now by day; withCost adds the cost at the
// configured tariff (GET /api/v1/energy/consumption?cost=true).
async function consumption(from, withCost) {
  const q = new URLSearchParams({ from, to: new Date().toISOString(), interval: "1d" });
  if (withCost) q.set("cost", "true");
  return api("GET", "/api/v1/energy/consumption?" + q);
}

const fmtMoney = (v, cur) => v.toLocaleString(lang(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " " + cur;
// fmtClock is a time of day in the site's zone (zone), else the browser's.
const fmtClock = (tm, zone) => {
  try {
    return new Date(tm).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone || undefined });
  } catch (e) {
    return new Date(tm).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
};

// nameCell is a row's name with its unit (and, with note, a line under it):
// the unit stays with the name so that a phone need not show a unit column.
function nameCell(label, unit, opts) {
  const o = opts || {};
  return el("span", { className: o.sub ? "sub-item" : "" }, o.bold ? el("b", {}, label) : label, " ", el("span", { className: "unit" }, unit || ""),
    o.note ? el("span", { className: "daily-note" }, o.note) : null);
}

// usageTable has a row per category (its total, bold) and sub-item, today
// and this month, and the month's cost per category with its parts as a
// title.
function usageTable(today, month) {
  const key = r => r.category + "/" + r.sub;
  const byKey = new Map(usageRows(today).map(r => [key(r), r]));
  const cost = month.cost;
  const costs = new Map(((cost && cost.categories) || []).map(c => [c.category, c]));
  const costCell = r => {
    const c = !r.sub && costs.get(r.category);
    if (!c) return "";
    const parts = [t("en.energyCost") + " " + fmtMoney(c.energy_cost, cost.currency)];
    if (c.fixed_cost) parts.push(t("en.fixedCost") + " " + fmtMoney(c.fixed_cost, cost.currency));
    if (c.demand_cost) parts.push(t("en.demandCost") + " " + fmtMoney(c.demand_cost, cost.currency));
    return { text: fmtMoney(c.cost, cost.currency), className: "num month-cost", title: parts.join("; ") };
  };
  const rows = usageRows(month).map(r => [
    r.sub ? nameCell(t("sub." + r.sub, {}, r.sub), r.unit, { sub: true }) : nameCell(t("cat." + r.category, {}, r.category), r.unit, { bold: true }),
    { text: fmtVal((byKey.get(key(r)) || { total: 0 }).total), className: "num" }, { text: fmtVal(r.total), className: "num" },
    costCell(r)]);
  let note = null;
  if (cost && cost.error) note = el("p", { className: "muted small cost-note" }, t("en.noCost", { why: cost.error }));
  else if (cost) {
    const total = (cost.categories || []).reduce((a, c) => a + c.cost, 0);
    note = el("p", { className: "muted small cost-note" }, t("en.costNote", { to: fmtTime(cost.to), total: fmtMoney(total, cost.currency) }));
  }
  return [table([t("en.catSubItem"), t("en.today"), t("en.month"), t("en.monthCost")], rows, t("en.noUsage")), note];
}

// diffCell shows measured against predicted in percent: red well above
// the baseline, green well below.
function diffCell(pct) {
  if (pct === null || pct === undefined) return { text: "—", className: "num" };
  const cls = pct > 10 ? "over" : pct < -10 ? "under" : "";
  return { text: (pct > 0 ? "+" : "") + pct.toFixed(1) + " %", className: "num diff " + cls };
}

// todayTable sets today's whole hours against the baselines, then
// yesterday's whole day: a bold row per category (its billed meters with a
// prediction), then each meter. A meter with a daily model is compared on
// whole days only: today it shows what it used so far beside its model's
// whole day, without a difference; yesterday compares. Today's category
// rows therefore sum the hourly-model meters only, yesterday's every meter.
function todayTable(td) {
  const amount = v => ({ text: fmtVal(Math.abs(v) < 0.005 ? 0 : v), className: "num" });
  const heads = [t("en.meterOrCategory"), t("en.measured"), t("en.baseline"), t("en.diff")];
  const catRows = cats => cats.map(c => [nameCell(t("cat." + c.category, {}, c.category), c.unit, { bold: true, note: c.daily_meters ? t("en.catHourlyOnly") : "" }),
    amount(c.measured), amount(c.predicted), diffCell(c.diff_pct)]);
  const noBaseline = why => ({ text: t("en.noBaseline"), className: "muted small", title: why || "" });
  const meters = td.meters || [];
  const rows = catRows(td.categories || []);
  for (const m of meters) {
    if (m.compared === "days") {
      rows.push([nameCell(m.meter, m.unit, { note: t("en.dailyModel") }), amount(m.measured),
        m.day_predicted === undefined || m.day_predicted === null ? { text: "—", className: "num" }
          : { node: el("span", {}, fmtVal(m.day_predicted), el("span", { className: "unit" }, " " + t("en.wholeDay"))), className: "num day-predicted", title: t("en.dayPredicted") },
        { text: "—", className: "num muted", title: t("en.dailyModel") }]);
      continue;
    }
    rows.push([nameCell(m.meter, m.unit), amount(m.measured), m.predicted === null ? noBaseline(m.error) : amount(m.predicted), diffCell(m.diff_pct)]);
  }
  const y = td.yesterday || {};
  const yRows = catRows(y.categories || []);
  for (const m of meters) {
    const p = m.yesterday || { measured: 0, predicted: null };
    yRows.push([nameCell(m.meter, m.unit), amount(p.measured), p.predicted === null || p.predicted === undefined ? noBaseline(p.error || m.error) : amount(p.predicted), diffCell(p.diff_pct)]);
  }
  const hours = td.to && td.from !== td.to ? t("en.todayHours", { from: fmtClock(td.from, td.zone), to: fmtClock(td.to, td.zone), zone: td.zone }) : t("en.todayNoHour");
  const out = [el("p", { className: "muted small" }, hours), table(heads, rows, t("en.noUsage"))];
  if (meters.some(m => m.compared === "days")) out.push(el("p", { className: "muted small daily-explained" }, t("en.dailyExplained")));
  if (y.from) {
    let day = "";
    try {
      day = new Date(y.from).toLocaleDateString(lang(), { timeZone: td.zone || undefined });
    } catch (e) {
      day = new Date(y.from).toLocaleDateString(lang());
    }
    out.push(el("h3", {}, t("en.yesterday", { day })), table(heads, yRows, t("en.noUsage")));
  }
  out[1].querySelector("table").classList.add("today");
  if (out.length > 3) out[out.length - 1].querySelector("table").classList.add("yesterday");
  return out;
}

function baselineTable(list) {
  return table([t("en.meter"), t("en.category"), t("en.model"), t("en.fitted"), t("en.fit"), t("en.cvrmse")], (list || []).map(b => {
    const m = b.model || {};
    return [b.meter, t("cat." + b.category, {}, b.category), m.model || b.kind,
      b.error || !b.fitted_at ? { text: b.error || t("en.notFitted"), className: "muted small" } : fmtTime(b.fitted_at),
      b.model ? { text: b.fit_for_alarms ? t("en.fitYes") : t("en.fitNo"), title: (b.reasons || []).join("; ") } : "",
      typeof m.cvrmse === "number" ? { text: (m.cvrmse * 100).toFixed(1) + " %", className: "num" } : ""];
  }));
}

function anomalyTable(list, byDevice) {
  return table([t("en.meter"), t("al.rule"), t("en.since"), t("en.excess"), t("en.cost"), t("al.state"), t("al.ticket")], (list || []).map(a => {
    const tk = (byDevice.get(a.device) || []).find(x => x.title && x.title.includes(a.meter)) || (byDevice.get(a.device) || [])[0];
    return [a.meter, a.rule, fmtTime(a.start), { text: fmtVal(a.excess) + " " + a.unit, className: "num" },
      a.cost ? { text: fmtVal(a.cost) + " " + a.currency, className: "num" } : "—",
      { text: a.active ? t("en.active") : t("en.ended"), className: a.active ? "alstate-firing" : "" },
      tk ? el("a", { href: "#/ticket/" + tk.id, className: "anomaly-ticket" }, "#" + tk.id) : "—"];
  }), t("en.noAnomalies"));
}

function reportTable(list) {
  const rows = (list || []).slice(0, 10).map(r => [el("a", { href: r.url }, r.name), r.kind, r.period, r.format, r.lang, fmtTime(r.generated_at)]);
  return table([t("en.report"), t("en.kind"), t("en.period"), t("en.format"), t("en.lang"), t("en.generated")], rows, t("en.noReports"));
}

pages.energy = {
  async draw(view) {
    const soft = p => p.catch(e => ({ error: e }));
    // Today and this month are the site's (the zone of its calendar, which
    // /api/v1/energy/today answers in), else the browser's.
    const vsBaselineP = soft(api("GET", "/api/v1/energy/today"));
    const siteDay = vsBaselineP.then(td => (td && !td.error && td.from) || null);
    const [today, month, vsBaseline, baselines, anomalies, open, reports] = await Promise.all([
      siteDay.then(d => soft(consumption(d || startOf("day")))),
      siteDay.then(d => soft(consumption(d ? d.slice(0, 8) + "01" : startOf("month"), true))), vsBaselineP,
      soft(api("GET", "/api/v1/energy/baselines")), soft(api("GET", "/api/v1/energy/anomalies")),
      soft(api("GET", "/api/v1/tickets?source=energy&limit=200")), soft(api("GET", "/api/v1/reports"))]);
    const problem = r => r && r.error ? el("p", { className: "muted" }, r.error.status === 404 ? t("en.none") : r.error.message) : null;
    const byDevice = new Map();
    for (const tk of (Array.isArray(open) ? open : [])) {
      if (!byDevice.has(tk.device)) byDevice.set(tk.device, []);
      byDevice.get(tk.device).push(tk);
    }
    view.append(
      section(t("en.vsBaseline"), "wide vs-baseline", problem(vsBaseline) || todayTable(vsBaseline)),
      section(t("en.usage"), "wide usage", problem(month) || usageTable(today.error ? null : today, month)),
      section(t("en.anomalies"), "wide", problem(anomalies) || anomalyTable(anomalies.anomalies, byDevice)),
      section(t("en.baselines"), "wide", problem(baselines) || baselineTable(baselines.baselines)),
      section(t("en.reports"), "", reports && reports.error ? el("p", { className: "muted" }, t("en.noReports")) : reportTable(reports.reports)));
  },
};
