// One measurement in a fresh process (peak RSS per implementation × N, allocation, cold start).
// Prints one JSON line on stdout. Used by bench/run.mjs; not a public interface.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const pkgDir = process.env.DPS_COST_BENCH_PKG || join(root, "dist", "pkg");
const kb = () => process.resourceUsage().maxRSS;
const rssKb = () => Math.round(process.memoryUsage.rss() / 1024);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const [task, ...args] = process.argv.slice(2);

if (task === "pipeline") {
  const [impl, file] = args;
  const { ACCOUNT_UUID, ACCOUNT_NAME, NOW, SUBSCRIPTION } = await import("./data.mjs");
  const impls = await import("./impls.mjs");
  const pkg = await import(pathToFileURL(join(pkgDir, "node.js")).href);
  const fn = {
    seed: impls.seedPipeline,
    tuned: impls.tunedPipeline,
    "dps-cost": impls.dpsCostPipeline(pkg),
    bare: impls.barePipeline,
  }[impl];
  const opts = { accountUuid: ACCOUNT_UUID, accountName: ACCOUNT_NAME, subscription: SUBSCRIPTION, now: NOW };
  const text = readFileSync(file, "utf8");
  globalThis.gc?.();
  const rssBeforeKb = rssKb();
  const t0 = performance.now();
  const result = fn(text, opts);
  const ms = performance.now() - t0;
  out({ impl, ms, outChars: result.length, rssBeforeKb, maxRssKb: kb() });
} else if (task === "alloc") {
  // allocateStream (chunks of 10,000 output lines), every chunk consumed: output lines counted,
  // costMicros summed per currency and checked against the input's micro-units.
  const [lines, rules, focus] = args.map(Number);
  const { allocationLines, allocationRules } = await import("./alloc-data.mjs");
  const pkg = await import(pathToFileURL(join(pkgDir, "node.js")).href);
  const input = {
    lines: allocationLines(lines),
    rules: allocationRules(rules),
    ...(focus ? { output: { focus: true } } : {}),
  };
  const inputMicros = {};
  for (const l of input.lines) inputMicros[l.currency] = (inputMicros[l.currency] ?? 0) + Math.round(l.cost * 1e6);
  // Memory growth while streaming: wasm memory + V8 heap in use, from just before the call
  // (the caller's input array is in the baseline), sampled after the call and every chunk.
  const { initSync } = await import(pathToFileURL(join(pkgDir, "dps_cost.js")).href);
  const wasmMemory = initSync({ module: readFileSync(join(pkgDir, "dps_cost_bg.wasm")) }).memory;
  const inUse = () => process.memoryUsage().heapUsed + wasmMemory.buffer.byteLength;
  globalThis.gc?.();
  const rssBeforeKb = rssKb();
  const base = inUse();
  const wasmBefore = wasmMemory.buffer.byteLength;
  let growth = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let outLines = 0;
  let focusRows = 0;
  let chunks = 0;
  let firstMs = 0;
  const outMicros = {};
  let summary;
  try {
    const stream = pkg.allocateStream(input, { chunkLines: 10_000 });
    firstMs = performance.now() - t0;
    growth = Math.max(growth, inUse() - base);
    for (const chunk of stream) {
      chunks++;
      outLines += chunk.lines.length;
      for (const l of chunk.lines) outMicros[l.currency] = (outMicros[l.currency] ?? 0) + l.costMicros;
      if (focus) focusRows += chunk.focus.length;
      growth = Math.max(growth, inUse() - base);
    }
    summary = stream.summary();
    stream.free();
  } catch (e) {
    out({ ok: false, api: "allocateStream", lines, rules, focus: Boolean(focus), error: `${e.name}: ${e.message}`, ms: performance.now() - t0, rssBeforeKb, maxRssKb: kb() });
    process.exit(0);
  }
  const ms = performance.now() - t0;
  const conserved = Object.keys(inputMicros).every(
    (c) => outMicros[c] === inputMicros[c] && summary.totals[c].inputMicros === inputMicros[c] && summary.totals[c].outputMicros === inputMicros[c],
  );
  out({
    ok: conserved,
    api: "allocateStream",
    lines,
    rules,
    focus: Boolean(focus),
    ms,
    chunks,
    outLines,
    focusRows: focus ? focusRows : null,
    conserved,
    ...(conserved ? {} : { error: `totals differ: in ${JSON.stringify(inputMicros)}, out ${JSON.stringify(outMicros)}` }),
    firstMs,
    cpuMs: (() => {
      const c = process.cpuUsage(cpu0);
      return (c.user + c.system) / 1000;
    })(),
    growthMiB: growth / 2 ** 20,
    wasmGrowthMiB: (wasmMemory.buffer.byteLength - wasmBefore) / 2 ** 20,
    rssBeforeKb,
    maxRssKb: kb(),
  });
} else if (task === "focus") {
  // focusExportStream (FOCUS 1.2 rows as CSV text, 10,000 rows a chunk; with rules, allocated +
  // the 1.3 Allocated* columns), every chunk consumed: rows (CRLF line ends) and characters.
  const [lines, rules] = args.map(Number);
  const { allocationLines, allocationRules } = await import("./alloc-data.mjs");
  const pkg = await import(pathToFileURL(join(pkgDir, "node.js")).href);
  const input = { lines: allocationLines(lines), format: "csv", ...(rules ? { rules: allocationRules(rules) } : {}) };
  globalThis.gc?.();
  const rssBeforeKb = rssKb();
  const t0 = performance.now();
  let chars = 0;
  let crlf = 0;
  let chunks = 0;
  let rows;
  try {
    const stream = pkg.focusExportStream(input, { chunkRows: 10_000 });
    for (const text of stream) {
      chunks++;
      chars += text.length;
      for (let i = text.indexOf("\r\n"); i !== -1; i = text.indexOf("\r\n", i + 2)) crlf++;
    }
    rows = stream.rows;
    stream.free();
  } catch (e) {
    out({ ok: false, api: "focusExportStream", lines, rules, error: `${e.name}: ${e.message}`, ms: performance.now() - t0, rssBeforeKb, maxRssKb: kb() });
    process.exit(0);
  }
  const ms = performance.now() - t0;
  // Header + one line per row (plain CSV fields hold no line breaks).
  const ok = crlf === rows + 1;
  out({ ok, api: "focusExportStream", lines, rules, ms, chunks, rows, textMB: chars / 1e6, ...(ok ? {} : { error: `${crlf} CRLF for ${rows} rows` }), rssBeforeKb, maxRssKb: kb() });
} else if (task === "cold") {
  const [entry] = args;
  const { ACCOUNT_UUID, ACCOUNT_NAME, NOW, SUBSCRIPTION, costReplyText } = await import("./data.mjs");
  const small = costReplyText(31);
  const opts = { accountUuid: ACCOUNT_UUID, accountName: ACCOUNT_NAME, subscription: SUBSCRIPTION, now: NOW };
  const r = { entry };
  if (entry === "parts") {
    // The node entry's steps one by one: read, compile, instantiate (initSync), first calls.
    let t = performance.now();
    const bytes = readFileSync(join(pkgDir, "dps_cost_bg.wasm"));
    r.readMs = performance.now() - t;
    t = performance.now();
    const module = await WebAssembly.compile(bytes);
    r.compileMs = performance.now() - t;
    const glue = await import(pathToFileURL(join(pkgDir, "dps_cost.js")).href);
    t = performance.now();
    glue.initSync({ module });
    r.instantiateMs = performance.now() - t;
    t = performance.now();
    glue.version();
    r.firstVersionMs = performance.now() - t;
    t = performance.now();
    glue.costEventsFromJson(small, opts);
    r.firstCallMs = performance.now() - t;
    t = performance.now();
    glue.costEventsFromJson(small, opts);
    r.secondCallMs = performance.now() - t;
  } else {
    const file = { node: "node.js", inline: "inline.js" }[entry];
    let t = performance.now();
    const m = await import(pathToFileURL(join(pkgDir, file)).href);
    r.importMs = performance.now() - t;
    t = performance.now();
    m.costEventsFromJson(small, opts);
    r.firstCallMs = performance.now() - t;
    t = performance.now();
    m.costEventsFromJson(small, opts);
    r.secondCallMs = performance.now() - t;
  }
  r.maxRssKb = kb();
  out(r);
} else {
  process.stderr.write(`unknown task ${task}\n`);
  process.exit(2);
}
