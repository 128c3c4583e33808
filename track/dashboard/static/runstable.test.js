// Tests of runstable.js: node --test track/dashboard/static/
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  tableState, tableParams, addColumn, removeColumn, moveColumn, nextSort, sortDir, pageInfo, runQuery, downloadURL,
  columnChoices, columnLabel, validColumn,
} from "./runstable.js";
import { parseHash, buildHash } from "./format.js";

test("tableState defaults", () => {
  assert.deepEqual(tableState({}), { filter: "", sort: "-start", cols: [], offset: 0, limit: 100, archived: false });
  assert.deepEqual(tableParams(tableState({})), { f: "", sort: "", cols: "", off: "", n: "", arch: "" });
});

test("table state survives the URL", () => {
  const s = { filter: 'metrics.loss < 0.1 and name ~ "a&b"', sort: "-params.lr", cols: ["params.lr", "metrics.loss", "params.a,b", "metrics.x y"], offset: 200, limit: 50, archived: true };
  const hash = buildHash("runs", "", tableParams(s));
  const { view, params } = parseHash(hash);
  assert.equal(view, "runs");
  assert.deepEqual(tableState(params), s);
});

test("tableState refuses what is not a column or a page", () => {
  const s = tableState({ cols: "params.a,bogus,name,params.a,%E0%A4%A,metrics.b", off: "-5", n: "7" });
  assert.deepEqual(s.cols, ["params.a", "metrics.b"]);
  assert.equal(s.offset, 0);
  assert.equal(s.limit, 100);
  assert.equal(tableState({ off: "250", n: "100" }).offset, 200); // aligned on the page
});

test("column choice", () => {
  let cols = [];
  cols = addColumn(cols, " params.lr ");
  cols = addColumn(cols, "metrics.loss");
  cols = addColumn(cols, "params.lr");
  cols = addColumn(cols, "loss");
  assert.deepEqual(cols, ["params.lr", "metrics.loss"]);
  assert.deepEqual(moveColumn(cols, "metrics.loss", -1), ["metrics.loss", "params.lr"]);
  assert.deepEqual(moveColumn(cols, "metrics.loss", 1), cols);
  assert.deepEqual(removeColumn(cols, "params.lr"), ["metrics.loss"]);
  assert.ok(!validColumn("tags.x"));
  assert.ok(validColumn("params.a b.c"));
  assert.equal(columnLabel("params.lr", ["params.lr", "metrics.lr"]), "p:lr");
  assert.equal(columnLabel("metrics.loss", ["metrics.loss"]), "loss");
});

test("columnChoices", () => {
  const runs = [{ latest: { loss: {}, acc: {} }, params: { lr: 1 } }, { latest: { loss: {} } }, null];
  assert.deepEqual(columnChoices(runs, ["metrics.acc"]), ["metrics.loss", "params.lr"]);
});

test("sorting by header clicks", () => {
  assert.equal(nextSort("-start", "params.lr"), "params.lr");
  assert.equal(nextSort("params.lr", "params.lr"), "-params.lr");
  assert.equal(nextSort("-params.lr", "params.lr"), "params.lr");
  assert.equal(sortDir("-start", "start"), "desc");
  assert.equal(sortDir("start", "start"), "asc");
  assert.equal(sortDir("start", "name"), "");
});

test("pageInfo", () => {
  assert.deepEqual(pageInfo(250, 0, 100, 100), { text: "1–100 of 250", prev: null, next: 100, lastOffset: 200 });
  assert.deepEqual(pageInfo(250, 200, 100, 50), { text: "201–250 of 250", prev: 100, next: null, lastOffset: 200 });
  assert.deepEqual(pageInfo(0, 0, 100, 0), { text: "no runs", prev: null, next: null, lastOffset: 0 });
  assert.deepEqual(pageInfo(100, 0, 100, 100).next, null);
});

test("query and download follow the state", () => {
  const s = { filter: "tags.best", sort: "name", cols: ["params.a&b", "metrics.loss"], offset: 100, limit: 50 };
  assert.deepEqual(runQuery(s), { filter: "tags.best", sort: "name", columns: ["params.a&b", "metrics.loss"], offset: 100, limit: 50 });
  assert.equal(downloadURL(s, "csv"), "/runs.csv?filter=tags.best&sort=name&col=params.a%26b&col=metrics.loss");
  assert.equal(downloadURL({ filter: "", sort: "", cols: [] }, "json"), "/runs.json");
  const a = { ...s, archived: true };
  assert.equal(runQuery(a).filter, "archived and (tags.best)");
  assert.equal(runQuery({ ...a, filter: "" }).filter, "archived");
  assert.ok(downloadURL(a, "csv").startsWith("/runs.csv?filter=archived+and+%28tags.best%29&"));
});
