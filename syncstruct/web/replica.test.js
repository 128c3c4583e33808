// Run with: node --test syncstruct/web/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { apply, decode, equal, ModError, Replica } from "./replica.js";

const cases = JSON.parse(readFileSync(new URL("../testdata/replica/cases.json", import.meta.url)));

// The same mod sequences Go's TestReplicaCases applies with Apply.
for (const c of cases) {
  test(`replica case: ${c.name}`, () => {
    let tree = decode(c.init);
    let failed = null;
    for (const raw of c.mods) {
      const m = { ...raw, path: decode(raw.path) };
      for (const f of ["key", "value", "x", "i"]) if (raw[f] !== undefined) m[f] = decode(raw[f]);
      try {
        tree = apply(tree, m);
      } catch (e) {
        failed = e;
        break;
      }
    }
    if (c.error) assert.ok(failed instanceof ModError, `want a ModError, got ${failed}`);
    else assert.equal(failed, null);
    assert.ok(equal(tree, decode(c.want)), `tree ${JSON.stringify(tree)}\nwant ${JSON.stringify(c.want)}`);
  });
}

// Mods exactly as the Publisher's JSON encoding writes them (Go's
// TestJSONDictPopCarriesKey writes the file): a dict pop's key is in "i".
const jsonMods = JSON.parse(readFileSync(new URL("../testdata/replica/json_mods.json", import.meta.url)));
for (const c of jsonMods) {
  test(`Go JSON mods: ${c.name}`, () => {
    let tree = decode(c.init.struct);
    for (const raw of c.mods) {
      const m = { ...raw, path: decode(raw.path) };
      for (const f of ["key", "value", "x", "i"]) if (raw[f] !== undefined) m[f] = decode(raw[f]);
      tree = apply(tree, m);
    }
    assert.ok(equal(tree, decode(c.want.struct)), `tree ${JSON.stringify(tree)}\nwant ${JSON.stringify(c.want.struct)}`);
  });
}

// FakeWS is a WebSocket the test plays the publisher through.
class FakeWS {
  static all = [];
  constructor(url) { this.url = url; this.sent = []; this.closed = false; FakeWS.all.push(this); setTimeout(() => this.onopen && this.onopen(), 0); }
  send(s) { if (this.closed) throw new Error("closed"); this.sent.push(JSON.parse(s)); }
  close() { if (!this.closed) { this.closed = true; setTimeout(() => this.onclose && this.onclose({ code: 1000 }), 0); } }
  recv(m) { this.onmessage({ data: JSON.stringify(m) }); }
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what) {
  for (let i = 0; i < 400 && !cond(); i++) await tick(5);
  assert.ok(cond(), `timed out waiting for ${what}`);
}

test("replica subscribes, resumes with epoch and seq, pings, reconnects", async () => {
  FakeWS.all = [];
  const states = [];
  const r = new Replica("ws://x/sync", "state", { WebSocket: FakeWS, minBackoffMs: 1, maxBackoffMs: 5, onState: (s) => states.push(s) });
  try {
    await until(() => FakeWS.all.length === 1 && FakeWS.all[0].sent.length === 1, "subscribe");
    const ws = FakeWS.all[0];
    assert.deepEqual(ws.sent[0], { t: "subscribe", notifier: "state", epoch: 0, seq: 0 });
    ws.recv({ t: "sync", epoch: 7, seq: 3, mode: "snapshot", reason: "new", heartbeat_ms: 20 });
    ws.recv({ action: "init", struct: { l: [1] }, seq: 3 });
    ws.recv({ t: "synced", seq: 3 });
    assert.equal(r.state, "live");
    ws.recv({ action: "append", path: ["l"], x: 2, seq: 4 });
    assert.deepEqual(r.tree, { l: [1, 2] });
    await until(() => ws.sent.some((m) => m.t === "ping"), "a heartbeat");
    ws.close(); // the connection is lost
    await until(() => FakeWS.all.length === 2 && FakeWS.all[1].sent.length === 1, "resubscribe");
    assert.ok(states.includes("reconnecting"), `states ${states}`);
    const ws2 = FakeWS.all[1];
    assert.deepEqual(ws2.sent[0], { t: "subscribe", notifier: "state", epoch: 7, seq: 4 });
    ws2.recv({ t: "sync", epoch: 7, seq: 4, mode: "resume", reason: "", heartbeat_ms: 20 });
    ws2.recv({ action: "setitem", path: [], key: "k", value: 1, seq: 5 });
    ws2.recv({ t: "synced", seq: 5 });
    assert.equal(r.state, "live");
    assert.deepEqual(r.tree, { l: [1, 2], k: 1 });
    // A gap: the replica drops the connection and asks for a snapshot.
    ws2.recv({ action: "setitem", path: [], key: "k", value: 2, seq: 9 });
    await until(() => FakeWS.all.length === 3 && FakeWS.all[2].sent.length === 1, "resubscribe after a gap");
    assert.equal(FakeWS.all[2].sent[0].epoch, 0);
    // A silent publisher: dropped after 3 heartbeat intervals.
    const ws3 = FakeWS.all[2];
    ws3.recv({ t: "sync", epoch: 8, seq: 0, mode: "snapshot", reason: "new", heartbeat_ms: 10 });
    ws3.recv({ action: "init", struct: {}, seq: 0 });
    ws3.recv({ t: "synced", seq: 0 });
    await until(() => FakeWS.all.length === 4, "a reconnection after silence");
  } finally {
    r.close();
  }
  assert.equal(r.state, "closed");
});

// Several messages in one WebSocket message (a JSON array, as the
// publisher sends the mods it finds queued): applied in order, exactly as
// if they had come one by one; single messages stay readable.
test("replica applies batches of messages", async () => {
  FakeWS.all = [];
  const changes = [];
  const r = new Replica("ws://x/sync", "state", { WebSocket: FakeWS, minBackoffMs: 1, maxBackoffMs: 5, onChange: (t, m) => changes.push(m.seq) });
  try {
    await until(() => FakeWS.all.length === 1 && FakeWS.all[0].sent.length === 1, "subscribe");
    const ws = FakeWS.all[0];
    ws.recv([
      { t: "sync", epoch: 3, seq: 1, mode: "snapshot", reason: "new", heartbeat_ms: 1000 },
      { action: "init", struct: { l: [] }, seq: 1 },
      { t: "synced", seq: 1 },
    ]);
    assert.equal(r.state, "live");
    ws.recv([
      { action: "append", path: ["l"], x: 1, seq: 2 },
      { action: "append", path: ["l"], x: 2, seq: 3 },
      { action: "setitem", path: [], key: "k", value: { __jsonclass__: ["tuple", [[1, 2]]] }, seq: 4 },
    ]);
    ws.recv({ action: "pop", path: ["l"], i: 0, seq: 5 }); // a single message, as before
    ws.recv([]); // an empty batch means nothing
    assert.deepEqual(r.tree.l, [2]);
    assert.deepEqual(changes, [1, 2, 3, 4, 5]);
    assert.equal(r.seq, 5);
    // A gap inside a batch: the mods before it are applied, the rest not,
    // and the replica reconnects asking for a snapshot.
    ws.recv([
      { action: "append", path: ["l"], x: 3, seq: 6 },
      { action: "append", path: ["l"], x: 4, seq: 8 },
      { action: "append", path: ["l"], x: 5, seq: 9 },
    ]);
    assert.deepEqual(r.tree.l, [2, 3]);
    await until(() => FakeWS.all.length === 2 && FakeWS.all[1].sent.length === 1, "resubscribe after a gap in a batch");
    assert.equal(FakeWS.all[1].sent[0].epoch, 0);
    // A batch inside a batch is refused.
    const ws2 = FakeWS.all[1];
    ws2.recv({ t: "sync", epoch: 4, seq: 0, mode: "snapshot", reason: "new", heartbeat_ms: 1000 });
    ws2.recv([[{ action: "init", struct: {}, seq: 0 }]]);
    await until(() => FakeWS.all.length === 3, "a reconnection after a nested batch");
  } finally {
    r.close();
  }
});
