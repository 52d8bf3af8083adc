// Pages: the overview (building → floor → system → device tiles), a
// device's page (points, fire zones, trends, alert history, tickets) and
// the alerts (active and history).
"use strict";

// KEY_POINTS are what a tile shows of each equipment type.
const KEY_POINTS = {
  pump: ["discharge_pressure", "motor_current"], energy_meter: ["total_power", "import_energy"],
  elevator: ["floor", "service_mode"], fire_panel: ["alarm_zone", "battery_voltage"],
  water_meter: ["flow_rate", "total_volume"], gas_meter: ["flow_rate", "total_volume"],
};

// CHART_POINTS are charted first on a device's page.
const CHART_POINTS = {
  pump: ["discharge_pressure", "suction_pressure"], energy_meter: ["total_power"], elevator: ["floor"],
  fire_panel: ["battery_voltage", "mains_voltage"], water_meter: ["flow_rate"], gas_meter: ["flow_rate"],
};

// --- overview ----------------------------------------------------------------

function countsBar(o) {
  const chip = (cls, label, n) => el("span", { className: "chip " + cls + (n ? "" : " zero") }, el("b", {}, String(n || 0)), " ", label);
  const a = o.alerts || {}, tk = o.tickets || {}, ins = o.inspections || {};
  return el("div", { className: "counts" },
    el("div", { className: "count-group" }, el("span", { className: "muted" }, t("ov.alerts")),
      ["critical", "major", "minor", "warning", "info"].filter(s => s in a || ["critical", "major", "minor"].includes(s)).map(s => chip("sev-" + s, t("sev." + s), a[s])),
      chip("pending", t("ov.pending"), o.pending)),
    el("div", { className: "count-group" }, el("span", { className: "muted" }, t("ov.tickets")),
      ["breached", "due_soon", "ok", "paused"].map(s => chip("sla-" + s, t("sla." + s), tk[s]))),
    el("div", { className: "count-group" }, el("a", { className: "muted", href: "#/inspections" }, t("ov.inspections")),
      ["overdue", "due", "due_soon"].map(s => chip("ins-" + s, t("ins." + s), ins[s]))));
}

function tileNode(tile) {
  const d = state.devices.get(tile.id) || { points: {} };
  const pts = (KEY_POINTS[tile.type] || Object.keys(d.points || {}).slice(0, 2))
    .filter(p => d.points && d.points[p])
    .map(p => el("div", { className: "kv" }, el("span", { className: "muted" }, pointLabel(d.points[p], p)), " ",
      el("b", {}, fmtVal(d.points[p].value)), " ", d.points[p].unit || ""));
  const reasons = (tile.reasons || []).map(r => el("div", { className: "reason" },
    r.kind === "alarm" ? `${t("sev." + r.severity)}: ${r.name}` : r.kind === "overdue" ? t("ov.overdue", { plan: r.name }) : t("state." + r.kind)));
  return el("a", { className: "tile state-" + tile.state, href: "#/device/" + encodeURIComponent(tile.id), title: tile.location || "" },
    el("div", { className: "tile-head" }, el("b", {}, tile.id), el("span", { className: "badge state-" + tile.state }, t("state." + tile.state))),
    el("div", { className: "muted small" }, t("type." + tile.type, {}, tile.type)),
    pts, reasons);
}

// group nests the tiles by building, floor and system, in that order.
function group(tiles) {
  const by = new Map();
  for (const tl of tiles) {
    const b = tl.building || "", f = tl.floor || "", s = tl.system || "";
    if (!by.has(b)) by.set(b, new Map());
    const floors = by.get(b);
    if (!floors.has(f)) floors.set(f, new Map());
    const systems = floors.get(f);
    if (!systems.has(s)) systems.set(s, []);
    systems.get(s).push(tl);
  }
  return by;
}

function drawOverview(view) {
  const o = state.overview;
  const parts = [countsBar(o)];
  for (const [b, floors] of group(o.devices || [])) {
    const fl = [];
    for (const [f, systems] of floors) {
      const sys = [];
      for (const [s, tiles] of systems) {
        sys.push(el("div", { className: "system" }, el("h4", {}, t("system." + s, {}, s)), el("div", { className: "tiles" }, tiles.map(tileNode))));
      }
      fl.push(el("div", { className: "floor" }, el("h3", {}, f ? t("ov.floor", { f }) : t("ov.noFloor")), sys));
    }
    parts.push(section(b ? t("ov.building", { b }) : t("ov.noBuilding"), "wide building", fl));
  }
  view.replaceChildren(...parts);
}

pages.overview = {
  async draw(view) { drawOverview(view); this.view = view; },
  onOverview() { if (this.view) drawOverview(this.view); },
  onDevice() { if (this.view) drawOverview(this.view); },
  leave() { this.view = null; },
};

// --- device ------------------------------------------------------------------

function zoneGrid(d) {
  const zones = new Map();
  for (const [name, r] of Object.entries(d.points || {})) {
    const m = /^zone_(\d+)_(alarm|fault|disabled|prealarm)$/.exec(name);
    if (!m) continue;
    if (!zones.has(+m[1])) zones.set(+m[1], {});
    zones.get(+m[1])[m[2]] = r.value === true;
  }
  if (!zones.size) return null;
  const cells = [...zones.entries()].sort((a, b) => a[0] - b[0]).map(([n, z]) => {
    const st = z.alarm ? "alarm" : z.fault ? "fault" : z.disabled ? "disabled" : "normal";
    return el("div", { className: "zone zone-" + st, title: t("zone." + st) }, el("b", {}, t("zone.n", { n })), el("div", { className: "small" }, t("zone." + st)));
  });
  return section(t("dev.zones"), "", el("div", { className: "zones" }, cells));
}

function pointsTable(d) {
  const now = Date.now();
  const rows = Object.entries(d.points || {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, r]) => [
    { text: pointLabel(r, k), title: k }, { text: fmtVal(r.value), className: "num" }, r.unit || "",
    { text: t("q." + r.quality, {}, r.quality), className: "q-" + r.quality }, { text: fmtAge(r.time, now), title: fmtTime(r.time) }]);
  return table([t("dev.point"), t("dev.value"), t("dev.unit"), t("dev.quality"), t("dev.age")], rows, t("dev.noData"));
}

function healthLine(h) {
  if (!h || !Object.keys(h).length) return "";
  const parts = [];
  if (typeof h.latency_ms === "number") parts.push(h.latency_ms.toFixed(1) + " ms");
  if (h.errors !== undefined) parts.push(t("dev.errors", { n: h.errors }));
  if (h.skipped) parts.push(t("dev.skipped", { n: h.skipped }));
  return parts.join(" · ");
}

function alertHistoryTable(list, withDevice) {
  const heads = [t("al.time"), withDevice ? t("al.device") : null, t("al.rule"), t("al.state"), t("al.severity")].filter(Boolean);
  return table(heads, list.map(e => [fmtTime(e.time), withDevice ? el("a", { href: "#/device/" + encodeURIComponent(e.device) }, e.device) : null,
    e.rule, { text: t("alstate." + e.state, {}, e.state), className: "alstate-" + e.state }, { text: e.severity ? t("sev." + e.severity) : "", className: "sev-" + e.severity }].filter(c => c !== null)));
}

function ticketMiniTable(list) {
  return table(["#", t("tk.status"), t("tk.prio"), t("tk.title"), t("tk.created")], list.map(tk => [
    el("a", { href: "#/ticket/" + tk.id }, "#" + tk.id), t("status." + tk.status), tk.priority, tk.title, fmtTime(tk.created_at)]));
}

// A draw keeps what it built on its own view: when two draws of the page
// overlap (the stream's hello redraws the page a navigation is drawing), the
// router shows only the last one started, and shown(view) makes that one's
// boxes and charts the ones live events update. (A draw that set them on the
// page at its start took the shown page's points table and chart into its
// own page, never shown, when it finished last.)
pages.device = {
  async draw(view, [id]) {
    const d = state.devices.get(id) || await api("GET", "/api/v1/devices/" + encodeURIComponent(id));
    state.devices.set(id, d);
    const tile = ((state.overview && state.overview.devices) || []).find(x => x.id === id) || { state: d.state };
    const numeric = Object.entries(d.points || {}).filter(([, r]) => typeof r.value === "number" || typeof r.value === "boolean").map(([k]) => k).sort();
    const labels = Object.fromEntries(Object.entries(d.points || {}).map(([k, r]) => [k, pointLabel(r, k)]));
    const chosen = (CHART_POINTS[d.type] || numeric.slice(0, 1)).filter(p => numeric.includes(p));
    const parts = {
      id,
      pointsBox: el("div", {}, pointsTable(d)),
      zonesBox: el("div", { className: "contents" }, zoneGrid(d)),
      headBox: el("span", { className: "badge state-" + tile.state }, t("state." + tile.state)),
      chart: new Chart(id, chosen.length ? chosen : numeric.slice(0, 1), labels),
      health: new Chart(id, ["latency_ms", "errors"], { latency_ms: t("dev.latency"), errors: t("dev.errorsLabel") }),
    };
    const picks = numeric.map(p => {
      const cb = el("input", { type: "checkbox", checked: parts.chart.points.includes(p), value: p });
      cb.addEventListener("change", () => {
        const sel = [...picks].map(l => l.firstChild).filter(c => c.checked).map(c => c.value).slice(0, 8);
        if (!sel.length) { cb.checked = true; return; }
        parts.chart.points = sel;
        parts.chart.load();
      });
      return el("label", { className: "pick" }, cb, " ", labels[p]);
    });
    const [hist, tks] = await Promise.all([
      api("GET", "/api/v1/alerts/history?device=" + encodeURIComponent(id) + "&from=" + new Date(Date.now() - 30 * 86400e3).toISOString() + "&limit=50").catch(e => ({ error: e.message })),
      api("GET", "/api/v1/tickets?device=" + encodeURIComponent(id) + "&limit=20").catch(() => []),
    ]);
    const insBox = el("div", {});
    view.append(
      section("", "wide dev-head", el("div", { className: "dev-title" }, el("b", {}, d.id), " ", parts.headBox, " ",
        el("span", { className: "muted" }, [t("type." + d.type, {}, d.type), d.location].filter(Boolean).join(" · ")), " ",
        el("span", { className: "muted small" }, healthLine(d.health)))),
      parts.zonesBox,
      section(t("dev.points"), "", parts.pointsBox),
      section(t("dev.trend"), "wide", el("div", { className: "picks" }, picks), parts.chart.node),
      section(t("dev.health"), "wide", parts.health.node),
      section(t("dev.alertHistory"), "", hist.error ? el("p", { className: "muted" }, hist.error) : alertHistoryTable(hist || [], false)),
      section(t("dev.tickets"), "", ticketMiniTable(tks || [])),
      section(t("dev.inspections"), "wide", insBox));
    await drawDeviceInspections(insBox, id);
    view.devicePage = parts;
  },
  shown(view) {
    this.leave();
    Object.assign(this, view.devicePage);
    this.chart.load();
    this.health.load();
  },
  onDevice(d) {
    if (d.id !== this.id || !this.pointsBox) return;
    this.pointsBox.replaceChildren(pointsTable(d));
    const z = zoneGrid(d);
    this.zonesBox.replaceChildren(...(z ? [z] : []));
  },
  onOverview() {
    const tile = ((state.overview && state.overview.devices) || []).find(x => x.id === this.id);
    if (tile && this.headBox) { this.headBox.className = "badge state-" + tile.state; this.headBox.textContent = t("state." + tile.state); }
  },
  leave() { if (this.chart && this.chart.plot) this.chart.plot.destroy(); if (this.health && this.health.plot) this.health.plot.destroy(); },
};

// --- alerts ------------------------------------------------------------------

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

function silenceMatchers(a) {
  const l = a.labels || {};
  const ms = [`rule="${a.rule}"`];
  if (l.device || a.device) ms.push(`device="${l.device || a.device}"`);
  return ms.join(", ");
}

function activeAlertsTable(alerts, silences, byKey) {
  const sevOrder = { critical: 0, major: 1, minor: 2 };
  const rows = [...alerts].sort((a, b) => (sevOrder[a.severity] ?? 9) - (sevOrder[b.severity] ?? 9)).map(a => {
    const tk = byKey.get(a.fingerprint);
    return [{ text: t("sev." + a.severity), className: "sev-" + a.severity },
      el("span", {}, el("b", {}, a.rule), el("div", { className: "muted small" }, (a.annotations && a.annotations.summary) || "")),
      el("a", { href: "#/device/" + encodeURIComponent(a.device) }, a.device),
      { text: a.value === null || a.value === undefined ? "" : fmtVal(a.value), className: "num" },
      { text: t("alstate." + a.state, {}, a.state), className: "alstate-" + a.state },
      { text: fmtAge(a.fired_at || a.active_at), title: fmtTime(a.fired_at || a.active_at) },
      tk ? el("a", { href: "#/ticket/" + tk.id }, "#" + tk.id) : "",
      { text: mutedBy(a, silences), className: "muted" },
      viewer() ? "" : el("button", { type: "button", className: "act-silence", onclick: () => prefillSilence(a) }, t("al.silence"))];
  });
  return table([t("al.severity"), t("al.rule"), t("al.device"), t("al.value"), t("al.state"), t("al.since"), t("al.ticket"), t("al.muted"), ""], rows);
}

function prefillSilence(a) {
  const f = $("#silence-form");
  if (!f) return;
  f.elements.matchers.value = silenceMatchers(a);
  f.elements.comment.focus();
  f.scrollIntoView({ behavior: "smooth", block: "center" });
}

function silenceForm() {
  const f = el("form", { id: "silence-form", className: "form" },
    el("label", {}, t("si.matchers"), el("input", { name: "matchers", required: true, placeholder: 'rule="pump_low_pressure", device="pump-1"' })),
    el("label", {}, t("si.for"), el("select", { name: "for" }, el("option", { value: "1h" }, t("si.1h")), el("option", { value: "4h" }, t("si.4h")), el("option", { value: "until" }, t("si.until")))),
    el("label", {}, t("si.untilLabel"), el("input", { name: "until", type: "datetime-local", disabled: true })),
    el("label", {}, t("si.comment"), el("input", { name: "comment", required: true, maxLength: 1000, placeholder: t("si.commentPh") })),
    el("button", { type: "submit" }, t("si.submit")));
  f.elements.for.addEventListener("change", () => { f.elements.until.disabled = f.elements.for.value !== "until"; });
  f.addEventListener("submit", ev => {
    ev.preventDefault();
    const body = { matchers: f.elements.matchers.value.split(",").map(s => s.trim()).filter(Boolean), comment: f.elements.comment.value.trim() };
    if (f.elements.for.value === "until") {
      const end = new Date(f.elements.until.value);
      if (!f.elements.until.value || isNaN(end)) { say(t("si.chooseEnd"), false); return; }
      body.ends_at = end.toISOString();
    } else {
      body.duration = f.elements.for.value;
    }
    act(t("si.submit"), () => api("POST", "/api/v1/silences", body));
  });
  return f;
}

function silencesTable(list) {
  return table([t("si.matchers"), t("si.ends"), t("si.by"), t("si.comment"), ""], list.map(s => [
    (s.matchers || []).join(", "), fmtTime(s.ends_at), s.created_by || "", s.comment || "",
    viewer() ? "" : el("button", {
      type: "button", disabled: !token(), title: token() ? "" : t("needsToken"),
      onclick: () => act(t("si.expire"), () => api("DELETE", "/api/v1/silences/" + encodeURIComponent(s.id))),
    }, t("si.expire"))]));
}

pages.alerts = {
  async draw(view) {
    const [silences, open] = await Promise.all([api("GET", "/api/v1/silences?active=true").catch(() => []), api("GET", "/api/v1/tickets?open=true&limit=1000").catch(() => [])]);
    // Kept on the view until shown (see pages.device).
    const parts = { silences: silences || [], byKey: new Map((open || []).map(tk => [tk.key, tk])) };
    parts.activeBox = el("div", {}, activeAlertsTable(state.alerts, parts.silences, parts.byKey));
    const o = state.overview || {};
    const summary = el("div", { className: "muted" }, t("al.summary", { firing: state.alerts.filter(a => a.state === "firing").length, pending: o.pending || 0 }));
    // history filters
    const f = el("form", { className: "filters" },
      el("label", {}, t("al.device"), el("input", { name: "device", size: 12 })),
      el("label", {}, t("al.rule"), el("input", { name: "rule", size: 16 })),
      el("label", {}, t("al.severity"), el("select", { name: "severity" }, el("option", { value: "" }, t("all")), ["critical", "major", "minor"].map(s => el("option", { value: s }, t("sev." + s))))),
      el("label", {}, t("al.state"), el("select", { name: "state" }, el("option", { value: "" }, t("all")), ["firing", "pending", "resolved", "inactive"].map(s => el("option", { value: s }, t("alstate." + s))))),
      el("label", {}, t("al.range"), el("select", { name: "range" }, [["1", "24h"], ["7", "7d"], ["30", "30d"], ["365", "1y"]].map(([d, k]) => el("option", { value: d, selected: d === "7" }, t("range." + k))))),
      el("button", { type: "submit" }, t("filter")));
    const histBox = el("div", {});
    const loadHist = async () => {
      const q = new URLSearchParams({ limit: "200", from: new Date(Date.now() - (+f.elements.range.value) * 86400e3).toISOString() });
      for (const k of ["device", "rule", "severity", "state"]) if (f.elements[k].value.trim()) q.set(k, f.elements[k].value.trim());
      try { histBox.replaceChildren(alertHistoryTable(await api("GET", "/api/v1/alerts/history?" + q) || [], true)); } catch (e) { histBox.replaceChildren(el("p", { className: "muted" }, e.message)); }
    };
    f.addEventListener("submit", ev => { ev.preventDefault(); loadHist(); });
    await loadHist();
    view.append(section(t("al.active"), "wide", summary, parts.activeBox),
      section(t("al.history"), "wide", f, histBox),
      ...(viewer() ? [] : [section(t("si.title"), "", silenceForm())]),
      section(t("si.active"), "", silencesTable(parts.silences)));
    view.alertsPage = parts;
  },
  shown(view) { Object.assign(this, view.alertsPage); },
  onAlerts() { if (this.activeBox) this.activeBox.replaceChildren(activeAlertsTable(state.alerts, this.silences, this.byKey)); },
  leave() { this.activeBox = null; },
};
