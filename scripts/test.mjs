#!/usr/bin/env node
// `npm test`: setup --test, then every test layer in order, each timed. Stops at the first
// failing layer but always prints the per-layer summary and, last, a line `N passed, N failed`
// (N = layers). Exit 0 only when every layer passed.
//
//   node scripts/test.mjs [--from NAME] [--only NAME[,NAME…]] [--list]
//
// Layers: setup · fmt · clippy · deny · cargo-test · focus-validator · fuzz · wasm-node · wasm-chromium ·
//         build · package · browser · dt-runtime
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fmtMs, logger, main, root, runAsync, toolEnv } from "./lib.mjs";

const log = logger("test");
const node = process.execPath;
const CHROMEDRIVER = process.env.CHROMEDRIVER || "/usr/bin/chromedriver";
const wasmEnv = (extra) =>
  toolEnv({
    CHROMEDRIVER,
    // Browser start-up on a busy 2-core machine can take a while.
    WASM_BINDGEN_TEST_TIMEOUT: process.env.WASM_BINDGEN_TEST_TIMEOUT || "120",
    ...extra,
  });

/** State shared by the JS layers: where the packed package is installed. */
const shared = { pkgDir: null, packDir: null };

const jsTests = (filter) =>
  readdirSync(join(root, "tests", "js"))
    .filter((f) => f.endsWith(".test.mjs") && filter(f))
    .sort()
    .map((f) => join("tests", "js", f));

async function nodeTest(files) {
  if (files.length === 0) {
    log("no test files");
    return 1;
  }
  if (!shared.pkgDir) {
    const { packAndInstall } = await import("./pack.mjs");
    const r = packAndInstall();
    shared.pkgDir = r.pkgDir;
    shared.packDir = join(r.projectDir, "..");
  }
  return runAsync(node, ["--test", "--test-reporter=spec", "--test-concurrency=1", ...files], {
    env: toolEnv({ DPS_COST_PKG_DIR: shared.pkgDir }),
  });
}

/** Each layer: a name, what it runs, and a function resolving to an exit code. */
const LAYERS = [
  { name: "setup", what: "node scripts/setup.mjs --test", run: () => runAsync(node, ["scripts/setup.mjs", "--test"]) },
  { name: "fmt", what: "cargo fmt --all --check", run: () => runAsync("cargo", ["fmt", "--all", "--check"]) },
  {
    name: "clippy",
    what: "cargo clippy --workspace --all-targets -D warnings; the bindings crate for wasm32 with each shipped feature set; cargo doc -D warnings",
    run: async () => {
      const wasm = ["clippy", "-p", "dps-cost-wasm", "--target", "wasm32-unknown-unknown", "--lib"];
      // The three shipped modules (scripts/build.mjs BUILDS): full, inline (contract), workflow (delivery).
      for (const args of [
        ["clippy", "--workspace", "--all-targets"],
        ["clippy", "-p", "dps-cost-wasm", "--target", "wasm32-unknown-unknown", "--all-targets"],
        wasm,
        [...wasm, "--no-default-features", "--features", "contract"],
        [...wasm, "--no-default-features", "--features", "rules,delivery"],
      ]) {
        const code = await runAsync("cargo", [...args, "--", "-D", "warnings"]);
        if (code) return code;
      }
      // The API docs: no broken or private intra-doc link.
      return runAsync("cargo", ["doc", "--workspace", "--no-deps", "-q"], { env: toolEnv({ RUSTDOCFLAGS: "-D warnings" }) });
    },
  },
  {
    name: "deny",
    what: "cargo deny check licenses bans sources (deny.toml; advisories need GitHub: SECURITY.md)",
    run: () => runAsync("cargo", ["deny", "check", "licenses", "bans", "sources"]),
  },
  { name: "cargo-test", what: "cargo test --workspace (native)", run: () => runAsync("cargo", ["test", "--workspace"]) },
  {
    name: "focus-validator",
    what: "node scripts/focus-validate.mjs (focus-validator 2.2.1, offline, over the FOCUS 1.2 exports; 0 failures but the README's validator artefacts)",
    run: () => runAsync(node, ["scripts/focus-validate.mjs"]),
  },
  {
    name: "fuzz",
    what: "node scripts/fuzz.mjs gate (replay of the committed inputs, then a fixed number of executions from a fixed seed, per target)",
    run: () => runAsync(node, ["scripts/fuzz.mjs", "gate"]),
  },
  {
    name: "wasm-node",
    what: "cargo test -p dps-cost-wasm --target wasm32-unknown-unknown (wasm-bindgen-test in Node)",
    run: () =>
      runAsync("cargo", ["test", "-p", "dps-cost-wasm", "--target", "wasm32-unknown-unknown"], {
        env: wasmEnv({ WASM_BINDGEN_TEST_ONLY_NODE: "1" }),
      }),
  },
  {
    name: "wasm-chromium",
    what: "the same in headless Chromium (WASM_BINDGEN_USE_BROWSER=1, crates/wasm/webdriver.json)",
    run: () =>
      runAsync("cargo", ["test", "-p", "dps-cost-wasm", "--target", "wasm32-unknown-unknown"], {
        env: wasmEnv({ WASM_BINDGEN_USE_BROWSER: "1", WASM_BINDGEN_TEST_ONLY_WEB: "1" }),
      }),
  },
  { name: "build", what: "node scripts/build.mjs", run: () => runAsync(node, ["scripts/build.mjs"]) },
  {
    name: "package",
    what: "npm pack + install into a temp project; node --test tests/js/*.test.mjs",
    run: () => nodeTest(jsTests((f) => f !== "browser.test.mjs" && f !== "report.test.mjs" && !f.startsWith("workflow"))),
  },
  {
    name: "browser",
    what: "node --test tests/js/browser.test.mjs tests/js/report.test.mjs",
    run: () => nodeTest(jsTests((f) => f === "browser.test.mjs" || f === "report.test.mjs")),
  },
  {
    name: "dt-runtime",
    what: "node --test tests/js/workflow*.test.mjs (@dynatrace/js-runtime; workflow-large: 1.4 M events, ~1.5 min)",
    run: () => nodeTest(jsTests((f) => f.startsWith("workflow"))),
  },
];

main("test", async () => {
  let values;
  try {
    ({ values } = parseArgs({
      options: { from: { type: "string" }, only: { type: "string" }, list: { type: "boolean" } },
    }));
  } catch (e) {
    process.stderr.write(`test: ${e.message}\n`);
    return 2;
  }
  const names = LAYERS.map((l) => l.name);
  if (values.list) {
    for (const l of LAYERS) process.stdout.write(`${l.name.padEnd(14)} ${l.what}\n`);
    return 0;
  }
  let layers = LAYERS;
  if (values.only) {
    const want = values.only.split(",");
    const unknown = want.filter((n) => !names.includes(n));
    if (unknown.length) {
      process.stderr.write(`test: unknown layer(s) ${unknown.join(", ")}; layers: ${names.join(", ")}\n`);
      return 2;
    }
    layers = LAYERS.filter((l) => want.includes(l.name));
  } else if (values.from) {
    const i = names.indexOf(values.from);
    if (i < 0) {
      process.stderr.write(`test: unknown layer ${values.from}; layers: ${names.join(", ")}\n`);
      return 2;
    }
    layers = [LAYERS[0], ...LAYERS.slice(Math.max(i, 1))];
  }
  process.env.CI ??= "1"; // non-interactive children (npm, cargo progress)

  const results = [];
  const t0 = Date.now();
  for (const layer of layers) {
    log(`── ${layer.name}: ${layer.what}`);
    const start = Date.now();
    let code;
    try {
      code = await layer.run();
    } catch (e) {
      process.stderr.write(`[test] ${layer.name}: ${e?.message ?? e}\n`);
      code = 1;
    }
    results.push({ name: layer.name, code, ms: Date.now() - start });
    log(`── ${layer.name}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${fmtMs(Date.now() - start)}`);
    if (code !== 0) break;
  }
  if (shared.packDir) rmSync(shared.packDir, { recursive: true, force: true });

  const passed = results.filter((r) => r.code === 0).length;
  const failed = results.length - passed;
  const notRun = layers.slice(results.length).map((l) => l.name);
  const lines = ["", "layer          result    time"];
  for (const r of results) lines.push(`${r.name.padEnd(14)} ${(r.code === 0 ? "passed" : "FAILED").padEnd(9)} ${fmtMs(r.ms)}`);
  for (const n of notRun) lines.push(`${n.padEnd(14)} not run`);
  lines.push(`total          ${fmtMs(Date.now() - t0)}`, "", `${passed} passed, ${failed} failed`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return failed === 0 && notRun.length === 0 ? 0 : 1;
});
