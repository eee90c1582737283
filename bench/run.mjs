#!/usr/bin/env node
// `npm run bench`: the cost pipeline (raw /cost reply JSON text → sorted cost-to-date →
// bizevents JSON text) in four implementations side by side, plus the boundary crossings, the
// allocation engine, FOCUS rows and cold start. Never part of `npm test`.
//
//   node --expose-gc --max-old-space-size=12288 bench/run.mjs [--quick] [--no-build] [--no-write]
//
// Builds dist/pkg first (scripts/build.mjs). Checks that the seed, tuned and dps-cost outputs
// are the same events before timing anything (fails loudly otherwise). Timings: same process,
// implementations interleaved (rotating order), several runs, median. Peak RSS: each
// implementation × N once more in a fresh child process (bench/child.mjs). Progress on stderr;
// the results (Markdown) on stdout and in BENCHMARKS.md.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

import { ACCOUNT_NAME, ACCOUNT_UUID, NOW, SUBSCRIPTION, costReplyText } from "./data.mjs";
import { barePipeline, compareEvents, dpsCostPipeline, seedPipeline, tunedPipeline } from "./impls.mjs";
import { forecastTable, forecastTimings } from "./forecast.mjs";
import { buildProfileVariant, profile as cpuProfile } from "./profile.mjs";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BUILD = join(root, "bench", ".build");
const PKG = join(root, "dist", "pkg");
const argv = new Set(process.argv.slice(2));
const QUICK = argv.has("--quick");
const log = (m) => process.stderr.write(`[bench] ${m}\n`);
const OPTS = { accountUuid: ACCOUNT_UUID, accountName: ACCOUNT_NAME, subscription: SUBSCRIPTION, now: NOW };

const SIZES = QUICK ? [1_000, 10_000, 100_000] : [1_000, 10_000, 100_000, 1_000_000];
const RUNS = { 1_000: 31, 10_000: 15, 100_000: 7, 1_000_000: 3 };
const IMPLS = ["seed", "tuned", "dps-cost", "bare"];
const LABEL = {
  seed: "seed-003 algorithm (bugs fixed)",
  tuned: "tuned JavaScript",
  "dps-cost": "dps-cost `costEventsFromJson`",
  bare: "bare `JSON.stringify(JSON.parse(text).data)`",
};

if (typeof globalThis.gc !== "function") {
  // Re-run with the flags the measurements need (gc between runs, room for 1,000,000 events).
  const r = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=12288", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtN = (n) => n.toLocaleString("en-US");
const mib = (kb) => `${(kb / 1024).toFixed(0)} MiB`;
const ratio = (x) => `${x.toFixed(2)}×`;

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "n/a";
  }
}

function machine() {
  const lscpu = sh("lscpu", []);
  const model = /Model name:\s*(.+)/.exec(lscpu)?.[1]?.trim() ?? cpus()[0]?.model ?? "n/a";
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const locked = (name) => new RegExp(`name = "${name}"\\nversion = "([^"]+)"`).exec(lock)?.[1] ?? "n/a";
  return {
    cpu: model,
    cores: cpus().length,
    memGiB: (totalmem() / 2 ** 30).toFixed(0),
    node: process.version,
    v8: process.versions.v8,
    rustc: sh("rustc", ["--version"]),
    wasmBindgen: sh("wasm-bindgen", ["--version"]),
    serdeJson: locked("serde_json"),
    wasmBytes: readFileSync(join(PKG, "dps_cost_bg.wasm")).length,
    git: sh("git", ["-C", root, "rev-parse", "--short", "HEAD"]),
    date: new Date().toISOString(),
  };
}

function child(args, { input } = {}) {
  const r = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=12288", join(root, "bench", "child.mjs"), ...args], {
    encoding: "utf8",
    input,
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`bench/child.mjs ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

// ---------------------------------------------------------------------------------------------

function build() {
  if (argv.has("--no-build") && existsSync(join(PKG, "node.js"))) return;
  log("building dist/pkg (scripts/build.mjs)");
  const r = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`scripts/build.mjs failed (exit ${r.status})`);
}

function verify(pkg) {
  const dps = dpsCostPipeline(pkg);
  const checks = [];
  for (const [n, style] of [
    [1_000, "millis"],
    [1_000, "seconds"],
    [10_000, "millis"],
  ]) {
    const text = costReplyText(n, { style });
    const want = dps(text, OPTS);
    // The general path (buildBizevents over JS values) must say the same as the fast path.
    const general = JSON.stringify(pkg.buildBizevents({ ...OPTS, costs: JSON.parse(text).data }));
    if (general !== JSON.stringify(JSON.parse(want))) throw new Error(`costEventsFromJson differs from buildBizevents at N=${n} (${style})`);
    for (const [name, fn] of [
      ["seed", seedPipeline],
      ["tuned", tunedPipeline],
    ]) {
      const r = compareEvents(`${name} N=${n} ${style}`, want, fn(text, OPTS));
      checks.push({ name, n, style, ...r });
    }
  }
  return checks;
}

function timePipelines(pkg, n) {
  const fns = { seed: seedPipeline, tuned: tunedPipeline, "dps-cost": dpsCostPipeline(pkg), bare: barePipeline };
  const text = costReplyText(n);
  const bytes = Buffer.byteLength(text);
  const runs = RUNS[n];
  const times = Object.fromEntries(IMPLS.map((k) => [k, []]));
  const outChars = {};
  const warmups = n >= 1_000_000 ? 0 : n >= 100_000 ? 1 : 3;
  for (let r = -warmups; r < runs; r++) {
    for (let k = 0; k < IMPLS.length; k++) {
      const impl = IMPLS[(k + Math.max(r, 0)) % IMPLS.length];
      globalThis.gc();
      const t0 = performance.now();
      let out = fns[impl](text, OPTS);
      const ms = performance.now() - t0;
      outChars[impl] = out.length;
      out = null;
      if (r >= 0) times[impl].push(ms);
    }
    if (n >= 100_000) log(`  N=${fmtN(n)} run ${r + 1}/${runs}`);
  }
  const med = Object.fromEntries(IMPLS.map((k) => [k, median(times[k])]));
  return { n, bytes, runs, med, times, outChars };
}

/** The string crossings of costEventsFromJson, alone: encodeInto of the input, decode of the output. */
function crossings(pkg, n) {
  const text = costReplyText(n);
  const out = pkg.costEventsFromJson(text, OPTS);
  const enc = new TextEncoder();
  const dec = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
  const inBuf = new Uint8Array(text.length * 3);
  const outBytes = Buffer.from(out);
  const runs = Math.max(3, Math.min(15, Math.round(2e7 / text.length)));
  const tIn = [];
  const tOut = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    enc.encodeInto(text, inBuf);
    tIn.push(performance.now() - t);
    t = performance.now();
    dec.decode(outBytes);
    tOut.push(performance.now() - t);
  }
  // A call that crosses with almost nothing: the fixed cost per call.
  let t = performance.now();
  const calls = 100_000;
  for (let i = 0; i < calls; i++) pkg.version();
  const perCallUs = ((performance.now() - t) / calls) * 1000;
  return { n, inBytes: Buffer.byteLength(text), outBytes: outBytes.length, encodeMs: median(tIn), decodeMs: median(tOut), perCallUs };
}

/** Part 2: the same work with data crossing as JS values (serde via JSON, the shipped convert.rs) and as text. */
function boundary(pkg, n) {
  const text = costReplyText(n);
  const records = JSON.parse(text).data;
  const variants = {
    "text in, text out (`costEventsFromJson`)": () => pkg.costEventsFromJson(text, OPTS),
    "JS values in and out (`buildBizevents`, JSON.parse + JSON.stringify around it)": () =>
      JSON.stringify(pkg.buildBizevents({ ...OPTS, costs: JSON.parse(text).data })),
    "JS values, records only (`costToDate(records)`, parsed records in, objects out)": () => pkg.costToDate(records),
  };
  const swb = loadSwb();
  if (swb) {
    variants["serde-wasm-bindgen values (`buildBizevents`, bench build with feature `bench-swb`)"] = () =>
      JSON.stringify(swb.buildBizeventsSwb({ ...OPTS, costs: JSON.parse(text).data }));
  }
  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  const runs = n >= 100_000 ? 5 : 11;
  for (let r = -1; r < runs; r++) {
    for (const k of names) {
      globalThis.gc();
      const t = performance.now();
      variants[k]();
      if (r >= 0) times[k].push(performance.now() - t);
    }
  }
  return { n, rows: names.map((k) => ({ name: k, ms: median(times[k]) })), swb: Boolean(swb) };
}

let swbModule;
function loadSwb() {
  return swbModule;
}

function coldStart() {
  const rows = [];
  const reps = 5;
  for (const entry of ["parts", "node", "inline"]) {
    const rs = [];
    for (let i = 0; i < reps; i++) rs.push(child(["cold", entry]));
    const keys = Object.keys(rs[0]).filter((k) => k !== "entry");
    rows.push({ entry, ...Object.fromEntries(keys.map((k) => [k, median(rs.map((r) => r[k]))])) });
  }
  return rows;
}

function dtRuntimeColdStart() {
  const runner = join(root, "tests", "js", "dt-runtime-run.cjs");
  if (!existsSync(join(root, "node_modules", "@dynatrace", "js-runtime", "package.json"))) {
    return { skipped: "@dynatrace/js-runtime is not installed (`node scripts/setup.mjs --test`)" };
  }
  const inline = readFileSync(join(PKG, "inline.js"), "utf8");
  const small = costReplyText(31);
  // Timestamps around the module body: before the glue, after the synchronous instantiation,
  // and around the first and second calls inside the task function.
  const src = `globalThis.__benchT0 = Date.now();\n${inline}\nconst __benchInit = Date.now();\n` +
    `export default async function (payload) {\n` +
    `  const opts = ${JSON.stringify(OPTS)};\n  const text = ${JSON.stringify(small)};\n` +
    `  const t1 = Date.now(); costEventsFromJson(text, opts); const t2 = Date.now(); costEventsFromJson(text, opts); const t3 = Date.now();\n` +
    `  return { initMs: __benchInit - globalThis.__benchT0, firstCallMs: t2 - t1, secondCallMs: t3 - t2 };\n}\n`;
  mkdirSync(BUILD, { recursive: true });
  const file = join(BUILD, "dt-cold.js");
  writeFileSync(file, src);
  const rs = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [runner], { input: JSON.stringify({ file, payload: {}, timeoutSeconds: 60 }), encoding: "utf8", cwd: root });
    const wall = performance.now() - t;
    if (r.status !== 0) return { skipped: `runner failed: ${r.stderr.slice(0, 400)}` };
    const j = JSON.parse(r.stdout.trim().split("\n").pop());
    if (!j.ok) return { skipped: `task failed: ${j.error}` };
    rs.push({ wallMs: wall, ...j.result, maxRssKb: j.memory.maxRssKb, rssBeforeKb: j.memory.rssBeforeKb });
  }
  const keys = Object.keys(rs[0]);
  return Object.fromEntries(keys.map((k) => [k, median(rs.map((r) => r[k]))]));
}

function allocation() {
  const rows = [];
  const N = QUICK ? 100_000 : 1_000_000;
  const plan = [
    ["alloc", N, 20, 0],
    ["alloc", N, 20, 1],
    ["focus", N, 0],
    ["focus", N, 20],
  ];
  for (const [task, lines, rules, focus] of plan) {
    log(`${task} ${fmtN(lines)} lines × ${rules} rules${focus ? " + FOCUS rows" : ""}`);
    const args = task === "alloc" ? [task, String(lines), String(rules), String(focus)] : [task, String(lines), String(rules)];
    try {
      rows.push({ task, ...child(args) });
    } catch (e) {
      rows.push({ task, ok: false, lines, rules, focus: Boolean(focus), error: e.message.split("\n").slice(0, 4).join(" ") });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------

function report({ m, checks, timing, rss, cross, bound, cold, dt, alloc, profile, forecast }) {
  const L = [];
  const p = (s = "") => L.push(s);
  p("# Benchmarks");
  p();
  p("Generated by `npm run bench` (bench/run.mjs); numbers from one run. Not part of `npm test`: tests time nothing.");
  p();
  p(`Machine: ${m.cpu}, ${m.cores} cores (shared with other work), ${m.memGiB} GiB · Node ${m.node} (V8 ${m.v8}) · ${m.rustc} · wasm-bindgen ${m.wasmBindgen.replace("wasm-bindgen ", "")} · serde_json ${m.serdeJson} · dist/pkg wasm ${(m.wasmBytes / 1024).toFixed(0)} KiB (opt-level 3, wasm-opt -Oz; the inline and Workflow modules opt-level z) · commit ${m.git} · ${m.date}`);
  p();
  p("## Cost pipeline: raw `/cost` reply JSON → sorted cost-to-date → bizevents JSON text");
  p();
  p("Input: the `/sub/v2/accounts/{a}/subscriptions/{s}/cost` reply (`{\"data\":[{startTime, endTime, value, currencyCode, lastBookingDate}…], \"lastModifiedTime\"}`), one record per day in 31-day blocks newest block first (the emulator's order), values with 15 significant digits, generated deterministically (bench/data.mjs). Output: `dps.subscription.status` + one `dps.cost2.booked` per day (event.id, normalised times, costToDate) as JSON text.");
  p();
  p("Implementations (bench/impls.mjs), all in one process, interleaved in rotating order, `gc()` before each call, median of the runs:");
  p();
  p("- **seed**: seed-003's algorithm as written (JSON.parse, `sort` with `new Date()` in the comparator, running float sum, one object per event, JSON.stringify), with its bugs fixed (consistent comparator, flattened `account`, event.id, normalised times, endTime filled in).");
  p("- **tuned**: parse once, each timestamp read once into a numeric key (hand-written parser for the API's two forms), index sort on the keys, no per-comparison allocation, the event.id hash prefix computed once, one same-shape object per event and one JSON.stringify (measured faster in V8 than building the text with template literals or +=).");
  p("- **dps-cost**: `costEventsFromJson(text, options)` from dist/pkg/node.js (text in, text out; exact decimal money).");
  p("- **bare**: `JSON.stringify(JSON.parse(text).data)`, the practical limit.");
  p();
  p(`Equivalence checked before timing (same events, same order, same fields, costToDate within 1 micro-unit): ${checks.map((c) => `${c.name} N=${fmtN(c.n)} ${c.style} ✓ (max float drift ${c.maxDrift.toExponential(1)})`).join("; ")}; dps-cost's text path equals its value path (\`buildBizevents\`) at the same sizes.`);
  p();
  p("| N | input | output | impl | median ms | MB/s of input | peak RSS (child) | runs |");
  p("|---:|---:|---:|---|---:|---:|---:|---:|");
  for (const t of timing) {
    for (const k of IMPLS) {
      const r = rss.find((x) => x.n === t.n && x.impl === k);
      p(`| ${fmtN(t.n)} | ${(t.bytes / 1e6).toFixed(1)} MB | ${(t.outChars[k] / 1e6).toFixed(1)} MB | ${LABEL[k]} | ${fmtMs(t.med[k])} | ${(t.bytes / 1e6 / (t.med[k] / 1000)).toFixed(0)} | ${r ? `${mib(r.maxRssKb)} (${mib(r.rssBeforeKb)} before)` : "–"} | ${t.runs} |`);
    }
  }
  p();
  p("Ratios (median times; >1 means dps-cost is faster):");
  p();
  p("| N | seed / dps-cost (target ≥ 5×) | tuned / dps-cost (target ≥ 1.5×, aim 2×) | dps-cost throughput / bare (target ≥ 0.5) | tuned / bare time |");
  p("|---:|---:|---:|---:|---:|");
  const targets = [];
  for (const t of timing) {
    const s = t.med.seed / t.med["dps-cost"];
    const tu = t.med.tuned / t.med["dps-cost"];
    const b = t.med.bare / t.med["dps-cost"];
    p(`| ${fmtN(t.n)} | ${ratio(s)} | ${ratio(tu)} | ${b.toFixed(2)} | ${ratio(t.med.tuned / t.med.bare)} |`);
    if (t.n >= 100_000) targets.push({ n: t.n, s, tu, b });
  }
  p();
  p("Targets at N ≥ 100,000:");
  p();
  for (const t of targets) {
    const line = [
      t.s >= 5 ? `seed ${ratio(t.s)} ✓` : `seed ${ratio(t.s)} ✗ (missed by ${ratio(5 / t.s)})`,
      t.tu >= 1.5 ? `tuned ${ratio(t.tu)} ✓${t.tu >= 2 ? " (aim 2× reached)" : ""}` : `tuned ${ratio(t.tu)} ✗ (missed by ${ratio(1.5 / t.tu)})`,
      t.b >= 0.5 ? `bare ${t.b.toFixed(2)} ✓` : `bare ${t.b.toFixed(2)} ✗ (missed by ${ratio(0.5 / t.b)})`,
    ];
    p(`- N = ${fmtN(t.n)}: ${line.join(" · ")}`);
  }
  p();
  p("### The crossings alone");
  p();
  p("What `costEventsFromJson` pays to move text across the boundary (wasm-bindgen 0.2.130: `TextEncoder.encodeInto` into wasm memory on the way in, `TextDecoder.decode` on the way out), measured on their own with the same sizes, and the fixed cost of a call (`version()`):");
  p();
  p("| N | in | encodeInto | out | decode | both, share of the dps-cost median |");
  p("|---:|---:|---:|---:|---:|---:|");
  for (const c of cross) {
    const t = timing.find((x) => x.n === c.n);
    p(`| ${fmtN(c.n)} | ${(c.inBytes / 1e6).toFixed(1)} MB | ${fmtMs(c.encodeMs)} ms | ${(c.outBytes / 1e6).toFixed(1)} MB | ${fmtMs(c.decodeMs)} ms | ${t ? `${(((c.encodeMs + c.decodeMs) / t.med["dps-cost"]) * 100).toFixed(0)} %` : "–"} |`);
  }
  p();
  p(`A call with no data (\`version()\`, a String back): ${cross[0].perCallUs.toFixed(2)} µs.`);
  p();
  if (profile) {
    p("### Where dps-cost's time goes (measured)");
    p();
    p(profile);
    p();
  }
  p("## Forecast (`forecastSpend`, bench/forecast.mjs)");
  p();
  p("Growth, a weekly pattern, month-start bumps, a level shift and noise; horizon 365 days; median of 31 calls after 5 warm-ups, same process. Target (issue 19): under 5 ms for 3 years of history.");
  p();
  p(forecastTable(forecast));
  p();
  p("## Boundary: how data crosses (issue part 2)");
  p();
  p("The same work with the data crossing in different forms, medians, same process, interleaved:");
  p();
  for (const b of bound) {
    p(`| N = ${fmtN(b.n)} | median ms |`);
    p("|---|---:|");
    for (const r of b.rows) p(`| ${r.name} | ${fmtMs(r.ms)} |`);
    p();
  }
  p();
  p("## Allocation (`allocateStream`, JS API, 20 Datadog rules) and FOCUS export (`focusExportStream`)");
  p();
  p("Input like examples/bench_allocate.rs (bench/alloc-data.mjs): Dynatrace-tagged lines, 3 accounts, 50 environments, 40 capabilities, 12 cost centres, 35 days; rules mixing percent, even, proportional (daily, monthly, grouped). One fresh child process each (`--max-old-space-size=12288`); time = the call plus consuming every chunk (10,000 output lines / rows each: output lines counted, `costMicros` summed per currency and checked equal to the input's micro-units and to the summary's totals; FOCUS rows and characters counted). The streaming forms are used at every N: the one-value `allocate()` refuses a result whose JSON text passes V8's maximum string length (~536 M characters) with `INVALID_INPUT`, and 1,000,000 × 20 gives ~3.8 M output lines (~2 GB of JSON).");
  p();
  p("Memory growth = the most wasm memory + V8 heap in use (`heapUsed`, garbage not yet collected included) at any point from just before the call to the last chunk, minus the same just before the call (the caller's input array is in that baseline); sampled after the call and after every chunk. First pass = the `allocateStream()` call itself (input crossing, checks, owners, splits). CPU = the process's user + system time over the same span (GC threads included), for reading wall times taken on a loaded machine.");
  p();
  p("| lines × rules | output | ms | first pass | CPU ms | lines/s | output lines | memory growth (wasm) | peak RSS | result |");
  p("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const a of alloc) {
    const what = a.task === "focus"
      ? `\`focusExportStream\` plain CSV${a.rules ? " (allocated, + FOCUS 1.3 Allocated* columns)" : " (no rules)"}${a.ok ? `, ${fmtN(a.rows)} rows, ${a.textMB.toFixed(0)} MB in ${fmtN(a.chunks)} chunks` : ""}`
      : `${a.focus ? "`allocateStream` + FOCUS rows (`output.focus`)" : "`allocateStream`: lines, then rules, totals, destinations"}${a.ok ? `, ${fmtN(a.chunks)} chunks, totals conserved` : ""}`;
    if (a.task === "focus") a.outLines = a.rows;
    const growth = a.growthMiB === undefined ? "–" : `${a.growthMiB.toFixed(0)} MiB (${a.wasmGrowthMiB.toFixed(0)})`;
    p(`| ${fmtN(a.lines)} × ${a.rules} | ${what} | ${a.ms ? fmtMs(a.ms) : "–"} | ${a.firstMs ? fmtMs(a.firstMs) : "–"} | ${a.cpuMs ? fmtMs(a.cpuMs) : "–"} | ${a.ok ? fmtN(Math.round(a.lines / (a.ms / 1000))) : "–"} | ${a.ok ? fmtN(a.outLines) : "–"} | ${growth} | ${a.maxRssKb ? mib(a.maxRssKb) : "–"} | ${a.ok ? "ok" : `failed: ${a.error}`} |`);
  }
  p();
  p("## Cold start");
  p();
  p("Fresh process each time, median of 5. `parts`: the node entry's steps one by one (read the .wasm, `WebAssembly.compile`, `initSync` = instantiate, first calls). `node`/`inline`: `import()` of dist/pkg/node.js / inline.js (base64 + synchronous compile), then the first `costEventsFromJson` on 31 records.");
  p();
  p("| entry | read | compile | instantiate | import (all) | first call | second call | peak RSS |");
  p("|---|---:|---:|---:|---:|---:|---:|---:|");
  const c = (v) => (v === undefined ? "–" : `${fmtMs(v)} ms`);
  for (const r of cold) p(`| ${r.entry} | ${c(r.readMs)} | ${c(r.compileMs)} | ${c(r.instantiateMs)} | ${c(r.importMs)} | ${c(r.firstCallMs)} | ${c(r.secondCallMs)} | ${mib(r.maxRssKb)} |`);
  p();
  if (dt.skipped) p(`Dynatrace runtime: skipped (${dt.skipped}).`);
  else {
    p(`Dynatrace JavaScript runtime (@dynatrace/js-runtime via tests/js/dt-runtime-run.cjs, inline.js + a task function; Date.now() resolution): module body incl. base64 decode + compile + instantiate ${dt.initMs} ms, first call ${dt.firstCallMs} ms, second ${dt.secondCallMs} ms; whole task run from process spawn ${fmtMs(dt.wallMs)} ms (runtime load included); runner RSS ${mib(dt.rssBeforeKb)} before the task, peak ${mib(dt.maxRssKb)}.`);
  }
  p();
  return L.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  build();
  const pkg = await import(pathToFileURL(join(PKG, "node.js")).href);
  if (typeof pkg.costEventsFromJson !== "function") throw new Error("dist/pkg has no costEventsFromJson: rebuild");
  const swbFile = join(BUILD, "swb", "dps_cost.js");
  if (existsSync(swbFile) && argv.has("--swb")) {
    const glue = await import(pathToFileURL(swbFile).href);
    glue.initSync({ module: readFileSync(join(BUILD, "swb", "dps_cost_bg.wasm")) });
    swbModule = glue;
  }
  const m = machine();
  log(`machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}`);

  log("equivalence: seed, tuned and dps-cost produce the same events (N = 1,000 both timestamp forms, 10,000)");
  const checks = verify(pkg);

  mkdirSync(BUILD, { recursive: true });
  const timing = [];
  for (const n of SIZES) {
    log(`timing N=${fmtN(n)} (${RUNS[n]} runs, interleaved)`);
    timing.push(timePipelines(pkg, n));
    const t = timing.at(-1);
    log(`  ${IMPLS.map((k) => `${k} ${fmtMs(t.med[k])} ms`).join(", ")}`);
  }

  log("peak RSS: each implementation × N in its own process");
  const rss = [];
  for (const n of SIZES) {
    const file = join(BUILD, `cost-${n}.json`);
    writeFileSync(file, costReplyText(n));
    for (const impl of IMPLS) rss.push({ n, ...child(["pipeline", impl, file]) });
  }

  log("crossings alone");
  const cross = SIZES.map((n) => crossings(pkg, n));
  log("boundary comparison");
  const bound = [10_000, 100_000].map((n) => boundary(pkg, n));
  log("profile of costEventsFromJson (N = 100,000)");
  let profile;
  try {
    buildProfileVariant();
    profile = cpuProfile(100_000);
  } catch (e) {
    profile = `Profile not taken: ${e.message}`;
  }
  log("cold start (node, inline)");
  const cold = coldStart();
  log("cold start (Dynatrace runtime)");
  const dt = dtRuntimeColdStart();
  log("allocation");
  const alloc = allocation();
  log("forecastSpend");
  const forecast = forecastTimings(pkg);

  const md = report({ m, checks, timing, rss, cross, bound, cold, dt, alloc, profile, forecast });
  process.stdout.write(`${md}\n`);
  if (!argv.has("--no-write")) {
    // Keep the hand-maintained sections: everything from the KEEP marker (or, in older files,
    // from ## Size) onwards.
    const file = join(root, "BENCHMARKS.md");
    const old = existsSync(file) ? readFileSync(file, "utf8") : "";
    const marker = old.indexOf(`\n${KEEP}`);
    const kept = marker >= 0 ? marker : old.indexOf("\n## Size");
    writeFileSync(file, `${md}\n${kept >= 0 ? old.slice(kept) : ""}`);
    log("wrote BENCHMARKS.md");
  }
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

/** The line in BENCHMARKS.md after which the file is hand-written (kept by every run). */
const KEEP = "<!-- Hand-written from here on: `npm run bench` keeps what follows. -->";

main().catch((e) => {
  process.stderr.write(`[bench] FAILED: ${e.stack || e.message}\n`);
  process.exit(1);
});
