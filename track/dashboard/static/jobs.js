// jobs.js — the Jobs view and the jobs list (track/jobs). A job is a
// tracked run: its progress and status come live from the "runs" replica;
// its record (state, times, exit code, outputs) from jobs.list_jobs, read
// again whenever the job runs in the replica change state — never polled.
import { jobsCall, replica } from "./api.js";
import { h, progressBar, fill } from "./dom.js";
import { fmtTime, fmtValue, fmtBytes, buildHash, jobsSignature, jobState, isFileRef, JOB_STATES, jobsDisabledText } from "./format.js";

function errorText(e) { return String(e && e.message ? e.message : e); }

/** jobBadge: a job state badge. */
// waitOrReason is why a job ended (reason) or, queued by its executor
// (Slurm), why it waits there (wait_reason: "Priority", "Resources", …).
function waitOrReason(j, state) {
  const text = j.reason || (state === "PENDING" && j.wait_reason ? `${j.executor || "executor"}: ${j.wait_reason}` : "");
  return text ? h("div", { class: "muted reason" }, text) : null;
}

export function jobBadge(state, queued) {
  return h("span", { class: `badge job-${state || "unknown"}` }, state || "?", queued ? " (queued)" : "");
}

/** outputsCell: a job's outputs, values and file download links. */
export function outputsCell(outputs) {
  const keys = Object.keys(outputs || {}).sort();
  if (!keys.length) return h("span", { class: "muted" }, "");
  return keys.map((k) => {
    const v = outputs[k];
    if (isFileRef(v)) {
      return h("span", { class: "kv output", dataset: { output: k } }, h("b", {}, k), " ",
        h("a", { href: `/artifacts/${v.sha256}`, download: v.filename || k }, v.filename || v.sha256.slice(0, 12)),
        h("span", { class: "muted" }, ` ${fmtBytes(v.size)}`));
    }
    return h("span", { class: "kv output", dataset: { output: k } }, h("b", {}, k), " ", fmtValue(v, 60));
  });
}

/**
 * JobsList renders the jobs matching filter ({solver, version, state}) into
 * root, live. refresh() reads the list again (after a job was created).
 * onStates, if given, gets each render's Map job id → {state, queued}.
 */
export class JobsList {
  constructor(root, filter = {}, onStates = null) {
    this.root = root;
    this.filter = filter;
    this.onStates = onStates;
    this.jobs = null;
    this.tree = undefined;
    this.sig = null;
    this.err = h("div", { class: "error-box" });
    this.table = h("table", { class: "runs jobs" });
    fill(root, this.err, h("div", { class: "scroll" }, this.table));
    this.r = replica("runs", (tree) => {
      this.tree = tree;
      const sig = jobsSignature(tree);
      if (sig !== this.sig) { this.sig = sig; this.refresh(); } else this.render();
    });
    this.refresh();
  }

  setFilter(filter) { this.filter = filter; this.refresh(); }

  // refresh: one list_jobs in flight; a change meanwhile reads again after it.
  async refresh() {
    if (this.loading) { this.again = true; return; }
    this.loading = true;
    try {
      const f = {};
      for (const k of ["solver", "version", "state"]) if (this.filter[k]) f[k] = this.filter[k];
      const page = await jobsCall("list_jobs", JSON.stringify(f));
      if (this.closed) return;
      this.jobs = page.jobs || [];
      fill(this.err);
    } catch (e) {
      if (this.closed) return;
      fill(this.err, h("p", { class: "error jobs-disabled" }, jobsDisabledText(e) || `Listing the jobs: ${errorText(e)}`));
    } finally {
      this.loading = false;
    }
    this.render();
    if (this.again) { this.again = false; this.refresh(); }
  }

  render() {
    if (this.closed) return;
    if (this.jobs === null) { fill(this.table, h("tr", {}, h("td", { class: "muted" }, "loading…"))); return; }
    const head = h("tr", {}, ["job", "solver", "state", "progress", "started", "stopped", "exit", "outputs", "logs", ""].map((c) => h("th", {}, c)));
    const states = new Map();
    const rows = this.jobs.map((j) => {
      const live = this.tree && this.tree[j.id];
      // The replica is newer than the list for progress (and the state tag).
      const state = (live && jobState(live)) || j.state;
      states.set(j.id, { state, queued: !!(j.queued && state === "PENDING") });
      const progress = live && typeof live.progress === "number" && !["SUCCESS"].includes(state) ? live.progress : j.progress;
      const running = state === "STARTED" || (state === "PENDING" && j.queued);
      const exit = j.exit_code !== undefined && j.exit_code !== null ? String(j.exit_code) : j.signal || "";
      return h("tr", { class: "job-row", dataset: { job: j.id, state } },
        h("td", { class: "name" }, h("a", { href: buildHash("run", j.id, {}), title: "the job's run" }, j.id.slice(0, 12))),
        h("td", {}, `${j.solver}@${j.version}`),
        h("td", { class: "state" }, jobBadge(state, j.queued && state === "PENDING"), waitOrReason(j, state)),
        h("td", {}, progressBar(progress)),
        h("td", { class: "time" }, j.started ? fmtTime(j.started) : ""),
        h("td", { class: "time" }, j.stopped ? fmtTime(j.stopped) : ""),
        h("td", { class: "num exit" }, exit),
        h("td", { class: "latest outputs" }, outputsCell(j.outputs)),
        h("td", {}, h("a", { href: `/jobs/${encodeURIComponent(j.id)}/logfile.zip`, download: `job-${j.id}-logs.zip`, class: "logzip" }, "logs.zip")),
        h("td", {}, running ? h("button", { class: "small stop", onclick: (e) => this._stop(e, j.id) }, "Stop") : null));
    });
    fill(this.table, h("thead", {}, head), h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 10, class: "muted" }, "no jobs"))));
    if (this.onStates) this.onStates(states);
  }

  async _stop(e, id) {
    e.target.disabled = true;
    e.target.textContent = "stopping…";
    try { await jobsCall("stop_job", JSON.stringify(id)); } catch (err) { fill(this.err, h("p", { class: "error" }, `Stopping ${id}: ${errorText(err)}`)); }
    this.refresh();
  }

  destroy() { this.closed = true; this.r.close(); }
}

/** JobsView: #/jobs?solver=&version=&state= */
export class JobsView {
  constructor(root, params) {
    this.root = root;
    this.filters = h("div", { class: "filters" });
    this.box = h("div");
    fill(root, h("div", { class: "toolbar" }, h("h1", {}, "Jobs"), this.filters, h("a", { href: "#/solvers" }, "new job…")), this.box);
    this.list = new JobsList(this.box, params);
    this.update(params, true);
  }

  update(params, first) {
    this.params = params;
    const state = h("select", { name: "state", onchange: (e) => this._set({ state: e.target.value }) },
      h("option", { value: "" }, "all"), JOB_STATES.map((s) => h("option", { value: s, selected: params.state === s }, s)));
    const solver = h("input", { name: "solver", placeholder: "solver", value: params.solver || "", onchange: (e) => this._set({ solver: e.target.value.trim() }) });
    fill(this.filters, h("label", {}, "state ", state), solver);
    if (!first) this.list.setFilter(params);
  }

  _set(changes) { location.hash = buildHash("jobs", "", { ...this.params, ...changes }); }

  destroy() { this.list.destroy(); }
}
