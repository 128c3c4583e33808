// Run with: node --test syncstruct/web/
//
// The browser replica fed each recorded SiPyCo sync_struct session
// (../testdata/sipyco_sync_struct.jsonl, the byte-exact recording of a real
// SiPyCo Publisher): after every case, each connection's replica must
// equal the one SiPyCo's own Subscriber had
// (../testdata/sipyco_sync_struct_replicas.jsonl). Go's
// TestSiPyCoReplaySubscriber replays the same sessions into the Go
// Subscriber; docs/sipyco.md describes both.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { apply, decode, equal } from "./replica.js";

// DIVERGENT lists the recorded cases ("session/case") the browser replica
// cannot match by nature, with the reason. Every other case must match,
// and a listed case that matches fails (the entry is stale). JavaScript
// numbers do not tell 1.0 from 1 or -0.0 from 0: numbers compare by value,
// as the recording's README allows; integers beyond 2^53 are BigInts here.
const DIVERGENT = {};

function readJSONL(name) {
  let text;
  try {
    text = readFileSync(new URL(`../testdata/${name}`, import.meta.url), "utf8");
  } catch (e) {
    throw new Error(`recording missing (copy it from ../shared/sipyco-wire/): ${e.message}`);
  }
  const out = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  if (out.length === 0) throw new Error(`${name} is empty`);
  return out;
}

// parsePYON parses one line of PYON v2 as SiPyCo writes it: JSON plus the
// bare tokens NaN, Infinity and -Infinity, with integers of any size
// (BigInt beyond Number's exact range).
export function parsePYON(text) {
  let i = 0;
  const ws = () => { while (i < text.length && " \t\r\n".includes(text[i])) i++; };
  const fail = (what) => { throw new SyntaxError(`PYON: ${what} at ${i} in ${text.slice(0, 120)}`); };
  const lit = (word, v) => { if (text.startsWith(word, i)) { i += word.length; return v; } return fail(`bad token`); };
  const num = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  function value() {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o = {};
      ws();
      if (text[i] === "}") { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a key");
        const k = str();
        ws();
        if (text[i++] !== ":") fail("':'");
        Object.defineProperty(o, k, { value: value(), writable: true, enumerable: true, configurable: true });
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] === "}") return o;
        fail("',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a = [];
      ws();
      if (text[i] === "]") { i++; return a; }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i++] === "]") return a;
        fail("',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === "t") return lit("true", true);
    if (c === "f") return lit("false", false);
    if (c === "n") return lit("null", null);
    if (c === "N") return lit("NaN", NaN);
    if (c === "I") return lit("Infinity", Infinity);
    if (c === "-" && text[i + 1] === "I") return lit("-Infinity", -Infinity);
    num.lastIndex = i;
    const m = num.exec(text);
    if (!m) fail("a value");
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }
  function str() {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail("an unterminated string");
    i++;
    return JSON.parse(text.slice(start, i));
  }
  const v = value();
  ws();
  if (i !== text.length) fail("trailing data");
  return v;
}

// modOf turns a parsed SiPyCo mod line into what apply takes.
function modOf(raw) {
  const m = { ...raw, path: decode(raw.path) };
  for (const f of ["key", "value", "x", "i"]) if (raw[f] !== undefined) m[f] = decode(raw[f]);
  return m;
}

const chunks = readJSONL("sipyco_sync_struct.jsonl");
const replicas = readJSONL("sipyco_sync_struct_replicas.jsonl");

// Sessions in the order they began, cases in the order they began.
const sessions = new Map();
for (const c of chunks) {
  if (!sessions.has(c.session)) sessions.set(c.session, new Map());
  const cases = sessions.get(c.session);
  if (!cases.has(c.case)) cases.set(c.case, []);
  cases.get(c.case).push(c);
}

const outcome = new Map(); // "session/case" → true (matched) or an Error
for (const [session, cases] of sessions) {
  test(`SiPyCo recording: ${session}`, () => {
    const trees = new Map(); // by conn
    const pending = new Map(); // by conn: the part of a line not yet ended
    for (const [cs, list] of cases) {
      const key = `${session}/${cs}`;
      try {
        for (const ch of list) {
          if (ch.dir !== "server" || ch.eof) continue;
          if (ch.data === undefined) throw new Error(`a server chunk that is not text (${key})`);
          const lines = ((pending.get(ch.conn) || "") + ch.data).split("\n");
          pending.set(ch.conn, lines.pop());
          for (const line of lines) {
            const raw = parsePYON(line);
            if (raw.action === "init") trees.set(ch.conn, decode(raw.struct));
            else {
              assert.ok(trees.has(ch.conn), `conn ${ch.conn}: a ${raw.action} before the init`);
              trees.set(ch.conn, apply(trees.get(ch.conn), modOf(raw)));
            }
          }
        }
        for (const r of replicas) {
          if (r.session !== session || r.case !== cs) continue;
          const want = decode(parsePYON(r.replica));
          const got = trees.get(r.conn);
          assert.ok(equal(got, want), `conn ${r.conn}: replica differs from SiPyCo's`);
        }
        outcome.set(key, true);
      } catch (e) {
        outcome.set(key, e);
        if (!(key in DIVERGENT)) throw new Error(`${key}: ${e.message}`, { cause: e });
      }
    }
    for (const [conn, rest] of pending) assert.equal(rest, "", `conn ${conn}: the stream ends inside a line`);
  });
}

test("SiPyCo recording: every case replayed to a match or in DIVERGENT", (t) => {
  const problems = [];
  for (const [session, cases] of sessions) {
    for (const cs of cases.keys()) {
      const key = `${session}/${cs}`;
      const ok = outcome.get(key) === true;
      if (ok && key in DIVERGENT) problems.push(`${key} matches: remove it from DIVERGENT (${DIVERGENT[key]})`);
      if (!ok && !(key in DIVERGENT)) problems.push(`${key} did not match: ${outcome.get(key)}`);
    }
  }
  for (const key of Object.keys(DIVERGENT)) if (!outcome.has(key)) problems.push(`DIVERGENT entry ${key} is not a recorded case`);
  assert.deepEqual(problems, []);
  const n = [...outcome.values()].filter((v) => v === true).length;
  assert.ok(n > 0);
  t.diagnostic(`${outcome.size} recorded cases: ${n} matched, ${Object.keys(DIVERGENT).length} in DIVERGENT`);
});

test("parsePYON reads SiPyCo's tokens", () => {
  const v = parsePYON('{"a":[NaN,Infinity,-Infinity,-0.0,1e+16,9223372036854775807,"\\u2028x\\"",{"__proto__":1}]}');
  assert.ok(Number.isNaN(v.a[0]));
  assert.equal(v.a[1], Infinity);
  assert.equal(v.a[2], -Infinity);
  assert.ok(Object.is(v.a[3], -0));
  assert.equal(v.a[4], 1e16);
  assert.equal(v.a[5], 9223372036854775807n);
  assert.equal(v.a[6], "\u2028x\"");
  assert.equal(Object.getPrototypeOf(v.a[7]), Object.prototype);
  assert.equal(v.a[7].__proto__, 1);
  assert.throws(() => parsePYON("[1,]"), SyntaxError);
  assert.throws(() => parsePYON("[1] 2"), SyntaxError);
});

// The same sessions as a browser gets them from a Go Publisher: each
// recorded line re-encoded in the JSON WebSocket encoding, and each
// recorded replica encoded the same way
// (../testdata/replica/sipyco_json_sessions.json, written by Go's
// TestSiPyCoJSONFixture). Strict JSON carries no NaN or infinity (null on
// both sides) and JavaScript numbers hold integers exactly only below
// 2^53: those are the JSON encoding's limits, the same in the replica and
// in what it is compared with, so every case must match.
const jsonSessions = JSON.parse(readFileSync(new URL("../testdata/replica/sipyco_json_sessions.json", import.meta.url)));
for (const s of jsonSessions) {
  test(`SiPyCo recording through Go's JSON encoding: ${s.session}`, () => {
    assert.equal(s.cases.join(), [...sessions.get(s.session).keys()].join(), "the fixture is of another recording");
    const trees = new Map();
    let compared = 0;
    for (const cs of s.cases) {
      for (const st of s.steps) {
        if (st.case !== cs) continue;
        if (st.msg.action === "init") trees.set(st.conn, decode(st.msg.struct));
        else trees.set(st.conn, apply(trees.get(st.conn), modOf(st.msg)));
      }
      for (const r of s.replicas) {
        if (r.case !== cs) continue;
        assert.ok(equal(trees.get(r.conn), decode(r.want.struct)), `${cs}: conn ${r.conn}: replica differs`);
        compared++;
      }
    }
    assert.equal(compared, replicas.filter((r) => r.session === s.session).length);
  });
}
assert.equal(jsonSessions.length, sessions.size, "the JSON fixture has every recorded session");
