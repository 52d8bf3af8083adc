// Trend charts: uPlot (vendored, see vendor/README) over
// GET /api/v1/devices/{id}/history, which InfluxDB has already downsampled
// to at most 2,000 points per series. Drag across a chart to zoom: the zoomed
// range is read again at its own resolution. Thresholds of the rules are
// dashed lines.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

// RANGES are the spans a chart offers, in seconds.
const RANGES = [["1h", 3600], ["6h", 21600], ["24h", 86400], ["7d", 604800], ["30d", 2592000], ["1y", 31536000]];

// fetchHistory reads points of a device over [from, to) (Dates).
function fetchHistory(device, points, from, to) {
  const q = new URLSearchParams({ points: points.join(","), from: from.toISOString(), to: to.toISOString() });
  return api("GET", `/api/v1/devices/${encodeURIComponent(device)}/history?${q}`);
}

// toColumns merges the series of a history answer on one time axis, with
// null where a series has no value (uPlot draws a gap).
function toColumns(h) {
  const ts = [...new Set(h.series.flatMap(s => s.t))].sort((a, b) => a - b);
  const at = new Map(ts.map((x, i) => [x, i]));
  const cols = h.series.map(s => {
    const c = new Array(ts.length).fill(null);
    s.t.forEach((x, i) => { c[at.get(x)] = s.v[i]; });
    return c;
  });
  return [ts, ...cols];
}

// Chart is one uPlot chart of some points of a device, with its range
// buttons; overlay is choosing several points.
class Chart {
  constructor(device, points, labels) {
    this.device = device;
    this.points = points;
    this.labels = labels || {};
    this.span = 86400;
    this.plot = null;
    this.loading = false;
    this.box = el("div", { className: "chart" });
    this.info = el("span", { className: "muted chart-info" });
    const buttons = RANGES.map(([name, secs]) => el("button", {
      type: "button", className: secs === this.span ? "on" : "", onclick: ev => {
        this.span = secs;
        buttons.forEach(b => b.classList.toggle("on", b === ev.target));
        this.load();
      },
    }, t("range." + name)));
    this.node = el("div", { className: "chart-wrap" },
      el("div", { className: "chart-bar" }, buttons, el("button", { type: "button", onclick: () => this.load() }, t("chart.reset")), this.info),
      this.box);
  }

  // load reads the chosen span up to now, or [from, to) when zoomed.
  async load(from, to) {
    to = to || new Date();
    from = from || new Date(to.getTime() - this.span * 1000);
    this.loading = true;
    try {
      const h = await fetchHistory(this.device, this.points, from, to);
      const n = Math.max(0, ...h.series.map(s => s.t.length));
      // No readings in the range: say so rather than draw empty axes.
      this.box.classList.toggle("empty", n === 0);
      if (n === 0) {
        if (this.plot) { this.plot.destroy(); this.plot = null; }
        this.box.replaceChildren(el("p", { className: "muted" }, t("chart.empty")));
      } else {
        if (!this.plot) this.box.replaceChildren();
        this.draw(h);
      }
      this.info.textContent = t("chart.info", { n, step: h.step });
      this.box.dataset.points = String(n);
    } catch (e) {
      this.info.textContent = e.message;
    } finally {
      this.loading = false;
    }
  }

  draw(h) {
    const data = toColumns(h);
    const units = [...new Set(h.series.map(s => s.unit || ""))];
    const thresholds = h.thresholds || [];
    const width = Math.max(280, this.box.clientWidth || 600);
    if (this.plot) this.plot.destroy();
    const scales = { x: { time: true } };
    // Each unit's scale takes in the thresholds of its points, so that a
    // limit far from the values is still drawn.
    units.forEach(u => {
      const lims = thresholds.filter(th => h.series.some(s => s.point === th.point && (s.unit || "") === u)).map(th => th.value);
      scales["u:" + u] = {
        range: (p, min, max) => {
          if (min === null) return [0, 1];
          const lo = Math.min(min, ...lims), hi = Math.max(max, ...lims), pad = (hi - lo) * 0.05 || 1;
          return [lo - pad, hi + pad];
        },
      };
    });
    const axes = [{}].concat(units.slice(0, 2).map((u, i) => ({ scale: "u:" + u, side: i ? 1 : 3, label: u, grid: { show: i === 0 } })));
    const series = [{}].concat(h.series.map((s, i) => ({
      label: (this.labels[s.point] || s.point) + (s.unit ? ` (${s.unit})` : ""),
      scale: "u:" + (s.unit || ""), stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
      value: (u, v) => v === null || v === undefined ? "—" : v.toFixed(2),
    })));
    const self = this;
    const opts = {
      width, height: 260, scales, axes, series,
      cursor: { drag: { x: true, y: false } },
      hooks: {
        draw: [u => drawThresholds(u, h, thresholds)],
        // A drag that zooms reads the zoomed range again, finer.
        setSelect: [u => {
          if (u.select.width < 5 || self.loading) return;
          const min = u.posToVal(u.select.left, "x"), max = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0 }, false);
          self.load(new Date(min * 1000), new Date(max * 1000));
        }],
      },
    };
    opts.cursor.drag.setScale = false;
    this.plot = new uPlot(opts, data, this.box);
  }
}

// drawThresholds draws each threshold of a charted point as a dashed line
// on its point's scale, labelled with the rule.
function drawThresholds(u, h, thresholds) {
  const ctx = u.ctx;
  for (const th of thresholds) {
    const si = h.series.findIndex(s => s.point === th.point);
    if (si < 0) continue;
    const scale = "u:" + (h.series[si].unit || "");
    const sc = u.scales[scale];
    if (!sc || sc.min === null || th.value < sc.min || th.value > sc.max) continue;
    const y = Math.round(u.valToPos(th.value, scale, true));
    ctx.save();
    ctx.strokeStyle = th.clear ? "#2ca02c" : (th.severity === "critical" ? "#b00020" : "#e65100");
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = "left"; // the axes leave it right-aligned
    ctx.textBaseline = "bottom";
    ctx.fillText(`${th.rule} ${th.op} ${th.value}`, u.bbox.left + 4, y - 3);
    ctx.restore();
  }
}
