// plot.js — the pure logic behind the charts and the compare views (no
// DOM, tested by plot.test.js): smoothing, x-axis transforms, the chart
// groups in the URL, and the data of the scatter and parallel-coordinates
// views.

/** X_MODES: the x-axis choices of a chart: the step, the wall-clock time, the time since the run's first point. */
export const X_MODES = ["step", "wall", "rel"];

/**
 * ema smooths y with an exponential moving average of weight w in [0, 1)
 * (0: none; TensorBoard's and W&B's "smoothing"), debiased so the first
 * points are not pulled towards 0. Gaps (null) stay gaps and do not reset
 * the average.
 */
export function ema(y, w) {
  if (!(w > 0)) return y.slice();
  w = Math.min(w, 0.999);
  const out = new Array(y.length);
  let acc = 0, weight = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (typeof v !== "number" || !Number.isFinite(v)) { out[i] = null; continue; }
    acc = w * acc + (1 - w) * v;
    weight = w * weight + (1 - w);
    out[i] = acc / weight;
  }
  return out;
}

/**
 * xValues: a series' x values for an x-axis mode: its steps ("step"), its
 * times in Unix seconds ("wall"), or seconds since t0 ("rel"; t0 in Unix
 * ns, default the series' first time). time is in Unix ns, as the store
 * returns it; a missing time gives null.
 */
export function xValues(mode, step, time, t0) {
  if (mode !== "wall" && mode !== "rel") return step.slice();
  const ts = time || [];
  const base = mode === "rel" ? (typeof t0 === "number" ? t0 : firstNumber(ts)) : 0;
  return step.map((_, i) => (typeof ts[i] === "number" ? (ts[i] - base) / 1e9 : null));
}

function firstNumber(a) { for (const v of a) if (typeof v === "number") return v; return 0; }

/**
 * sortedByX returns {x, y} ordered by x (stable), nulls in x dropped: a
 * chart's x values must increase, and times of a resumed run may not.
 */
export function sortedByX(x, y) {
  let ordered = true;
  for (let i = 1; i < x.length && ordered; i++) ordered = x[i] !== null && x[i - 1] !== null && x[i] >= x[i - 1];
  if (ordered && (x.length === 0 || x[0] !== null)) return { x, y };
  const idx = [];
  for (let i = 0; i < x.length; i++) if (x[i] !== null && x[i] !== undefined) idx.push(i);
  idx.sort((a, b) => x[a] - x[b] || a - b);
  return { x: idx.map((i) => x[i]), y: idx.map((i) => y[i]) };
}

/** onePoint: whether a chart's data has a single point in every series (drawn as markers, not lines). */
export function onePoint(tables) {
  let any = false;
  for (const t of tables) {
    let n = 0;
    for (let i = 0; i < t.length && n < 2; i++) if (t[i] !== null && t[i] !== undefined) n++;
    if (n > 1) return false;
    if (n === 1) any = true;
  }
  return any;
}

/**
 * parseChartGroups reads the charts of a run page from the URL:
 * "x,v;energy~log~x=wall~ema=0.6" → [{keys: ["x","v"], log: false, x: "step", ema: 0},
 * {keys: ["energy"], log: true, x: "wall", ema: 0.6}]. Unknown flags are ignored.
 */
export function parseChartGroups(s) {
  if (!s) return null;
  return s.split(";").filter(Boolean).map((g) => {
    const [keys, ...flags] = g.split("~");
    const out = { keys: keys.split(",").filter(Boolean), log: false, x: "step", ema: 0 };
    for (const f of flags) {
      if (f === "log") out.log = true;
      else if (f.startsWith("x=") && X_MODES.includes(f.slice(2))) out.x = f.slice(2);
      else if (f.startsWith("ema=")) {
        const w = Number(f.slice(4));
        if (w > 0 && w < 1) out.ema = w;
      }
    }
    return out;
  }).filter((g) => g.keys.length);
}

/** formatChartGroups is parseChartGroups' inverse (defaults left out). */
export function formatChartGroups(groups) {
  return groups.map((g) => g.keys.join(",") + (g.log ? "~log" : "") + (g.x && g.x !== "step" ? `~x=${g.x}` : "") + (g.ema > 0 ? `~ema=${g.ema}` : "")).join(";");
}

/** isSysKey: a system-metrics series (the track client's sys.*), shown in its own section. */
export function isSysKey(k) { return typeof k === "string" && k.startsWith("sys."); }

/**
 * defaultChartOf names the chart a series goes to when the URL names none:
 * its own (the key), except the GPUs' (sys.gpu<i>.*, docs/tracking.md):
 * one chart per metric for every GPU, memory used with total.
 */
export function defaultChartOf(k) {
  const m = /^sys\.gpu\d+\.(\w+)$/.exec(k);
  if (!m) return k;
  return `sys.gpu*.${m[1] === "mem_used_bytes" || m[1] === "mem_total_bytes" ? "mem_bytes" : m[1]}`;
}

/** defaultGroups: the charts of keys the URL names no chart for (sys.* on relative time: samples in time). */
export function defaultGroups(keys) {
  const charts = new Map();
  for (const k of keys) {
    const c = defaultChartOf(k);
    if (!charts.has(c)) charts.set(c, { keys: [], log: false, x: isSysKey(k) ? "rel" : "step", ema: 0 });
    charts.get(c).keys.push(k);
  }
  return [...charts.values()];
}

/**
 * placeKeys says where series no chart shows yet go: into a chart that
 * holds only keys of their default chart (a GPU seen later joins its
 * metric's chart), else into new default charts. charts: each chart's
 * keys. Returns { extend: [[chart index, keys]], add: groups }.
 */
export function placeKeys(charts, fresh) {
  const owner = new Map();
  charts.forEach((keys, i) => {
    const d = keys.length ? defaultChartOf(keys[0]) : null;
    if (d !== null && d !== keys[0] && !owner.has(d) && keys.every((k) => defaultChartOf(k) === d)) owner.set(d, i);
  });
  const extend = new Map(), rest = [];
  for (const k of fresh) {
    const i = owner.get(defaultChartOf(k));
    if (i === undefined) rest.push(k);
    else extend.set(i, [...(extend.get(i) || []), k]);
  }
  return { extend: [...extend], add: defaultGroups(rest) };
}

/** isImageRef: a series value that is a stored image (track's LogImage). */
export function isImageRef(v) {
  return !!v && typeof v === "object" && typeof v.sha256 === "string" && /^[0-9a-f]{64}$/.test(v.sha256) &&
    typeof v.content_type === "string" && v.content_type.startsWith("image/");
}

/** imageURL: where the dashboard's origin serves a stored image (inline, sandboxed). */
export function imageURL(ref, key) {
  const ext = ref.content_type === "image/jpeg" ? "jpg" : "png";
  return `/artifacts/${ref.sha256}?name=${encodeURIComponent(`${String(key).replace(/[^\w.-]+/g, "_")}.${ext}`)}`;
}

/** nearestIndex: the index of the largest step ≤ want in increasing steps (0 if none is). */
export function nearestIndex(steps, want) {
  let lo = 0, hi = steps.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] <= want) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

/** seriesDownloadURL: a series at full resolution, streamed by the server (format "csv" or "json"). */
export function seriesDownloadURL(run, key, format) {
  return `/runs/${encodeURIComponent(run)}/series.${format === "json" ? "json" : "csv"}?key=${encodeURIComponent(key)}`;
}

// ---- compare: the values of a run along a dimension

/**
 * A dimension of the compare views names a param or a metric:
 * "params.lr", "metrics.loss" (a metric's latest value).
 */
export function dimValue(info, dim) {
  if (!info || typeof dim !== "string") return undefined;
  if (dim.startsWith("params.")) return info.params ? info.params[dim.slice(7)] : undefined;
  if (dim.startsWith("metrics.")) {
    const l = info.latest && info.latest[dim.slice(8)];
    return l && typeof l === "object" && "value" in l ? l.value : l;
  }
  return undefined;
}

/** dimensions: every param and scalar metric of the runs, as "params.K" and "metrics.K", sorted. */
export function dimensions(infos) {
  const p = new Set(), m = new Set();
  for (const r of infos) {
    for (const k of Object.keys(r.params || {})) if (isPlain(r.params[k])) p.add(k);
    for (const k of Object.keys(r.latest || {})) if (typeof dimValue(r, "metrics." + k) === "number") m.add(k);
  }
  return [...[...p].sort().map((k) => "params." + k), ...[...m].sort().map((k) => "metrics." + k)];
}

function isPlain(v) { return typeof v === "number" || typeof v === "string" || typeof v === "boolean"; }

/**
 * axis maps the values of one dimension over the runs to positions: numbers
 * (NaN and infinities left out) on a linear axis [min, max]; anything else
 * plain (strings, booleans) as categories in sorted order at 0, 1, 2, …
 * Returns {kind: "num"|"cat", min, max, cats, pos(v) → number|null}.
 */
export function axis(values) {
  const nums = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  const others = values.filter((v) => v !== undefined && v !== null && typeof v !== "number" && isPlain(v));
  if (nums.length && !others.length) {
    let min = Math.min(...nums), max = Math.max(...nums);
    return { kind: "num", min, max, cats: [], pos: (v) => (typeof v === "number" && Number.isFinite(v) ? v : null) };
  }
  const cats = [...new Set(values.filter((v) => v !== undefined && v !== null && isPlain(v)).map(String))].sort();
  return { kind: "cat", min: 0, max: Math.max(cats.length - 1, 0), cats, pos: (v) => (v === undefined || v === null || !isPlain(v) ? null : cats.indexOf(String(v))) };
}

/**
 * scatterData: one point per run with a value on both dimensions:
 * {points: [{id, x, y}], x: axis, y: axis, missing: [ids]}.
 */
export function scatterData(infos, xdim, ydim) {
  const xa = axis(infos.map((r) => dimValue(r, xdim))), ya = axis(infos.map((r) => dimValue(r, ydim)));
  const points = [], missing = [];
  for (const r of infos) {
    const x = xa.pos(dimValue(r, xdim)), y = ya.pos(dimValue(r, ydim));
    if (x === null || y === null || x < 0 && xa.kind === "cat" || y < 0 && ya.kind === "cat") missing.push(r.id);
    else points.push({ id: r.id, x, y });
  }
  return { points, x: xa, y: ya, missing };
}

/**
 * parcoordsData: for each run its position along each dimension, scaled
 * to [0, 1] (0 the axis' minimum; a constant axis at 0.5; null where the
 * run has no value): {axes: [{dim, ...axis}], lines: [{id, ys: []}]}.
 */
export function parcoordsData(infos, dims) {
  const axes = dims.map((d) => ({ dim: d, ...axis(infos.map((r) => dimValue(r, d))) }));
  const lines = infos.map((r) => ({
    id: r.id,
    ys: axes.map((a) => {
      const p = a.pos(dimValue(r, a.dim));
      if (p === null || p < 0) return null;
      return a.max > a.min ? (p - a.min) / (a.max - a.min) : 0.5;
    }),
  }));
  return { axes, lines };
}

/** parseDims: "params.lr,metrics.loss" → ["params.lr", "metrics.loss"] (only params.* and metrics.*). */
export function parseDims(s) {
  return String(s || "").split(",").filter((d) => /^(params|metrics)\.[^,]+$/.test(d));
}

/**
 * fmtTick: an axis label: up to 4 significant digits, large magnitudes
 * with an SI suffix (12.5k, 3.2M, 1.1G), so labels stay short.
 */
export function fmtTick(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "";
  const a = Math.abs(v);
  for (const [min, d, s] of [[1e12, 1e12, "T"], [1e9, 1e9, "G"], [1e6, 1e6, "M"], [1e4, 1e3, "k"]]) if (a >= min) return `${Number((v / d).toPrecision(3))}${s}`;
  if (a !== 0 && a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}
