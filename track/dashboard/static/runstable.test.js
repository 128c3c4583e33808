// Tests of runstable.js: node --test track/dashboard/static/
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  tableState, tableParams, addColumn, removeColumn, moveColumn, nextSort, sortDir, pageInfo, runQuery, downloadURL,
  columnChoices, columnLabel, validColumn, grouped, queryFilter, toggleOpen, childQuery, childCount, childSummary, openSummary, CHILD_PAGE,
} from "./runstable.js";
import { parseHash, buildHash } from "./format.js";

test("tableState defaults", () => {
  assert.deepEqual(tableState({}), { filter: "", sort: "-start", cols: [], offset: 0, limit: 100, archived: false, flat: false, open: {} });
  assert.deepEqual(tableParams(tableState({})), { f: "", sort: "", cols: "", off: "", n: "", arch: "", flat: "", open: "" });
});

test("table state survives the URL", () => {
  const s = { filter: 'metrics.loss < 0.1 and name ~ "a&b"', sort: "-params.lr", cols: ["params.lr", "metrics.loss", "params.a,b", "metrics.x y"], offset: 200, limit: 50, archived: true, flat: true, open: { "sweep-1": 0, "0190a1b2-c3d4": 40 } };
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
  const s = { filter: "tags.best", sort: "name", cols: ["params.a&b", "metrics.loss"], offset: 100, limit: 50, flat: true };
  assert.deepEqual(runQuery(s), { filter: "tags.best", sort: "name", columns: ["params.a&b", "metrics.loss"], offset: 100, limit: 50 });
  assert.equal(downloadURL(s, "csv"), "/runs.csv?filter=tags.best&sort=name&col=params.a%26b&col=metrics.loss");
  assert.equal(downloadURL({ filter: "", sort: "", cols: [], flat: true }, "json"), "/runs.json");
  const a = { ...s, archived: true };
  assert.equal(runQuery(a).filter, "archived and (tags.best)");
  assert.equal(runQuery({ ...a, filter: "" }).filter, "archived");
  assert.ok(downloadURL(a, "csv").startsWith("/runs.csv?filter=archived+and+%28tags.best%29&"));
});

test("sweeps grouped under their parent run", () => {
  const s = tableState({});
  assert.equal(grouped(s), true);
  assert.equal(queryFilter(s), 'parent = ""'); // the top level only
  assert.equal(queryFilter({ ...s, filter: "metrics.loss < 1 or tags.best" }), 'parent = "" and (metrics.loss < 1 or tags.best)');
  // flat, the archived view, or a filter naming parent: every run selected, no grouping
  for (const t of [{ ...s, flat: true }, { ...s, filter: 'parent = "abc"' }]) {
    assert.equal(grouped(t), false);
    assert.equal(queryFilter(t), t.filter);
  }
  assert.equal(grouped({ ...s, archived: true }), false);
  assert.equal(queryFilter({ ...s, archived: true }), "archived");
  assert.equal(runQuery(s).filter, 'parent = ""');
  assert.match(downloadURL(s, "csv"), /filter=parent\+%3D\+%22%22/);
});

test("expanding a parent run: URL state, child pages", () => {
  let open = toggleOpen({}, "sweep-1");
  assert.deepEqual(open, { "sweep-1": 0 });
  open = { ...open, "sweep-2": 20 };
  const p = tableParams({ ...tableState({}), open });
  assert.equal(p.open, "sweep-1,sweep-2@20");
  assert.deepEqual(tableState({ open: p.open }).open, open);
  assert.deepEqual(toggleOpen(open, "sweep-1"), { "sweep-2": 20 });
  // hostile or odd entries are dropped; offsets align on the child page
  assert.deepEqual(tableState({ open: '../x,a"b,ok@-3,ok2@25,ok,' }).open, { ok: 0, ok2: 20 });
  assert.deepEqual(childQuery({ ...tableState({}), cols: ["params.lr"], sort: "name" }, "sweep-1", 20),
    { filter: 'parent = "sweep-1"', sort: "name", columns: ["params.lr"], offset: 20, limit: CHILD_PAGE });
});

test("children counted by status", () => {
  assert.equal(childCount(null), 0);
  assert.equal(childSummary(null), "");
  assert.equal(childSummary({}), "");
  assert.equal(childCount({ running: 1, finished: 2, crashed: 1 }), 4);
  assert.equal(childSummary({ crashed: 1, finished: 2, running: 1 }), "4 runs: 1 running, 2 finished, 1 crashed");
  assert.equal(childSummary({ failed: 1 }), "1 run: 1 failed");
});

test("openSummary: the server's exact open-run counts", () => {
  assert.equal(openSummary(undefined), "");
  assert.equal(openSummary({ open: 0, by_status: {} }), "0 open runs");
  assert.equal(openSummary({ open: 3, by_status: { crashed: 1, running: 2 } }), "3 open runs: 2 running, 1 crashed");
  assert.equal(openSummary({ open: 1, by_status: { running: 1 } }), "1 open run: 1 running");
});
