// replica.js — a browser replica of a syncstruct notifier, over the
// publisher's WebSocket JSON messages (docs/protocol-sync.md). A plain ES
// module, no build step; served by Go programs from syncstruct.WebReplicaJS.
//
//   import { Replica } from "/static/replica.js";
//   const r = new Replica("ws://lab-pc:3253/sync", "runs", {
//     onChange: (tree, mod) => render(tree),   // after every applied mod / snapshot
//     onState: (state, err) => badge(state),   // "connecting" "live" "reconnecting" "offline" "closed"
//   });
//   r.close();
//
// apply(tree, mod) applies one mod exactly as Go's syncstruct.Apply does
// (SiPyCo's process_mod): Python list semantics (negative indices, insert
// clamps, slices), dict.pop, setitem into numpy arrays, and Python's key
// equality (True == 1 == 1.0). The shared cases in
// syncstruct/testdata/replica/cases.json are applied by both (Go's
// TestReplicaCases and replica.test.js).
//
// Values: null, booleans, numbers, strings, arrays (lists), plain objects
// (dicts with string keys), and for the PYON types JSON lacks the classes
// below (decoded from {"__jsonclass__": [name, args]}). JSON carries no
// NaN or infinity (the publisher sends null) and JavaScript numbers hold
// integers exactly only below 2^53.

export class Tuple { constructor(items) { this.items = items; } }
/** A dict with a key that is not a string: items is [[key, value], ...]. */
export class PyDict { constructor(items, ordered = false) { this.items = items; this.ordered = ordered; } }
export class PySet { constructor(items, frozen) { this.items = items; this.frozen = frozen; } }
export class Bytes { constructor(data) { this.data = data; } }
export class Complex { constructor(re, im) { this.re = re; this.im = im; } }
export class Fraction { constructor(num, den) { this.num = BigInt(num); this.den = BigInt(den); } }
export class Slice { constructor(start, stop, step) { this.start = start; this.stop = stop; this.step = step; } }
export class NDArray { constructor(shape, dtype, data) { this.shape = shape; this.dtype = dtype; this.data = data; } }
export class NPScalar { constructor(dtype, data) { this.dtype = dtype; this.data = data; } }

/** ModError: a mod that cannot be applied; the tree is unchanged. */
export class ModError extends Error {
  constructor(msg, mod) { super(`syncstruct: ${msg}`); this.name = "ModError"; this.mod = mod; }
}

function b64(s) {
  const bin = atob(s), out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** decode turns parsed PYON-v2 JSON into replica values. */
export function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== "object") return v;
  const jc = v.__jsonclass__;
  if (jc !== undefined && Array.isArray(jc) && Object.keys(v).length === 1) {
    const [name, args = []] = jc;
    switch (name) {
      case "tuple": return new Tuple((args[0] || []).map(decode));
      case "set": return new PySet((args[0] || []).map(decode), false);
      case "frozenset": return new PySet((args[0] || []).map(decode), true);
      case "dict": case "OrderedDict": {
        const items = (args[0] || []).map(([k, e]) => [decode(k), decode(e)]);
        return name === "OrderedDict" ? new PyDict(items, true) : dictOf(items);
      }
      case "bytes": return new Bytes(b64(args[0]));
      case "complex": return new Complex(args[0], args[1]);
      case "Fraction": return new Fraction(args[0], args[1]);
      case "slice": return new Slice(decode(args[0]), decode(args[1]), decode(args[2]));
      case "nparray": return new NDArray(args[0], args[1], b64(args[2]));
      case "npscalar": return new NPScalar(args[0], b64(args[1]));
    }
    throw new ModError(`unknown __jsonclass__ ${name}`);
  }
  const out = {};
  for (const k of Object.keys(v)) setOwn(out, k, decode(v[k]));
  return out;
}

function setOwn(o, k, v) { Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true }); }
const isPlain = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// dictOf: a dict's normal form (a plain object when every key is a string).
function dictOf(items) {
  if (!items.every(([k]) => typeof k === "string")) {
    // A repeated key: the last value wins, at the first place (Python).
    const out = [];
    for (const [k, e] of items) {
      const i = dictIndex(out, k);
      if (i >= 0) out[i][1] = e; else out.push([k, e]);
    }
    return new PyDict(out);
  }
  const o = {};
  for (const [k, e] of items) setOwn(o, k, e);
  return o;
}

// ---- numbers and Python's key equality

function npDType(s) {
  if (typeof s !== "string" || s.length < 3 || !"<>|=".includes(s[0])) return null;
  const kind = s[1], size = Number(s.slice(2));
  const ok = { b: [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [4, 8], c: [8, 16] }[kind];
  if (!ok || !ok.includes(size)) return null;
  return { little: s[0] !== ">", kind, size };
}

function npRead(t, bytes, off) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, t.size), le = t.little;
  switch (t.kind) {
    case "b": return dv.getUint8(0) !== 0;
    case "i": return t.size === 1 ? dv.getInt8(0) : t.size === 2 ? dv.getInt16(0, le) : t.size === 4 ? dv.getInt32(0, le) : Number(dv.getBigInt64(0, le));
    case "u": return t.size === 1 ? dv.getUint8(0) : t.size === 2 ? dv.getUint16(0, le) : t.size === 4 ? dv.getUint32(0, le) : Number(dv.getBigUint64(0, le));
    case "f": return t.size === 4 ? dv.getFloat32(0, le) : dv.getFloat64(0, le);
    case "c": {
      const h = t.size / 2, f = (o) => (h === 4 ? dv.getFloat32(o, le) : dv.getFloat64(o, le));
      return new Complex(f(0), f(h));
    }
  }
}

/** scalarValue: a numpy scalar's value (bool, number or Complex), or undefined. */
export function scalarValue(s) {
  const t = npDType(s.dtype);
  return t && s.data.length === t.size ? npRead(t, s.data, 0) : undefined;
}

// num: [re, im] of a Python number, or null.
function num(v) {
  if (typeof v === "boolean") return [v ? 1 : 0, 0];
  if (typeof v === "number") return [v, 0];
  if (v instanceof Complex) return [v.re, v.im];
  if (v instanceof Fraction) return [Number(v.num) / Number(v.den), 0];
  if (v instanceof NPScalar) { const e = scalarValue(v); return e === undefined ? null : num(e); }
  return null;
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const feq = (x, y) => x === y || (Number.isNaN(x) && Number.isNaN(y));

/** keyEqual: whether a and b are the same dict key in Python. */
export function keyEqual(a, b) {
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a instanceof Tuple || b instanceof Tuple) {
    return a instanceof Tuple && b instanceof Tuple && a.items.length === b.items.length && a.items.every((e, i) => keyEqual(e, b.items[i]));
  }
  const x = num(a), y = num(b);
  if (x && y) return feq(x[0], y[0]) && feq(x[1], y[1]);
  return equal(a, b);
}

function dictIndex(items, k) {
  for (let i = 0; i < items.length; i++) if (keyEqual(items[i][0], k)) return i;
  return -1;
}

/** equal: deep equality as Go's syncstruct.Equal (NaN equal to NaN; dicts and sets unordered). */
export function equal(a, b) {
  if (a === b) return true;
  if (typeof a === "number" && typeof b === "number") return feq(a, b);
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((e, i) => equal(e, b[i]));
  if (isPlain(a)) {
    if (!isPlain(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => has(b, k) && equal(a[k], b[k]));
  }
  if (a.constructor !== b.constructor) return false;
  if (a instanceof Tuple) return equal(a.items, b.items);
  if (a instanceof PyDict) {
    if (a.ordered !== b.ordered || a.items.length !== b.items.length) return false;
    if (a.ordered) return a.items.every(([k, e], i) => equal(k, b.items[i][0]) && equal(e, b.items[i][1]));
    return a.items.every(([k, e]) => { const i = dictIndex(b.items, k); return i >= 0 && equal(e, b.items[i][1]); });
  }
  if (a instanceof PySet) return a.frozen === b.frozen && a.items.length === b.items.length && a.items.every((e) => b.items.some((f) => equal(e, f)));
  if (a instanceof Bytes) return bytesEqual(a.data, b.data);
  if (a instanceof Complex) return feq(a.re, b.re) && feq(a.im, b.im);
  if (a instanceof Fraction) return a.num * b.den === b.num * a.den;
  if (a instanceof Slice) return equal(a.start, b.start) && equal(a.stop, b.stop) && equal(a.step, b.step);
  if (a instanceof NDArray) return a.dtype === b.dtype && equal(a.shape, b.shape) && bytesEqual(a.data, b.data);
  if (a instanceof NPScalar) return a.dtype === b.dtype && bytesEqual(a.data, b.data);
  return false;
}

// ---- apply

function toIndex(v) {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (v instanceof NPScalar && (v.dtype[1] === "i" || v.dtype[1] === "u")) { const e = scalarValue(v); return typeof e === "number" ? e : null; }
  return null;
}

function listIndex(n, k) {
  let i = toIndex(k);
  if (i === null) throw new ModError(`list index must be an integer, not ${typeName(k)}`);
  if (i < 0) i += n;
  if (i < 0 || i >= n) throw new ModError(`index ${i} out of range, length ${n}`);
  return i;
}

function typeName(v) {
  if (v === null || v === undefined) return "None";
  if (Array.isArray(v)) return "list";
  if (isPlain(v) || v instanceof PyDict) return "dict";
  if (typeof v === "object") return v.constructor.name;
  return typeof v;
}

const isDict = (v) => isPlain(v) || v instanceof PyDict;

function getChild(node, k) {
  if (isPlain(node)) {
    if (typeof k !== "string" || !has(node, k)) throw new ModError(`no such key ${String(k)}`);
    return node[k];
  }
  if (node instanceof PyDict) {
    const i = dictIndex(node.items, k);
    if (i < 0) throw new ModError(`no such key ${String(k)}`);
    return node.items[i][1];
  }
  if (Array.isArray(node)) return node[listIndex(node.length, k)];
  if (node instanceof Tuple) return node.items[listIndex(node.items.length, k)];
  throw new ModError(`cannot index a ${typeName(node)}`);
}

function setChild(node, k, v) {
  if (isPlain(node)) setOwn(node, k, v);
  else if (node instanceof PyDict) node.items[dictIndex(node.items, k)][1] = v;
  else if (Array.isArray(node)) node[listIndex(node.length, k)] = v;
  else if (node instanceof Tuple) node.items[listIndex(node.items.length, k)] = v;
}

/** sliceIndices is Python's slice.indices(n). */
function sliceIndices(s, n) {
  let step = 1;
  if (s.step !== null && s.step !== undefined) {
    step = toIndex(s.step);
    if (step === null) throw new ModError("slice step must be an integer or None");
    if (step === 0) throw new ModError("slice step cannot be zero");
  }
  const [lower, upper] = step < 0 ? [-1, n - 1] : [0, n];
  const bound = (v, def) => {
    if (v === null || v === undefined) return def;
    const i = toIndex(v);
    if (i === null) throw new ModError("slice indices must be integers or None");
    return i < 0 ? Math.max(i + n, lower) : Math.min(i, upper);
  };
  return [bound(s.start, step < 0 ? upper : lower), bound(s.stop, step < 0 ? lower : upper), step];
}

function sliceLen(start, stop, step) {
  if (step > 0 && start < stop) return Math.floor((stop - start - 1) / step) + 1;
  if (step < 0 && stop < start) return Math.floor((start - stop - 1) / -step) + 1;
  return 0;
}

function isKey(k) {
  if (k === null || ["boolean", "number", "string"].includes(typeof k)) return true;
  if (k instanceof Tuple) return k.items.every(isKey);
  if (k instanceof PySet) return k.frozen;
  return k instanceof Bytes || k instanceof Complex || k instanceof Fraction || k instanceof NPScalar;
}

function setItem(node, k, v) {
  if (isPlain(node)) {
    if (typeof k === "string") { setOwn(node, k, v); return node; }
    if (!isKey(k)) throw new ModError(`unusable dict key ${typeName(k)}`);
    const items = Object.keys(node).sort().map((s) => [s, node[s]]);
    items.push([k, v]);
    return new PyDict(items);
  }
  if (node instanceof PyDict) {
    const i = dictIndex(node.items, k);
    if (i >= 0) { node.items[i][1] = v; return node; }
    if (!isKey(k)) throw new ModError(`unusable dict key ${typeName(k)}`);
    node.items.push([k, v]);
    return node;
  }
  if (Array.isArray(node)) {
    if (k instanceof Slice) return listSetSlice(node, k, v);
    node[listIndex(node.length, k)] = v;
    return node;
  }
  if (node instanceof NDArray) return ndSetItem(node, k, v);
  throw new ModError(`setitem on a ${typeName(node)}`);
}

function listSetSlice(l, s, v) {
  const vals = Array.isArray(v) ? v : v instanceof Tuple ? v.items : null;
  if (!vals) throw new ModError(`can only assign a list or tuple to a list slice, not a ${typeName(v)}`);
  let [start, stop, step] = sliceIndices(s, l.length);
  if (step === 1) {
    stop = Math.max(stop, start);
    l.splice(start, stop - start, ...vals);
    return l;
  }
  const n = sliceLen(start, stop, step);
  if (vals.length !== n) throw new ModError(`attempt to assign a sequence of size ${vals.length} to an extended slice of size ${n}`);
  for (let k = 0, i = start; k < n; k++, i += step) l[i] = vals[k];
  return l;
}

// delItem returns [node, removed value].
function delItem(node, k) {
  if (isPlain(node)) {
    if (typeof k !== "string" || !has(node, k)) throw new ModError(`no such key ${String(k)}`);
    const v = node[k];
    delete node[k];
    return [node, v];
  }
  if (node instanceof PyDict) {
    const i = dictIndex(node.items, k);
    if (i < 0) throw new ModError(`no such key ${String(k)}`);
    const v = node.items[i][1];
    node.items.splice(i, 1);
    return [node.ordered ? node : dictOf(node.items), v];
  }
  if (Array.isArray(node)) {
    if (k instanceof Slice) {
      let [start, stop, step] = sliceIndices(k, node.length);
      const n = sliceLen(start, stop, step);
      if (step < 0) { start += (n - 1) * step; step = -step; }
      const drop = new Set();
      for (let j = 0, i = start; j < n; j++, i += step) drop.add(i);
      const out = node.filter((_, i) => !drop.has(i));
      node.length = 0;
      node.push(...out);
      return [node, undefined];
    }
    const i = listIndex(node.length, k);
    return [node, node.splice(i, 1)[0]];
  }
  throw new ModError(`delitem on a ${typeName(node)}`);
}

// ndWrite stores a number in a numpy element as Go's syncstruct does
// (floats truncate into integer arrays; out-of-range integers refused).
function ndWrite(t, bytes, off, v) {
  if (v instanceof NPScalar) { const e = scalarValue(v); if (e === undefined) throw new ModError(`numpy scalar of dtype ${v.dtype}`); v = e; }
  let re, im = 0;
  if (typeof v === "boolean") re = v ? 1 : 0;
  else if (typeof v === "number") re = v;
  else if (v instanceof Complex) { re = v.re; im = v.im; }
  else if (v instanceof Fraction) re = Number(v.num) / Number(v.den);
  else throw new ModError(`cannot store a ${typeName(v)} in a numpy array`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, t.size), le = t.little;
  switch (t.kind) {
    case "b": dv.setUint8(0, re !== 0 || im !== 0 ? 1 : 0); return;
    case "i": case "u": {
      if (!Number.isFinite(re)) throw new ModError(`cannot convert ${re} to an integer`);
      const i = BigInt(Math.trunc(re)), bits = BigInt(8 * t.size);
      const [lo, hi] = t.kind === "i" ? [-(1n << (bits - 1n)), 1n << (bits - 1n)] : [0n, 1n << bits];
      if (i < lo || i >= hi) throw new ModError(`${i} out of bounds for a ${t.kind}${t.size} array`);
      if (t.size === 8) { if (t.kind === "i") dv.setBigInt64(0, i, le); else dv.setBigUint64(0, i, le); return; }
      const n = Number(i);
      if (t.size === 1) dv.setUint8(0, n & 0xff);
      else if (t.size === 2) dv.setUint16(0, n & 0xffff, le);
      else dv.setUint32(0, n >>> 0, le);
      return;
    }
    case "f": if (t.size === 4) dv.setFloat32(0, re, le); else dv.setFloat64(0, re, le); return;
    case "c": {
      const h = t.size / 2;
      if (h === 4) { dv.setFloat32(0, re, le); dv.setFloat32(4, im, le); } else { dv.setFloat64(0, re, le); dv.setFloat64(8, im, le); }
    }
  }
}

function ndSetItem(a, key, v) {
  const t = npDType(a.dtype);
  if (!t) throw new ModError(`setitem into a numpy array of dtype ${a.dtype} is not supported`);
  let count = 1;
  for (const n of a.shape) count *= n;
  if (a.data.length !== count * t.size) throw new ModError("numpy array data does not match its shape");
  const keys = key instanceof Tuple ? key.items : [key];
  if (keys.length > a.shape.length) throw new ModError(`too many indices for an array of ${a.shape.length} dimensions`);
  count = 1;
  const axes = a.shape.map((n, ax) => {
    let sel = [0, 1, n];
    if (ax < keys.length) {
      const k = keys[ax];
      if (k instanceof Slice) { const [s, e, st] = sliceIndices(k, n); sel = [s, st, sliceLen(s, e, st)]; }
      else sel = [listIndex(n, k), 1, 1];
    }
    count *= sel[2];
    return sel;
  });
  const vals = [];
  const flat = (x, depth) => {
    if (depth > 64 || vals.length > count) throw new ModError(`value does not fit the ${count} selected elements`);
    if (Array.isArray(x)) x.forEach((e) => flat(e, depth + 1));
    else if (x instanceof Tuple) flat(x.items, depth);
    else if (x instanceof NDArray) {
      const u = npDType(x.dtype);
      if (!u) throw new ModError(`numpy array of dtype ${x.dtype}`);
      if (x.data.length / u.size > count - vals.length) throw new ModError(`value does not fit the ${count} selected elements`);
      for (let o = 0; o + u.size <= x.data.length; o += u.size) vals.push(npRead(u, x.data, o));
    } else vals.push(x);
  };
  flat(v, 0);
  if (vals.length !== 1 && vals.length !== count) throw new ModError(`${vals.length} values for ${count} selected elements`);
  if (count === 0) return a;
  const tmp = new Uint8Array(t.size);
  for (const e of vals) ndWrite(t, tmp, 0, e); // all convert, or nothing changes
  const strides = new Array(a.shape.length);
  for (let ax = a.shape.length - 1, s = t.size; ax >= 0; ax--) { strides[ax] = s; s *= a.shape[ax]; }
  const idx = new Array(axes.length).fill(0);
  for (let k = 0; k < count; k++) {
    let off = 0;
    axes.forEach(([start, step], ax) => { off += (start + idx[ax] * step) * strides[ax]; });
    ndWrite(t, a.data, off, vals.length > 1 ? vals[k] : vals[0]);
    for (let ax = idx.length - 1; ax >= 0; ax--) { if (++idx[ax] < axes[ax][2]) break; idx[ax] = 0; }
  }
  return a;
}

function mutate(node, m) {
  switch (m.action) {
    case "append":
      if (!Array.isArray(node)) throw new ModError(`append to a ${typeName(node)}`);
      node.push(m.x);
      return node;
    case "insert": {
      if (!Array.isArray(node)) throw new ModError(`insert into a ${typeName(node)}`);
      let i = toIndex(m.i);
      if (i === null) throw new ModError("insert index must be an integer");
      if (i < 0) i = Math.max(i + node.length, 0);
      node.splice(Math.min(i, node.length), 0, m.x);
      return node;
    }
    case "pop": {
      const i = m.i === undefined ? -1 : m.i;
      if (isDict(node)) return delItem(node, i)[0]; // dict.pop(key)
      if (!Array.isArray(node)) throw new ModError(`pop from a ${typeName(node)}`);
      node.splice(listIndex(node.length, i), 1);
      return node;
    }
    case "setitem": return setItem(node, m.key, m.value);
    case "delitem": return delItem(node, m.key)[0];
  }
  throw new ModError(`unknown action ${m.action}`);
}

// Containers are changed in place, so a failing mod is tried on a copy of
// what it touches first only when it could fail half-way: slices and
// numpy setitems check everything before changing anything, as the other
// actions do; so the tree is unchanged after a ModError.
function applyAt(node, path, m, depth) {
  if (depth === path.length) return mutate(node, m);
  const child = getChild(node, path[depth]);
  const out = applyAt(child, path, m, depth + 1);
  if (out !== child) setChild(node, path[depth], out);
  return node;
}

/**
 * apply applies one decoded mod to tree and returns the tree (a new value
 * when the root itself was replaced: always keep the result). A mod that
 * cannot be applied throws a ModError and leaves the tree unchanged.
 */
export function apply(tree, m) {
  if (m.action === "init") return m.struct;
  if (!Array.isArray(m.path)) throw new ModError("mod without a path", m);
  try {
    return applyAt(tree, m.path, m, 0);
  } catch (e) {
    if (e instanceof ModError) { e.mod = m; throw e; }
    throw new ModError(String(e), m);
  }
}

// ---- the connection

/** backoff: the wait before attempt n+1, as Go's internal/backoff.Wait. */
export function backoff(n, lo, hi) {
  const d = n < 30 ? Math.min(lo * 2 ** n, hi) : hi;
  return d / 2 + Math.random() * (d / 2);
}

/**
 * Replica keeps a live replica of one notifier. States: "connecting" (no
 * replica yet), "live" (synced; heartbeats flowing), "reconnecting" (the
 * connection was lost; the replica is stale and must not be shown as
 * live), "offline" (reconnecting for longer than offlineAfterMs), "closed".
 * It resumes with (epoch, seq) after a reconnection, getting exactly the
 * missed mods or a fresh snapshot, and reconnects with jittered backoff.
 */
export class Replica {
  constructor(url, notifier, opts = {}) {
    this.url = url;
    this.notifier = notifier;
    this.opts = { minBackoffMs: 100, maxBackoffMs: 5000, handshakeTimeoutMs: 10000, offlineAfterMs: 10000, WebSocket: globalThis.WebSocket, ...opts };
    this.tree = undefined;
    this.epoch = 0;
    this.seq = 0;
    this.state = "connecting";
    this.lastError = null;
    this._failures = 0;
    this._down = null; // when the replica stopped being live
    this._closed = false;
    this._connect();
  }

  _setState(s, err) {
    if (err) this.lastError = err;
    if (s === this.state) return;
    this.state = s;
    if (this.opts.onState) this.opts.onState(s, this.lastError);
  }

  _connect() {
    const ws = new this.opts.WebSocket(this.url);
    this._ws = ws;
    this._synced = false;
    this._inSync = false;
    this._silence = this.opts.handshakeTimeoutMs;
    this._touch();
    ws.onopen = () => {
      if (this._ws !== ws) return;
      try { ws.send(JSON.stringify({ t: "subscribe", notifier: this.notifier, epoch: this.epoch, seq: this.seq })); } catch (e) { this._drop(e); }
    };
    ws.onmessage = (ev) => {
      this._touch();
      try {
        const v = JSON.parse(ev.data);
        // A batch: several messages in one WebSocket message, in order.
        if (Array.isArray(v)) for (const m of v) this._batched(m);
        else this._message(v);
      } catch (e) { this._drop(e); }
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => { if (this._ws === ws) this._lost(new Error(`connection closed (${ev && ev.code})`)); };
  }

  // _touch pushes back the silence deadline.
  _touch() {
    clearTimeout(this._readTimer);
    this._readTimer = setTimeout(() => this._drop(new Error(`publisher silent for ${this._silence} ms`)), this._silence);
  }

  _batched(m) {
    if (this._ws === null || this._closed) return; // dropped by an earlier message of the batch
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw new Error("a batch holds a message that is not an object");
    this._message(m);
  }

  _message(m) {
    if (m.t === "sync") {
      if (m.heartbeat_ms > 0) {
        this._silence = 3 * m.heartbeat_ms;
        clearInterval(this._pinger);
        this._pinger = setInterval(() => { try { this._ws.send('{"t":"ping"}'); } catch (e) { this._drop(e); } }, m.heartbeat_ms);
      }
      this._inSync = true;
      this._info = { epoch: m.epoch, seq: m.seq, resumed: m.mode === "resume", reason: m.reason };
      if (m.mode === "resume") {
        if (m.epoch !== this.epoch || m.seq !== this.seq) { this.epoch = 0; throw new Error("resume does not match the replica"); }
      } else if (m.mode === "snapshot") {
        this._pendingEpoch = m.epoch;
      } else throw new Error(`sync mode ${m.mode}`);
      return;
    }
    if (m.t === "synced") {
      if (!this._inSync || m.seq !== this.seq) { this.epoch = 0; throw new Error(`synced at ${m.seq}, replica at ${this.seq}`); }
      this._inSync = false;
      this._synced = true;
      this._failures = 0;
      this._down = null;
      this._setState("live");
      if (this.opts.onSynced) this.opts.onSynced(this._info);
      return;
    }
    if (m.t === "ping") return;
    if (m.t === "error") throw new Error(`publisher says ${m.code}: ${m.message}`);
    if (m.t !== undefined) throw new Error(`unexpected ${m.t} message`);
    if (m.action === "init") {
      if (!this._inSync || this._pendingEpoch === undefined) throw new Error("init outside a snapshot");
      this.tree = decode(m.struct);
      this.epoch = this._pendingEpoch;
      this.seq = m.seq;
      this._pendingEpoch = undefined;
      if (this.opts.onChange) this.opts.onChange(this.tree, m);
      return;
    }
    if (!this._synced && !this._inSync) throw new Error("mod before sync");
    if (m.seq !== this.seq + 1 || this.epoch === 0) { this.epoch = 0; throw new Error(`gap: mod ${m.seq} after ${this.seq}`); }
    const mod = { action: m.action, path: decode(m.path || []), seq: m.seq };
    for (const f of ["key", "value", "x", "i"]) if (m[f] !== undefined) mod[f] = decode(m[f]);
    try {
      this.tree = apply(this.tree, mod);
    } catch (e) {
      this.epoch = 0; // out of step: ask for a snapshot
      throw e;
    }
    this.seq = m.seq;
    if (this.opts.onChange) this.opts.onChange(this.tree, mod);
  }

  _drop(err) {
    const ws = this._ws;
    if (!ws) return;
    try { ws.close(); } catch (_) { /* closed already */ }
    this._lost(err);
  }

  _lost(err) {
    if (this._closed || !this._ws) return;
    this._ws.onopen = this._ws.onclose = this._ws.onmessage = null;
    this._ws = null;
    clearTimeout(this._readTimer);
    clearInterval(this._pinger);
    if (this._down === null) this._down = Date.now();
    const offline = this.tree === undefined || Date.now() - this._down > this.opts.offlineAfterMs;
    this._setState(this.tree === undefined && this._failures < 3 ? "connecting" : offline && this._failures >= 3 ? "offline" : "reconnecting", err);
    const d = backoff(this._failures++, this.opts.minBackoffMs, this.opts.maxBackoffMs);
    this._retry = setTimeout(() => { if (!this._closed) this._connect(); }, d);
  }

  /** close stops the replica for good. */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._retry);
    clearTimeout(this._readTimer);
    clearInterval(this._pinger);
    const ws = this._ws;
    this._ws = null;
    if (ws) { ws.onopen = ws.onclose = ws.onmessage = null; try { ws.close(); } catch (_) { /* ignore */ } }
    this._setState("closed");
  }
}
