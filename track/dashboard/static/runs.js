// runs.js — the Runs view: every run of the "runs" notifier, live;
// sortable, filtered by project, status and tag, searched by name.
import { replica } from "./api.js";
import { h, badge, progressBar, fill } from "./dom.js";
import { runsList, filterRuns, sortRuns, facets, fmtTime, fmtDuration, runDuration, fmtValue, latestKeys, buildHash } from "./format.js";

const COLUMNS = [["", null], ["project", "project"], ["name", "name"], ["status", "status"], ["progress", "progress"],
  ["step", "step"], ["started", "start"], ["duration", "duration"], ["tags", null], ["latest", null]];

export class RunsView {
  constructor(root, params) {
    this.root = root;
    this.params = params;
    this.selected = new Set((params.sel || "").split(",").filter(Boolean));
    this.tree = undefined;
    this.filters = h("div", { class: "filters" });
    this.table = h("table", { class: "runs" });
    this.count = h("span", { class: "muted" });
    this.compareBtn = h("button", { onclick: () => this._compare(), disabled: true, id: "compare-btn" }, "Compare selected");
    fill(root, h("div", { class: "toolbar" }, this.filters, this.compareBtn, this.count), h("div", { class: "scroll" }, this.table));
    this.r = replica("runs", (tree) => { this.tree = tree; this.render(); });
    this._tick = setInterval(() => this._durations(), 1000); // local clock only: durations of open runs
    this.render();
  }

  update(params) { this.params = params; this.render(); }

  _set(changes) {
    const p = { ...this.params, ...changes };
    history.replaceState(null, "", buildHash("runs", "", p));
    this.update(p);
  }

  _compare() { location.hash = buildHash("compare", "", { runs: [...this.selected].join(",") }); }

  _filters(all) {
    const p = this.params, f = facets(all);
    const sel = (name, label, options) => h("label", {}, label, " ",
      h("select", { name, onchange: (e) => this._set({ [name]: e.target.value }) },
        h("option", { value: "" }, "all"), options.map((o) => h("option", { value: o, selected: p[name] === o }, o))));
    const search = h("input", { type: "search", name: "q", placeholder: "search name", value: p.q || "" });
    search.addEventListener("input", () => this._set({ q: search.value }));
    const had = this.filters.querySelector("input[name=q]");
    const focused = had && document.activeElement === had;
    fill(this.filters, sel("project", "project", f.projects), sel("status", "status", f.statuses), sel("tag", "tag", f.tags), search);
    if (focused) { search.focus(); search.setSelectionRange(search.value.length, search.value.length); }
  }

  render() {
    if (this.tree === undefined) { fill(this.table, h("tr", {}, h("td", { class: "muted" }, "connecting…"))); return; }
    const all = runsList(this.tree);
    this._filters(all);
    const p = this.params;
    const sortKey = p.sort || "start", desc = p.desc !== "0";
    const runs = sortRuns(filterRuns(all, p), sortKey, desc);
    const head = h("tr", {}, COLUMNS.map(([label, key]) => h("th", {
      class: key ? "sortable" + (key === sortKey ? (desc ? " desc" : " asc") : "") : "",
      onclick: key ? () => this._set({ sort: key, desc: key === sortKey && desc ? "0" : "1" }) : null,
    }, label)));
    const now = Date.now() / 1000;
    const rows = runs.map((r) => {
      const box = h("input", { type: "checkbox", checked: this.selected.has(r.id), onclick: (e) => e.stopPropagation(),
        onchange: (e) => { if (e.target.checked) this.selected.add(r.id); else this.selected.delete(r.id); this._sel(); } });
      const latest = latestKeys(r).slice(0, 6).map((k) => h("span", { class: "kv" }, h("b", {}, k), " ", fmtValue(r.latest[k], 24)));
      return h("tr", { dataset: { run: r.id }, class: "run-row", onclick: () => { location.hash = buildHash("run", r.id, {}); } },
        h("td", {}, box), h("td", {}, r.project || ""), h("td", { class: "name" }, h("a", { href: buildHash("run", r.id, {}), onclick: (e) => e.stopPropagation() }, r.name || r.id)),
        h("td", {}, badge(r.status)), h("td", {}, progressBar(r.progress)), h("td", { class: "num step" }, r.step ?? ""),
        h("td", { class: "time" }, fmtTime(r.start)), h("td", { class: "dur", dataset: { id: r.id } }, fmtDuration(runDuration(r, now))),
        h("td", {}, (r.tags || []).map((t) => h("span", { class: "tag" }, t))), h("td", { class: "latest" }, latest));
    });
    fill(this.table, h("thead", {}, head), h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: COLUMNS.length, class: "muted" }, "no runs match"))));
    this.count.textContent = `${runs.length} of ${all.length} runs`;
    this._sel();
  }

  _sel() {
    this.compareBtn.disabled = this.selected.size < 2;
    this.compareBtn.textContent = `Compare selected (${this.selected.size})`;
  }

  _durations() {
    if (!this.tree) return;
    const now = Date.now() / 1000;
    for (const td of this.table.querySelectorAll("td.dur")) {
      const e = this.tree[td.dataset.id];
      if (e) td.textContent = fmtDuration(runDuration(e, now));
    }
  }

  destroy() { clearInterval(this._tick); this.r.close(); }
}
