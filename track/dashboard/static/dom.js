// dom.js — a tiny element builder.

/** h("td", {class: "x", onclick: f}, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** badge: a status badge. */
export function badge(status) { return h("span", { class: `badge st-${status || "unknown"}` }, status || "?"); }

/** progressBar: a bar with its percentage. */
export function progressBar(p) {
  const v = typeof p === "number" && Number.isFinite(p) ? Math.max(0, Math.min(100, p)) : 0;
  const bar = h("span", { class: "progress", dataset: { value: v.toFixed(1) }, title: `${v.toFixed(1)}%` }, h("span", { class: "fill" }));
  bar.firstChild.style.width = `${v}%`;
  return h("span", { class: "progress-wrap" }, bar, h("span", { class: "pct" }, `${v.toFixed(0)}%`));
}

/** replaceChildren of el with the given nodes. */
export function fill(el, ...nodes) { el.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined)); return el; }
