// run.js — the Run view: a run's live state (the "run/ID" notifier) with
// charts, tables, notes, tags, artifacts, the log tail and its exposed
// methods.
import { call, callRaw, jobsCall, replica } from "./api.js";
import { h, badge, progressBar, fill } from "./dom.js";
import { Chart } from "./chart.js";
import {
  fmtTime, fmtDuration, runDuration, fmtValue, fmtBytes, levelName, logMatches, mergeLogs, mergePoints,
  inputKind, parseArg, argJSON, buildHash, isJobRun, jobState, isSilent,
  runNotFound, isSystemTag, metaRows,
} from "./format.js";
import { parseChartGroups, formatChartGroups, isSysKey, placeKeys, isImageRef, imageURL, nearestIndex, seriesDownloadURL, X_MODES } from "./plot.js";

const MAX_POINTS = 2000;
const MAX_IMAGES = 1000; // steps of an image series the slider offers
const X_NAMES = { step: "step", wall: "wall time", rel: "relative time" };

function section(title, ...body) {
  return h("section", { class: `panel panel-${title.toLowerCase().replace(/\s+/g, "-")}` }, h("h2", {}, title), ...body);
}

function kvTable(obj, cls) {
  const keys = obj && typeof obj === "object" ? Object.keys(obj).sort() : [];
  if (!keys.length) return h("p", { class: "muted" }, "none");
  return h("table", { class: `kv ${cls || ""}` }, keys.map((k) => h("tr", { dataset: { key: k } }, h("th", {}, k), h("td", {}, fmtValue(obj[k], 400)))));
}

function errorText(e) { return String(e && e.message ? e.message : e); }

// rowsTable: a key/value table of [key, text] rows (format.js metaRows).
function rowsTable(rows, cls) {
  if (!rows.length) return h("p", { class: "muted" }, "none");
  return h("table", { class: `kv ${cls || ""}` }, rows.map(([k, v]) => h("tr", { dataset: { key: k } }, h("th", {}, k), h("td", {}, v))));
}

export class RunView {
  constructor(root, id, params) {
    this.root = root;
    this.id = id;
    this.params = params;
    this.tree = undefined;
    this.charts = []; // {group, chart, el}
    this.loaded = new Set(); // series keys with their history loaded
    this.images = new Map(); // image series key → {steps, refs, el, slider, img, label, latestStep}
    this.logs = [];
    this.paused = false;
    this.closed = false;
    this.el = {
      head: h("div", { class: "run-head" }),
      charts: h("div", { class: "charts" }),
      sysCharts: h("div", { class: "charts sys-charts" }),
      images: h("div", { class: "images" }),
      latest: h("div"), params: h("div"), meta: h("div"), notes: h("div"), tags: h("div"),
      artifacts: h("div"), logs: h("div", { class: "log-lines" }), methods: h("div"), error: h("div", { class: "error-box" }),
    };
    this.logCtl = this._logControls();
    fill(root, this.el.error, this.el.head,
      section("Charts", this.el.charts),
      this.sysSection = section("System metrics", this.el.sysCharts),
      this.imgSection = section("Images", this.el.images),
      h("div", { class: "grid2" },
        section("Latest", this.el.latest), section("Methods", this.el.methods),
        section("Params", this.el.params), section("Metadata", this.el.meta),
        section("Notes", this.el.notes, this._noteForm()), section("Tags", this.el.tags, this._tagForm())),
      section("Artifacts", this.el.artifacts),
      section("Logs", this.logCtl, this.el.logs));
    this.sysSection.hidden = true; // until the run has sys.* series
    this.imgSection.hidden = true; // until it has images
    this._tick = setInterval(() => this._renderHead(), 1000);
    this._start();
  }

  async _start() {
    let name;
    try {
      name = await call("watch", this.id);
    } catch (e) {
      if (runNotFound(e)) { // no such run: say so, do not wait for it
        this.notFound = true;
        this._renderHead();
        fill(this.el.error);
        return;
      }
      fill(this.el.error, h("p", { class: "error" }, `This run cannot be watched: ${errorText(e)} (retrying)`));
      if (!this.closed) this._startTimer = setTimeout(() => this._start(), 2000);
      return;
    }
    if (this.closed) return;
    fill(this.el.error);
    this.r = replica(name, (tree) => { this.tree = tree; this.render(); }, (st) => { this._rewatch(st); if (st === "live" && !this._historyOK) this._loadHistory(); });
    this._loadHistory();
  }

  // _loadHistory fetches what the live state does not hold: the series
  // downsampled, the log tail. After a failure it runs again when the
  // replica is live again.
  async _loadHistory() {
    if (this._loadingHistory) return;
    this._loadingHistory = true;
    try {
      const info = await call("get_run", this.id);
      if (this.closed) return;
      this.info = info;
      const keys = (info.series || []).filter((s) => s.scalar).map((s) => s.key);
      this._ensureCharts(keys);
      this._chartBars();
      this._imageKeys(info.latest);
      await Promise.all([...keys.map((k) => this._loadSeries(k)), ...[...this.images.keys()].map((k) => this._loadImages(k))]);
      const page = await call("logs", { run: this.id, tail: true, limit: 300 });
      this.logs = mergeLogs((page.logs || []).map((e) => ({ ...e, time: typeof e.time === "number" ? e.time : 0 })), this.logs);
      this._renderLogs();
      this._historyOK = true;
      fill(this.el.error);
    } catch (e) {
      fill(this.el.error, h("p", { class: "error" }, `Loading the run's history: ${errorText(e)} (retried when the connection is back)`));
    } finally {
      this._loadingHistory = false;
    }
  }

  // _rewatch asks the server again to publish the run's notifier while the
  // replica cannot reach it: a restarted server publishes a finished run
  // only when watched (an open run republishes itself when it logs).
  _rewatch(state) {
    clearTimeout(this._watchTimer);
    if (this.closed || state === "live" || state === "closed") return;
    this._watchTimer = setTimeout(() => {
      call("watch", this.id).catch(() => {}).finally(() => this._rewatch(this.r ? this.r.state : "closed"));
    }, 1000);
  }

  async _loadSeries(key) {
    const s = await call("series", this.id, key, { max_points: MAX_POINTS });
    if (this.closed) return;
    const x = s.step || [], y = (s.value || []).map((v) => (typeof v === "number" ? v : null)), t = s.time || [];
    for (const c of this.charts) {
      if (!c.group.keys.includes(key)) continue;
      const cur = c.chart.series(key);
      // Points that arrived live while the history loaded stay after it, with their times.
      const tail = { step: cur.x.slice(), value: cur.y.slice(), time: cur.t.map((ns) => ns / 1e9) };
      cur.x = x.slice(); cur.y = y.slice(); cur.t = t.slice();
      mergePoints(cur, tail);
      c.chart.update();
    }
    this.loaded.add(key);
    this.downsampled = this.downsampled || s.downsampled;
  }

  update(params) {
    const before = this.params.charts || "";
    this.params = params;
    if ((params.charts || "") !== before) { this._resetCharts(); }
  }

  // ---- charts

  _ensureCharts(keys) {
    const known = new Set(this.charts.flatMap((c) => c.group.keys));
    if (keys.every((k) => known.has(k)) && this.charts.length) return;
    // The URL's charts first, then the keys they leave out in default charts
    // (placeKeys: a GPU that appears later joins its metric's chart).
    for (const g of parseChartGroups(this.params.charts) || []) {
      if (this.charts.some((c) => c.group.keys.join() === g.keys.join())) continue;
      if (g.keys.every((k) => known.has(k))) continue;
      this._addChart(g);
    }
    const shown = new Set(this.charts.flatMap((c) => c.group.keys));
    const fresh = [...new Set([...known, ...keys])].sort().filter((k) => !shown.has(k));
    const { extend, add } = placeKeys(this.charts.map((c) => c.group.keys), fresh);
    for (const [i, more] of extend) {
      const c = this.charts[i];
      for (const k of more) { c.group.keys.push(k); c.chart.addKey(k); this._fillFromOthers(c, k); }
    }
    if (extend.length) this._chartBars();
    for (const g of add) this._addChart(g);
  }

  _allKeys() { return [...new Set([...Object.keys((this.tree && this.tree.series) || {}).filter((k) => this._scalarKey(k)), ...((this.info && this.info.series) || []).filter((s) => s.scalar).map((s) => s.key)])].sort(); }

  // _scalarKey: whether a live series holds numbers (image and other value series have no chart).
  _scalarKey(k) {
    if (this.images.has(k)) return false;
    const l = this.tree && this.tree.latest && this.tree.latest[k];
    const v = l && typeof l === "object" && "value" in l ? l.value : l;
    return v === undefined || typeof v === "number" || v === null || typeof v === "string" && /^(NaN|-?Inf)$/.test(v);
  }

  // ---- stepped images (track's LogImage): one slider per image series

  // _imageKeys finds the series whose latest value is an image and adds
  // their viewers; a newer latest step reloads the series' steps.
  _imageKeys(latest) {
    for (const [k, l] of Object.entries(latest || {})) {
      const v = l && typeof l === "object" && "value" in l ? l.value : undefined;
      if (!isImageRef(v)) continue;
      let im = this.images.get(k);
      if (!im) {
        im = this._imageViewer(k);
        this.images.set(k, im);
        if (this.info) this._loadImages(k).catch(() => {});
      } else if (typeof l.step === "number" && l.step > im.latestStep && !im.loading) {
        this._loadImages(k).catch(() => {});
      }
    }
    this.imgSection.hidden = this.images.size === 0;
  }

  _imageViewer(key) {
    const slider = h("input", { type: "range", class: "image-step", name: "image-step", min: "0", max: "0", step: "1", value: "0" });
    const label = h("span", { class: "image-label muted" });
    const img = h("img", { class: "stepped-image", alt: key });
    const el = h("div", { class: "image-series", dataset: { key } }, h("div", { class: "toolbar" }, h("b", {}, key), slider, label), img);
    this.el.images.append(el);
    const im = { key, el, slider, img, label, steps: [], refs: [], latestStep: -Infinity, follow: true };
    slider.addEventListener("input", () => { im.follow = Number(slider.value) === im.steps.length - 1; this._showImage(im, Number(slider.value)); });
    return im;
  }

  async _loadImages(key) {
    const im = this.images.get(key);
    if (!im) return;
    im.loading = true;
    try {
      const s = await call("series", this.id, key, { max_points: MAX_IMAGES });
      if (this.closed) return;
      const steps = [], refs = [];
      (s.values || []).forEach((v, i) => { if (isImageRef(v)) { steps.push(s.step[i]); refs.push(v); } });
      im.steps = steps; im.refs = refs;
      im.latestStep = steps.length ? steps[steps.length - 1] : -Infinity;
      im.slider.max = String(Math.max(steps.length - 1, 0));
      const want = im.follow ? steps.length - 1 : nearestIndex(steps, im.shownStep ?? 0);
      im.slider.value = String(Math.max(want, 0));
      this._showImage(im, Math.max(want, 0));
    } finally {
      im.loading = false;
    }
  }

  _showImage(im, i) {
    const ref = im.refs[i];
    if (!ref) { im.label.textContent = "no images"; return; }
    im.shownStep = im.steps[i];
    im.el.dataset.step = String(im.steps[i]);
    im.label.textContent = `step ${im.steps[i]} (${i + 1} of ${im.steps.length})${ref.width ? ` · ${ref.width}×${ref.height}` : ""}`;
    const src = imageURL(ref, im.key);
    if (im.img.getAttribute("src") !== src) im.img.src = src;
  }

  _addChart(group) {
    const plot = h("div", { class: "chart", dataset: { keys: group.keys.join(",") } });
    const logBox = h("input", { type: "checkbox", checked: group.log });
    const addSel = h("select", { class: "add-series" });
    const xSel = h("select", { class: "x-axis", name: "x-axis", title: "x-axis" }, X_MODES.map((m) => h("option", { value: m, selected: m === group.x }, X_NAMES[m])));
    const emaIn = h("input", { type: "range", class: "ema", name: "ema", min: "0", max: "0.99", step: "0.01", value: String(group.ema || 0), title: "smoothing (EMA weight)" });
    const emaOut = h("span", { class: "ema-value muted" }, group.ema ? String(group.ema) : "off");
    const title = h("span", { class: "chart-title" });
    const downloads = h("span", { class: "downloads" });
    const box = h("div", { class: "chart-box" }, h("div", { class: "chart-bar" }, title,
      h("label", {}, logBox, " log scale"), xSel, h("label", { class: "ema-label" }, "smoothing ", emaIn, " ", emaOut), addSel, downloads,
      h("button", { class: "small", title: "remove this chart", onclick: () => this._removeChart(c) }, "×")), plot);
    (group.keys.every(isSysKey) ? this.el.sysCharts : this.el.charts).append(box);
    const c = { group, el: box, plot, title, addSel, downloads, chart: new Chart(plot, group.keys, { log: group.log, x: group.x, ema: group.ema }) };
    logBox.addEventListener("change", () => { group.log = logBox.checked; c.chart.setLog(group.log); this._saveCharts(); });
    xSel.addEventListener("change", () => { group.x = xSel.value; c.chart.setX(group.x); this._saveCharts(); });
    emaIn.addEventListener("input", () => { emaOut.textContent = Number(emaIn.value) > 0 ? emaIn.value : "off"; });
    emaIn.addEventListener("change", () => { group.ema = Number(emaIn.value) || 0; c.chart.setEma(group.ema); this._saveCharts(); });
    addSel.addEventListener("change", () => {
      const k = addSel.value;
      if (!k) return;
      group.keys.push(k);
      c.chart.addKey(k);
      this._fillFromOthers(c, k);
      this._saveCharts();
      this._chartBars();
    });
    this.charts.push(c);
    for (const k of group.keys) this._fillFromOthers(c, k);
    this._chartBars();
    return c;
  }

  // _fillFromOthers copies a series' points from another chart that has it.
  _fillFromOthers(c, key) {
    for (const o of this.charts) {
      if (o === c || !o.chart.data.has(key)) continue;
      const s = o.chart.data.get(key);
      c.chart.setSeries(key, s.x, s.y, s.t);
      return;
    }
  }

  _removeChart(c) {
    c.chart.destroy();
    c.el.remove();
    this.charts = this.charts.filter((x) => x !== c);
    this._saveCharts();
  }

  _chartBars() {
    const keys = this._allKeys();
    for (const c of this.charts) {
      c.title.textContent = c.group.keys.join(", ");
      c.plot.dataset.keys = c.group.keys.join(","); // a series added keeps it true
      fill(c.addSel, h("option", { value: "" }, "+ series"), keys.filter((k) => !c.group.keys.includes(k)).map((k) => h("option", { value: k }, k)));
      // Each series at full resolution, streamed by the server.
      fill(c.downloads, c.group.keys.map((k) => h("span", { class: "download", dataset: { key: k } }, c.group.keys.length > 1 ? `${k} ` : "",
        h("a", { href: seriesDownloadURL(this.id, k, "csv"), download: "", class: "csv", title: `${k} as CSV, every point` }, "csv"), " ",
        h("a", { href: seriesDownloadURL(this.id, k, "json"), download: "", class: "json", title: `${k} as JSON, every point` }, "json"))));
    }
    this.sysSection.hidden = !this.charts.some((c) => c.group.keys.every(isSysKey));
  }

  _saveCharts() {
    this.params = { ...this.params, charts: formatChartGroups(this.charts.map((c) => c.group)) };
    history.replaceState(null, "", buildHash("run", this.id, this.params));
  }

  _resetCharts() {
    for (const c of this.charts) c.chart.destroy();
    this.charts = [];
    fill(this.el.charts);
    fill(this.el.sysCharts);
    const keys = this._allKeys();
    this._ensureCharts(keys);
    for (const k of keys) this._loadSeries(k).catch(() => {});
  }

  _liveSeries() {
    const series = (this.tree && this.tree.series) || {};
    const keys = Object.keys(series).filter((k) => this._scalarKey(k));
    const before = this.charts.length;
    this._ensureCharts(keys);
    if (this.charts.length !== before) this._chartBars();
    // A live point carries its step, value and time (when it was logged).
    for (const c of this.charts) {
      let n = 0;
      for (const k of c.group.keys) {
        if (!series[k] || !Array.isArray(series[k].step)) continue;
        const s = c.chart.series(k);
        n += mergePoints(s, series[k]);
      }
      if (n) c.chart.update();
    }
    for (const k of keys) {
      if (this.loaded.has(k) || !this.info || !this._scalarKey(k)) continue;
      this.loaded.add(k);
      this._loadSeries(k).catch(() => {}); // a series that started after the page opened: its history too
    }
    // A long live tail grows the charts without bound: fetch it downsampled again.
    for (const c of this.charts) {
      for (const k of c.group.keys) {
        const s = c.chart.data.get(k);
        if (s && s.x.length > 3 * MAX_POINTS && !this._refetching) {
          this._refetching = true;
          this._loadSeries(k).finally(() => { this._refetching = false; });
        }
      }
    }
  }

  // ---- the rest of the page

  render() {
    if (!this.tree || this.closed) return;
    const t = this.tree;
    this._renderHead();
    this._imageKeys(t.latest);
    this._liveSeries();
    fill(this.el.latest, kvTable(t.latest, "latest-values"));
    fill(this.el.params, kvTable(t.params, "params"));
    fill(this.el.meta, rowsTable(metaRows(t.metadata), "metadata"));
    fill(this.el.notes, (t.notes || []).length ? h("ul", { class: "notes" }, t.notes.map((n) => h("li", { class: "note" }, h("span", { class: "muted" }, fmtTime(n.time)), " ", n.text))) : h("p", { class: "muted" }, "no notes"));
    fill(this.el.tags, (t.tags || []).map((tag) => h("span", { class: "tag", dataset: { tag } }, tag,
      isSystemTag(tag) ? null : h("button", { class: "x", title: `remove ${tag}`, onclick: () => this._do(call("remove_tag", this.id, tag)) }, "×"))));
    this._renderArtifacts();
    this._renderMethods();
    if (Array.isArray(t.logs)) {
      this.logs = mergeLogs(this.logs, t.logs);
      this._renderLogs();
    }
  }

  _renderHead() {
    const t = this.tree;
    if (!t && this.notFound) { fill(this.el.head, h("h1", {}, this.id), h("p", { class: "error not-found" }, "Run not found: no run has this id (it may have been deleted). ", h("a", { href: "#/runs" }, "All runs…"))); return; }
    if (!t) { fill(this.el.head, h("h1", {}, this.id), h("p", { class: "muted" }, "connecting…")); return; }
    fill(this.el.head,
      h("h1", {}, t.name || this.id, " ", badge(t.status)),
      h("div", { class: "run-facts" },
        h("span", {}, h("b", {}, "project "), t.project || ""),
        h("span", {}, h("b", {}, "progress "), progressBar(t.progress)),
        h("span", {}, h("b", {}, "step "), h("span", { class: "step" }, t.step ?? "")),
        h("span", {}, h("b", {}, "started "), fmtTime(t.start)),
        h("span", {}, h("b", {}, "duration "), fmtDuration(runDuration(t, Date.now() / 1000))),
        t.message ? h("span", {}, h("b", {}, "message "), t.message) : null,
        h("a", { href: `/runs/${encodeURIComponent(this.id)}/export.json` }, "export JSON"),
        h("a", { href: buildHash("compare", "", { runs: this.id }) }, "compare…"),
        this._jobLinks(t)),
      h("p", { class: "muted id" }, this.id));
  }

  // _jobLinks: a job's run (tag "job") links to its log zip and can be stopped.
  _jobLinks(t) {
    if (!isJobRun(t)) return null;
    const state = jobState(t);
    return h("span", { class: "job-links" }, h("b", {}, "job "), h("span", { class: "muted" }, state, " "),
      h("a", { href: `/jobs/${encodeURIComponent(this.id)}/logfile.zip`, class: "logzip" }, "logs.zip"), " ",
      h("a", { href: buildHash("jobs", "", {}) }, "jobs…"), " ",
      state === "STARTED" || state === "PENDING" ? h("button", { class: "small stop-job", onclick: (e) => { e.target.disabled = true; this._do(jobsCall("stop_job", JSON.stringify(this.id))); } }, "Stop job") : null);
  }

  _do(p) {
    return p.then(() => fill(this.el.error)).catch((e) => fill(this.el.error, h("p", { class: "error" }, errorText(e))));
  }

  _noteForm() {
    const ta = h("textarea", { name: "note", rows: 2, placeholder: "add a note" });
    return h("form", { class: "note-form", onsubmit: (e) => {
      e.preventDefault();
      const text = ta.value.trim();
      if (!text) return;
      this._do(call("add_note", this.id, text).then(() => { ta.value = ""; }));
    } }, ta, h("button", { type: "submit" }, "Add note"));
  }

  _tagForm() {
    const input = h("input", { name: "tag", placeholder: "tag" });
    return h("form", { class: "tag-form", onsubmit: (e) => {
      e.preventDefault();
      const tag = input.value.trim();
      if (!tag) return;
      this._do(call("add_tag", this.id, tag).then(() => { input.value = ""; }));
    } }, input, h("button", { type: "submit" }, "Add tag"));
  }

  _renderArtifacts() {
    const arts = this.tree.artifacts || [];
    const key = JSON.stringify(arts.map((a) => [a.name, a.sha256, a.present]));
    if (key === this._artKey) return; // keep open previews
    this._artKey = key;
    if (!arts.length) { fill(this.el.artifacts, h("p", { class: "muted" }, "no artifacts")); return; }
    fill(this.el.artifacts, h("table", { class: "artifacts" }, arts.map((a) => {
      const url = `/runs/${encodeURIComponent(this.id)}/artifacts/${a.name.split("/").map(encodeURIComponent).join("/")}`;
      const prev = h("div", { class: "preview" });
      const ct = a.content_type || "";
      const isImg = /^image\//.test(ct) || /\.(png|jpe?g|gif|svg|webp)$/i.test(a.name);
      const isText = /^text\/|json|csv|xml|yaml/.test(ct) || /\.(txt|csv|json|log|md|ya?ml|tsv|go|py)$/i.test(a.name);
      const show = async () => {
        if (prev.childNodes.length) { fill(prev); return; }
        if (isImg) { fill(prev, h("img", { src: url, alt: a.name })); return; }
        try {
          const resp = await fetch(url, { headers: { Range: "bytes=0-65535" } });
          const text = await resp.text();
          fill(prev, h("pre", {}, text + (a.size > 65536 ? "\n… (first 64 KiB)" : "")));
        } catch (e) { fill(prev, h("p", { class: "error" }, String(e))); }
      };
      return h("tr", { dataset: { artifact: a.name } },
        h("td", {}, a.present ? h("a", { href: url, download: a.name.split("/").pop() }, a.name) : a.name),
        h("td", { class: "num" }, fmtBytes(a.size)), h("td", { class: "muted" }, ct || ""),
        h("td", {}, a.present ? "" : h("span", { class: "muted" }, "uploading…")),
        h("td", {}, a.present && (isImg || isText) ? h("button", { class: "small", onclick: show }, "preview") : null, prev));
    })));
  }

  // ---- exposed methods: a form per method, typed by its signature

  _renderMethods() {
    const ex = this.tree.exposed || {};
    const key = JSON.stringify(ex);
    if (key === this._exKey) return; // keep what the user typed
    this._exKey = key;
    const objs = Object.keys(ex).sort();
    if (!objs.length) {
      fill(this.el.methods, h("p", { class: "muted" }, isSilent(this.tree.status) ? "the run has ended" : "the run exposes nothing"));
      return;
    }
    fill(this.el.methods, objs.map((obj) => {
      const info = ex[obj] || {};
      return h("div", { class: "exposed", dataset: { object: obj } }, h("h3", {}, obj), info.doc ? h("p", { class: "doc" }, info.doc) : null,
        (info.methods || []).map((m) => this._methodForm(obj, m)));
    }));
  }

  _methodForm(obj, m) {
    const params = (m.params || []).map((p, i) => ({ name: p.name || `arg${i}`, type: p.type, kind: inputKind(p.type) }));
    const inputs = params.map((p) => p.kind === "bool" ? h("input", { type: "checkbox", name: p.name })
      : h("input", { name: p.name, placeholder: `${p.name} ${p.type}`, type: p.kind === "float" || p.kind === "int" ? "text" : "text", inputmode: p.kind === "float" || p.kind === "int" ? "decimal" : null, size: p.kind === "json" ? 24 : 10 }));
    const out = h("span", { class: "method-result" });
    const results = (m.results || []).filter((r) => r !== "error").join(", ");
    return h("form", { class: "method", dataset: { method: m.name }, onsubmit: async (e) => {
      e.preventDefault();
      let args;
      try {
        args = params.map((p, i) => argJSON(p.kind, parseArg(p.kind, p.kind === "bool" ? inputs[i].checked : inputs[i].value)));
      } catch (err) { out.className = "method-result error"; out.textContent = err.message; return; }
      out.className = "method-result muted";
      out.textContent = "calling…";
      try {
        const res = await callRaw("call_exposed", [JSON.stringify(this.id), JSON.stringify(obj), JSON.stringify(m.name), `[${args.join(",")}]`, "{}"]);
        out.className = "method-result ok";
        out.textContent = res === null || res === undefined ? "done" : `→ ${fmtValue(res, 300)}`;
      } catch (err) {
        out.className = "method-result error";
        out.textContent = errorText(err);
      }
    } },
    h("code", { class: "sig", title: m.doc || "" }, `${m.name}(${params.map((p) => `${p.name} ${p.type}`).join(", ")})${results ? " → " + results : ""}`),
    m.doc ? h("div", { class: "doc" }, m.doc) : null,
    h("div", { class: "method-inputs" }, inputs.map((inp, i) => h("label", {}, params[i].name, " ", inp)), h("button", { type: "submit" }, "Call"), out));
  }

  // ---- logs

  _logControls() {
    this.level = h("select", { name: "level", onchange: () => this._renderLogs() },
      [["-8", "all"], ["-4", "debug"], ["0", "info"], ["4", "warn"], ["8", "error"]].map(([v, l]) => h("option", { value: v, selected: v === "-8" }, l)));
    this.search = h("input", { type: "search", name: "logq", placeholder: "search logs", oninput: () => this._renderLogs() });
    this.pause = h("input", { type: "checkbox", name: "pause", onchange: () => { this.paused = this.pause.checked; this._renderLogs(); } });
    this.logInfo = h("span", { class: "muted" });
    return h("div", { class: "toolbar" }, h("label", {}, "level ", this.level), this.search, h("label", {}, this.pause, " pause"), this.logInfo);
  }

  _renderLogs() {
    if (this.paused) {
      const n = this.logs.length - (this._shown || 0);
      this.logInfo.textContent = n > 0 ? `paused (${n} new)` : "paused";
      return;
    }
    this._shown = this.logs.length;
    const f = { minLevel: Number(this.level.value), q: this.search.value };
    const lines = this.logs.filter((e) => logMatches(e, f)).slice(-500);
    const box = this.el.logs;
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    fill(box, lines.map((e) => h("div", { class: `log-line lv-${levelName(e.level).replace(/[+-]\d+$/, "").toLowerCase()}` },
      h("span", { class: "muted" }, fmtTime(e.time)), " ", h("b", {}, levelName(e.level)), " ", e.logger ? h("span", { class: "muted" }, e.logger + " ") : null, e.message,
      e.attrs ? h("span", { class: "muted" }, " " + Object.entries(e.attrs).map(([k, v]) => `${k}=${fmtValue(v, 60)}`).join(" ")) : null)));
    if (atBottom) box.scrollTop = box.scrollHeight;
    this.logInfo.textContent = `${lines.length} lines`;
  }

  destroy() {
    this.closed = true;
    clearInterval(this._tick);
    clearTimeout(this._watchTimer);
    clearTimeout(this._startTimer);
    if (this.r) this.r.close();
    for (const c of this.charts) c.chart.destroy();
  }
}

