// solvers.js — the Solvers view: every solver and version with its typed
// ports, a job form generated from the input ports (create, then start),
// and the solver's jobs, live.
import { jobsCall, uploadFile } from "./api.js";
import { h, fill } from "./dom.js";
import { JobsList } from "./jobs.js";
import { fmtValue, buildHash, sortPorts, portRange, portRequired, solverGroups, portValue, parseInputError, jobsDisabledText } from "./format.js";

function errorText(e) { return String(e && e.message ? e.message : e); }

function portsTable(ports, kind) {
  const list = sortPorts(ports);
  if (!list.length) return h("p", { class: "muted" }, `no ${kind}`);
  return h("table", { class: `ports ports-${kind}` },
    h("thead", {}, h("tr", {}, ["key", "label", "type", "unit", "range", "default", "description"].map((c) => h("th", {}, c)))),
    h("tbody", {}, list.map((p) => h("tr", { dataset: { port: p.key } },
      h("td", { class: "id" }, p.key), h("td", {}, p.label || ""),
      h("td", {}, p.type, p.type === "enum" && p.values ? h("span", { class: "muted" }, ` (${p.values.join(", ")})`) : null,
        p.content_type ? h("span", { class: "muted" }, ` ${p.content_type}`) : null,
        kind === "inputs" && portRequired(p) ? h("span", { class: "muted" }, " required") : null),
      h("td", {}, p.unit || ""), h("td", {}, portRange(p)),
      h("td", {}, p.default === undefined || p.default === null ? "" : fmtValue(p.default)),
      h("td", { class: "muted" }, p.description || "")))));
}

export class SolversView {
  constructor(root, params) {
    this.root = root;
    this.params = params;
    this.solvers = null;
    this.nav = h("div", { class: "solver-list" });
    this.detail = h("div", { class: "solver-detail" });
    this.err = h("div", { class: "error-box" });
    fill(root, this.err, h("div", { class: "solvers-layout" }, h("section", { class: "panel" }, h("h2", {}, "Solvers"), this.nav), this.detail));
    this._load();
  }

  async _load() {
    try {
      this.solvers = await jobsCall("list_solvers");
      fill(this.err);
    } catch (e) {
      const off = jobsDisabledText(e);
      fill(this.err, h("p", { class: "error jobs-disabled" }, off || `Listing the solvers: ${errorText(e)}`));
      this.solvers = [];
    }
    if (!this.closed) this.render();
  }

  update(params) {
    const same = params.solver === this.params.solver && params.version === this.params.version;
    this.params = params;
    if (!same) this.render();
  }

  _selected() {
    const list = this.solvers || [];
    const p = this.params;
    return list.find((s) => s.name === p.solver && s.version === p.version) ||
      list.filter((s) => s.name === p.solver).pop() || list[0] || null;
  }

  render() {
    if (this.solvers === null) { fill(this.nav, h("p", { class: "muted" }, "loading…")); return; }
    const sel = this._selected();
    fill(this.nav, solverGroups(this.solvers).map((g) => h("div", { class: "solver", dataset: { solver: g.name } },
      h("h3", {}, g.name),
      h("ul", {}, g.versions.map((s) => h("li", {},
        h("a", { href: buildHash("solvers", "", { solver: s.name, version: s.version }), class: s === sel ? "active" : "", dataset: { version: s.version } }, s.version),
        s.description ? h("span", { class: "muted" }, " — " + s.description) : null))))));
    if (!this.solvers.length) fill(this.nav, h("p", { class: "muted" }, "no solvers"));
    if (this.jobs) { this.jobs.destroy(); this.jobs = null; }
    if (!sel) { fill(this.detail); return; }
    const jobsBox = h("div");
    fill(this.detail,
      h("section", { class: "panel solver-head", dataset: { solver: sel.name, version: sel.version } },
        h("h1", {}, `${sel.name} `, h("span", { class: "muted" }, sel.version)),
        sel.description ? h("p", {}, sel.description) : null,
        h("p", { class: "muted" }, `project ${sel.project || "jobs"}`, sel.time_limit ? ` · time limit ${sel.time_limit}` : "", sel.track ? " · reports with track" : "")),
      h("div", { class: "grid2" },
        h("section", { class: "panel" }, h("h2", {}, "New job"), this._form(sel)),
        h("section", { class: "panel" }, h("h2", {}, "Inputs"), portsTable(sel.inputs, "inputs"), h("h2", { class: "spaced" }, "Outputs"), portsTable(sel.outputs, "outputs"))),
      h("section", { class: "panel" }, h("h2", {}, "Jobs of ", `${sel.name}@${sel.version}`, " ", h("a", { href: buildHash("jobs", "", { solver: sel.name }) }, "all jobs…")), jobsBox));
    this.jobs = new JobsList(jobsBox, { solver: sel.name, version: sel.version }, (states) => this._formJobState(states));
  }

  // _form: one field per input port, typed; errors from create_job next to their field.
  _form(s) {
    const ports = sortPorts(s.inputs);
    const fields = new Map(); // key → {input, err}
    const rows = ports.map((p) => {
      let input;
      const name = `in-${p.key}`;
      if (p.type === "boolean") input = h("input", { type: "checkbox", name, checked: p.default === true });
      else if (p.type === "enum") {
        input = h("select", { name },
          portRequired(p) ? null : h("option", { value: "" }, p.default ? `(default ${p.default})` : "(none)"),
          (p.values || []).map((v) => h("option", { value: v, selected: v === p.default }, v)));
      } else if (p.type === "file") input = h("input", { type: "file", name, accept: p.content_type || null });
      else if (p.type === "integer" || p.type === "number") {
        input = h("input", { type: "number", name, step: p.type === "integer" ? "1" : "any", min: p.min ?? null, max: p.max ?? null,
          value: p.default ?? "", placeholder: p.default !== undefined && p.default !== null ? String(p.default) : "" });
      } else input = h("input", { type: "text", name, value: p.default ?? "" });
      const err = h("span", { class: "port-error error", dataset: { port: p.key } });
      fields.set(p.key, { input, err, port: p });
      const hint = [p.type, portRange(p), p.unit && !portRange(p) ? p.unit : "", portRequired(p) ? "required" : ""].filter(Boolean).join(", ");
      return h("div", { class: "field", dataset: { port: p.key } },
        h("label", { for: name }, p.label || p.key, " ", h("span", { class: "muted id" }, p.key)),
        h("div", { class: "field-input" }, input, p.unit ? h("span", { class: "muted" }, ` ${p.unit}`) : null),
        h("div", { class: "muted hint" }, hint, p.description ? ` — ${p.description}` : ""), err);
    });
    for (const f of fields.values()) if (f.input.id === "") f.input.id = f.input.name;
    const status = h("div", { class: "job-form-result" });
    const button = h("button", { type: "submit" }, "Create and start");
    const form = h("form", { class: "job-form", novalidate: true, dataset: { solver: s.name, version: s.version }, onsubmit: (e) => {
      e.preventDefault();
      this._submit(s, fields, status, button);
    } }, rows, h("div", { class: "toolbar" }, button, status));
    return form;
  }

  async _submit(s, fields, status, button) {
    for (const f of fields.values()) f.err.textContent = "";
    status.className = "job-form-result muted";
    const parts = [];
    let bad = false;
    button.disabled = true;
    try {
      for (const [key, f] of fields) {
        let raw;
        if (f.port.type === "boolean") raw = f.input.checked;
        else if (f.port.type === "file") {
          const file = f.input.files && f.input.files[0];
          if (!file) continue;
          status.textContent = `uploading ${file.name}…`;
          try {
            const ref = await uploadFile(file, (n, total) => { status.textContent = `uploading ${file.name}: ${Math.round((100 * n) / Math.max(1, total))}%`; });
            raw = ref.sha256;
          } catch (e) { f.err.textContent = `upload failed: ${errorText(e)}`; bad = true; continue; }
        } else {
          raw = f.input.value;
          if (f.input.validity && f.input.validity.badInput) { f.err.textContent = `not a ${f.port.type}`; bad = true; continue; }
        }
        try {
          const v = portValue(f.port, raw);
          if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
        } catch (e) { f.err.textContent = e.message; bad = true; }
      }
      if (bad) { status.className = "job-form-result error"; status.textContent = "fix the inputs marked above"; return; }
      status.textContent = "creating…";
      let job;
      try {
        job = await jobsCall("create_job", JSON.stringify(s.name), JSON.stringify(s.version), `{${parts.join(",")}}`);
      } catch (e) {
        const probs = parseInputError(e.message);
        for (const p of probs) {
          const f = fields.get(p.port);
          if (f) f.err.textContent = p.reason;
        }
        const other = probs.filter((p) => !fields.has(p.port)).map((p) => `${p.port}: ${p.reason}`);
        status.className = "job-form-result error";
        status.textContent = probs.length ? `not created: ${probs.length} invalid input${probs.length > 1 ? "s" : ""}${other.length ? " — " + other.join("; ") : ""}` : `not created: ${errorText(e)}`;
        return;
      }
      status.textContent = `created ${job.id}; starting…`;
      try {
        job = await jobsCall("start_job", JSON.stringify(job.id));
      } catch (e) {
        status.className = "job-form-result error";
        status.textContent = `created ${job.id} but not started: ${errorText(e)}`;
        return;
      }
      status.className = "job-form-result ok";
      this.formJob = { id: job.id, status, state: job.state, queued: !!job.queued };
      this._showFormJob(job.state, job.queued);
      if (this.jobs) this.jobs.refresh();
    } finally {
      button.disabled = false;
    }
  }

  // _showFormJob: the form's line about the job it made, in its current state.
  _showFormJob(state, queued) {
    const { id, status } = this.formJob;
    fill(status, `job `, h("a", { href: buildHash("run", id, {}), class: "new-job", dataset: { job: id, state } }, id.slice(0, 12)), ` ${state}${queued ? " (queued)" : ""}`);
  }

  // _formJobState follows the job the form made as the jobs list sees it
  // change (it would otherwise say STARTED after the job finished).
  _formJobState(states) {
    const f = this.formJob;
    if (!f || !f.status.isConnected || !states.has(f.id)) return;
    const s = states.get(f.id);
    if (s.state !== f.state || s.queued !== f.queued) { f.state = s.state; f.queued = s.queued; this._showFormJob(s.state, s.queued); }
  }

  destroy() { this.closed = true; if (this.jobs) this.jobs.destroy(); }
}
