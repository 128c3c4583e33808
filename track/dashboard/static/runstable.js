// runstable.js — the runs table's state and its pure logic (URL state,
// column choice, sorting, paging, download links), apart from the DOM so
// node tests it (runstable.test.js).

/** PAGE_SIZES: the page sizes offered; the first is the default. */
export const PAGE_SIZES = [100, 50, 200, 500];

/** A column is params.KEY or metrics.KEY (a key holds any character but a newline). */
export function validColumn(c) {
  return typeof c === "string" && /^(params|metrics)\.[^\n]+$/.test(c) && c.length <= 300;
}

/**
 * tableState reads the table's state from the hash params:
 * f (filter), sort ("-start" by default), cols (params.KEY and
 * metrics.KEY, each URI-encoded, joined by ","), off (offset) and n
 * (page size).
 */
export function tableState(params = {}) {
  const cols = [];
  for (const part of (params.cols || "").split(",")) {
    if (!part) continue;
    let c;
    try { c = decodeURIComponent(part); } catch { continue; }
    if (validColumn(c) && !cols.includes(c)) cols.push(c);
  }
  const n = PAGE_SIZES.includes(Number(params.n)) ? Number(params.n) : PAGE_SIZES[0];
  const off = Math.max(0, Math.floor(Number(params.off) || 0));
  return { filter: params.f || "", sort: params.sort || "-start", cols, offset: off - (off % n), limit: n, archived: params.arch === "1" };
}

/** queryFilter is the filter sent: with archived, the archived runs only (the store hides them otherwise). */
export function queryFilter(s) {
  if (!s.archived) return s.filter;
  return s.filter ? `archived and (${s.filter})` : "archived";
}

/** tableParams is tableState's inverse: defaults are left out. */
export function tableParams(s) {
  return {
    f: s.filter || "",
    sort: s.sort && s.sort !== "-start" ? s.sort : "",
    cols: s.cols.map((c) => encodeURIComponent(c)).join(","),
    off: s.offset ? String(s.offset) : "",
    n: s.limit && s.limit !== PAGE_SIZES[0] ? String(s.limit) : "",
    arch: s.archived ? "1" : "",
  };
}

/** addColumn adds a valid column not yet shown (at the end); removeColumn removes one. */
export function addColumn(cols, c) {
  c = (c || "").trim();
  if (!validColumn(c) || cols.includes(c)) return cols;
  return [...cols, c];
}
export function removeColumn(cols, c) { return cols.filter((x) => x !== c); }

/** moveColumn moves column c by delta places (-1 left, +1 right), within bounds. */
export function moveColumn(cols, c, delta) {
  const i = cols.indexOf(c), j = i + delta;
  if (i < 0 || j < 0 || j >= cols.length) return cols;
  const out = [...cols];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/** nextSort: a click on a header sorts by its field ascending, a second click descending, then ascending again. */
export function nextSort(sort, field) { return sort === field ? `-${field}` : field; }

/** sortDir: "asc", "desc" or "" for a header's field under sort. */
export function sortDir(sort, field) { return sort === field ? "asc" : sort === `-${field}` ? "desc" : ""; }

/** pageInfo describes a page: its first and last run (from 1) of total, and the neighbours' offsets (null: none). */
export function pageInfo(total, offset, limit, shown) {
  const first = shown ? offset + 1 : 0, last = offset + shown;
  return {
    text: total === 0 ? "no runs" : `${first}–${last} of ${total}`,
    prev: offset > 0 ? Math.max(0, offset - limit) : null,
    next: offset + limit < total ? offset + limit : null,
    lastOffset: total > 0 ? Math.floor((total - 1) / limit) * limit : 0,
  };
}

/** runQuery is the query_runs argument of a state. */
export function runQuery(s) {
  return { filter: queryFilter(s), sort: s.sort, columns: s.cols, offset: s.offset, limit: s.limit };
}

/** downloadURL is the link of the table as CSV or JSON (GET /runs.csv, /runs.json): every page, current filter, sort and columns. */
export function downloadURL(s, format) {
  const q = new URLSearchParams();
  const f = queryFilter(s);
  if (f) q.set("filter", f);
  if (s.sort) q.set("sort", s.sort);
  for (const c of s.cols) q.append("col", c);
  const qs = q.toString();
  return `/runs.${format}${qs ? "?" + qs : ""}`;
}

/** columnChoices: the columns the live runs list suggests (its latest values as metrics.KEY, its params as params.KEY), not yet shown, sorted. */
export function columnChoices(runs, shown) {
  const set = new Set();
  for (const r of runs) {
    for (const k of Object.keys((r && r.latest) || {})) set.add(`metrics.${k}`);
    for (const k of Object.keys((r && r.params) || {})) set.add(`params.${k}`);
  }
  return [...set].filter((c) => validColumn(c) && !shown.includes(c)).sort();
}

/** columnLabel is a column's header: its key, prefixed with its kind's letter when both kinds hold it. */
export function columnLabel(c, cols) {
  const [kind, ...rest] = c.split(".");
  const key = rest.join(".");
  const other = (kind === "params" ? "metrics." : "params.") + key;
  return cols.includes(other) ? `${kind === "params" ? "p" : "m"}:${key}` : key;
}
