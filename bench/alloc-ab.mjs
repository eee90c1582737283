#!/usr/bin/env node
// Interleaved A/B of `allocateStream` (bench/child.mjs `alloc`): two builds of the package,
// one fresh child process per run, alternating A, B, A, B, … so load on a shared machine falls
// on both alike; prints the median of each measure and the load average before and after.
//
//   node bench/alloc-ab.mjs <pkgDirA> <pkgDirB> [lines=1000000] [runs=3] [rules=20]
//
// Each directory holds node.js + dps_cost.js + dps_cost_bg.wasm (dist/pkg, or a
// wasm-bindgen --target web output with the node entry). Not part of `npm test`.
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";

const [A, B, lines = "1000000", runs = "3", rules = "20"] = process.argv.slice(2);
if (!A || !B) {
  process.stderr.write("usage: node bench/alloc-ab.mjs <pkgDirA> <pkgDirB> [lines] [runs] [rules]\n");
  process.exit(2);
}
const child = new URL("child.mjs", import.meta.url).pathname;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const one = (dir) => {
  const r = spawnSync(process.execPath, ["--expose-gc", "--max-old-space-size=12288", child, "alloc", lines, rules, "0"], {
    encoding: "utf8",
    env: { ...process.env, DPS_COST_BENCH_PKG: dir },
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
};
const load0 = loadavg().map((x) => x.toFixed(2)).join(" ");
const res = { A: [], B: [] };
for (let i = 0; i < Number(runs); i++) {
  for (const [k, dir] of i % 2 ? [["B", B], ["A", A]] : [["A", A], ["B", B]]) {
    const r = one(dir);
    if (!r.ok) throw new Error(`${k}: ${r.error}`);
    res[k].push(r);
    process.stderr.write(`${k} run ${i + 1}: ${Math.round(r.ms)} ms (load ${loadavg()[0].toFixed(2)})\n`);
  }
}
const load1 = loadavg().map((x) => x.toFixed(2)).join(" ");
const row = (k, dir) => {
  const rs = res[k];
  const m = (f) => median(rs.map(f));
  return `| ${k}: ${dir} | ${Math.round(m((r) => r.ms))} | ${rs.map((r) => Math.round(r.ms)).join(" / ")} | ${rs[0].firstMs === undefined ? "–" : Math.round(m((r) => r.firstMs))} | ${rs[0].cpuMs === undefined ? "–" : Math.round(m((r) => r.cpuMs))} | ${rs[0].growthMiB === undefined ? "–" : `${Math.round(m((r) => r.growthMiB))} MiB`} | ${Math.round(m((r) => (r.maxRssKb - r.rssBeforeKb) / 1024))} MiB | ${Math.round(m((r) => r.maxRssKb / 1024))} MiB | ${rs[0].outLines} |`;
};
console.log(`${Number(lines).toLocaleString("en-US")} lines × ${rules} rules, ${runs} runs each, interleaved; load average (1/5/15 min) ${load0} before, ${load1} after`);
console.log();
console.log("| build | median ms | runs ms | first pass ms | CPU ms | memory growth (wasm + heap) | RSS growth | peak RSS | output lines |");
console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|");
console.log(row("A", A.replace(join(process.cwd(), ""), "")));
console.log(row("B", B.replace(join(process.cwd(), ""), "")));
