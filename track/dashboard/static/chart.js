// chart.js — a live line chart of one or several series (uPlot): drag to
// zoom, double-click to reset, hover for values, log scale, the x-axis as
// step, wall time or time since the start, EMA smoothing (the raw line
// kept faint behind), and a series of one point drawn as a marker.
import uPlot from "./vendor/uPlot.esm.js";
import { ema, xValues, sortedByX, onePoint, fmtTick } from "./plot.js";

const PALETTE = ["#2f7ed8", "#e4572e", "#17a673", "#9b59b6", "#f0a202", "#00a6a6", "#c2185b", "#6d4c41"];

const X_LABELS = { step: "step", wall: "time", rel: "seconds since start" };

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

let firstPaint = false;

// Charts take their axis colours from the page's CSS variables when they
// are built, so they are built again when the colour scheme changes.
const charts = new Set();
if (globalThis.matchMedia) {
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { for (const c of charts) c._build(); });
}

// A range that is a single value (one point) is widened, so the point is drawn.
function padRange(u, min, max) {
  if (min === null || max === null) return [min, max];
  if (min === max) { const d = Math.abs(min) * 0.1 || 1; return [min - d, max + d]; }
  return [min, max];
}

export class Chart {
  /**
   * el: container; keys: series names; opts: {log, labels: key → legend
   * label, x: "step" | "wall" | "rel", ema: smoothing weight in [0, 1)}.
   */
  constructor(el, keys, opts = {}) {
    this.el = el;
    this.keys = keys.slice();
    this.log = !!opts.log;
    this.labels = opts.labels || {};
    this.x = opts.x || "step";
    this.ema = opts.ema > 0 ? opts.ema : 0;
    this.data = new Map(); // key → {x: steps, y: values, t: times (Unix ns)}
    this.zoomed = false;
    this._raf = 0;
    this._ro = new ResizeObserver(() => this._resize());
    this._ro.observe(el);
    charts.add(this);
    this._build();
  }

  _build() {
    if (this.u) this.u.destroy();
    const fg = cssVar("--fg", "#222"), grid = cssVar("--grid", "rgba(128,128,128,.2)");
    const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
    const data = this._aligned();
    const single = onePoint(data.slice(1));
    const series = [{ label: X_LABELS[this.x] }];
    this.keys.forEach((k, i) => {
      const color = PALETTE[i % PALETTE.length], label = this.labels[k] || k;
      const points = { show: single, size: 9, fill: color };
      if (this.ema > 0) series.push({ label: `${label} (raw)`, stroke: color + "40", width: 1, spanGaps: true, points });
      series.push({ label: this.ema > 0 ? `${label} (ema ${this.ema})` : label, stroke: color, width: 1.5, spanGaps: this.keys.length > 1 || this.ema > 0, points });
    });
    const opts = {
      width: Math.max(200, this.el.clientWidth || 600),
      height: 220,
      scales: { x: { time: this.x === "wall", range: padRange }, y: this.log ? { distr: 3 } : { range: padRange } },
      axes: [
        this.x === "wall" ? { ...axis, label: X_LABELS[this.x] } : { ...axis, label: X_LABELS[this.x], values: (u, vals) => vals.map(fmtTick) },
        { ...axis, size: 60, values: (u, vals) => vals.map(fmtTick) },
      ],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      series,
      hooks: {
        setSelect: [(u) => { if (u.select.width > 0) this.zoomed = true; }],
        draw: [() => {
          this.el.dataset.drawn = String((Number(this.el.dataset.drawn) || 0) + 1);
          if (!firstPaint && this.points() > 0) {
            firstPaint = true;
            document.documentElement.dataset.chartPaintMs = String(Math.round(performance.now()));
          }
        }],
      },
    };
    this.single = single;
    this.el.dataset.x = this.x;
    this.el.dataset.ema = String(this.ema);
    this.el.dataset.single = String(single);
    this.u = new uPlot(opts, data, this.el);
    this.u.over.addEventListener("dblclick", () => { this.zoomed = false; });
  }

  // _aligned: uPlot's data, [x, ...y per series], x the union of every
  // series' x in the chart's x mode.
  _aligned() {
    const t0 = this.x === "rel" ? this._t0() : undefined;
    const tables = [];
    for (const k of this.keys) {
      const s = this.data.get(k) || { x: [], y: [], t: [] };
      const y = this.log ? s.y.map((v) => (v > 0 ? v : null)) : s.y;
      const xy = sortedByX(xValues(this.x, s.x, s.t, t0), y);
      if (this.ema > 0) tables.push([xy.x, xy.y], [xy.x, ema(xy.y, this.ema)]);
      else tables.push([xy.x, xy.y]);
    }
    if (tables.length === 1) return [tables[0][0], tables[0][1]];
    if (tables.every((t) => t[0].length === 0)) return [[], ...tables.map(() => [])];
    return uPlot.join(tables);
  }

  // _t0: the first time of any of the chart's series (relative time's zero).
  _t0() {
    let t0 = Infinity;
    for (const k of this.keys) { const s = this.data.get(k); if (s && s.t && typeof s.t[0] === "number") t0 = Math.min(t0, s.t[0]); }
    return Number.isFinite(t0) ? t0 : 0;
  }

  /** points: how many points the chart holds (all series). */
  points() { let n = 0; for (const s of this.data.values()) n += s.x.length; return n; }

  /** series returns the mutable {x, y, t} of key (for mergePoints), then call update(). */
  series(key) {
    let s = this.data.get(key);
    if (!s) { s = { x: [], y: [], t: [] }; this.data.set(key, s); }
    return s;
  }

  /** setSeries sets key's points: steps x, values y, times t (Unix ns; optional). */
  setSeries(key, x, y, t) { this.data.set(key, { x: x.slice(), y: y.slice(), t: t ? t.slice() : [] }); this.update(); }

  setLog(on) { this.log = on; this._build(); }
  setX(mode) { this.x = mode; this.zoomed = false; this._build(); }
  setEma(w) { this.ema = w > 0 ? w : 0; this._build(); }

  addKey(k) { if (!this.keys.includes(k)) { this.keys.push(k); this._build(); } }
  removeKey(k) { this.keys = this.keys.filter((x) => x !== k); this._build(); }

  /** update redraws at the next frame, keeping a zoom. */
  update() {
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = 0;
      const data = this._aligned();
      if (onePoint(data.slice(1)) !== this.single) this._build(); // markers on or off
      else this.u.setData(data, !this.zoomed);
      this.el.dataset.points = String(this.points());
      this.el.dataset.xlast = data[0].length ? String(data[0][data[0].length - 1]) : ""; // the last point's x, in the x-axis' unit
    });
  }

  _resize() { if (this.u && this.el.clientWidth) this.u.setSize({ width: this.el.clientWidth, height: 220 }); }

  destroy() { charts.delete(this); cancelAnimationFrame(this._raf); this._ro.disconnect(); if (this.u) this.u.destroy(); this.u = null; }
}
