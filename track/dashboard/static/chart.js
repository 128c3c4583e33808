// chart.js — a live line chart of one or several stepped series (uPlot):
// drag to zoom, double-click to reset, hover for values, log scale.
import uPlot from "./vendor/uPlot.esm.js";

const PALETTE = ["#2f7ed8", "#e4572e", "#17a673", "#9b59b6", "#f0a202", "#00a6a6", "#c2185b", "#6d4c41"];

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

export class Chart {
  /** el: container; keys: series names; opts: {log, labels: key → legend label}. */
  constructor(el, keys, opts = {}) {
    this.el = el;
    this.keys = keys.slice();
    this.log = !!opts.log;
    this.labels = opts.labels || {};
    this.data = new Map(); // key → {x: [], y: []}
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
    const opts = {
      width: Math.max(200, this.el.clientWidth || 600),
      height: 220,
      scales: { x: { time: false }, y: this.log ? { distr: 3 } : {} },
      axes: [{ ...axis, label: "step" }, { ...axis, size: 60 }],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      series: [{ label: "step" }, ...this.keys.map((k, i) => ({
        label: this.labels[k] || k, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: this.keys.length > 1,
        points: { show: false },
      }))],
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
    this.u = new uPlot(opts, this._aligned(), this.el);
    this.u.over.addEventListener("dblclick", () => { this.zoomed = false; });
  }

  _aligned() {
    const tables = this.keys.map((k) => {
      const s = this.data.get(k) || { x: [], y: [] };
      return [s.x, this.log ? s.y.map((v) => (v > 0 ? v : null)) : s.y];
    });
    if (tables.length === 1) return [tables[0][0], tables[0][1]];
    if (tables.every((t) => t[0].length === 0)) return [[], ...tables.map(() => [])];
    return uPlot.join(tables);
  }

  /** points: how many points the chart holds (all series). */
  points() { let n = 0; for (const s of this.data.values()) n += s.x.length; return n; }

  /** series returns the mutable {x, y} of key (for mergePoints), then call update(). */
  series(key) {
    let s = this.data.get(key);
    if (!s) { s = { x: [], y: [] }; this.data.set(key, s); }
    return s;
  }

  setSeries(key, x, y) { this.data.set(key, { x: x.slice(), y: y.slice() }); this.update(); }

  setLog(on) { this.log = on; this._build(); }

  addKey(k) { if (!this.keys.includes(k)) { this.keys.push(k); this._build(); } }
  removeKey(k) { this.keys = this.keys.filter((x) => x !== k); this._build(); }

  /** update redraws at the next frame, keeping a zoom. */
  update() {
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = 0;
      this.u.setData(this._aligned(), !this.zoomed);
      this.el.dataset.points = String(this.points());
    });
  }

  _resize() { if (this.u && this.el.clientWidth) this.u.setSize({ width: this.el.clientWidth, height: 220 }); }

  destroy() { charts.delete(this); cancelAnimationFrame(this._raf); this._ro.disconnect(); if (this.u) this.u.destroy(); this.u = null; }
}
