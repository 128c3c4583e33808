// compare.js — the Compare view: several runs' params side by side with
// the differences highlighted, and one series of each overlaid.
import { call, replica } from "./api.js";
import { h, badge, fill } from "./dom.js";
import { Chart } from "./chart.js";
import { paramDiff, fmtValue, buildHash, runsList, sortRuns } from "./format.js";

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
    this.error = h("div", { class: "error-box" });
    fill(root, h("h1", {}, "Compare runs"), this.error, this.picker, h("section", { class: "panel" }, h("h2", {}, "Params"), this.table),
      h("section", { class: "panel" }, h("h2", {}, "Series"), this.chartBar, this.plot));
    this.updated = {};
    // The runs list, live: for the picker, and to reload a series when a compared run logged.
    this.r = replica("runs", (tree) => { this.runsTree = tree; this._picker(); this._maybeReload(tree); });
    this._load();
  }

  ids() { return (this.params.runs || "").split(",").filter(Boolean); }

  update(params) {
    const before = this.params.runs, key = this.params.key;
    this.params = params;
    if (params.runs !== before) this._load();
    else if (params.key !== key) this._series();
  }

  _set(changes) {
    this.params = { ...this.params, ...changes };
    location.hash = buildHash("compare", "", this.params);
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
    this._series();
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
    fill(this.chartBar, h("label", {}, "series ", h("select", { name: "key", onchange: (e) => this._set({ key: e.target.value }) },
      keys.map((k) => h("option", { value: k, selected: k === key }, k)))));
    if (!key) { if (this.chart) { this.chart.destroy(); this.chart = null; } fill(this.plot, h("p", { class: "muted" }, "no series")); return; }
    const lines = this.infos.map((r) => r.id);
    const labels = Object.fromEntries(this.infos.map((r) => [r.id, this._label(r.id)]));
    if (!this.chart || this.chartKey !== key || this.chart.keys.join() !== lines.join()) {
      if (this.chart) this.chart.destroy();
      fill(this.plot);
      this.chart = new Chart(this.plot, lines, { labels });
      this.chartKey = key;
    }
    const all = await Promise.all(this.infos.map((r) => call("series", r.id, key, { max_points: 1000 }).catch(() => null)));
    if (this.closed) return;
    all.forEach((s, i) => { if (s) this.chart.setSeries(lines[i], s.step || [], (s.value || []).map((v) => (typeof v === "number" ? v : null))); });
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
