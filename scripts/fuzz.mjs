#!/usr/bin/env node
// Coverage-guided fuzzing of dps-cost (cargo-fuzz / libFuzzer, nightly toolchain; the targets are
// in fuzz/fuzz_targets, the committed seeds in fuzz/seeds from fuzz/seeds.mjs).
//
//   node scripts/fuzz.mjs smoke [--seconds 10] [--only a,b]       bounded run of every target
//   node scripts/fuzz.mjs long  [--seconds 600] [--jobs 1] [--only a,b]
//                                                                 long run under nice -n 19;
//                                                                 writes fuzz/RESULTS.md
//   node scripts/fuzz.mjs results                                 fuzz/RESULTS.md again from fuzz/logs
//   node scripts/fuzz.mjs list
//
// smoke: builds all targets, runs each from the seeds in a fresh corpus, prints executions per
// target; exit 1 on any crash (the reproducer lands in fuzz/artifacts/<target>/). long: keeps
// the growing corpus in fuzz/corpus/<target> (not committed) and records target, seconds,
// executions, exec/s, corpus size and crashes in fuzz/RESULTS.md.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fmtMs, logger, main, root, runAsync, toolEnv } from "./lib.mjs";

const log = logger("fuzz");
const fuzzDir = join(root, "fuzz");
const TRIPLE = "x86_64-unknown-linux-gnu";
const USAGE = "usage: node scripts/fuzz.mjs smoke|long|results|list [--seconds N] [--jobs N] [--only a,b]";

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

const artifactsOf = (dir) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => /^(crash|leak|timeout|oom|slow-unit)-/.test(f)) : [];

/** Runs one target for `seconds`; resolves to its stats. Output goes to `logFile`. */
function runTarget(name, { seconds, corpus, nice, logFile, seed }) {
  // cargo-fuzz builds into fuzz/target unless CARGO_TARGET_DIR says otherwise.
  const targetDir = process.env.CARGO_TARGET_DIR || join(fuzzDir, "target");
  const bin = join(targetDir, TRIPLE, "release", name);
  const artifacts = join(fuzzDir, "artifacts", name);
  mkdirSync(artifacts, { recursive: true });
  mkdirSync(corpus, { recursive: true });
  const before = new Set(artifactsOf(artifacts));
  const seeds = join(fuzzDir, "seeds", name);
  const args = [
    corpus,
    ...(existsSync(seeds) ? [seeds] : []),
    `-max_total_time=${seconds}`,
    ...(seed === undefined ? [] : [`-seed=${seed}`]),
    "-print_final_stats=1",
    "-timeout=20",
    "-rss_limit_mb=2048",
    "-max_len=16384",
    `-artifact_prefix=${artifacts}/`,
  ];
  const [cmd, argv] = nice ? ["nice", ["-n", "19", bin, ...args]] : [bin, args];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: toolEnv(), stdio: ["ignore", "pipe", "pipe"] });
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
      const stat = (k) => Number(new RegExp(`stat::${k}:\\s*(\\d+)`).exec(text)?.[1] ?? NaN);
      const crashes = artifactsOf(artifacts).filter((f) => !before.has(f));
      const elapsed = (Date.now() - t0) / 1000;
      const execs = stat("number_of_executed_units");
      resolve({
        name,
        code: code ?? 1,
        seconds: Math.round(elapsed),
        execs,
        perSec: Number.isFinite(execs) ? Math.round(execs / Math.max(elapsed, 1)) : NaN,
        corpus: readdirSync(corpus).length,
        crashes: crashes.map((f) => join("fuzz", "artifacts", name, f)),
        tail: code === 0 ? "" : text.split("\n").slice(-40).join("\n"),
      });
    });
  });
}

function failed(r) {
  return r.code !== 0 || r.crashes.length > 0;
}

function line(r) {
  const crash = failed(r) ? ` — CRASH (exit ${r.code}) ${r.crashes.join(" ")}` : "";
  return `${r.name.padEnd(15)} ${String(r.seconds).padStart(4)} s  ${String(r.execs).padStart(11)} execs  ${String(r.perSec).padStart(7)}/s  corpus ${r.corpus}${crash}`;
}

async function smoke({ seconds, only }) {
  const t0 = Date.now();
  // The fuzz crate is not part of the root package: the `fmt` layer does not see it.
  const fmt = await runAsync("cargo", ["fmt", "--check", "--manifest-path", join(fuzzDir, "Cargo.toml")]);
  if (fmt !== 0) {
    log("fuzz/ is not formatted: run `cargo fmt --manifest-path fuzz/Cargo.toml`");
    return fmt;
  }
  const code = await build();
  if (code !== 0) return code;
  log(`built in ${fmtMs(Date.now() - t0)}`);
  const tmp = mkdtempSync(join(tmpdir(), "dps-cost-fuzz-"));
  const results = [];
  try {
    for (const name of only) {
      // A fixed seed: the gate explores the same mutations on every machine (up to its speed);
      // finding new bugs is the long run's job.
      const r = await runTarget(name, { seconds, corpus: join(tmp, name), nice: false, seed: 1 });
      log(line(r));
      if (failed(r)) process.stderr.write(`${r.tail}\n`);
      results.push(r);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const bad = results.filter(failed);
  const execs = results.reduce((s, r) => s + (r.execs || 0), 0);
  log(`${results.length} targets, ${execs} executions, ${bad.length} crashed, ${fmtMs(Date.now() - t0)} in all`);
  return bad.length ? 1 : 0;
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

async function long({ seconds, jobs, only }) {
  const code = await build();
  if (code !== 0) return code;
  const logs = join(fuzzDir, "logs");
  mkdirSync(logs, { recursive: true });
  const results = await pool(only, jobs, async (name) => {
    log(`${name}: ${seconds} s under nice -n 19`);
    const r = await runTarget(name, {
      seconds,
      corpus: join(fuzzDir, "corpus", name),
      nice: true,
      logFile: join(logs, `${name}.log`),
    });
    const meta = { seconds: r.seconds, corpus: r.corpus, crashes: r.crashes.length || (r.code !== 0 ? 1 : 0), finished: new Date().toISOString() };
    writeFileSync(join(logs, `${name}.json`), `${JSON.stringify(meta)}\n`);
    log(line(r));
    return r;
  });
  writeResults();
  return results.some(failed) ? 1 : 0;
}

/** One long run's numbers, from its libFuzzer log (fuzz/logs/<target>.log). */
function fromLog(name) {
  const logs = join(fuzzDir, "logs");
  const text = readFileSync(join(logs, `${name}.log`), "utf8");
  const sidecar = join(logs, `${name}.json`);
  const meta = existsSync(sidecar) ? JSON.parse(readFileSync(sidecar, "utf8")) : {};
  const done = /Done (\d+) runs in (\d+) second/.exec(text);
  const execs = Number(/stat::number_of_executed_units:\s*(\d+)/.exec(text)?.[1] ?? done?.[1] ?? NaN);
  const seconds = meta.seconds ?? Number(done?.[2] ?? NaN);
  const corpusDir = join(fuzzDir, "corpus", name);
  const crashed = /SUMMARY: libFuzzer|deadly signal|panicked at|==ERROR/.test(text);
  return {
    name,
    seconds,
    execs,
    perSec: Math.round(execs / Math.max(seconds, 1)),
    corpus: meta.corpus ?? (existsSync(corpusDir) ? readdirSync(corpusDir).length : NaN),
    crashes: meta.crashes ?? (crashed ? 1 : 0),
    finished: meta.finished ?? null,
  };
}

/** fuzz/RESULTS.md from the logs of the last long run of every target. */
function writeResults() {
  const file = join(fuzzDir, "RESULTS.md");
  const logs = join(fuzzDir, "logs");
  const names = targets().filter((t) => existsSync(join(logs, `${t}.log`)));
  const rows = names.map(fromLog).map(
    (r) => `| ${r.name} | ${r.seconds} | ${r.execs} | ${r.perSec} | ${r.corpus} | ${r.crashes} |`,
  );
  const missing = targets().filter((t) => !names.includes(t));
  const text = [
    "# Fuzzing results",
    "",
    "Last long run of each target: `node scripts/fuzz.mjs long --seconds 600` (one libFuzzer",
    "process per target under `nice -n 19`, on a shared 2-core machine that was busy with other",
    "builds, so exec/s is a floor). Corpus = files in `fuzz/corpus/<target>` afterwards (the",
    "committed seeds in `fuzz/seeds/<target>` not counted). Crashes = reproducers written in that",
    "run (each one fixed, with a test in `tests/fuzz_regressions.rs`, and the target run again).",
    "",
    "| target | seconds | execs | exec/s | corpus | crashes |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    ...(missing.length ? ["", `Not run yet: ${missing.join(", ")}.`] : []),
    "",
  ].join("\n");
  // A hand-written "## Findings" section (crashes found and how they were fixed) is kept.
  const previous = existsSync(file) ? readFileSync(file, "utf8") : "";
  const at = previous.indexOf("\n## Findings");
  writeFileSync(file, at >= 0 ? `${text}${previous.slice(at)}` : text);
  log(`wrote ${file}`);
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
  if (values.help || !["smoke", "long", "list", "results"].includes(mode)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const all = targets();
  if (mode === "list") {
    process.stdout.write(`${all.join("\n")}\n`);
    return 0;
  }
  if (mode === "results") {
    writeResults();
    return 0;
  }
  const only = values.only ? values.only.split(",").map((s) => s.trim()) : all;
  const unknown = only.filter((t) => !all.includes(t));
  if (unknown.length) {
    process.stderr.write(`fuzz: unknown target(s) ${unknown.join(", ")} (known: ${all.join(", ")})\n`);
    return 2;
  }
  const seconds = Number(values.seconds ?? (mode === "smoke" ? 10 : 600));
  const jobs = Number(values.jobs ?? 1);
  if (!Number.isInteger(seconds) || seconds < 1 || !Number.isInteger(jobs) || jobs < 1) {
    process.stderr.write(`fuzz: --seconds and --jobs must be positive integers\n`);
    return 2;
  }
  return mode === "smoke" ? smoke({ seconds, only }) : long({ seconds, jobs, only });
});
