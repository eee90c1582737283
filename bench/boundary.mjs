#!/usr/bin/env node
// Boundary comparison (issue 7 part 2): the same Rust work behind three crossings, measured in
// one process, interleaved, median of several runs. Builds its own module with the cargo feature
// `bench-boundary` into bench/.build (never shipped):
//
//   node bench/boundary.mjs [--no-build]
//
// cost-to-date over N records (JS objects in, JS objects out, as a caller uses it):
//   values-json   the shipped `costToDate`: JSON.stringify → serde_json … → JSON.parse
//   swb           serde-wasm-bindgen both ways (no JSON text)
//   text          JSON text in and out (`costToDateText`), the caller stringifies and parses
// forecast over a daily series (numbers in, numbers out):
//   json          the shipped `forecastSpend` ({history:number[]} in, objects out)
//   typed         Float64Array in, Float64Array out (`forecastSpendTyped`)
// Prints a Markdown table (stdout); progress on stderr.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = join(root, "bench", ".build");
const log = (m) => process.stderr.write(`[boundary] ${m}\n`);

if (!process.argv.includes("--no-build")) {
  log("cargo build --release --target wasm32-unknown-unknown --features bench-boundary");
  execFileSync("cargo", ["build", "-p", "dps-cost-wasm", "--release", "--target", "wasm32-unknown-unknown", "--lib", "--features", "bench-boundary", "--target-dir", join(root, "target", "bench-boundary")], { cwd: root, stdio: "inherit" });
  mkdirSync(out, { recursive: true });
  // wasm-bindgen's nodejs glue is CommonJS; the repo's package.json says "module".
  writeFileSync(join(out, "package.json"), '{"type":"commonjs"}\n');
  execFileSync("wasm-bindgen", ["--target", "nodejs", "--out-name", "dps_cost", "--out-dir", out, join(root, "target", "bench-boundary", "wasm32-unknown-unknown", "release", "dps_cost_wasm.wasm")], { stdio: "inherit" });
}
const lib = createRequire(import.meta.url)(join(out, "dps_cost.js"));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fns, runs) {
  const t = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    const keys = Object.keys(fns);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[(i + r) % keys.length];
      const t0 = performance.now();
      fns[k]();
      t[k].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
}

function records(n) {
  const day0 = Date.UTC(2024, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    const start = new Date(day0 + ((i * 7919) % n) * 86_400_000).toISOString();
    return { startTime: start, endTime: start, value: Math.round((100 + ((i * 37) % 900) + (i % 7) / 3) * 1e6) / 1e6, currencyCode: "USD", lastBookingDate: start };
  });
}

const rows = ["| work | N | shipped path | serde-wasm-bindgen | JSON text in/out | typed arrays | fastest |", "|---|---:|---:|---:|---:|---:|---|"];
for (const n of [1_000, 10_000, 100_000]) {
  const recs = records(n);
  const a = lib.costToDate(recs);
  const b = lib.costToDateSwb(recs);
  const c = JSON.parse(lib.costToDateText(JSON.stringify(recs)));
  if (JSON.stringify(a) !== JSON.stringify(b) || JSON.stringify(a) !== JSON.stringify(c)) throw new Error(`cost-to-date outputs differ at N=${n}`);
  const runs = n >= 100_000 ? 7 : 15;
  log(`cost-to-date N=${n}`);
  const m = time(
    {
      shipped: () => lib.costToDate(recs),
      swb: () => lib.costToDateSwb(recs),
      text: () => JSON.parse(lib.costToDateText(JSON.stringify(recs))),
    },
    runs,
  );
  const best = Object.entries(m).sort((x, y) => x[1] - y[1])[0][0];
  rows.push(`| cost-to-date (objects in/out) | ${n.toLocaleString("en-US")} | ${m.shipped.toFixed(1)} ms | ${m.swb.toFixed(1)} ms | ${m.text.toFixed(1)} ms | — | ${best} |`);
}
for (const n of [365, 3_650, 36_500]) {
  const history = Array.from({ length: n }, (_, t) => (200 + t / 10) * (t % 7 >= 5 ? 0.7 : 1.1));
  const typed = Float64Array.from(history);
  const a = lib.forecastSpend({ history, firstDate: "2024-01-01", horizon: 365 }).cumulative;
  const b = lib.forecastSpendTyped(typed, 19_723, 365);
  if (a.length !== b.length || a.some((v, i) => Math.abs(v - b[i]) > 1e-9 * Math.abs(v))) throw new Error(`forecast outputs differ at N=${n}`);
  log(`forecast N=${n}`);
  const m = time(
    {
      shipped: () => lib.forecastSpend({ history, firstDate: "2024-01-01", horizon: 365 }),
      typed: () => lib.forecastSpendTyped(typed, 19_723, 365),
    },
    31,
  );
  const best = m.typed < m.shipped ? "typed arrays" : "shipped";
  rows.push(`| forecast, 365-day horizon | ${n.toLocaleString("en-US")} days | ${m.shipped.toFixed(3)} ms | — | — | ${m.typed.toFixed(3)} ms | ${best} |`);
}
process.stdout.write(`${rows.join("\n")}\n`);
