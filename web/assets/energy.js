// Energy: today and this month per category and sub-item (GET
// /api/v1/energy/consumption), each meter's baseline, the anomalies found
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

async function consumption(from) {
  const q = new URLSearchParams({ from, to: new Date().toISOString(), interval: "1d" });
  return api("GET", "/api/v1/energy/consumption?" + q);
}

function usageTable(today, month) {
  const key = r => r.category + "/" + r.sub;
  const byKey = new Map(usageRows(today).map(r => [key(r), r]));
  const rows = usageRows(month).map(r => [
    t("cat." + r.category, {}, r.category), r.sub ? t("sub." + r.sub, {}, r.sub) : el("b", {}, t("en.all")),
    { text: fmtVal((byKey.get(key(r)) || { total: 0 }).total), className: "num" }, { text: fmtVal(r.total), className: "num" }, r.unit]);
  return table([t("en.category"), t("en.subItem"), t("en.today"), t("en.month"), t("dev.unit")], rows, t("en.noUsage"));
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
    const [today, month, baselines, anomalies, open, reports] = await Promise.all([
      soft(consumption(startOf("day"))), soft(consumption(startOf("month"))), soft(api("GET", "/api/v1/energy/baselines")),
      soft(api("GET", "/api/v1/energy/anomalies")), soft(api("GET", "/api/v1/tickets?source=energy&limit=200")), soft(api("GET", "/api/v1/reports"))]);
    const problem = r => r && r.error ? el("p", { className: "muted" }, r.error.status === 404 ? t("en.none") : r.error.message) : null;
    const byDevice = new Map();
    for (const tk of (Array.isArray(open) ? open : [])) {
      if (!byDevice.has(tk.device)) byDevice.set(tk.device, []);
      byDevice.get(tk.device).push(tk);
    }
    view.append(
      section(t("en.usage"), "wide", problem(month) || usageTable(today.error ? null : today, month)),
      section(t("en.anomalies"), "wide", problem(anomalies) || anomalyTable(anomalies.anomalies, byDevice)),
      section(t("en.baselines"), "wide", problem(baselines) || baselineTable(baselines.baselines)),
      section(t("en.reports"), "", reports && reports.error ? el("p", { className: "muted" }, t("en.noReports")) : reportTable(reports.reports)));
  },
};
