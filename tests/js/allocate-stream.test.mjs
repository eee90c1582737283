// allocateStream and focusExportStream against the packed package: the chunks, concatenated, are
// allocate()'s lines / events / FOCUS rows and focusExport's text; totals conserve to the
// micro-unit; chunks have the asked size; `break` closes the stream (later use is a typed
// error); the summary comes only at the end; the iterator protocol holds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { installedPackage } from "./helpers.mjs";
import { allocationLines, allocationRules } from "../../bench/alloc-data.mjs";

const pkg = await installedPackage();
const lib = await pkg.import("dps-cost");
const { allocate, allocateStream, focusExport, focusExportStream, isDpsCostError } = lib;

const input = (n, rules, output) => ({ lines: allocationLines(n), rules: allocationRules(rules), ...(output ? { output } : {}) });

/** Every chunk of a stream, and what `next()` says at the end. */
function drain(stream) {
  const chunks = [];
  for (;;) {
    const r = stream.next();
    if (r.done) return { chunks, end: r };
    chunks.push(r.value);
  }
}

describe("allocateStream", () => {
  test("chunks concatenated are allocate(): lines, events, FOCUS rows, summary", () => {
    const i = input(1500, 20, { events: true, focus: true });
    const whole = allocate(i);
    for (const chunkLines of [1, 997, 100_000]) {
      const s = allocateStream(i, { chunkLines });
      const { chunks, end } = drain(s);
      assert.deepEqual(chunks.flatMap((c) => c.lines), whole.lines, `chunkLines ${chunkLines}`);
      assert.deepEqual(chunks.flatMap((c) => c.events), whole.events);
      assert.deepEqual(chunks.flatMap((c) => c.focus), whole.focus);
      // Every chunk but the last has exactly chunkLines lines.
      for (const c of chunks.slice(0, -1)) assert.equal(c.lines.length, chunkLines);
      assert.ok(chunks.at(-1).lines.length >= 1 && chunks.at(-1).lines.length <= chunkLines);
      assert.equal(chunks.length, Math.ceil(whole.lines.length / chunkLines));
      const { lines: _, events: _e, focus: _f, ...summary } = whole;
      assert.deepEqual(end.value, summary);
      assert.deepEqual(s.summary(), summary);
      assert.equal(s.done, true);
      // After the end: still done (iterator protocol), the same summary.
      assert.deepEqual(s.next(), { done: true, value: summary });
      s.free();
    }
  });

  test("lines only (the fast paths: input read by the JS reader, chunks built from numbers) equal allocate()'s objects, key order included", () => {
    const i = input(3000, 20);
    const whole = allocate(i);
    for (const chunkLines of [1, 777, 100_000]) {
      const lines = [...allocateStream(i, { chunkLines })].flatMap((c) => c.lines);
      assert.equal(JSON.stringify(lines), JSON.stringify(whole.lines), `chunkLines ${chunkLines}`);
      assert.deepEqual(lines, whole.lines);
    }
    // The same with a line the reader does not take (a numeric tag value): that chunk crosses
    // as JSON text, with the same error as before; and lines the reader does take whose tags
    // need care: `__proto__` (an own key, as JSON.parse makes it), integer-like keys, quotes,
    // non-ASCII, −0, an id of null.
    const odd = [
      { date: "2025-01-10", cost: -0, currency: "EUR", tags: JSON.parse('{"provider":"dynatrace","__proto__":"p","10":"n","q\\"k":"ä😀","capability":"cap-00"}') },
      { id: null, date: "2025-01-11", cost: 2.5, currency: "EUR", tags: { provider: "dynatrace", capability: "cap-01", costcenter: "cc-01" } },
    ];
    const oddInput = { lines: [...odd, ...allocationLines(200)], rules: allocationRules(5) };
    const a = allocate(oddInput).lines;
    const b = [...allocateStream(oddInput, { chunkLines: 7 })].flatMap((c) => c.lines);
    assert.equal(JSON.stringify(b), JSON.stringify(a));
    assert.ok(Object.hasOwn(b[0].tags, "__proto__") && Object.getPrototypeOf(b[0].tags) === Object.prototype);
    const bad = { lines: [...allocationLines(10), { date: "2025-01-10", cost: 1, currency: "EUR", tags: { team: 5 } }], rules: allocationRules(2) };
    const errA = (() => { try { allocate(bad); } catch (e) { return [e.code, e.field]; } })();
    const errB = (() => { try { allocateStream(bad); } catch (e) { return [e.code, e.field]; } })();
    assert.deepEqual(errB, errA);
    assert.equal(errA?.[1], "lines[10].tags.team");
  });

  test("without output options a chunk holds lines only", () => {
    const s = allocateStream(input(50, 5), { chunkLines: 40 });
    const first = s.next().value;
    assert.deepEqual(Object.keys(first), ["lines"]);
    assert.equal(first.lines.length, 40);
    s.free();
  });

  test("totals conserve to the micro-unit (for…of, default chunk size)", () => {
    const i = input(4000, 20);
    const inMicros = {};
    for (const l of i.lines) inMicros[l.currency] = (inMicros[l.currency] ?? 0) + Math.round(l.cost * 1e6);
    const outMicros = {};
    const s = allocateStream(i);
    let n = 0;
    let chunks = 0;
    for (const chunk of s) {
      chunks++;
      for (const l of chunk.lines) {
        outMicros[l.currency] = (outMicros[l.currency] ?? 0) + l.costMicros;
        n++;
      }
    }
    assert.ok(n > i.lines.length, "rules split lines");
    assert.equal(chunks, Math.ceil(n / 10_000));
    assert.deepEqual(outMicros, inMicros);
    const { totals } = s.summary();
    for (const [c, m] of Object.entries(inMicros)) assert.deepEqual(totals[c], { inputMicros: m, outputMicros: m });
    s.free();
  });

  test("break closes the stream: later use is a typed error, free() still works", () => {
    const s = allocateStream(input(300, 20), { chunkLines: 10 });
    let seen = 0;
    for (const chunk of s) {
      seen += chunk.lines.length;
      if (seen >= 20) break;
    }
    assert.equal(seen, 20);
    assert.equal(s.done, false);
    for (const use of [() => s.next(), () => s.summary()]) {
      assert.throws(use, (e) => isDpsCostError(e) && e.code === "INVALID_INPUT" && e.field === "stream");
    }
    assert.deepEqual(s.return(), { done: true, value: undefined });
    s.free();
  });

  test("it is its own iterator; spreading and Array.from drain it", () => {
    const i = input(120, 5);
    const whole = allocate(i);
    const s = allocateStream(i, { chunkLines: 50 });
    assert.equal(s[Symbol.iterator](), s);
    assert.deepEqual(Array.from(s).flatMap((c) => c.lines), whole.lines);
    assert.deepEqual([...allocateStream(i, { chunkLines: 7 })].flatMap((c) => c.lines), whole.lines);
  });

  test("summary() before the end is a typed error; input errors come at the call", () => {
    const s = allocateStream(input(30, 3), { chunkLines: 5 });
    s.next();
    assert.throws(() => s.summary(), (e) => isDpsCostError(e) && e.field === "stream");
    s.free();
    const bad = input(3, 1);
    bad.lines[2].cost = NaN;
    assert.throws(() => allocateStream(bad), (e) => isDpsCostError(e) && e.code === "INVALID_INPUT" && e.field === "lines[2].cost");
    assert.throws(() => allocate(bad), (e) => isDpsCostError(e) && e.code === "INVALID_INPUT" && e.field === "lines[2].cost");
  });

  test("no lines: one end, the summary", () => {
    const s = allocateStream({ lines: [], rules: allocationRules(2) });
    const { chunks, end } = drain(s);
    assert.equal(chunks.length, 0);
    assert.deepEqual(end.value.totals, {});
    assert.equal(end.value.rules.length, 2);
    s.free();
  });
});

describe("focusExportStream", () => {
  for (const format of ["focus", "focus-json", "csv", "json"]) {
    for (const rules of [0, 20]) {
      test(`${format}, ${rules} rules: chunks concatenated are focusExport's text`, () => {
        const i = { lines: allocationLines(700), format, ...(rules ? { rules: allocationRules(rules) } : {}) };
        const whole = focusExport(i);
        const s = focusExportStream(i, { chunkRows: 333 });
        assert.equal(s.format, whole.format);
        assert.deepEqual(s.columns, whole.columns);
        const parts = [...s];
        assert.equal(parts.join(""), whole.text);
        assert.equal(s.rows, whole.rows);
        assert.equal(parts.length, Math.max(1, Math.ceil(whole.rows / 333)));
        if (format === "focus" || format === "csv") {
          // The header once, at the start; every chunk ends a row.
          assert.ok(parts[0].startsWith(`${whole.columns.join(",")}\r\n`));
          assert.equal(parts.filter((p) => p.includes(whole.columns.join(","))).length, 1);
          for (const p of parts) assert.ok(p.endsWith("\r\n"));
        } else {
          assert.equal(JSON.parse(parts.join("")).length, whole.rows);
        }
        assert.equal(s.done, true);
        assert.deepEqual(s.next(), { done: true, value: undefined });
        s.free();
      });
    }
  }

  test("break closes it; the rows so far stay readable", () => {
    const s = focusExportStream({ lines: allocationLines(100), rules: allocationRules(20) }, { chunkRows: 10 });
    for (const _ of s) break;
    assert.equal(s.rows, 10);
    assert.throws(() => s.next(), (e) => isDpsCostError(e) && e.code === "INVALID_INPUT" && e.field === "stream");
    s.free();
  });

  test("no lines: the header alone (CSV), [] (JSON)", () => {
    assert.deepEqual([...focusExportStream({ lines: [], format: "json" })], ["[]"]);
    const csv = [...focusExportStream({ lines: [] })];
    assert.equal(csv.length, 1);
    assert.equal(csv[0], focusExport({ lines: [] }).text);
  });
});
