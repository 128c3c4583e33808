// runs.js — the Runs view: the runs table, read from the store
// (tracker.query_runs): a filter expression evaluated by the store, the
// columns the user chose (params and latest metrics), sortable headers,
// pages with exact counts, CSV and JSON downloads of the whole table,
// archive / restore and delete; a run with children (a sweep) is one row
// counting them by status, expanded to list them a page at a time
// (query_runs with parent = "ID"), its children hidden from the top level
// unless "flat"; above the table, the server's exact open-run counts. The
// state lives in the URL hash (runstable.js); the table is read again when
// the live "runs" list changes (pushed, never polled).
import { call, replica } from "./api.js";
import { h, badge, progressBar, fill } from "./dom.js";
import { runsList, fmtTime, fmtDuration, runDuration, fmtValue, buildHash, isSilent } from "./format.js";
import {
  PAGE_SIZES, CHILD_PAGE, tableState, tableParams, addColumn, removeColumn, moveColumn, nextSort, sortDir, pageInfo, runQuery,
  downloadURL, columnChoices, columnLabel, grouped, toggleOpen, childQuery, childSummary, openSummary,
} from "./runstable.js";

// BUILTIN: the built-in columns: [label, sort field or null].
const BUILTIN = [["project", "project"], ["name", "name"], ["status", "status"], ["progress", "progress"],
  ["step", "step"], ["started", "start"], ["duration", null], ["tags", null]];

export class RunsView {
  constructor(root, params) {
    this.root = root;
    this.params = params;
    this.s = tableState(params);
    this.selected = new Set((params.sel || "").split(",").filter(Boolean));
    this.live = undefined; // the live "runs" tree: refreshes and column choices
    this.table = undefined; // the last query_runs answer
    this.children = new Map(); // expanded run id → the last query_runs answer of its children's page
    this.error = "";
    this.seq = 0; // the newest query sent
    this.confirming = ""; // the run whose delete waits for its confirmation
    this.filterInput = h("input", { type: "search", name: "filter", id: "runs-filter", size: 64, placeholder: 'filter: metrics.loss < 0.1 and params.lr = 0.01 and tags.best and name ~ "scan"', value: this.s.filter });
    this.filterInput.addEventListener("keydown", (e) => { if (e.key === "Enter") this._set({ filter: this.filterInput.value.trim(), offset: 0 }); });
    this.colInput = h("input", { type: "text", name: "column", id: "runs-column", list: "runs-columns", size: 28, placeholder: "add column: params.KEY or metrics.KEY" });
    this.colInput.addEventListener("keydown", (e) => { if (e.key === "Enter") this._addColumn(); });
    this.colList = h("datalist", { id: "runs-columns" });
    this.archived = h("input", { type: "checkbox", name: "archived", id: "runs-archived", checked: this.s.archived, onchange: (e) => this._set({ archived: e.target.checked, offset: 0 }) });
    this.flat = h("input", { type: "checkbox", name: "flat", id: "runs-flat", checked: this.s.flat, onchange: (e) => this._set({ flat: e.target.checked, offset: 0 }) });
    this.openCounts = h("div", { class: "muted", id: "runs-open" });
    this.msg = h("div", { class: "error", id: "runs-error" });
    this.pager = h("div", { class: "pager", id: "runs-pager" });
    this.downloads = h("span", { class: "downloads" });
    this.grid = h("table", { class: "runs" });
    this.compareBtn = h("button", { onclick: () => this._compare(), disabled: true, id: "compare-btn" }, "Compare selected");
    fill(root,
      h("div", { class: "toolbar" },
        h("div", { class: "filters" }, this.filterInput, h("button", { id: "runs-apply", onclick: () => this._set({ filter: this.filterInput.value.trim(), offset: 0 }) }, "filter"),
          h("label", {}, this.archived, " archived"),
          h("label", { title: "list child runs (a sweep's elements) at the top level too, not under their parent" }, this.flat, " flat"), this.colInput, this.colList, h("button", { id: "runs-add-column", onclick: () => this._addColumn() }, "add column")),
        this.compareBtn, this.downloads),
      this.openCounts, this.msg, this.pager, h("div", { class: "scroll" }, this.grid));
    this.r = replica("runs", (tree) => { this.live = tree; this._choices(); this._refreshSoon(); });
    this.srv = replica("server", (tree) => { this.openCounts.textContent = openSummary(tree && tree.runs); });
    this._tick = setInterval(() => this._durations(), 1000); // local clock only: durations of open runs
    this._load();
  }

  update(params) {
    this.params = params;
    this.s = tableState(params);
    if (document.activeElement !== this.filterInput) this.filterInput.value = this.s.filter;
    this.archived.checked = this.s.archived;
    this.flat.checked = this.s.flat;
    this._load();
  }

  _set(changes) {
    const s = { ...this.s, ...changes };
    const p = { ...this.params, f: undefined, sort: undefined, cols: undefined, off: undefined, n: undefined, arch: undefined, flat: undefined, open: undefined, ...tableParams(s) };
    history.replaceState(null, "", buildHash("runs", "", p));
    this.update(p);
  }

  _addColumn() {
    const cols = addColumn(this.s.cols, this.colInput.value);
    if (cols === this.s.cols) { this.msg.textContent = "a column is params.KEY or metrics.KEY, not shown yet"; return; }
    this.colInput.value = "";
    this._set({ cols });
  }

  _compare() { location.hash = buildHash("compare", "", { runs: [...this.selected].join(",") }); }

  // _refreshSoon reads the table again after a live change, at most once a second.
  _refreshSoon() {
    if (this._soon) return;
    this._soon = setTimeout(() => { this._soon = null; this._load(); }, 1000);
  }

  async _load() {
    const seq = ++this.seq;
    const s = this.s;
    fill(this.downloads, h("a", { href: downloadURL(s, "csv"), download: "runs.csv", id: "runs-csv" }, "CSV"), " ",
      h("a", { href: downloadURL(s, "json"), download: "runs.json", id: "runs-json" }, "JSON"));
    // The expanded runs' children are read alongside the table.
    const open = grouped(s) ? Object.entries(s.open) : [];
    const kids = Promise.all(open.map(([id, off]) => call("query_runs", childQuery(s, id, off)).then((t) => [id, t], (e) => [id, { error: e.message }])));
    try {
      const t = await call("query_runs", runQuery(s));
      const ch = await kids;
      if (seq !== this.seq) return; // a newer query was sent
      this.table = t;
      this.children = new Map(ch);
      this.error = "";
    } catch (e) {
      if (seq !== this.seq) return;
      this.error = e.message;
    }
    this.render();
  }

  _choices() {
    fill(this.colList, columnChoices(runsList(this.live), this.s.cols).map((c) => h("option", { value: c })));
  }

  _header() {
    const s = this.s;
    const th = (label, field, extra = []) => {
      const dir = field ? sortDir(s.sort, field) : "";
      return h("th", { class: field ? `sortable${dir ? " " + dir : ""}` : "", dataset: field ? { sort: field } : {},
        onclick: field ? () => this._set({ sort: nextSort(s.sort, field), offset: 0 }) : null }, label, extra);
    };
    const stop = (fn) => (e) => { e.stopPropagation(); fn(); };
    return h("tr", {}, h("th", {}), BUILTIN.map(([label, field]) => th(label, field)),
      s.cols.map((c) => th(columnLabel(c, s.cols), c, [
        h("span", { class: "colctl" },
          h("button", { class: "small", title: "move left", onclick: stop(() => this._set({ cols: moveColumn(s.cols, c, -1) })) }, "‹"),
          h("button", { class: "small", title: "move right", onclick: stop(() => this._set({ cols: moveColumn(s.cols, c, 1) })) }, "›"),
          h("button", { class: "small remove-col", title: `remove ${c}`, onclick: stop(() => this._set({ cols: removeColumn(s.cols, c) })) }, "×")),
      ])),
      h("th", {}, ""));
  }

  render() {
    this.msg.textContent = this.error;
    const t = this.table;
    if (!t) { fill(this.grid, h("tr", {}, h("td", { class: "muted" }, this.error ? "" : "loading…"))); return; }
    const s = this.s, now = Date.now() / 1000;
    const ncols = 1 + BUILTIN.length + s.cols.length + 1;
    const rows = [];
    t.runs.forEach((r, i) => {
      const kids = grouped(s) ? (t.children || [])[i] : null;
      const summary = childSummary(kids);
      rows.push(this._row(r, t.values[i], now, { summary }));
      if (!summary || !(r.id in s.open)) return;
      const ct = this.children.get(r.id);
      if (!ct || ct.error) { rows.push(h("tr", { class: "child-row" }, h("td", { colspan: ncols, class: ct ? "error" : "muted" }, ct ? ct.error : "loading…"))); return; }
      ct.runs.forEach((c, j) => rows.push(this._row(c, ct.values[j], now, { parent: r.id })));
      if (ct.total > CHILD_PAGE) rows.push(this._childPager(r.id, ct, ncols));
    });
    fill(this.grid, h("thead", {}, this._header()), h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: ncols, class: "muted" }, "no runs match"))));
    this._pager(t);
    this._sel();
  }

  // _row is a run's row: a parent's name cell holds the expand control
  // with its children's counts; a child's row names its parent.
  _row(r, values, now, { summary = "", parent = "" }) {
    const s = this.s;
    const box = h("input", { type: "checkbox", checked: this.selected.has(r.id), onclick: (e) => e.stopPropagation(),
      onchange: (e) => { if (e.target.checked) this.selected.add(r.id); else this.selected.delete(r.id); this._sel(); } });
    const vals = (values || []).map((v, j) => h("td", { class: typeof v === "number" ? "num" : "", dataset: { col: s.cols[j] } }, v === null || v === undefined ? "" : fmtValue(v, 40)));
    const open = r.id in s.open;
    const expand = summary ? h("button", { class: "small expand", dataset: { run: r.id }, title: open ? "hide its runs" : "show its runs", "aria-expanded": String(open),
      onclick: (e) => { e.stopPropagation(); this._set({ open: toggleOpen(s.open, r.id) }); } }, `${open ? "▾" : "▸"} ${summary}`) : null;
    const ds = parent ? { run: r.id, parent } : { run: r.id };
    return h("tr", { dataset: ds, class: parent ? "run-row child-row" : "run-row", onclick: () => { location.hash = buildHash("run", r.id, {}); } },
      h("td", {}, box), h("td", {}, r.project || ""),
      h("td", { class: "name" }, h("a", { href: buildHash("run", r.id, {}), onclick: (e) => e.stopPropagation() }, r.name || r.id), expand ? " " : "", expand),
      h("td", {}, badge(r.status)), h("td", {}, progressBar(r.progress)), h("td", { class: "num step" }, r.step ?? ""),
      h("td", { class: "time" }, fmtTime(r.start)), h("td", { class: "dur", dataset: { id: r.id } }, fmtDuration(runDuration(r, now))),
      h("td", {}, (r.tags || []).map((g) => h("span", { class: "tag" }, g))), vals,
      h("td", { class: "actions", onclick: (e) => e.stopPropagation() }, this._actions(r)));
  }

  // _childPager pages an expanded run's children.
  _childPager(id, ct, ncols) {
    const info = pageInfo(ct.total, ct.offset, CHILD_PAGE, ct.runs.length);
    const go = (off) => () => this._set({ open: { ...this.s.open, [id]: off } });
    return h("tr", { class: "child-row child-pager", dataset: { parent: id } }, h("td", { colspan: ncols },
      h("button", { class: "small prev", disabled: info.prev === null, onclick: go(info.prev) }, "‹"),
      h("span", { class: "count" }, ` ${info.text} `),
      h("button", { class: "small next", disabled: info.next === null, onclick: go(info.next) }, "›")));
  }

  _actions(r) {
    const out = [];
    if (r.archived) out.push(h("button", { class: "small restore", onclick: () => this._archive(r.id, false) }, "restore"));
    else if (isSilent(r.status)) out.push(h("button", { class: "small archive", onclick: () => this._archive(r.id, true) }, "archive"));
    if (this.confirming === r.id) {
      out.push(h("button", { class: "small danger confirm-delete", onclick: () => this._delete(r.id) }, "delete for good?"),
        h("button", { class: "small", onclick: () => { this.confirming = ""; this.render(); } }, "keep"));
    } else {
      out.push(h("button", { class: "small delete", title: "delete the run and its records (admin)", onclick: () => { this.confirming = r.id; this.render(); } }, "delete"));
    }
    return out;
  }

  async _archive(id, archived) {
    try { await call("archive_run", id, archived); this.error = ""; } catch (e) { this.error = e.message; }
    this._load();
  }

  async _delete(id) {
    this.confirming = "";
    try { await call("delete_run", id); this.selected.delete(id); this.error = ""; } catch (e) { this.error = e.message; }
    this._load();
  }

  _pager(t) {
    const s = this.s, info = pageInfo(t.total, t.offset, s.limit, t.runs.length);
    const go = (off) => () => this._set({ offset: off });
    const size = h("select", { name: "pagesize", onchange: (e) => this._set({ limit: Number(e.target.value), offset: 0 }) },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === s.limit }, `${n} a page`)));
    fill(this.pager,
      h("button", { class: "small first", disabled: info.prev === null, onclick: go(0) }, "«"),
      h("button", { class: "small prev", disabled: info.prev === null, onclick: go(info.prev) }, "‹"),
      h("span", { class: "count", id: "runs-count" }, info.text),
      h("button", { class: "small next", disabled: info.next === null, onclick: go(info.next) }, "›"),
      h("button", { class: "small last", disabled: info.next === null, onclick: go(info.lastOffset) }, "»"), size);
  }

  _sel() {
    this.compareBtn.disabled = this.selected.size < 2;
    this.compareBtn.textContent = `Compare selected (${this.selected.size})`;
  }

  _durations() {
    const now = Date.now() / 1000;
    for (const td of this.grid.querySelectorAll("td.dur")) {
      const e = this.live && this.live[td.dataset.id];
      if (e) td.textContent = fmtDuration(runDuration(e, now));
    }
  }

  destroy() { clearInterval(this._tick); clearTimeout(this._soon); this.r.close(); this.srv.close(); }
}
