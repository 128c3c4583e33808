// api.js — calls of the rpc targets "tracker" and "jobs" through POST
// /api/call (docs/dashboard.md), file uploads into the artifact store, and
// the live replicas over /sync.
import { decode, Replica } from "./replica.js";

/** CallError: a call that failed; remote tells whether the tracker (or a run) raised it. */
export class CallError extends Error {
  constructor(e, status) {
    super(`${e.type}: ${e.message}`);
    this.name = "CallError";
    this.type = e.type;
    this.remote = !!e.remote;
    this.traceback = e.traceback || "";
    this.status = status;
  }
}

/**
 * callRaw calls method with arguments already written as JSON text (so a
 * float keeps its fraction: "100.0").
 */
export async function callRaw(method, argsJSON = [], kwargsJSON = null, target = "") {
  let body = `{${target ? `"target":${JSON.stringify(target)},` : ""}"method":${JSON.stringify(method)},"args":[${argsJSON.join(",")}]`;
  if (kwargsJSON) body += `,"kwargs":${kwargsJSON}`;
  body += "}";
  let resp;
  try {
    resp = await fetch("/api/call", { method: "POST", headers: { "Content-Type": "application/json" }, body, credentials: "same-origin" });
  } catch (e) {
    throw new CallError({ type: "dashboard.Unavailable", message: String(e.message || e) }, 0);
  }
  let msg;
  try { msg = await resp.json(); } catch (e) {
    throw new CallError({ type: "dashboard.BadAnswer", message: `HTTP ${resp.status}` }, resp.status);
  }
  if (msg.error) throw new CallError(msg.error, resp.status);
  return decode(msg.result);
}

/** call calls method with JSON-able arguments. */
export function call(method, ...args) {
  return callRaw(method, args.map((a) => JSON.stringify(a)));
}

/** jobsCall calls a method of the target "jobs" with arguments already written as JSON text. */
export function jobsCall(method, ...argsJSON) { return callRaw(method, argsJSON, null, "jobs"); }

const CHUNK = 256 * 1024; // base64 of it stays well under the endpoint's 1 MiB

function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * uploadFile stores a File in the artifact store (tracker.blob_state,
 * write_blob from what the server already holds, commit_blob, which
 * checks the sha256) and returns {sha256, filename, size}. The sha256
 * needs crypto.subtle: a secure context (https, or localhost).
 */
export async function uploadFile(file, onProgress) {
  if (!globalThis.crypto || !crypto.subtle) throw new Error("file upload needs a secure context (https or localhost) to compute the sha256");
  const data = new Uint8Array(await file.arrayBuffer());
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const st = await call("blob_state", sha);
  if (!st.present) {
    let off = st.received > 0 && st.received <= data.length ? st.received : 0;
    do {
      const chunk = data.subarray(off, Math.min(data.length, off + CHUNK));
      off = await callRaw("write_blob", [JSON.stringify(sha), String(off), `{"__jsonclass__":["bytes",[${JSON.stringify(b64(chunk))}]]}`]);
      if (onProgress) onProgress(off, data.length);
    } while (off < data.length);
    await call("commit_blob", sha);
  }
  return { sha256: sha, filename: file.name, size: data.length };
}

export function syncURL() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sync`;
}

// ---- the connection indicator: the worst state of the open replicas

const open = new Set();
let listeners = [];

/** onConnection registers fn(state), called whenever the combined state changes. */
export function onConnection(fn) { listeners.push(fn); fn(connectionState()); }

/** connectionState: "live" when every open replica is live, else the worst of them. */
export function connectionState() {
  const order = ["offline", "reconnecting", "connecting", "live"];
  let worst = "live";
  for (const r of open) if (order.indexOf(r.state) < order.indexOf(worst)) worst = r.state;
  return open.size === 0 ? "idle" : worst;
}

function changed() { const s = connectionState(); for (const fn of listeners) fn(s); }

/**
 * replica opens a live replica of notifier; onChange(tree) runs (at most
 * once a frame) after mods; onState(state, err), if given, on every
 * state change. Close it with .close().
 */
export function replica(notifier, onChange, onState) {
  let pending = false;
  const r = new Replica(syncURL(), notifier, {
    onChange: () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; if (r.tree !== undefined) onChange(r.tree); });
    },
    onState: (st, err) => { changed(); if (onState) onState(st, err); },
  });
  open.add(r);
  const close = r.close.bind(r);
  r.close = () => { open.delete(r); close(); changed(); };
  changed();
  return r;
}
