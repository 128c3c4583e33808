// format.js — the dashboard's pure logic: formatting, filters, sorting,
// deep links, param diffs, log filters, method forms. No DOM, no network:
// tested by `node --test track/dashboard/static/`.

// The run status rules are the store's (track/store/status.go), checked
// against the server's by livestate.test.js: a final status is the last;
// crashed is not final — the server sets it when heartbeats stop and
// lifts it when the run is heard from again.
export const FINAL = ["finished", "stopped", "failed"];
export const STATUSES = ["registered", "loaded", "initialized", "started", "running", "finished", "stopped", "failed", "crashed"];

/** isFinal: the status is the run's last (store.Status.Final). */
export function isFinal(status) { return FINAL.includes(status); }

/** isSilent: the run is over or, crashed, not heard from (its clock stops). */
export function isSilent(status) { return isFinal(status) || status === "crashed"; }

/** fmtDuration: seconds as "1h 02m", "3m 04s", "5.2s". */
export function fmtDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return "";
  if (s < 10) return `${s.toFixed(1)}s`;
  s = Math.round(s);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const p2 = (n) => String(n).padStart(2, "0");
  if (d > 0) return `${d}d ${p2(h)}h`;
  if (h > 0) return `${h}h ${p2(m)}m`;
  if (m > 0) return `${m}m ${p2(sec)}s`;
  return `${sec}s`;
}

/** fmtBytes: 1536 → "1.5 KiB". */
export function fmtBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** fmtNum: a number with at most 6 significant digits. */
export function fmtNum(x) {
  if (typeof x !== "number") return String(x);
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return x.toExponential(4).replace(/\.?0+e/, "e");
  return String(Number(x.toPrecision(6)));
}

/** fmtValue: any replica value, briefly. */
export function fmtValue(v, max = 120) {
  let s;
  if (v === null || v === undefined) s = "None";
  else if (typeof v === "number") s = fmtNum(v);
  else if (typeof v === "string") s = v;
  else if (typeof v === "boolean") s = v ? "True" : "False";
  else if (Array.isArray(v)) s = `[${v.map((e) => fmtValue(e, max)).join(", ")}]`;
  else if (v.constructor && v.constructor.name === "Tuple") s = `(${v.items.map((e) => fmtValue(e, max)).join(", ")})`;
  else if (v.constructor && v.constructor.name === "NDArray") s = `array(shape=${JSON.stringify(v.shape)}, dtype=${v.dtype})`;
  else if (v.constructor && v.constructor.name === "Complex") s = `(${fmtNum(v.re)}${v.im < 0 ? "-" : "+"}${fmtNum(Math.abs(v.im))}j)`;
  else if (v.constructor && v.constructor.name === "Bytes") s = `bytes(${v.data.length})`;
  else if (Object.getPrototypeOf(v) === Object.prototype) s = `{${Object.keys(v).map((k) => `${k}: ${fmtValue(v[k], max)}`).join(", ")}}`;
  else s = String(v);
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

/** fmtTime: Unix seconds as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(sec) {
  if (typeof sec !== "number" || !Number.isFinite(sec)) return "";
  const d = new Date(sec * 1000), p2 = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** runDuration: seconds from start to end (to the last update for a crashed run, to now for a running one). */
export function runDuration(e, nowSec) {
  if (typeof e.start !== "number") return null;
  const end = typeof e.end === "number" ? e.end : isSilent(e.status) && typeof e.updated === "number" ? e.updated : nowSec;
  return Math.max(0, end - e.start);
}

// ---- deep links: #/runs?project=a&status=running, #/run/ID?charts=x,v;energy~log, #/compare?runs=a,b

/** parseHash: "#/run/ID?x=1" → {view: "run", id: "ID", params: {x: "1"}}. */
export function parseHash(hash) {
  let h = (hash || "").replace(/^#\/?/, "");
  const qi = h.indexOf("?");
  const query = qi >= 0 ? h.slice(qi + 1) : "";
  if (qi >= 0) h = h.slice(0, qi);
  const parts = h.split("/").filter((p) => p !== "").map(decodeURIComponent);
  const params = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  const view = ["runs", "run", "compare", "solvers", "jobs"].includes(parts[0]) ? parts[0] : "runs";
  return { view, id: view === "run" ? parts.slice(1).join("/") : "", params };
}

/** buildHash is parseHash's inverse; empty params are left out. */
export function buildHash(view, id, params = {}) {
  let h = `#/${view}`;
  if (id) h += `/${encodeURIComponent(id)}`;
  const q = new URLSearchParams();
  for (const k of Object.keys(params).sort()) if (params[k] !== "" && params[k] !== undefined && params[k] !== null) q.set(k, params[k]);
  const qs = q.toString();
  return qs ? `${h}?${qs}` : h;
}

// ---- runs

/** runsList: the "runs" tree as a list of entries with their ids. */
export function runsList(tree) {
  if (!tree || typeof tree !== "object") return [];
  return Object.keys(tree).map((id) => ({ id, ...tree[id] }));
}

/** filterRuns keeps the runs matching project, status, tag and q (a case-insensitive substring of name or id). */
export function filterRuns(list, f = {}) {
  const q = (f.q || "").toLowerCase();
  return list.filter((r) =>
    (!f.project || r.project === f.project) &&
    (!f.status || r.status === f.status) &&
    (!f.tag || (Array.isArray(r.tags) && r.tags.includes(f.tag))) &&
    (!q || String(r.name || "").toLowerCase().includes(q) || r.id.toLowerCase().includes(q)));
}

const sortKeys = {
  project: (r) => r.project || "", name: (r) => r.name || "", status: (r) => r.status || "",
  progress: (r) => r.progress || 0, step: (r) => r.step || 0, start: (r) => r.start || 0,
  duration: (r) => runDuration(r, Date.now() / 1000) || 0, updated: (r) => r.updated || 0,
};

/** sortRuns sorts a copy by a column (default start, newest first); ties by id. */
export function sortRuns(list, key = "start", desc = true) {
  const f = sortKeys[key] || sortKeys.start;
  const out = list.slice();
  out.sort((a, b) => {
    const x = f(a), y = f(b);
    const c = typeof x === "string" ? x.localeCompare(y) : x - y;
    return (desc ? -c : c) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
  return out;
}

/** facets: the projects, statuses and tags present, sorted. */
export function facets(list) {
  const p = new Set(), s = new Set(), t = new Set();
  for (const r of list) {
    if (r.project) p.add(r.project);
    if (r.status) s.add(r.status);
    for (const tag of r.tags || []) t.add(tag);
  }
  return { projects: [...p].sort(), statuses: [...s].sort(), tags: [...t].sort() };
}

/** latestKeys: the result keys of a run's latest values, sorted. */
export function latestKeys(r) { return r && r.latest && typeof r.latest === "object" ? Object.keys(r.latest).sort() : []; }

// ---- compare

/**
 * paramDiff: runs [{id, params}] → rows [{key, values, differ}] over the
 * union of keys, sorted; a missing param is undefined, and a row differs
 * when any two values do (deep, as JSON).
 */
export function paramDiff(runs) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(r.params || {})) keys.add(k);
  return [...keys].sort().map((key) => {
    const values = runs.map((r) => (r.params && Object.prototype.hasOwnProperty.call(r.params, key) ? r.params[key] : undefined));
    const enc = values.map((v) => (v === undefined ? "\u0000missing" : JSON.stringify(v)));
    return { key, values, differ: enc.some((e) => e !== enc[0]) };
  });
}

// ---- logs

const LEVELS = [[-4, "DEBUG"], [0, "INFO"], [4, "WARN"], [8, "ERROR"]];

/** levelName: slog level → "INFO", "WARN+2", ... */
export function levelName(l) {
  if (typeof l !== "number") return String(l);
  let name = "DEBUG", base = -4;
  for (const [v, n] of LEVELS) if (l >= v) { name = n; base = v; }
  return l === base ? name : `${name}${l - base > 0 ? "+" : ""}${l - base}`;
}

/** logMatches: a log entry at or above minLevel whose message, logger or attrs contain q (case-insensitive). */
export function logMatches(e, f = {}) {
  if (typeof f.minLevel === "number" && (e.level ?? 0) < f.minLevel) return false;
  const q = (f.q || "").toLowerCase();
  if (!q) return true;
  return [e.message, e.logger, e.attrs ? JSON.stringify(e.attrs) : ""].some((s) => String(s || "").toLowerCase().includes(q));
}

/** mergeLogs appends to a the entries of b that a lacks (same time, level and message), keeping at most max (the newest). */
export function mergeLogs(a, b, max = 1000) {
  const key = (e) => `${e.time}\u0000${e.level}\u0000${e.message}`;
  const seen = new Set(a.map(key));
  const out = a.slice();
  for (const e of b) if (!seen.has(key(e))) { seen.add(key(e)); out.push(e); }
  out.sort((x, y) => (x.time || 0) - (y.time || 0));
  return out.length > max ? out.slice(out.length - max) : out;
}

// ---- series

/**
 * mergePoints appends to s ({x: [], y: [], t: []}, steps increasing) the
 * recent points (live state {step: [], time: [], value: []}) past its
 * last step; returns the number appended. Non-numbers become null (a
 * gap). When s has t, each point's time (live state: Unix seconds) is
 * appended as Unix ns; a point without one (a server older than the
 * time column) gets nowNs.
 */
export function mergePoints(s, recent, nowNs = Date.now() * 1e6) {
  if (!recent || !Array.isArray(recent.step)) return 0;
  const last = s.x.length ? s.x[s.x.length - 1] : -Infinity;
  const times = Array.isArray(recent.time) ? recent.time : [];
  let n = 0;
  for (let i = 0; i < recent.step.length; i++) {
    const st = recent.step[i];
    if (typeof st !== "number" || st <= last) continue;
    const v = recent.value[i], tm = times[i];
    s.x.push(st);
    s.y.push(typeof v === "number" && Number.isFinite(v) ? v : null);
    if (Array.isArray(s.t)) s.t.push(typeof tm === "number" && Number.isFinite(tm) ? tm * 1e9 : nowNs);
    n++;
  }
  return n;
}

// ---- exposed methods

/**
 * inputKind: the form input for a Go parameter type name (rpc's
 * MethodInfo.Params[].Type): "float", "int", "bool", "string" or "json".
 */
export function inputKind(type) {
  const t = String(type || "").replace(/^\.\.\./, "");
  if (/^float(32|64)$/.test(t)) return "float";
  if (/^u?int(8|16|32|64)?$/.test(t)) return "int";
  if (t === "bool") return "bool";
  if (t === "string") return "string";
  return "json";
}

/** parseArg turns a form field into an argument of a kind; it throws on bad input. */
export function parseArg(kind, raw) {
  switch (kind) {
    case "float": {
      const s = String(raw).trim();
      const x = Number(s);
      if (s === "" || Number.isNaN(x)) throw new Error(`${JSON.stringify(raw)} is not a number`);
      return x;
    }
    case "int": {
      const s = String(raw).trim();
      if (!/^[-+]?\d+$/.test(s)) throw new Error(`${JSON.stringify(raw)} is not an integer`);
      return Number(s);
    }
    case "bool": return raw === true || raw === "true" || raw === "on";
    case "string": return String(raw);
    default: {
      try { return JSON.parse(raw); } catch (e) { throw new Error(`not JSON: ${e.message}`); }
    }
  }
}

/** argJSON writes one argument for a call body: a float kind keeps a fraction, so 100 travels as 100.0. */
export function argJSON(kind, v) {
  if (kind === "float" && Number.isInteger(v)) return `${v}.0`;
  return JSON.stringify(v);
}

// ---- solvers and jobs (track/jobs; docs/jobs.md)

export const JOB_STATES = ["PENDING", "STARTED", "SUCCESS", "FAILED", "ABORTED"];

/** sortPorts: a copy of ports in display order (order, then key). */
export function sortPorts(ports) {
  return (ports || []).slice().sort((a, b) => (a.order || 0) - (b.order || 0) || String(a.key).localeCompare(String(b.key)));
}

/** portRange: "0 – 65 second", "≥ 0", "" for a port's min/max and unit. */
export function portRange(p) {
  const u = p.unit ? ` ${p.unit}` : "";
  const has = (x) => typeof x === "number" && Number.isFinite(x);
  if (has(p.min) && has(p.max)) return `${fmtNum(p.min)} – ${fmtNum(p.max)}${u}`;
  if (has(p.min)) return `≥ ${fmtNum(p.min)}${u}`;
  if (has(p.max)) return `≤ ${fmtNum(p.max)}${u}`;
  return "";
}

/** portRequired mirrors jobs.Port.IsRequired for an input. */
export function portRequired(p) { return typeof p.required === "boolean" ? p.required : p.default === undefined || p.default === null; }

/** solverGroups: solvers [{name, version, …}] → [{name, versions: [solver…]}] in declaration order. */
export function solverGroups(solvers) {
  const out = [], by = new Map();
  for (const s of solvers || []) {
    let g = by.get(s.name);
    if (!g) { g = { name: s.name, versions: [] }; by.set(s.name, g); out.push(g); }
    g.versions.push(s);
  }
  return out;
}

/**
 * portValue turns a form field of an input port into the JSON text of its
 * value, or undefined to leave the input out (an empty field: the
 * server fills the default or reports it missing). Only the type is
 * checked here (a field that is no number cannot be sent as one); range,
 * choices and required inputs are the server's to check, so that its
 * errors show. It throws an Error naming what is wrong.
 */
export function portValue(p, raw) {
  if (p.type === "boolean") return raw === true || raw === "true" || raw === "on" ? "true" : "false";
  const s = typeof raw === "string" ? raw : raw === undefined || raw === null ? "" : String(raw);
  if (p.type === "integer" || p.type === "number") {
    const t = s.trim();
    if (t === "") return undefined;
    if (p.type === "integer" && !/^[-+]?\d+$/.test(t)) throw new Error(`${JSON.stringify(s)} is not an integer`);
    const x = Number(t);
    if (!Number.isFinite(x)) throw new Error(`${JSON.stringify(s)} is not a number`);
    return p.type === "number" && Number.isInteger(x) && !/[.eE]/.test(t) ? `${x}.0` : JSON.stringify(x);
  }
  if (p.type === "enum") return s === "" ? undefined : JSON.stringify(s);
  if (p.type === "string") return s === "" && !portRequired(p) ? undefined : JSON.stringify(s);
  if (p.type === "file") return s === "" ? undefined : JSON.stringify({ sha256: s });
  throw new Error(`unknown port type ${p.type}`);
}

/**
 * parseInputError reads the message of a jobs.InputError ("jobs: invalid
 * inputs for S: input "a": reason; input "b": reason") into
 * [{port, reason}]; [] for another error.
 */
export function parseInputError(msg) {
  const m = /invalid inputs for [^:]*:(.*)$/s.exec(String(msg || ""));
  if (!m) return [];
  const out = [];
  const re = / input "([^"]*)": /g;
  const starts = [];
  let x;
  while ((x = re.exec(m[1])) !== null) starts.push({ port: x[1], at: x.index, body: re.lastIndex });
  for (let i = 0; i < starts.length; i++) {
    let end = i + 1 < starts.length ? starts[i + 1].at : m[1].length;
    let reason = m[1].slice(starts[i].body, end);
    if (i + 1 < starts.length) reason = reason.replace(/;$/, "");
    out.push({ port: starts[i].port, reason: reason.trim() });
  }
  return out;
}

/** jobState: a job run's state from its "state=…" tag of the runs notifier ("" if none). */
export function jobState(entry) {
  for (const t of (entry && entry.tags) || []) if (typeof t === "string" && t.startsWith("state=")) return t.slice(6);
  return "";
}

/** isJobRun: the run of the runs notifier is a job (tag "job"). */
export function isJobRun(entry) { return !!(entry && Array.isArray(entry.tags) && entry.tags.includes("job")); }

/**
 * jobsSignature: what of the job runs in the runs tree changes a job's
 * record (its state, its run's status and end), so the jobs list is read
 * again only then; progress is taken live from the tree.
 */
export function jobsSignature(tree) {
  return runsList(tree).filter(isJobRun).map((r) => `${r.id}:${jobState(r)}:${r.status}:${r.end ?? ""}`).sort().join(",");
}

/** isFileRef: a job output that is a file ({sha256, filename, size}). */
export function isFileRef(v) { return !!v && typeof v === "object" && typeof v.sha256 === "string" && /^[0-9a-f]{64}$/.test(v.sha256); }

// ---- the server (notifier "server": track/server/livestate.go ServerState)

/**
 * storageView: the header's storage indicator from the "server" tree's
 * storage ({state, free_bytes, min_free, errors, last_error,
 * last_error_time}): {state, text, title}; text is "" while all is well
 * and free space is not low.
 */
export function storageView(st) {
  if (!st || typeof st !== "object") return { state: "", text: "", title: "" };
  const free = typeof st.free_bytes === "number" ? `${fmtBytes(st.free_bytes)} free` : "";
  const min = typeof st.min_free === "number" && st.min_free > 0 ? `, new runs refused below ${fmtBytes(st.min_free)}` : "";
  switch (st.state) {
    case "unavailable":
      return { state: "unavailable", text: "storage failing",
        title: `${st.errors} write${st.errors === 1 ? "" : "s"} failed in the last minute (clients keep their records and retry)` +
          (st.last_error ? `; last at ${fmtTime(st.last_error_time)}: ${st.last_error}` : "") };
    case "low":
      return { state: "low", text: `disk low: ${free}`, title: `free space is below the watermark: new runs and uploads are refused (clients keep their records and retry)${min}` };
    case "ok":
      return { state: "ok", text: "", title: free ? `storage ok: ${free}${min}` : "storage ok" };
  }
  return { state: String(st.state || ""), text: String(st.state || ""), title: "" };
}

// ---- papercuts: run not found, jobs disabled, system tags, metadata rows

/** runNotFound: the error says the run does not exist (unknown or deleted). */
export function runNotFound(e) {
  return /unknown run|deleted run|run .*(not found|was deleted)/i.test(String(e && e.message ? e.message : e));
}

/**
 * jobsDisabledText: for an error of a "jobs" call on a trackd without
 * jobs, how to enable them; "" for any other error.
 */
export function jobsDisabledText(e) {
  const msg = String(e && e.message ? e.message : e);
  if (!(e && e.status === 503) && !/no target "jobs"|incompatible server/.test(msg)) return "";
  return "Jobs are not enabled on this trackd: start it with --solvers FILE (a solvers file, docs/jobs.md), or with --demo for the demo solvers.";
}

/** isSystemTag: a tag the server keeps for a job's run (job, state=…, solver=…); it cannot be removed by hand. */
export function isSystemTag(tag) {
  return tag === "job" || (typeof tag === "string" && (tag.startsWith("state=") || tag.startsWith("solver=")));
}

const TIME_KEYS = new Set(["created", "started", "stopped", "start", "end", "time", "updated", "queued_at", "submitted"]);

/**
 * metaRows: the rows [key, text] of a metadata table, sorted: a map value
 * (a job's record) is spread one level into key.sub rows, and Unix times
 * under time-like keys (created, started, stopped, …) are shown as dates
 * (0: not yet, left empty).
 */
export function metaRows(obj, max = 400) {
  const rows = [];
  const text = (k, v) => (TIME_KEYS.has(k) && typeof v === "number" && v > 1e8 ? fmtTime(v) : TIME_KEYS.has(k) && v === 0 ? "" : fmtValue(v, max));
  for (const k of Object.keys(obj && typeof obj === "object" ? obj : {}).sort()) {
    const v = obj[k];
    if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length) {
      for (const s of Object.keys(v).sort()) rows.push([`${k}.${s}`, text(s, v[s])]);
    } else rows.push([k, text(k, v)]);
  }
  return rows;
}
