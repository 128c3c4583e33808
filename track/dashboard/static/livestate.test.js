// The live-state schema as the dashboard reads it: node --test track/dashboard/static/
//
// ../testdata/livestate.json is written by the Go test TestLiveStateFixture
// (track/server/livestate_test.go) from the server's live-state types, and
// fails there when stale; here every field the dashboard reads must be in
// it, so a key renamed or dropped on the server fails one side or the other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decode } from "../../../syncstruct/web/replica.js";
import {
  FINAL, STATUSES, isFinal, isSilent, runDuration, runsList, filterRuns, sortRuns, facets, latestKeys, jobsSignature, mergePoints,
  storageView,
} from "./format.js";

const fixture = decode(JSON.parse(readFileSync(new URL("../testdata/livestate.json", import.meta.url), "utf8")));
const runs = fixture.notifiers.runs;
const runID = Object.keys(fixture.notifiers).find((n) => n.startsWith("run/"));
const run = fixture.notifiers[runID];
const server = fixture.notifiers.server;

// What each file reads of the trees, by path ("[]" an element of a list,
// "{}" a value of a dict).
const READS = {
  "runs {} (format.js runsList, filterRuns, sortRuns, facets, runDuration, jobsSignature; runs.js; compare.js; jobs.js)":
    [runs, ["{}.project", "{}.name", "{}.status", "{}.progress", "{}.step", "{}.start", "{}.updated", "{}.end", "{}.tags", "{}.latest"]],
  "run/ID (run.js)": [run, ["id", "name", "status", "project", "progress", "step", "start", "message", "tags", "latest", "params",
    "metadata", "notes[].time", "notes[].text", "artifacts[].name", "artifacts[].sha256", "artifacts[].present", "artifacts[].size",
    "artifacts[].content_type", "exposed{}.methods[].name", "exposed{}.methods[].params[].name", "exposed{}.methods[].params[].type",
    "exposed{}.methods[].doc", "series{}.step", "series{}.time", "series{}.value", "logs[].time", "logs[].level", "logs[].logger", "logs[].message", "omitted"]],
  "server (app.js storage indicator: format.js storageView)": [server, ["storage.state", "storage.free_bytes", "storage.min_free",
    "storage.errors", "storage.last_error", "storage.last_error_time", "runs.open", "runs.by_status", "runs.listed", "runs.max_open",
    "runs.max_finished"]],
};

/** reach returns every value at path in v (all elements for [] and {}); it fails for a missing key. */
function reach(v, path, where) {
  let vals = [v];
  for (const part of path.split(/(?=[.[{])/)) {
    const next = [];
    for (const x of vals) {
      let key = part.replace(/^\./, "");
      const each = key.endsWith("[]") ? "list" : key.endsWith("{}") ? "dict" : "";
      key = key.replace(/(\[\]|\{\})$/, "");
      let y = x;
      if (key !== "") {
        assert.ok(y !== null && typeof y === "object" && Object.prototype.hasOwnProperty.call(y, key), `${where}: ${path}: no key ${key}`);
        y = y[key];
      }
      if (each === "list") { assert.ok(Array.isArray(y) && y.length > 0, `${where}: ${path}: not a non-empty list`); next.push(...y); }
      else if (each === "dict") { assert.ok(y && typeof y === "object" && Object.keys(y).length > 0, `${where}: ${path}: not a non-empty dict`); next.push(...Object.values(y)); }
      else next.push(y);
    }
    vals = next;
  }
  return vals;
}

test("every field the dashboard reads is in the server's live state", () => {
  for (const [where, [tree, paths]] of Object.entries(READS)) {
    for (const p of paths) reach(tree, p, where);
  }
});

test("types the dashboard relies on", () => {
  for (const e of Object.values(runs)) {
    for (const k of ["start", "updated", "end", "progress", "step"]) assert.equal(typeof e[k], "number", k);
    assert.ok(Array.isArray(e.tags));
    assert.ok(STATUSES.includes(e.status));
  }
  assert.equal(typeof server.storage.free_bytes, "number");
  assert.equal(typeof server.runs.open, "number");
});

test("status rules agree with the server's (store.Status.Final)", () => {
  assert.deepEqual(STATUSES, fixture.statuses);
  assert.deepEqual(FINAL, fixture.final);
  for (const s of fixture.statuses) assert.equal(isFinal(s), fixture.final.includes(s), s);
  assert.equal(isFinal("crashed"), false); // a heartbeat brings a crashed run back
  assert.equal(isSilent("crashed"), true);
});

test("format.js over the fixture", () => {
  const list = runsList(runs);
  assert.equal(list.length, 1);
  assert.equal(filterRuns(list, { project: "demo", status: "running", tag: "job", q: "sweep" }).length, 1);
  assert.equal(sortRuns(list, "duration").length, 1);
  assert.deepEqual(facets(list).projects, ["demo"]);
  assert.deepEqual(latestKeys(list[0]), ["label", "x"]);
  assert.match(jobsSignature(runs), /:STARTED:running:/);
  const s = { x: [], y: [], t: [] };
  assert.equal(mergePoints(s, run.series.x), 2);
  assert.deepEqual(s.t, run.series.x.time.map((sec) => sec * 1e9)); // live points keep the time they were logged
  const e = list[0];
  assert.equal(runDuration(e, e.start + 1000), e.end - e.start);
  // A crashed run's clock stops at its last update; a running one's runs on.
  assert.equal(runDuration({ ...e, end: null, status: "crashed" }, e.start + 1000), e.updated - e.start);
  assert.equal(runDuration({ ...e, end: null, status: "running" }, e.start + 1000), 1000);
});

test("storageView: the header's storage indicator", () => {
  const low = storageView(server.storage);
  assert.equal(low.state, "low");
  assert.equal(low.text, "disk low: 100 MiB free");
  assert.match(low.title, /new runs and uploads are refused/);
  assert.match(low.title, /below 256 MiB/);
  const bad = storageView({ ...server.storage, state: "unavailable", errors: 3 });
  assert.equal(bad.text, "storage failing");
  assert.match(bad.title, /3 writes failed in the last minute/);
  assert.match(bad.title, /disk I\/O error/);
  const ok = storageView({ ...server.storage, state: "ok" });
  assert.equal(ok.text, ""); // nothing shown while all is well
  assert.match(ok.title, /storage ok: 100 MiB free/);
  assert.deepEqual(storageView(undefined), { state: "", text: "", title: "" });
  assert.equal(storageView({ state: "ok", free_bytes: null, min_free: 0 }).title, "storage ok");
});
