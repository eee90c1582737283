#!/usr/bin/env node
// Coverage-guided fuzzing of dps-cost (cargo-fuzz / libFuzzer, nightly toolchain; the targets are
// in fuzz/fuzz_targets).
//
//   node scripts/fuzz.mjs gate [--only a,b]                       the deterministic gate (npm test)
//   node scripts/fuzz.mjs long [--seconds 600] [--jobs 1] [--only a,b]
//                                                                 time-boxed exploration under
//                                                                 nice -n 19; records the run in
//                                                                 fuzz/RESULTS.md
//   node scripts/fuzz.mjs minimize [--only a,b]                   folds the long runs' corpora
//                                                                 into the committed fuzz/corpus-min
//   node scripts/fuzz.mjs list
//
// gate: builds all targets, then per target (1) replays every committed input once — the seeds
// (fuzz/seeds, from fuzz/seeds.mjs), the minimized corpus of earlier long runs (fuzz/corpus-min)
// and every saved crash input (fuzz/regressions) — and (2) explores a fixed number of executions
// (GATE_RUNS) from a fixed seed, starting from those inputs. No time limit decides anything, so
// every machine tries the same inputs and reports the same execution counts; exit 1 on any
// crash (the reproducer lands in fuzz/artifacts/<target>/).
// long: keeps the growing corpus in fuzz/corpus/<target> (not committed), copies every crash
// input into fuzz/regressions/<target>/ (commit it with its fix and a test in
// tests/fuzz_regressions.rs) and appends the run to fuzz/RESULTS.md.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { fmtMs, logger, main, root, runAsync, toolEnv } from "./lib.mjs";

const log = logger("fuzz");
const fuzzDir = join(root, "fuzz");
const TRIPLE = "x86_64-unknown-linux-gnu";
const USAGE = "usage: node scripts/fuzz.mjs gate|long|minimize|results|list [--seconds N] [--jobs N] [--only a,b]";

/** The gate's fixed libFuzzer seed. */
const GATE_SEED = 1;
/**
 * Executions each target explores in the gate (beyond the replay), sized for about 2 minutes in
 * all on a busy 2-core machine of this project (37 s for a quarter of these counts, with two
 * long runs beside it). A count, not a time: a slower machine takes longer and tries exactly the
 * same inputs.
 */
export const GATE_RUNS = {
  token_response: 60_000,
  api_payloads: 12_000,
  ingest_reply: 8_000,
  datadog_rules: 12_000,
  allocate: 60_000,
  cost_lines: 200_000,
  scalars: 200_000,
  focus_export: 8_000,
};
/** libFuzzer flags every run shares. The timeout is generous: no verdict may hang on speed. */
const COMMON = ["-max_len=16384", "-rss_limit_mb=2048", "-timeout=120", "-print_final_stats=1"];

/** The `[[bin]]` names of fuzz/Cargo.toml, in file order. */
export function targets() {
  const toml = readFileSync(join(fuzzDir, "Cargo.toml"), "utf8");
  return toml
    .split(/^\[\[bin\]\]/m)
    .slice(1)
    .map((s) => /^name\s*=\s*"([^"]+)"/m.exec(s)?.[1])
    .filter(Boolean);
}

function build() {
  // Release with debug assertions (cargo-fuzz's default); fuzz/target stays separate.
  return runAsync("cargo", ["+nightly", "fuzz", "build", "--fuzz-dir", "fuzz"], { env: toolEnv() });
}

const binOf = (name) => join(process.env.CARGO_TARGET_DIR || join(fuzzDir, "target"), TRIPLE, "release", name);
const artifactsOf = (dir) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => /^(crash|leak|timeout|oom|slow-unit)-/.test(f)) : [];
const filesIn = (dir) => (existsSync(dir) ? readdirSync(dir).sort().map((f) => join(dir, f)) : []);
/** The committed inputs of a target: seeds, the minimized corpus, saved crash inputs. */
const committedDirs = (name) =>
  [join(fuzzDir, "seeds", name), join(fuzzDir, "corpus-min", name), join(fuzzDir, "regressions", name)].filter(existsSync);
/** `path` relative to the repository (libFuzzer runs there): the gate's arguments do not depend on where the clone is. */
const rel = (path) => relative(root, path) || ".";

/**
 * The command prefix that runs a process without address-space randomisation (`setarch -R`,
 * util-linux), or null where the kernel refuses it. libFuzzer feeds the values of instrumented
 * comparisons back into its mutations, and some of those values are addresses: with ASLR on,
 * the same seed and run count explored different inputs on every run.
 */
let fixedLayoutPrefix;
function fixedLayout() {
  if (fixedLayoutPrefix === undefined) {
    const arch = spawnSync("uname", ["-m"], { encoding: "utf8" }).stdout?.trim();
    const probe = arch ? spawnSync("setarch", [arch, "-R", "true"], { stdio: "ignore" }) : { status: 1 };
    fixedLayoutPrefix = probe.status === 0 ? ["setarch", arch, "-R"] : null;
    if (!fixedLayoutPrefix) {
      log("warning: `setarch -R` is unavailable: the gate's exploration may differ between runs (its execution counts do not)");
    }
  }
  return fixedLayoutPrefix;
}

/** Runs one libFuzzer process; resolves to its exit code, output, stats and new artifacts. */
function libFuzzer(name, args, { nice = false, logFile, reproducible = false } = {}) {
  const bin = binOf(name);
  const artifacts = join(fuzzDir, "artifacts", name);
  mkdirSync(artifacts, { recursive: true });
  const before = new Set(artifactsOf(artifacts));
  const argv = [...args, ...COMMON, `-artifact_prefix=${artifacts}/`];
  const prefix = [...(nice ? ["nice", "-n", "19"] : []), ...((reproducible && fixedLayout()) || [])];
  const [cmd, ...rest] = [...prefix, bin, ...argv];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, rest, { cwd: root, env: toolEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    const take = (d) => {
      text += d;
      if (text.length > 4_000_000) text = text.slice(-2_000_000);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (e) => {
      text += `could not run ${bin}: ${e.message}\n`;
    });
    child.on("close", (code) => {
      if (logFile) writeFileSync(logFile, text);
      const execs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(text)?.[1] ?? NaN);
      const seconds = (Date.now() - t0) / 1000;
      resolve({
        name,
        code: code ?? 1,
        text,
        execs,
        seconds: Math.round(seconds),
        perSec: Number.isFinite(execs) ? Math.round(execs / Math.max(seconds, 1)) : NaN,
        crashes: artifactsOf(artifacts)
          .filter((f) => !before.has(f) && !f.startsWith("slow-unit-"))
          .map((f) => join("fuzz", "artifacts", name, f)),
      });
    });
  });
}

const failed = (r) => r.code !== 0 || r.crashes.length > 0;
const tail = (r) => r.text.split("\n").slice(-40).join("\n");

async function checkFormatted() {
  // The fuzz crate is not part of the root package: the `fmt` layer does not see it.
  const fmt = await runAsync("cargo", ["fmt", "--check", "--manifest-path", join(fuzzDir, "Cargo.toml")]);
  if (fmt !== 0) log("fuzz/ is not formatted: run `cargo fmt --manifest-path fuzz/Cargo.toml`");
  return fmt;
}

/** The deterministic gate: replay every committed input, then GATE_RUNS from GATE_SEED. */
async function gate({ only }) {
  const t0 = Date.now();
  const fmt = await checkFormatted();
  if (fmt !== 0) return fmt;
  const code = await build();
  if (code !== 0) return code;
  log(`built in ${fmtMs(Date.now() - t0)}`);
  // The scratch corpus sits at the same relative path on every machine and run: its name is
  // part of what libFuzzer's exploration depends on (a random temporary name changed it).
  const scratch = join(fuzzDir, "gate");
  let bad = 0;
  let total = 0;
  try {
    for (const name of only) {
      // 1. Every committed input once (files given one by one: libFuzzer runs each, mutates none).
      const inputs = committedDirs(name).flatMap(filesIn).map(rel);
      const replay = inputs.length ? await libFuzzer(name, inputs) : { code: 0, crashes: [], text: "" };
      const replayed = (replay.text.match(/^Executed /gm) || []).length;
      if (failed(replay) || replayed !== inputs.length) {
        const at = /^Running: (.*)$/gm;
        let last;
        for (let m; (m = at.exec(replay.text)); ) last = m[1];
        log(`${name}: replay CRASHED (exit ${replay.code}) on ${last ?? "?"} after ${replayed} of ${inputs.length} inputs`);
        process.stderr.write(`${tail(replay)}\n`);
        bad++;
        continue;
      }
      // 2. A fixed number of executions from a fixed seed, starting from the committed inputs
      //    (new inputs go to a scratch corpus, the first directory). What else steered the
      //    exploration, each found by running the same seed twice and comparing the corpora:
      //    timed corpus reloads (-reload=0), random hash keys (fixed in fuzz builds:
      //    src/hash.rs), address randomisation (setarch -R), the scratch directory's name, and
      //    the table of recent comparisons, whose values fed mutations differently from run to
      //    run (-use_cmp=0: the long runs keep it, the gate trades that power for repeatability).
      const corpus = join(scratch, name);
      rmSync(corpus, { recursive: true, force: true });
      mkdirSync(corpus, { recursive: true });
      const runs = GATE_RUNS[name] ?? 5_000;
      const dirs = [corpus, ...committedDirs(name)].map(rel);
      const r = await libFuzzer(name, [...dirs, `-seed=${GATE_SEED}`, `-runs=${runs}`, "-reload=0", "-use_cmp=0"], {
        reproducible: true,
      });
      total += Number.isFinite(r.execs) ? r.execs : 0;
      const crash = failed(r) ? ` — CRASH (exit ${r.code}) ${r.crashes.join(" ")}` : "";
      // The names of the inputs it kept are their SHA-1s: one digest of them tells two machines
      // (or two runs) apart when they explored differently.
      const kept = readdirSync(corpus).sort();
      const digest = createHash("sha1").update(kept.join("\n")).digest("hex").slice(0, 12);
      log(`${name.padEnd(15)} replayed ${String(replayed).padStart(4)} inputs; explored ${r.execs} executions (seed ${GATE_SEED}, -runs=${runs}); kept ${kept.length} new inputs, digest ${digest}${crash}`);
      if (failed(r)) {
        process.stderr.write(`${tail(r)}\n`);
        bad++;
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`${only.length} targets, ${total} executions explored, ${bad} crashed, ${fmtMs(Date.now() - t0)} in all`);
  return bad ? 1 : 0;
}

/** Runs `items` through `worker` with at most `jobs` at a time, keeping the input order. */
async function pool(items, jobs, worker) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await worker(items[i]);
      }
    }),
  );
  return out;
}

function commit() {
  try {
    return spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim() || "?";
  } catch {
    return "?";
  }
}

/** Time-boxed exploration: random seed, growing corpus, crashes saved as regression inputs. */
async function long({ seconds, jobs, only }) {
  const rev = commit();
  const code = await build();
  if (code !== 0) return code;
  const logs = join(fuzzDir, "logs");
  mkdirSync(logs, { recursive: true });
  const rows = await pool(only, jobs, async (name) => {
    log(`${name}: ${seconds} s under nice -n 19`);
    const corpus = join(fuzzDir, "corpus", name);
    mkdirSync(corpus, { recursive: true });
    const r = await libFuzzer(name, [corpus, ...committedDirs(name), `-max_total_time=${seconds}`], {
      nice: true,
      logFile: join(logs, `${name}.log`),
    });
    const saved = [];
    for (const c of r.crashes) {
      const dir = join(fuzzDir, "regressions", name);
      mkdirSync(dir, { recursive: true });
      const to = join(dir, basename(c));
      copyFileSync(join(root, c), to);
      saved.push(to.slice(root.length + 1));
    }
    const crashes = saved.length || (r.code !== 0 ? 1 : 0);
    log(`${name.padEnd(15)} ${r.seconds} s  ${r.execs} execs  ${r.perSec}/s  corpus ${readdirSync(corpus).length}${crashes ? `  CRASH → ${saved.join(" ") || `exit ${r.code}`}` : ""}`);
    if (crashes) process.stderr.write(`${tail(r)}\n`);
    return { name, seconds: r.seconds, execs: r.execs, perSec: r.perSec, corpus: readdirSync(corpus).length, crashes, saved, finished: new Date() };
  });
  appendRuns(rows, rev);
  return rows.some((r) => r.crashes) ? 1 : 0;
}

/** Folds fuzz/corpus (long runs) into the committed, minimized fuzz/corpus-min. */
async function minimize({ only }) {
  const code = await build();
  if (code !== 0) return code;
  const tmp = mkdtempSync(join(tmpdir(), "dps-cost-merge-"));
  try {
    for (const name of only) {
      // The seeds are committed already: merge into a copy of them, keep what they lack.
      const into = join(tmp, name);
      mkdirSync(into);
      const seedNames = new Set();
      for (const f of filesIn(join(fuzzDir, "seeds", name))) {
        copyFileSync(f, join(into, basename(f)));
        seedNames.add(basename(f));
      }
      const from = [join(fuzzDir, "corpus-min", name), join(fuzzDir, "corpus", name), join(fuzzDir, "regressions", name)].filter(existsSync);
      const r = await libFuzzer(name, ["-merge=1", into, ...from]);
      if (r.code !== 0) {
        process.stderr.write(`${tail(r)}\n`);
        return 1;
      }
      const keep = join(fuzzDir, "corpus-min", name);
      rmSync(keep, { recursive: true, force: true });
      mkdirSync(keep, { recursive: true });
      let n = 0;
      for (const f of filesIn(into)) {
        if (seedNames.has(basename(f))) continue;
        copyFileSync(f, join(keep, basename(f)));
        n++;
      }
      log(`${name}: corpus-min ${n} inputs`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return 0;
}

const RESULTS_HEAD = `# Fuzzing results

\`npm test\`'s \`fuzz\` layer is the deterministic gate (\`node scripts/fuzz.mjs gate\`): it replays
the committed inputs of each target (fuzz/seeds, fuzz/corpus-min, fuzz/regressions), then
explores a fixed number of executions from seed ${GATE_SEED}. The exploration that finds new bugs
runs outside the gate: \`node scripts/fuzz.mjs long --seconds 600\` (one libFuzzer process per
target under \`nice -n 19\`, so exec/s is a floor on a busy machine). Each long run is a row below
(appended by the script). Corpus = inputs in \`fuzz/corpus/<target>\` afterwards; crashes = inputs
saved to \`fuzz/regressions/<target>/\` in that run (each one fixed, with a test in
\`tests/fuzz_regressions.rs\`, and the target run again).

## Runs

| finished (UTC) | commit | target | seconds | execs | exec/s | corpus | crashes |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |
`;

/** Appends one row per target to fuzz/RESULTS.md's run log (kept across runs). */
function appendRuns(rows, rev) {
  const file = join(fuzzDir, "RESULTS.md");
  const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
  const table = /\n## Runs\n\n(\| finished[^\n]*\n\| ---[^\n]*\n)((?:\|[^\n]*\n)*)/.exec(previous);
  const when = (d) => d.toISOString().slice(0, 16).replace("T", " ");
  const add = rows
    .map((r) => `| ${when(r.finished)} | ${rev} | ${r.name} | ${r.seconds} | ${r.execs} | ${r.perSec} | ${r.corpus} | ${r.crashes} |\n`)
    .join("");
  let text;
  if (table) {
    const end = table.index + table[0].length;
    text = previous.slice(0, end) + add + previous.slice(end);
  } else {
    const at = previous.indexOf("\n## Findings");
    text = RESULTS_HEAD + add + (at >= 0 ? previous.slice(at) : "");
  }
  writeFileSync(file, text);
  log(`appended ${rows.length} row(s) to ${file}`);
}

main("fuzz", async () => {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        seconds: { type: "string" },
        jobs: { type: "string" },
        only: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    process.stderr.write(`fuzz: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const mode = positionals[0];
  if (values.help || !["gate", "long", "minimize", "list"].includes(mode)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const all = targets();
  if (mode === "list") {
    process.stdout.write(`${all.join("\n")}\n`);
    return 0;
  }
  const only = values.only ? values.only.split(",").map((s) => s.trim()) : all;
  const unknown = only.filter((t) => !all.includes(t));
  if (unknown.length) {
    process.stderr.write(`fuzz: unknown target(s) ${unknown.join(", ")} (known: ${all.join(", ")})\n`);
    return 2;
  }
  const seconds = Number(values.seconds ?? 600);
  const jobs = Number(values.jobs ?? 1);
  if (!Number.isInteger(seconds) || seconds < 1 || !Number.isInteger(jobs) || jobs < 1) {
    process.stderr.write(`fuzz: --seconds and --jobs must be positive integers\n`);
    return 2;
  }
  if (mode === "gate") return gate({ only });
  if (mode === "minimize") return minimize({ only });
  return long({ seconds, jobs, only });
});
