// Where costEventsFromJson spends its time: V8's CPU profile (node --cpu-prof) of a build with
// the wasm name section kept (bench/.build/prof: the same cargo release build as dist/pkg,
// wasm-bindgen without wasm-opt), self time grouped by what the function does. Only samples
// under the `costEventsFromJson` glue function count (input generation is excluded).
//
//   node bench/profile.mjs [N]   → prints a Markdown table; bench/run.mjs includes it.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const BUILD = join(root, "bench", ".build");
const PROF_PKG = join(BUILD, "prof");
const log = (m) => process.stderr.write(`[bench] ${m}\n`);

const GROUPS = [
  ["reply text into wasm memory (encodeInto, UTF-8 check)", /passStringToWasm0|encodeInto|utf8_of|from_utf8|run_utf8_validation/],
  ["events text out of wasm memory (TextDecoder)", /getStringFromWasm0|^decode$|TextDecoder/],
  ["JSON parse (serde_json, borrowed records)", /serde_json::de|serde_json::read|serde_core::de|Deserializ|MapAccess|SeqAccess|parse_str|parse_whitespace|skip_to_escape|ignore_|peek|RawRecord|parse_records/],
  ["sort", /sort|partition|quicksort|heapsort|insertion|pivot|merge/i],
  ["event.id (FNV-1a 128)", /event_id|fnv|id_bytes/],
  ["timestamps (parse, format)", /time::|iso_ms|with_iso|push_time|parse_timestamp|digits|civil/],
  ["numbers (exact money, f64 text)", /money|Amount|ryu|zmij|dec2flt|write_f64|push_f64|core::num|f64|__multi3|__udivti3|__umodti3|__divti3|__lshrti3|__ashlti3/],
  ["writing the events text (memcpy, growth)", /append_elements|memcpy|memmove|memset|push_str|extend|reserve|RawVec|String|Vec/],
  ["allocator", /dlmalloc|alloc::alloc|__rust_alloc|__rust_dealloc|__rust_realloc|malloc|free/],
  ["garbage collector", /garbage collector/],
];

export function buildProfileVariant() {
  log("profile build: cargo build --release (wasm32) + wasm-bindgen, name section kept");
  let r = spawnSync("cargo", ["build", "-p", "dps-cost-wasm", "--release", "--target", "wasm32-unknown-unknown", "--lib"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error("cargo build for the profile failed");
  rmSync(PROF_PKG, { recursive: true, force: true });
  r = spawnSync("wasm-bindgen", ["--target", "web", "--out-name", "dps_cost", "--out-dir", PROF_PKG, join(root, "target", "wasm32-unknown-unknown", "release", "dps_cost_wasm.wasm")], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error("wasm-bindgen for the profile failed");
}

export function profile(n) {
  mkdirSync(BUILD, { recursive: true });
  const input = join(BUILD, `cost-${n}.json`);
  const dir = join(BUILD, "cpuprof");
  rmSync(dir, { recursive: true, force: true });
  const script = `
    import { readFileSync, existsSync, writeFileSync } from "node:fs";
    const data = await import(${JSON.stringify(join(root, "bench", "data.mjs"))});
    if (!existsSync(${JSON.stringify(input)})) writeFileSync(${JSON.stringify(input)}, data.costReplyText(${n}));
    const text = readFileSync(${JSON.stringify(input)}, "utf8");
    const glue = await import(${JSON.stringify(join(PROF_PKG, "dps_cost.js"))});
    glue.initSync({ module: readFileSync(${JSON.stringify(join(PROF_PKG, "dps_cost_bg.wasm"))}) });
    const opts = { accountUuid: data.ACCOUNT_UUID, accountName: data.ACCOUNT_NAME, subscription: data.SUBSCRIPTION, now: data.NOW };
    glue.costEventsFromJson(data.costReplyText(1000), opts);
    for (let i = 0; i < 3; i++) glue.costEventsFromJson(text, opts);
  `;
  const r = spawnSync(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error("profiled run failed");
  const p = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), "utf8"));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const under = new Map();
  const isUnder = (id) => {
    if (under.has(id)) return under.get(id);
    const x = byId.get(id);
    const v = x.callFrame.functionName === "costEventsFromJson" || (parent.has(id) && isUnder(parent.get(id)));
    under.set(id, v);
    return v;
  };
  const self = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const name = byId.get(id).callFrame.functionName;
    if (!(isUnder(id) || name === "(garbage collector)")) return;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  const groups = new Map(GROUPS.map(([g]) => [g, 0]));
  const other = new Map();
  for (const [name, t] of self) {
    const g = GROUPS.find(([, re]) => re.test(name));
    if (g) groups.set(g[0], groups.get(g[0]) + t);
    else other.set(name, t);
  }
  const otherTotal = [...other.values()].reduce((a, b) => a + b, 0);
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8);
  const pct = (t) => `${((t / total) * 100).toFixed(0)} %`;
  const L = [];
  L.push(`V8 CPU profile (\`node --cpu-prof\`) of 3 calls at N = ${n.toLocaleString("en-US")} on a build that keeps the wasm name section (bench/profile.mjs; same Rust build as dist/pkg, without wasm-opt), self time of the samples under \`costEventsFromJson\` plus GC, ${(total / 1000 / 3).toFixed(0)} ms per call:`);
  L.push("");
  L.push("| where | share |");
  L.push("|---|---:|");
  for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1])) if (t > 0) L.push(`| ${g} | ${pct(t)} |`);
  L.push(`| other | ${pct(otherTotal)} |`);
  L.push("");
  L.push(`Top functions: ${top.map(([k, t]) => `\`${k.replace(/::h[0-9a-f]{16}$/, "").slice(0, 70)}\` ${pct(t)}`).join(", ")}.`);
  return L.join("\n");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const n = Number(process.argv[2] ?? 100_000);
  if (!process.argv.includes("--no-build")) buildProfileVariant();
  const md = profile(n);
  writeFileSync(join(BUILD, "profile.md"), `${md}\n`);
  process.stdout.write(`${md}\n`);
}
