// compare.js — the Compare view: several runs' params side by side with
// the differences highlighted, a scatter of one param (or metric) against
// a metric, parallel coordinates over chosen params and metrics, and any
// series of each run overlaid (x-axis and smoothing as on a run's page).
// Every choice is in the URL: runs, key, cx, ema, sx, sy, dims.
import { call, replica } from "./api.js";
import { h, badge, fill } from "./dom.js";
import { Chart } from "./chart.js";
import { paramDiff, fmtValue, fmtNum, buildHash, runsList, sortRuns } from "./format.js";
import { X_MODES, dimensions, scatterData, parcoordsData, parseDims, isSysKey } from "./plot.js";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f7ed8", "#e4572e", "#17a673", "#9b59b6", "#f0a202", "#00a6a6", "#c2185b", "#6d4c41"];
const X_NAMES = { step: "step", wall: "wall time", rel: "relative time" };

/** s("circle", {cx: 1}, children…): an SVG element. */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function dimLabel(d) { return d.replace(/^params\./, "").replace(/^metrics\./, "") + (d.startsWith("metrics.") ? " (latest)" : ""); }

// ticks: a few labelled positions along an axis (its categories, or 5 numbers).
function ticks(a) {
  if (a.kind === "cat") return a.cats.map((c, i) => ({ v: i, label: c.length > 14 ? c.slice(0, 13) + "…" : c }));
  if (a.max === a.min) return [{ v: a.min, label: fmtNum(a.min) }];
  return [0, 0.25, 0.5, 0.75, 1].map((f) => { const v = a.min + f * (a.max - a.min); return { v, label: fmtNum(Number(v.toPrecision(3))) }; });
}

export class CompareView {
  constructor(root, params) {
    this.root = root;
    this.params = params;
    this.closed = false;
    this.infos = [];
    this.picker = h("div", { class: "toolbar" });
    this.table = h("div");
    this.chartBar = h("div", { class: "toolbar" });
    this.plot = h("div", { class: "chart" });
    this.scatterBar = h("div", { class: "toolbar" });
    this.scatter = h("div", { class: "scatter" });
    this.parBar = h("div", { class: "toolbar dims" });
    this.par = h("div", { class: "parcoords" });
    this.error = h("div", { class: "error-box" });
    fill(root, h("h1", {}, "Compare runs"), this.error, this.picker, h("section", { class: "panel" }, h("h2", {}, "Params"), this.table),
      h("section", { class: "panel panel-scatter" }, h("h2", {}, "Scatter"), this.scatterBar, this.scatter),
      h("section", { class: "panel panel-parallel" }, h("h2", {}, "Parallel coordinates"), this.parBar, this.par),
      h("section", { class: "panel panel-series" }, h("h2", {}, "Series"), this.chartBar, this.plot));
    this.updated = {};
    // The runs list, live: for the picker, and to reload a series when a compared run logged.
    this.r = replica("runs", (tree) => { this.runsTree = tree; this._picker(); this._maybeReload(tree); });
    this._load();
  }

  ids() { return (this.params.runs || "").split(",").filter(Boolean); }

  update(params) {
    const before = this.params;
    this.params = params;
    if (params.runs !== before.runs) { this._load(); return; }
    if (params.key !== before.key || params.cx !== before.cx || params.ema !== before.ema) this._series();
    if (params.sx !== before.sx || params.sy !== before.sy) this._scatter();
    if (params.dims !== before.dims) this._parallel();
  }

  // _set changes the URL; the router hands the new params to update,
  // which redraws what they change.
  _set(changes) {
    location.hash = buildHash("compare", "", { ...this.params, ...changes });
  }

  _picker() {
    if (!this.runsTree) return;
    const ids = this.ids();
    const runs = sortRuns(runsList(this.runsTree), "start", true).filter((r) => !ids.includes(r.id));
    const sel = h("select", { name: "add-run", onchange: (e) => { if (e.target.value) this._set({ runs: [...ids, e.target.value].join(",") }); } },
      h("option", { value: "" }, "+ add a run"), runs.map((r) => h("option", { value: r.id }, `${r.project} / ${r.name} (${r.id.slice(-8)})`)));
    fill(this.picker, sel, ids.map((id) => h("span", { class: "tag" }, this._label(id),
      h("button", { class: "x", onclick: () => this._set({ runs: ids.filter((x) => x !== id).join(",") }) }, "×"))));
  }

  _label(id) {
    const i = this.infos.find((x) => x.id === id) || (this.runsTree && this.runsTree[id] && { ...this.runsTree[id], id });
    return i ? `${i.name || id} · ${id.slice(-6)}` : id;
  }

  async _load() {
    const ids = this.ids();
    try {
      this.infos = await Promise.all(ids.map((id) => call("get_run", id)));
    } catch (e) {
      fill(this.error, h("p", { class: "error" }, `Loading runs: ${e.message}`));
      return;
    }
    if (this.closed) return;
    fill(this.error);
    this._picker();
    this._params();
    this._scatter();
    this._parallel();
    this._series();
  }

  _color(id) { return PALETTE[Math.max(this.ids().indexOf(id), 0) % PALETTE.length]; }

  // ---- scatter: one point per run, a param (or metric) against a metric

  _scatter() {
    const dims = dimensions(this.infos);
    const metrics = dims.filter((d) => d.startsWith("metrics."));
    const sx = dims.includes(this.params.sx) ? this.params.sx : dims.find((d) => d.startsWith("params.")) || dims[0];
    const sy = dims.includes(this.params.sy) ? this.params.sy : metrics[0] || dims[1] || dims[0];
    const sel = (name, cur, opts) => h("select", { name, onchange: (e) => this._set({ [name]: e.target.value }) }, opts.map((d) => h("option", { value: d, selected: d === cur }, dimLabel(d))));
    fill(this.scatterBar, h("label", {}, "x ", sel("sx", sx, dims)), h("label", {}, "y ", sel("sy", sy, dims)));
    if (!sx || !sy || !this.infos.length) { fill(this.scatter, h("p", { class: "muted" }, "no params or metrics to plot")); return; }
    const d = scatterData(this.infos, sx, sy);
    const W = 640, H = 360, L = 70, R = 20, T = 15, B = 45;
    const px = (v) => L + (d.x.max > d.x.min ? (v - d.x.min) / (d.x.max - d.x.min) : 0.5) * (W - L - R);
    const py = (v) => H - B - (d.y.max > d.y.min ? (v - d.y.min) / (d.y.max - d.y.min) : 0.5) * (H - T - B);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "scatter-plot", width: W, height: H, "data-points": d.points.length },
      s("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }), s("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }),
      ticks(d.x).map((t) => s("text", { x: px(t.v), y: H - B + 16, "text-anchor": "middle", class: "tick" }, t.label)),
      ticks(d.y).map((t) => s("text", { x: L - 6, y: py(t.v) + 4, "text-anchor": "end", class: "tick" }, t.label)),
      s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, dimLabel(sx)),
      s("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", transform: `rotate(-90 14 ${(T + H - B) / 2})`, class: "axis-label" }, dimLabel(sy)),
      d.points.map((p) => {
        const a = s("a", { href: buildHash("run", p.id, {}), "data-run": p.id },
          s("circle", { cx: px(p.x), cy: py(p.y), r: 6, fill: this._color(p.id), class: "pt" }),
          s("title", {}, `${this._label(p.id)}\n${dimLabel(sx)} = ${fmtValue(d.x.kind === "cat" ? d.x.cats[p.x] : p.x, 40)}\n${dimLabel(sy)} = ${fmtValue(d.y.kind === "cat" ? d.y.cats[p.y] : p.y, 40)}`));
        return a;
      }));
    fill(this.scatter, svg, d.missing.length ? h("p", { class: "muted" }, `${d.missing.length} run(s) without both values: `, d.missing.map((id) => this._label(id)).join(", ")) : null);
  }

  // ---- parallel coordinates: one line per run across the chosen dimensions

  _parallel() {
    const all = dimensions(this.infos);
    let dims = parseDims(this.params.dims).filter((d) => all.includes(d));
    if (!this.params.dims) dims = [...all.filter((d) => d.startsWith("params.")).slice(0, 5), ...all.filter((d) => d.startsWith("metrics.") && !isSysKey(d.slice(8))).slice(0, 3)];
    fill(this.parBar, all.map((d) => h("label", { class: "dim" }, h("input", { type: "checkbox", name: "dim", value: d, checked: dims.includes(d), onchange: (e) => {
      const next = e.target.checked ? all.filter((x) => x === d || dims.includes(x)) : dims.filter((x) => x !== d);
      this._set({ dims: next.join(",") || "none" });
    } }), " ", dimLabel(d))));
    if (dims.length < 2 || !this.infos.length) { fill(this.par, h("p", { class: "muted" }, "choose two or more params or metrics")); return; }
    const d = parcoordsData(this.infos, dims);
    const W = Math.max(640, 130 * dims.length), H = 340, T = 30, B = 30, L = 60, R = 60;
    const ax = (i) => L + (dims.length > 1 ? i * (W - L - R) / (dims.length - 1) : 0);
    const ay = (f) => H - B - f * (H - T - B);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "parcoords-plot", width: W, height: H, "data-lines": d.lines.length, "data-axes": dims.length },
      d.axes.map((a, i) => s("g", { class: "par-axis", "data-dim": a.dim },
        s("line", { x1: ax(i), y1: T, x2: ax(i), y2: H - B, class: "axis" }),
        s("text", { x: ax(i), y: T - 10, "text-anchor": "middle", class: "axis-label" }, dimLabel(a.dim)),
        ticks(a).map((t) => s("text", { x: ax(i) + 4, y: ay(a.max > a.min ? (t.v - a.min) / (a.max - a.min) : 0.5) + 4, class: "tick" }, t.label)))),
      d.lines.map((l) => {
        // A run without a value on an axis: its line breaks there.
        const segs = [];
        let cur = [];
        l.ys.forEach((y, i) => { if (y === null) { if (cur.length) segs.push(cur); cur = []; } else cur.push(`${ax(i)},${ay(y)}`); });
        if (cur.length) segs.push(cur);
        return s("a", { href: buildHash("run", l.id, {}), "data-run": l.id }, s("title", {}, this._label(l.id)),
          segs.map((pts) => pts.length > 1 ? s("polyline", { points: pts.join(" "), stroke: this._color(l.id), class: "par-line" })
            : s("circle", { cx: pts[0].split(",")[0], cy: pts[0].split(",")[1], r: 3, fill: this._color(l.id) })));
      }));
    fill(this.par, h("div", { class: "scroll" }, svg));
  }

  _params() {
    if (!this.infos.length) { fill(this.table, h("p", { class: "muted" }, "pick runs to compare (select them in the Runs view, or add them here)")); return; }
    const rows = paramDiff(this.infos);
    const nd = rows.filter((r) => r.differ).length;
    fill(this.table, h("p", { class: "muted" }, `${rows.length} params, ${nd} differ`), h("table", { class: "compare" },
      h("thead", {}, h("tr", {}, h("th", {}, "param"), this.infos.map((r) => h("th", {}, h("a", { href: buildHash("run", r.id, {}) }, this._label(r.id)), " ", badge(r.status))))),
      h("tbody", {}, rows.map((row) => h("tr", { class: row.differ ? "differ" : "", dataset: { param: row.key } }, h("th", {}, row.key),
        row.values.map((v) => h("td", {}, v === undefined ? h("span", { class: "muted" }, "—") : fmtValue(v, 200))))))));
  }

  async _series() {
    const keys = [...new Set(this.infos.flatMap((r) => (r.series || []).filter((s) => s.scalar).map((s) => s.key)))].sort();
    const key = this.params.key && keys.includes(this.params.key) ? this.params.key : keys[0];
    const cx = X_MODES.includes(this.params.cx) ? this.params.cx : "step";
    const w = Number(this.params.ema) > 0 && Number(this.params.ema) < 1 ? Number(this.params.ema) : 0;
    fill(this.chartBar, h("label", {}, "series ", h("select", { name: "key", onchange: (e) => this._set({ key: e.target.value }) },
      keys.map((k) => h("option", { value: k, selected: k === key }, k)))),
    h("select", { name: "cx", class: "x-axis", onchange: (e) => this._set({ cx: e.target.value }) }, X_MODES.map((m) => h("option", { value: m, selected: m === cx }, X_NAMES[m]))),
    h("label", {}, "smoothing ", h("input", { type: "range", name: "ema", class: "ema", min: "0", max: "0.99", step: "0.01", value: String(w), onchange: (e) => this._set({ ema: Number(e.target.value) > 0 ? e.target.value : "" }) }), " ", w ? String(w) : "off"));
    if (!key) { if (this.chart) { this.chart.destroy(); this.chart = null; } fill(this.plot, h("p", { class: "muted" }, "no series")); return; }
    const lines = this.infos.map((r) => r.id);
    const labels = Object.fromEntries(this.infos.map((r) => [r.id, this._label(r.id)]));
    if (!this.chart || this.chartKey !== key || this.chart.keys.join() !== lines.join()) {
      if (this.chart) this.chart.destroy();
      fill(this.plot);
      this.chart = new Chart(this.plot, lines, { labels, x: cx, ema: w });
      this.chartKey = key;
    } else {
      if (this.chart.x !== cx) this.chart.setX(cx);
      if (this.chart.ema !== w) this.chart.setEma(w);
    }
    const all = await Promise.all(this.infos.map((r) => call("series", r.id, key, { max_points: 1000 }).catch(() => null)));
    if (this.closed) return;
    all.forEach((sr, i) => { if (sr) this.chart.setSeries(lines[i], sr.step || [], (sr.value || []).map((v) => (typeof v === "number" ? v : null)), sr.time); });
  }

  // _maybeReload refetches the series (at most every 2 s) when a compared run changed.
  _maybeReload(tree) {
    let changed = false;
    for (const id of this.ids()) {
      const u = tree[id] && tree[id].updated;
      if (u !== this.updated[id]) { changed = changed || this.updated[id] !== undefined; this.updated[id] = u; }
    }
    if (!changed || this._timer) return;
    this._timer = setTimeout(() => { this._timer = null; if (!this.closed) this._series(); }, 2000);
  }

  destroy() { this.closed = true; clearTimeout(this._timer); this.r.close(); if (this.chart) this.chart.destroy(); }
}
