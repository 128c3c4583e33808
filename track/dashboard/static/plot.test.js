// Tests of plot.js: node --test track/dashboard/static/
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ema, xValues, sortedByX, onePoint, parseChartGroups, formatChartGroups, isSysKey, defaultChartOf, defaultGroups, placeKeys, isImageRef, imageURL, nearestIndex,
  seriesDownloadURL, dimValue, fmtTick, dimensions, axis, scatterData, parcoordsData, parseDims,
} from "./plot.js";

const close = (a, b) => a.every((v, i) => (v === null ? b[i] === null : Math.abs(v - b[i]) < 1e-12));

test("ema: debiased, gaps kept, 0 is no smoothing", () => {
  assert.deepEqual(ema([1, 2, 3], 0), [1, 2, 3]);
  // w = 0.5: acc 0.5, 1.25, 2.125; weight 0.5, 0.75, 0.875
  assert.ok(close(ema([1, 2, 3], 0.5), [1, 1.25 / 0.75, 2.125 / 0.875]));
  assert.ok(close(ema([4, null, 4], 0.9), [4, null, 4]), "a constant stays constant, the gap stays");
  assert.deepEqual(ema([NaN, 2], 0.5), [null, 2]);
  const flat = ema(new Array(100).fill(0).map((_, i) => (i % 2 ? 1 : -1)), 0.99);
  assert.ok(Math.abs(flat[99]) < 0.2, "noise is smoothed");
});

test("xValues: step, wall, relative", () => {
  const step = [0, 5, 10], time = [2e9, 3.5e9, 5e9];
  assert.deepEqual(xValues("step", step, time), [0, 5, 10]);
  assert.deepEqual(xValues("wall", step, time), [2, 3.5, 5]);
  assert.deepEqual(xValues("rel", step, time), [0, 1.5, 3]);
  assert.deepEqual(xValues("rel", step, time, 1e9), [1, 2.5, 4]);
  assert.deepEqual(xValues("wall", [1, 2], [1e9]), [1, null]);
  assert.deepEqual(xValues("bogus", step, time), step);
});

test("sortedByX orders and drops null x", () => {
  assert.deepEqual(sortedByX([1, 2], ["a", "b"]), { x: [1, 2], y: ["a", "b"] });
  assert.deepEqual(sortedByX([3, null, 1, 3], ["a", "b", "c", "d"]), { x: [1, 3, 3], y: ["c", "a", "d"] });
});

test("onePoint", () => {
  assert.equal(onePoint([[5]]), true);
  assert.equal(onePoint([[null, 5], [null, null]]), true);
  assert.equal(onePoint([[1, 2]]), false);
  assert.equal(onePoint([[]]), false);
});

test("chart groups in the URL", () => {
  const s = "x,v;energy~log~x=wall~ema=0.6;t~x=rel";
  const g = parseChartGroups(s);
  assert.deepEqual(g, [
    { keys: ["x", "v"], log: false, x: "step", ema: 0 },
    { keys: ["energy"], log: true, x: "wall", ema: 0.6 },
    { keys: ["t"], log: false, x: "rel", ema: 0 },
  ]);
  assert.equal(formatChartGroups(g), s);
  assert.deepEqual(parseChartGroups("a~x=nope~ema=7~ema=-1~zzz"), [{ keys: ["a"], log: false, x: "step", ema: 0 }]);
  assert.equal(parseChartGroups(""), null);
  assert.deepEqual(parseChartGroups("a~log"), [{ keys: ["a"], log: true, x: "step", ema: 0 }], "the older form still reads");
});

test("default charts: one per key, a GPU metric's chart for every GPU, memory used with total", () => {
  assert.equal(defaultChartOf("loss"), "loss");
  assert.equal(defaultChartOf("sys.cpu.percent"), "sys.cpu.percent");
  assert.equal(defaultChartOf("sys.gpu12.util_percent"), "sys.gpu*.util_percent");
  assert.equal(defaultChartOf("sys.gpu0.mem_total_bytes"), "sys.gpu*.mem_bytes");
  assert.equal(defaultChartOf("sys.gpux.util_percent"), "sys.gpux.util_percent");
  const keys = ["loss", "sys.cpu.percent", "sys.gpu0.mem_total_bytes", "sys.gpu0.mem_used_bytes", "sys.gpu0.power_watts",
    "sys.gpu0.util_percent", "sys.gpu1.mem_total_bytes", "sys.gpu1.mem_used_bytes", "sys.gpu1.util_percent"];
  assert.deepEqual(defaultGroups(keys), [
    { keys: ["loss"], log: false, x: "step", ema: 0 },
    { keys: ["sys.cpu.percent"], log: false, x: "rel", ema: 0 },
    { keys: ["sys.gpu0.mem_total_bytes", "sys.gpu0.mem_used_bytes", "sys.gpu1.mem_total_bytes", "sys.gpu1.mem_used_bytes"], log: false, x: "rel", ema: 0 },
    { keys: ["sys.gpu0.power_watts"], log: false, x: "rel", ema: 0 },
    { keys: ["sys.gpu0.util_percent", "sys.gpu1.util_percent"], log: false, x: "rel", ema: 0 },
  ]);
  assert.deepEqual(defaultGroups([]), []);
});

test("placeKeys: a GPU seen later joins its metric's chart; a chart the user made is left alone", () => {
  const charts = [["loss"], ["sys.gpu0.util_percent"], ["sys.gpu0.power_watts", "loss"], ["sys.cpu.percent"]];
  const { extend, add } = placeKeys(charts, ["acc", "sys.gpu1.power_watts", "sys.gpu1.util_percent", "sys.gpu2.util_percent"]);
  assert.deepEqual(extend, [[1, ["sys.gpu1.util_percent", "sys.gpu2.util_percent"]]]);
  assert.deepEqual(add, [
    { keys: ["acc"], log: false, x: "step", ema: 0 },
    { keys: ["sys.gpu1.power_watts"], log: false, x: "rel", ema: 0 },
  ]);
  assert.deepEqual(placeKeys([], ["x"]), { extend: [], add: [{ keys: ["x"], log: false, x: "step", ema: 0 }] });
});

test("sys keys, image refs, downloads", () => {
  assert.ok(isSysKey("sys.cpu.percent") && !isSysKey("system") && !isSysKey(undefined));
  const ref = { sha256: "a".repeat(64), content_type: "image/png", size: 10 };
  assert.ok(isImageRef(ref) && !isImageRef({ ...ref, content_type: "text/plain" }) && !isImageRef({ sha256: "x", content_type: "image/png" }));
  assert.equal(imageURL(ref, "field/2d"), `/artifacts/${"a".repeat(64)}?name=field_2d.png`);
  assert.equal(imageURL({ ...ref, content_type: "image/jpeg" }, "k"), `/artifacts/${"a".repeat(64)}?name=k.jpg`);
  assert.equal(seriesDownloadURL("r/1", "a b&c", "csv"), "/runs/r%2F1/series.csv?key=a%20b%26c");
  assert.equal(seriesDownloadURL("r", "k", "json"), "/runs/r/series.json?key=k");
});

test("nearestIndex", () => {
  const s = [0, 10, 20, 40];
  assert.equal(nearestIndex(s, 0), 0);
  assert.equal(nearestIndex(s, 15), 1);
  assert.equal(nearestIndex(s, 40), 3);
  assert.equal(nearestIndex(s, 99), 3);
  assert.equal(nearestIndex(s, -5), 0);
});

const runs = [
  { id: "a", params: { lr: 0.1, opt: "adam", big: [1, 2] }, latest: { loss: { value: 0.5, step: 3 }, note: { value: "x" } } },
  { id: "b", params: { lr: 0.01, opt: "sgd" }, latest: { loss: { value: 0.2 } } },
  { id: "c", params: { lr: 0.001 }, latest: {} },
];

test("dimensions and values", () => {
  assert.deepEqual(dimensions(runs), ["params.lr", "params.opt", "metrics.loss"]);
  assert.equal(dimValue(runs[0], "params.lr"), 0.1);
  assert.equal(dimValue(runs[0], "metrics.loss"), 0.5);
  assert.equal(dimValue(runs[2], "metrics.loss"), undefined);
  assert.equal(dimValue(runs[0], "other.x"), undefined);
  assert.deepEqual(parseDims("params.lr,metrics.loss,bogus,params."), ["params.lr", "metrics.loss"]);
});

test("axis: numbers and categories", () => {
  const n = axis([3, 1, undefined, NaN, 2]);
  assert.equal(n.kind, "num"); assert.equal(n.min, 1); assert.equal(n.max, 3); assert.equal(n.pos(NaN), null);
  const c = axis(["sgd", "adam", undefined, true]);
  assert.equal(c.kind, "cat"); assert.deepEqual(c.cats, ["adam", "sgd", "true"]); assert.equal(c.pos("sgd"), 1); assert.equal(c.pos(undefined), null);
});

test("scatterData: a param against a metric", () => {
  const d = scatterData(runs, "params.lr", "metrics.loss");
  assert.deepEqual(d.points, [{ id: "a", x: 0.1, y: 0.5 }, { id: "b", x: 0.01, y: 0.2 }]);
  assert.deepEqual(d.missing, ["c"]);
  const c = scatterData(runs, "params.opt", "metrics.loss");
  assert.deepEqual(c.points, [{ id: "a", x: 0, y: 0.5 }, { id: "b", x: 1, y: 0.2 }]);
  assert.deepEqual(c.x.cats, ["adam", "sgd"]);
});

test("parcoordsData: scaled to [0, 1], gaps null", () => {
  const d = parcoordsData(runs, ["params.lr", "params.opt", "metrics.loss"]);
  assert.deepEqual(d.axes.map((a) => a.dim), ["params.lr", "params.opt", "metrics.loss"]);
  assert.deepEqual(d.lines.map((l) => l.id), ["a", "b", "c"]);
  assert.ok(close(d.lines[0].ys, [1, 0, 1]));
  assert.ok(close(d.lines[1].ys, [(0.01 - 0.001) / (0.1 - 0.001), 1, 0]));
  assert.deepEqual(d.lines[2].ys, [0, null, null]);
  const one = parcoordsData([runs[0]], ["params.lr"]);
  assert.deepEqual(one.lines[0].ys, [0.5], "a constant axis sits in the middle");
});

test("fmtTick", () => {
  for (const [v, want] of [[0, "0"], [0.00025, "2.5e-4"], [0.12345, "0.1235"], [42, "42"], [9999, "9999"], [25944064, "25.9M"], [12500, "12.5k"], [-3.2e9, "-3.2G"], [NaN, ""]]) {
    assert.equal(fmtTick(v), want, String(v));
  }
});
