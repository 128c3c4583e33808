// runstable.js — the runs table's state and its pure logic (URL state,
// column choice, sorting, paging, download links, sweeps grouped under
// their parent run, the server's open-run counts), apart from the DOM so
// node tests it (runstable.test.js).
import { STATUSES } from "./format.js";

/** PAGE_SIZES: the page sizes offered; the first is the default. */
export const PAGE_SIZES = [100, 50, 200, 500];

/** A column is params.KEY or metrics.KEY (a key holds any character but a newline). */
export function validColumn(c) {
  return typeof c === "string" && /^(params|metrics)\.[^\n]+$/.test(c) && c.length <= 300;
}

/** CHILD_PAGE: the children of an expanded run shown a page at a time. */
export const CHILD_PAGE = 20;

/** A run id as the store takes it (store.CheckRunID). */
export function validRunID(id) {
  return typeof id === "string" && id.length <= 128 && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id);
}

/**
 * tableState reads the table's state from the hash params:
 * f (filter), sort ("-start" by default), cols (params.KEY and
 * metrics.KEY, each URI-encoded, joined by ","), off (offset), n
 * (page size), arch (the archived runs), flat (children listed at the
 * top level too, not grouped under their parent) and open (the parent
 * runs expanded: "ID" or "ID@OFFSET" of its children's page, joined
 * by ",").
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
  const open = {};
  for (const part of (params.open || "").split(",")) {
    const [id, o] = part.split("@");
    const co = Math.max(0, Math.floor(Number(o) || 0));
    if (validRunID(id) && !(id in open) && Object.keys(open).length < 50) open[id] = co - (co % CHILD_PAGE);
  }
  return { filter: params.f || "", sort: params.sort || "-start", cols, offset: off - (off % n), limit: n, archived: params.arch === "1",
    flat: params.flat === "1", open };
}

/**
 * grouped: whether the table shows only the top-level runs, each with its
 * children behind an expand control: unless flat, the archived runs are
 * shown, or the filter names parent itself.
 */
export function grouped(s) {
  return !s.flat && !s.archived && !/\bparent\b/.test(s.filter);
}

/** queryFilter is the filter sent: with archived, the archived runs only (the store hides them otherwise); grouped, the top level only. */
export function queryFilter(s) {
  if (s.archived) return s.filter ? `archived and (${s.filter})` : "archived";
  if (grouped(s)) return s.filter ? `parent = "" and (${s.filter})` : 'parent = ""';
  return s.filter;
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
    flat: s.flat ? "1" : "",
    open: Object.entries(s.open || {}).map(([id, o]) => (o ? `${id}@${o}` : id)).join(","),
  };
}

/** toggleOpen expands a run's children (from their first page) or folds them. */
export function toggleOpen(open, id) {
  const out = { ...open };
  if (id in out) delete out[id];
  else out[id] = 0;
  return out;
}

/** childQuery is the query_runs argument of a page of run id's children: the table's sort and columns. */
export function childQuery(s, id, offset = 0) {
  return { filter: `parent = ${JSON.stringify(id)}`, sort: s.sort, columns: s.cols, offset, limit: CHILD_PAGE };
}

/** childCount is the number of children in counts (RunTable.children[i], by status; null: none). */
export function childCount(counts) {
  return Object.values(counts || {}).reduce((a, n) => a + (Number(n) || 0), 0);
}

/** byStatus: counts by status as "2 running, 1 crashed", in the order of STATUSES, then any other. */
export function byStatus(counts) {
  const keys = Object.keys(counts || {}).filter((k) => counts[k] > 0);
  keys.sort((a, b) => (STATUSES.indexOf(a) + 1 || 99) - (STATUSES.indexOf(b) + 1 || 99) || a.localeCompare(b));
  return keys.map((k) => `${counts[k]} ${k}`).join(", ");
}

/** childSummary is a parent row's line: "3 runs: 2 finished, 1 running" ("" without children). */
export function childSummary(counts) {
  const n = childCount(counts);
  return n ? `${n} run${n === 1 ? "" : "s"}: ${byStatus(counts)}` : "";
}

/**
 * openSummary is the line above the table from the server's exact counts
 * (the "server" notifier's runs: open, by_status): "3 open runs: 2
 * running, 1 crashed" ("" before the counts arrive).
 */
export function openSummary(runs) {
  if (!runs || typeof runs.open !== "number") return "";
  const n = runs.open;
  const by = byStatus(runs.by_status);
  return `${n} open run${n === 1 ? "" : "s"}${by ? ": " + by : ""}`;
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
