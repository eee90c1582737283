// Size budget of what a Workflow user pastes and what `dps-cost/inline` ships (issue 7, part 3).
//
// The target is 250 KB raw / 100 KB gzip for the inline file. BUDGET below is what the build
// reaches today plus a little headroom (see the "Size" section of BENCHMARKS.md for the
// measured table and what the remaining bytes are); lower it when the module shrinks, never
// raise it without a measured reason. The Workflow file meets the raw target, so its raw budget
// is the target itself. inline.js met it (246.4 KB) until numbers were read correctly rounded
// (issue 14: serde_json's float_roundtrip, +9.6 KB raw / +7.2 KB gzip, measured A/B in
// BENCHMARKS.md "Size"): exact money first. Measured after issues 14, 16 (run event, deadline,
// loop mode) and 19 (reconciliation): inline.js 260.0 / 186.9 KB, the Workflow file 205.3 /
// 144.7 KB. The architecture issue (15) then added, measured A/B in BENCHMARKS.md "Issue 15":
// the workspace split (fewer small functions inlined across crate boundaries), the protocol
// module (the retry decision as a value, the Batcher's learned limit), and loop shards of
// families: inline.js 269.3 / 193.9 KB, the Workflow file 213.7 / 151.4 KB; budgets 271 / 195
// and 250 / 153 until the payload decoders and the sync state machine are rewritten.
// Issue 18 (items 2–3) put the allocation engine into the Workflow module (`sync`'s `allocation`
// option, wasm feature `rules`): the Workflow file 214.2 / 151.8 → 299.6 / 214.7 KB (inline.js
// 269.9 / 194.3 → 270.1 / 194.5: the engine is not in it). That misses the 250 KB raw target by
// 50 KB: the engine, its rule model's deserializers and their generic instances (BTreeMap,
// sort; already compiled once each, allocate/order.rs: −10.5 KB base64) are ~80 KB of the
// module's base64 (BENCHMARKS.md "Chargeback in one Workflow task"). Budget: that plus 2 KB.
// Issue 17 item 4 (FOCUS delivery from the Workflow: sync's `export` option, cargo feature
// `delivery`, in the Workflow module only) measured the Workflow file 214,202 → 271,939 B raw,
// 151,778 → 192,838 B gzip: the export's fetch path, cost lines, FOCUS rows and the commitment
// ledger enter that module. That is OVER the 250 KB target: the budget below is the measurement
// plus 1 KB so that the suite says what the build is, and the overrun is recorded here and in
// the README (Workflow, "Delivering the FOCUS CSV") until the delivery reuses the data the sync already fetched.
// Both in one module (the merge of the two): the Workflow file 345.8 / 247.6 KB, inline.js
// 270.3 / 194.7 KB. Budget: that plus ~1 KB; the 250 KB target is missed by 96 KB (README
// "Size of the Workflow file").
// The module's text in base 85 instead of base64 (5 characters per 4 bytes instead of 5⅓):
// the Workflow file 345.7 → 326.8 KB raw, inline.js 270.3 → 255.2 KB; gzip rises by 2.0 and
// 1.8 KB (247.6 → 249.6, 194.7 → 196.5: deflate's Huffman codes fit 64 symbols exactly, 85 not).
// Raw is what a user pastes and what the Workflow stores; budgets: those plus ~1 KB.
// KB = 1000 bytes; gzip = node:zlib level 9.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { base85 } from "../../scripts/build.mjs";
import { installedPackage, repoRoot } from "./helpers.mjs";

const KB = 1000;
const TARGET = { raw: 250 * KB, gzip: 100 * KB };
const BUDGET = {
  inline: { raw: 256 * KB, gzip: 197 * KB },
  workflow: { raw: 328 * KB, gzip: 251 * KB },
};

const pkg = await installedPackage();
const files = {
  inline: join(pkg.pkgDir, "inline.js"),
  workflow: join(repoRoot, "dist", "dps-cost-workflow.js"),
};
// The reference decoder: the npm package the build compresses with (a devDependency).
const lzma = createRequire(import.meta.url)("lzma");

const sizes = (file) => {
  const buf = readFileSync(file);
  return { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
};
const kb = (n) => `${(n / KB).toFixed(1)} KB`;

/**
 * The module stored in a file: its LZMA bytes (decoded from the base-85 text by the file's own
 * decoder), the size it claims, and the file's decoders.
 */
function embedded(file) {
  const src = readFileSync(file, "utf8");
  const m = /__dpsCostUnpack\("([^"\\]+)",\s*(\d+)\)/.exec(src);
  assert.ok(m, `${file} holds one LZMA base-85 literal and its decoded size`);
  const start = src.indexOf("function __dpsCostLzma");
  const end = src.search(/initSync\(\{\s*module:\s*__dpsCostUnpack\(/);
  assert.ok(start >= 0 && end > start, `${file} carries the JS LZMA and base-85 decoders`);
  const [decode, bytes, alphabet] = new Function(
    `${src.slice(start, end)}; return [__dpsCostLzma, __dpsCostBase85Bytes, __DPS_COST_B85];`,
  )();
  return { text: m[1], packed: Buffer.from(bytes(m[1])), size: Number(m[2]), decode, bytes, alphabet };
}

const exportsOf = (wasm) => WebAssembly.Module.exports(new WebAssembly.Module(wasm)).map((e) => e.name);

describe("size budget", () => {
  for (const [name, file] of Object.entries(files)) {
    test(`${name}: within the budget (target ${kb(TARGET.raw)} raw / ${kb(TARGET.gzip)} gzip)`, () => {
      assert.ok(existsSync(file), `${file} is missing: run \`npm run build\``);
      const s = sizes(file);
      const b = BUDGET[name];
      const note = `${name}: ${kb(s.raw)} raw, ${kb(s.gzip)} gzip; budget ${kb(b.raw)} / ${kb(b.gzip)}; target ${kb(TARGET.raw)} / ${kb(TARGET.gzip)}`;
      assert.ok(s.raw <= b.raw, `raw over budget: ${note}`);
      assert.ok(s.gzip <= b.gzip, `gzip over budget: ${note}`);
    });
  }

  for (const [name, file] of Object.entries(files)) {
    test(`${name}: the module is stored LZMA-compressed and decodes to the same bytes as the reference decoder`, () => {
      const { packed, size, decode } = embedded(file);
      const reference = Buffer.from(lzma.decompress(packed));
      assert.equal(reference.length, size);
      const t = Buffer.from(decode(packed, size));
      assert.equal(Buffer.compare(t, reference), 0);
      assert.ok(WebAssembly.validate(t), "the decoded bytes are a valid WebAssembly module");
      assert.ok(packed.length < size * 0.45, `LZMA ${packed.length} B of ${size} B`);
      // Corrupt or truncated data throws; it never returns other bytes.
      assert.throws(() => decode(packed.subarray(0, packed.length >> 1), size), /dps-cost: (corrupt|truncated) wasm data/);
      assert.throws(() => decode(packed, size + 1), /dps-cost: corrupt wasm data/);
      for (const at of [0, 13, 200, packed.length >> 1, packed.length - 64]) {
        const flipped = Buffer.from(packed);
        flipped[at] ^= 0xa5;
        assert.throws(() => {
          const out = Buffer.from(decode(flipped, size));
          if (Buffer.compare(out, t) !== 0) throw new Error("dps-cost: corrupt wasm data (different bytes)");
          throw new Error("dps-cost: corrupt wasm data (a flipped byte went unnoticed)");
        }, /dps-cost: (corrupt|truncated) wasm data/);
      }
    });
  }

  for (const [name, file] of Object.entries(files)) {
    test(`${name}: the base-85 text round-trips every tail length and rejects what is not base 85`, () => {
      const { text, packed, bytes, alphabet } = embedded(file);
      // 5 characters per 4 bytes; a last group of k bytes is k + 1 characters.
      assert.equal(text.length, Math.floor(packed.length / 4) * 5 + (packed.length % 4 && (packed.length % 4) + 1));
      assert.ok(!/["'`\\$\/<>&\s]/.test(text), "no character that needs escaping in JS, JSON, YAML or HTML");
      for (let n = 0; n <= 13; n++) {
        const want = packed.subarray(packed.length - n);
        assert.deepEqual(Buffer.from(bytes(base85(want, alphabet))), want, `${n} bytes`);
      }
      // Known answers: digit 0 is "!", digit 1 "#"; most significant digit first.
      assert.deepEqual([...bytes("!!!!!")], [0, 0, 0, 0]);
      assert.deepEqual([...bytes("!!!!#")], [0, 0, 0, 1]);
      assert.deepEqual([...bytes("!!!#!")], [0, 0, 0, 85]);
      // All-ones groups (the largest value) and all-zero ones.
      const edge = Buffer.from([255, 255, 255, 255, 0, 0, 0, 0, 255, 255, 255]);
      assert.deepEqual(Buffer.from(bytes(base85(edge, alphabet))), edge);
      for (const bad of [text.slice(0, 6), `${text.slice(0, 9)}"`, `${text.slice(0, 4)}\u00e9`, "~~~~~"]) {
        assert.throws(() => bytes(bad), /dps-cost: corrupt wasm data/, JSON.stringify(bad));
      }
    });
  }

  test("inline.js has the contract's API; the Workflow file's module only what the action calls", () => {
    const inline = embedded(files.inline);
    const workflow = embedded(files.workflow);
    const inlineWasm = inline.decode(inline.packed, inline.size);
    const workflowWasm = workflow.decode(workflow.packed, workflow.size);
    const full = readFileSync(join(pkg.pkgDir, "dps_cost_bg.wasm"));
    // Both below the full module; the Workflow module is no longer below inline.js's: it carries
    // the allocation engine for `sync`'s `allocation` option (inline.js the contract's API instead).
    assert.ok(workflowWasm.length < full.length && inlineWasm.length < full.length, `workflow ${workflowWasm.length} B, inline ${inlineWasm.length} B < full ${full.length} B`);
    const inlineExports = exportsOf(inlineWasm);
    for (const name of ["sync", "version", "isDpsCostError", "getToken", "ingest", "costToDate", "buildBizevents", "dpsclient_new"]) {
      assert.ok(inlineExports.includes(name), `inline: ${name} exported`);
    }
    for (const name of ["allocate", "focusExport", "reportData"]) assert.ok(!inlineExports.includes(name), `inline: no ${name}`);
    const workflowExports = exportsOf(workflowWasm);
    for (const name of ["sync", "version", "isDpsCostError"]) assert.ok(workflowExports.includes(name), `workflow: ${name} exported`);
    for (const name of ["getToken", "ingest", "costToDate", "buildBizevents", "dpsclient_new", "allocate"]) {
      assert.ok(!workflowExports.includes(name), `workflow: no ${name}`);
    }
  });
});
