// Tests of format.js: node --test track/dashboard/static/
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  fmtDuration, fmtBytes, fmtNum, fmtValue, runDuration, parseHash, buildHash, runsList, filterRuns, sortRuns, facets,
  paramDiff, levelName, logMatches, mergeLogs, mergePoints, inputKind, parseArg, argJSON,
  sortPorts, portRange, portRequired, solverGroups, portValue, parseInputError, jobState, isJobRun, jobsSignature, isFileRef,
} from "./format.js";

test("fmtDuration", () => {
  for (const [s, want] of [[0, "0.0s"], [5.25, "5.3s"], [59, "59s"], [61, "1m 01s"], [3600, "1h 00m"], [3725, "1h 02m"], [90000, "1d 01h"], [-1, ""], [null, ""], [NaN, ""]]) {
    assert.equal(fmtDuration(s), want, String(s));
  }
});

test("fmtBytes", () => {
  assert.equal(fmtBytes(0), "0 B");
  assert.equal(fmtBytes(1023), "1023 B");
  assert.equal(fmtBytes(1536), "1.5 KiB");
  assert.equal(fmtBytes(20 * 1024 * 1024), "20 MiB");
  assert.equal(fmtBytes(undefined), "");
});

test("fmtNum and fmtValue", () => {
  assert.equal(fmtNum(3), "3");
  assert.equal(fmtNum(6.283185307179586), "6.28319");
  assert.equal(fmtNum(1e-7), "1e-7");
  assert.equal(fmtNum(2.5e12), "2500000000000");
  assert.equal(fmtNum(2.5e20), "2.5e+20");
  assert.equal(fmtNum(12345.678), "12345.7");
  assert.equal(fmtNum(NaN), "NaN");
  assert.equal(fmtNum(-Infinity), "-inf");
  assert.equal(fmtValue(null), "None");
  assert.equal(fmtValue(true), "True");
  assert.equal(fmtValue([1, "a"]), "[1, a]");
  assert.equal(fmtValue({ a: 1 }), "{a: 1}");
  assert.equal(fmtValue("x".repeat(200), 10), "xxxxxxxxx…");
});

test("runDuration", () => {
  assert.equal(runDuration({ start: 100, end: 160 }, 1000), 60);
  assert.equal(runDuration({ start: 100, status: "running" }, 130), 30);
  assert.equal(runDuration({ start: 100, status: "crashed", updated: 150 }, 1000), 50);
  assert.equal(runDuration({}, 1), null);
});

test("deep links round trip", () => {
  for (const [view, id, params] of [["runs", "", { project: "a b", status: "running" }], ["run", "01abc", { charts: "x,v;energy~log" }], ["compare", "", { runs: "a,b" }]]) {
    const h = buildHash(view, id, params);
    assert.deepEqual(parseHash(h), { view, id, params });
  }
  assert.deepEqual(parseHash(""), { view: "runs", id: "", params: {} });
  assert.deepEqual(parseHash("#/nonsense"), { view: "runs", id: "", params: {} });
  assert.equal(buildHash("runs", "", { q: "", tag: undefined }), "#/runs");
});

const tree = {
  r1: { project: "p", name: "alpha", status: "running", progress: 10, step: 5, start: 3, tags: ["x"], latest: { b: 1, a: 2 } },
  r2: { project: "q", name: "Beta", status: "finished", progress: 100, step: 9, start: 2, tags: [] },
  r3: { project: "p", name: "gamma", status: "failed", progress: 50, step: 1, start: 1, tags: ["x", "y"] },
};

test("filterRuns", () => {
  const list = runsList(tree);
  const ids = (l) => l.map((r) => r.id).sort().join();
  assert.equal(ids(filterRuns(list, {})), "r1,r2,r3");
  assert.equal(ids(filterRuns(list, { project: "p" })), "r1,r3");
  assert.equal(ids(filterRuns(list, { status: "failed" })), "r3");
  assert.equal(ids(filterRuns(list, { tag: "x" })), "r1,r3");
  assert.equal(ids(filterRuns(list, { q: "BET" })), "r2");
  assert.equal(ids(filterRuns(list, { project: "p", tag: "y" })), "r3");
  assert.equal(ids(filterRuns(runsList(undefined), {})), "");
});

test("sortRuns", () => {
  const list = runsList(tree);
  assert.equal(sortRuns(list).map((r) => r.id).join(), "r1,r2,r3");
  assert.equal(sortRuns(list, "start", false).map((r) => r.id).join(), "r3,r2,r1");
  assert.equal(sortRuns(list, "name", false).map((r) => r.id).join(), "r1,r2,r3");
  assert.equal(sortRuns(list, "progress", true).map((r) => r.id).join(), "r2,r3,r1");
  assert.equal(sortRuns(list, "step", false).map((r) => r.id).join(), "r3,r1,r2");
});

test("facets", () => {
  assert.deepEqual(facets(runsList(tree)), { projects: ["p", "q"], statuses: ["failed", "finished", "running"], tags: ["x", "y"] });
});

test("paramDiff", () => {
  const rows = paramDiff([{ id: "a", params: { omega: 1, dt: 0.1, arr: [1, 2] } }, { id: "b", params: { omega: 2, dt: 0.1, arr: [1, 2], extra: "z" } }]);
  assert.deepEqual(rows.map((r) => [r.key, r.differ]), [["arr", false], ["dt", false], ["extra", true], ["omega", true]]);
  assert.deepEqual(rows.find((r) => r.key === "extra").values, [undefined, "z"]);
  assert.deepEqual(paramDiff([{ id: "a" }]), []);
});

test("levels and log filters", () => {
  assert.equal(levelName(0), "INFO");
  assert.equal(levelName(4), "WARN");
  assert.equal(levelName(8), "ERROR");
  assert.equal(levelName(-4), "DEBUG");
  assert.equal(levelName(2), "INFO+2");
  assert.equal(levelName(-8), "DEBUG-4");
  const e = { level: 4, message: "Disk almost full", logger: "io", attrs: { free: "2GB" } };
  assert.ok(logMatches(e, { minLevel: 0 }));
  assert.ok(!logMatches(e, { minLevel: 8 }));
  assert.ok(logMatches(e, { q: "disk" }));
  assert.ok(logMatches(e, { q: "2gb" }));
  assert.ok(!logMatches(e, { q: "cpu" }));
});

test("mergeLogs dedups and bounds", () => {
  const a = [{ time: 1, level: 0, message: "a" }, { time: 2, level: 0, message: "b" }];
  const b = [{ time: 2, level: 0, message: "b" }, { time: 3, level: 0, message: "c" }];
  assert.deepEqual(mergeLogs(a, b).map((e) => e.message), ["a", "b", "c"]);
  assert.deepEqual(mergeLogs(a, b, 2).map((e) => e.message), ["b", "c"]);
});

test("mergePoints appends past the last step", () => {
  const s = { x: [1, 2, 3], y: [10, 20, 30] };
  assert.equal(mergePoints(s, { step: [2, 3, 4, 5], value: [0, 0, 40, "nan"] }), 2);
  assert.deepEqual(s, { x: [1, 2, 3, 4, 5], y: [10, 20, 30, 40, null] });
  assert.equal(mergePoints(s, null), 0);
  const e = { x: [], y: [] };
  assert.equal(mergePoints(e, { step: [0], value: [1] }), 1);
});

test("mergePoints carries each live point's time (Unix s → ns)", () => {
  const s = { x: [1], y: [10], t: [1e18] };
  assert.equal(mergePoints(s, { step: [1, 2, 3], time: [1e9, 1.7e9 + 0.5, null], value: [10, 20, 30] }, 42), 2);
  assert.deepEqual(s.x, [1, 2, 3]);
  assert.deepEqual(s.t, [1e18, (1.7e9 + 0.5) * 1e9, 42]); // a point without a time gets nowNs
  const old = { x: [], y: [], t: [] }; // a server without the time column
  mergePoints(old, { step: [5], value: [1] }, 7);
  assert.deepEqual(old.t, [7]);
});

test("method inputs", () => {
  assert.equal(inputKind("float64"), "float");
  assert.equal(inputKind("int"), "int");
  assert.equal(inputKind("uint32"), "int");
  assert.equal(inputKind("bool"), "bool");
  assert.equal(inputKind("string"), "string");
  assert.equal(inputKind("[]float64"), "json");
  assert.equal(inputKind("...string"), "string");
  assert.equal(parseArg("float", " 2.5 "), 2.5);
  assert.throws(() => parseArg("float", "abc"));
  assert.throws(() => parseArg("float", ""));
  assert.equal(parseArg("int", "-3"), -3);
  assert.throws(() => parseArg("int", "1.5"));
  assert.equal(parseArg("bool", true), true);
  assert.deepEqual(parseArg("json", "[1, 2]"), [1, 2]);
  assert.throws(() => parseArg("json", "[1,"));
  assert.equal(argJSON("float", 100), "100.0");
  assert.equal(argJSON("float", 2.5), "2.5");
  assert.equal(argJSON("int", 100), "100");
  assert.equal(argJSON("string", "a\"b"), '"a\\"b"');
});

test("ports", () => {
  assert.deepEqual(sortPorts([{ key: "b", order: 2 }, { key: "z", order: 1 }, { key: "a", order: 2 }]).map((p) => p.key), ["z", "a", "b"]);
  assert.equal(portRange({ min: 0, max: 65, unit: "second" }), "0 – 65 second");
  assert.equal(portRange({ min: 1.5 }), "≥ 1.5");
  assert.equal(portRange({}), "");
  assert.equal(portRequired({ default: 2 }), false);
  assert.equal(portRequired({}), true);
  assert.equal(portRequired({ required: false }), false);
  const g = solverGroups([{ name: "a", version: "1" }, { name: "b", version: "1" }, { name: "a", version: "2" }]);
  assert.deepEqual(g.map((x) => [x.name, x.versions.map((v) => v.version)]), [["a", ["1", "2"]], ["b", ["1"]]]);
});

test("portValue", () => {
  assert.equal(portValue({ type: "integer" }, " 70 "), "70");
  assert.equal(portValue({ type: "integer" }, ""), undefined);
  assert.throws(() => portValue({ type: "integer" }, "1.5"), /not an integer/);
  assert.throws(() => portValue({ type: "number" }, "abc"), /not a number/);
  assert.equal(portValue({ type: "number" }, "2"), "2.0");
  assert.equal(portValue({ type: "number" }, "2.5"), "2.5");
  assert.equal(portValue({ type: "number" }, "1e3"), "1000");
  assert.equal(portValue({ type: "boolean" }, true), "true");
  assert.equal(portValue({ type: "boolean" }, false), "false");
  assert.equal(portValue({ type: "enum" }, "fast"), '"fast"');
  assert.equal(portValue({ type: "string", default: "x" }, ""), undefined);
  assert.equal(portValue({ type: "string" }, ""), '""');
  assert.equal(portValue({ type: "file" }, "ab"), '{"sha256":"ab"}');
});

test("parseInputError", () => {
  const msg = 'jobs: invalid inputs for sleeper@2.1.6: input "input_2": 70 second is above the maximum 65 second; input "x": unknown input of sleeper@2.1.6 (its inputs: input_1, input_2); input "e": must be one of ["a" "b;c"], not the string "d"';
  assert.deepEqual(parseInputError(msg), [
    { port: "input_2", reason: "70 second is above the maximum 65 second" },
    { port: "x", reason: "unknown input of sleeper@2.1.6 (its inputs: input_1, input_2)" },
    { port: "e", reason: 'must be one of ["a" "b;c"], not the string "d"' },
  ]);
  assert.deepEqual(parseInputError("jobs: unknown solver"), []);
});

test("job runs", () => {
  const tree = {
    j1: { tags: ["job", "solver=s", "state=STARTED"], status: "running" },
    r1: { tags: ["x"], status: "running" },
  };
  assert.equal(jobState(tree.j1), "STARTED");
  assert.equal(jobState(tree.r1), "");
  assert.equal(isJobRun(tree.j1), true);
  assert.equal(isJobRun(tree.r1), false);
  const before = jobsSignature(tree);
  tree.j1 = { ...tree.j1, progress: 50 };
  assert.equal(jobsSignature(tree), before, "progress alone does not re-read the jobs");
  tree.j1 = { ...tree.j1, tags: ["job", "state=SUCCESS"], status: "finished" };
  assert.notEqual(jobsSignature(tree), before);
  assert.equal(isFileRef({ sha256: "a".repeat(64), filename: "f" }), true);
  assert.equal(isFileRef(3), false);
});

test("papercuts: runNotFound, jobsDisabledText, isSystemTag, metaRows", async () => {
  const { runNotFound, jobsDisabledText, isSystemTag, metaRows, fmtTime } = await import("./format.js");
  assert.ok(runNotFound({ message: 'store.UnknownRun: store: unknown run "x"' }));
  assert.ok(!runNotFound({ message: "dashboard.Unavailable: Failed to fetch" }));
  assert.match(jobsDisabledText({ message: 'rpc.Incompatible: rpc: incompatible server: no target "jobs"', status: 404 }), /--solvers FILE.*--demo/);
  assert.match(jobsDisabledText({ message: "x", status: 503 }), /--solvers/);
  assert.equal(jobsDisabledText({ message: "jobs: unknown solver", status: 400 }), "");
  for (const t of ["job", "state=STARTED", "solver=sweep", "solver=sweep@1"]) assert.ok(isSystemTag(t), t);
  for (const t of ["mine", "states", "jobs"]) assert.ok(!isSystemTag(t), t);
  const rows = metaRows({ host: "n1", job: { id: "j", created: 1.7966e9, stopped: 0, exit_code: 0 } });
  assert.deepEqual(rows, [["host", "n1"], ["job.created", fmtTime(1.7966e9)], ["job.exit_code", "0"], ["job.id", "j"], ["job.stopped", ""]]);
  assert.match(rows[1][1], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});
