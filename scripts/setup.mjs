#!/usr/bin/env node
// Installs what building (and, with --test, testing) dps-cost needs. Idempotent and fast when
// everything is present. Starting point: Debian 12 with rustup, Node >= 20 and npm.
//
//   node scripts/setup.mjs          wasm32 target, wasm-bindgen CLI (version from Cargo.lock), npm ci
//   node scripts/setup.mjs --test   … plus Debian chromium + chromium-driver, cargo-deny, cargo-fuzz
//                                   (+ nightly), @dynatrace/js-runtime and the FOCUS validator
//                                   (focus-validator 2.2.1, pyarrow, duckdb in .venv-focus/, Python ≥ 3.12:
//                                   DPS_COST_PYTHON, pyenv's versions or PATH; see findPython)
//
// Progress goes to stderr. Exit 1 with a clear message when something cannot be installed.
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  ScriptError,
  cargoBin,
  installedWasmBindgenVersion,
  lockedWasmBindgenVersion,
  logger,
  isMain,
  main,
  mtime,
  root,
  run,
  which,
} from "./lib.mjs";

export const DT_RUNTIME_VERSION = "1.135.0";
/** cargo deny for the `deny` test layer; builds from source for several minutes (25 min on a busy 2-core machine). */
export const CARGO_DENY_VERSION = "0.20.2";
const WASM_TARGET = "wasm32-unknown-unknown";
const log = logger("setup");

function requireTool(name, hint) {
  if (!which(name)) throw new ScriptError(`\`${name}\` is not installed: ${hint}`);
}

function ensureWasmTarget() {
  const r = run("rustup", ["target", "list", "--installed"], { capture: true });
  if (r.stdout.split(/\s+/).includes(WASM_TARGET)) {
    log(`ok  rust target ${WASM_TARGET}`);
    return;
  }
  log(`installing rust target ${WASM_TARGET}`);
  run("rustup", ["target", "add", WASM_TARGET]);
}

function ensureWasmBindgen() {
  const want = lockedWasmBindgenVersion();
  const have = installedWasmBindgenVersion("wasm-bindgen");
  const runner = installedWasmBindgenVersion("wasm-bindgen-test-runner");
  if (have === want && runner === want) {
    log(`ok  wasm-bindgen CLI ${want}`);
    return;
  }
  log(
    `installing wasm-bindgen-cli ${want} (found ${have ?? "none"}; Cargo.lock wants ${want}) — ` +
      "this compiles from source and takes a few minutes",
  );
  // No --locked: the CLI's own lockfile pins a crate version the registry no longer has.
  run("cargo", ["install", "wasm-bindgen-cli", "--version", want, "--force"]);
  const now = installedWasmBindgenVersion("wasm-bindgen");
  if (now !== want) {
    throw new ScriptError(
      `wasm-bindgen ${want} was installed but \`wasm-bindgen --version\` reports ${now ?? "nothing"}; ` +
        `is another wasm-bindgen earlier on PATH than ${cargoBin}?`,
    );
  }
}

function ensureNodeModules() {
  const lock = join(root, "package-lock.json");
  if (!existsSync(lock)) throw new ScriptError("package-lock.json is missing (it is committed; restore it with git)");
  // npm writes node_modules/.package-lock.json on every install: older than the lockfile = stale.
  const stamp = join(root, "node_modules", ".package-lock.json");
  if (existsSync(stamp) && mtime(stamp) >= mtime(lock)) {
    log("ok  node_modules");
    return;
  }
  log("npm ci (node_modules missing or older than package-lock.json)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

function ensureChromium() {
  const missing = ["/usr/bin/chromium", "/usr/bin/chromedriver"].filter((p) => !existsSync(p));
  if (missing.length === 0) {
    log("ok  chromium + chromedriver");
    return;
  }
  if (!existsSync("/usr/bin/apt-get")) {
    throw new ScriptError(
      `${missing.join(" and ")} missing and apt-get is not available: install Debian's chromium and chromium-driver`,
    );
  }
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!asRoot && !which("sudo")) throw new ScriptError("installing chromium needs root, and sudo is not available");
  const sudo = (args) => (asRoot ? ["env", args] : ["sudo", ["-n", "env", ...args]]);
  const env = ["DEBIAN_FRONTEND=noninteractive"];
  log(`installing chromium + chromium-driver with apt-get (${missing.join(", ")} missing)`);
  try {
    run(...sudo([...env, "apt-get", "update"]));
    run(...sudo([...env, "apt-get", "install", "-y", "chromium", "chromium-driver"]));
  } catch (e) {
    throw new ScriptError(`could not install chromium: ${e.message}${asRoot ? "" : " (sudo -n needs passwordless sudo)"}`);
  }
  const still = ["/usr/bin/chromium", "/usr/bin/chromedriver"].filter((p) => !existsSync(p));
  if (still.length) throw new ScriptError(`apt-get finished but ${still.join(", ")} is still missing`);
}

function ensureCargoDeny() {
  const have = installedWasmBindgenVersion("cargo-deny"); // `cargo-deny 0.20.2`: the same version probe
  if (have === CARGO_DENY_VERSION) {
    log(`ok  cargo-deny ${CARGO_DENY_VERSION}`);
    return;
  }
  log(`installing cargo-deny ${CARGO_DENY_VERSION} (found ${have ?? "none"}) — compiles from source, several minutes`);
  run("cargo", ["install", "cargo-deny", "--version", CARGO_DENY_VERSION, "--locked", "--force"]);
  const now = installedWasmBindgenVersion("cargo-deny");
  if (now !== CARGO_DENY_VERSION) throw new ScriptError(`cargo-deny ${CARGO_DENY_VERSION} was installed but \`cargo-deny --version\` reports ${now ?? "nothing"}`);
}

/** cargo-fuzz (and the nightly toolchain it needs) for the `fuzz` test layer (scripts/fuzz.mjs). */
export const CARGO_FUZZ_VERSION = "0.13.2";
function ensureCargoFuzz() {
  const toolchains = run("rustup", ["toolchain", "list"], { capture: true }).stdout;
  if (!/^nightly-/m.test(toolchains)) {
    log("installing the nightly toolchain (cargo fuzz needs it)");
    run("rustup", ["toolchain", "install", "nightly", "--profile", "minimal"]);
  }
  const have = installedWasmBindgenVersion("cargo-fuzz"); // `cargo-fuzz 0.13.2`: the same version probe
  if (have === CARGO_FUZZ_VERSION) {
    log(`ok  cargo-fuzz ${CARGO_FUZZ_VERSION} + nightly`);
    return;
  }
  log(`installing cargo-fuzz ${CARGO_FUZZ_VERSION} (found ${have ?? "none"}) — compiles from source, a few minutes`);
  run("cargo", ["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked", "--force"]);
  const now = installedWasmBindgenVersion("cargo-fuzz");
  if (now !== CARGO_FUZZ_VERSION) throw new ScriptError(`cargo-fuzz ${CARGO_FUZZ_VERSION} was installed but \`cargo-fuzz --version\` reports ${now ?? "nothing"}`);
}

function dtRuntimeInstalled() {
  const dir = join(root, "node_modules", "@dynatrace");
  const pkg = join(dir, "js-runtime", "package.json");
  if (!existsSync(pkg)) return false;
  if (JSON.parse(readFileSync(pkg, "utf8")).version !== DT_RUNTIME_VERSION) return false;
  // The native addon lives in a platform package (optional dependency) of the same version.
  return readdirSync(dir).some((d) => {
    if (!d.startsWith("js-runtime-")) return false;
    const p = join(dir, d, "package.json");
    return existsSync(p) && JSON.parse(readFileSync(p, "utf8")).version === DT_RUNTIME_VERSION;
  });
}

/** The test venv's packages, exact: the validator, the pyarrow that accepts the numpy it pins
 * (its resolver alone picks pyarrow 26, which refuses numpy 1.26: TOOLCHAIN.md), and the DuckDB
 * that reads the Parquet exports back (tests/js/parquet.test.mjs). One resolver run. */
export const FOCUS_VENV_PACKAGES = ["focus-validator==2.2.1", "pyarrow==21.0.0", "duckdb==1.5.6"];
const MIN_PYTHON = [3, 12];

/** `[major, minor]` of a Python interpreter, or null when it does not run. */
function pythonVersion(py) {
  const r = run(py, ["-c", "import sys; print(*sys.version_info[:2])"], { capture: true, allowFail: true });
  const m = /^(\d+) (\d+)$/m.exec(r.stdout ?? "");
  return m ? [Number(m[1]), Number(m[2])] : null;
}
const newEnough = (v) => v && (v[0] > MIN_PYTHON[0] || (v[0] === MIN_PYTHON[0] && v[1] >= MIN_PYTHON[1]));

/**
 * A Python ≥ 3.12 (focus-validator 2.2.1 uses 3.12 syntax; Debian 12's python3 is 3.11), each
 * candidate checked by running it: `DPS_COST_PYTHON` if set; pyenv's installed versions, 3.12
 * before 3.13 (numpy 1.26, which the validator pins, has wheels up to 3.12) (PYENV_ROOT, ~/.pyenv — this machine kind's image carries 3.12 and 3.13 there,
 * TOOLCHAIN.md); python3.13 / python3.12 / python3 on PATH. None of the registries this project
 * reaches ships a CPython interpreter (pyenv and python-build-standalone download from hosts
 * outside them), so a machine without one gets a message that says how to provide it.
 */
export function findPython() {
  const tried = [];
  const ok = (py) => {
    const v = pythonVersion(py);
    tried.push(`${py} (${v ? v.join(".") : "does not run"})`);
    return newEnough(v);
  };
  if (process.env.DPS_COST_PYTHON) {
    if (ok(process.env.DPS_COST_PYTHON)) return process.env.DPS_COST_PYTHON;
    throw new ScriptError(`DPS_COST_PYTHON=${process.env.DPS_COST_PYTHON} is not a Python >= ${MIN_PYTHON.join(".")}: ${tried.join(", ")}`);
  }
  const roots = [...new Set([process.env.PYENV_ROOT, join(process.env.HOME || "/root", ".pyenv")].filter(Boolean))];
  for (const r of roots) {
    const dir = join(r, "versions");
    if (!existsSync(dir)) continue;
    const versions = readdirSync(dir)
      .filter((v) => /^3\.\d+\.\d+$/.test(v))
      // The oldest minor first (3.12: the pinned numpy 1.26 has wheels up to 3.12), its newest patch.
      .sort((a, b) => a.split(".")[1] - b.split(".")[1] || b.localeCompare(a, "en", { numeric: true }));
    for (const v of versions) {
      const py = join(dir, v, "bin", "python3");
      if (existsSync(py) && ok(py)) return py;
    }
  }
  for (const name of ["python3.12", "python3.13", "python3"]) {
    const p = which(name);
    if (p && ok(p)) return p;
  }
  throw new ScriptError(
    `focus-validator 2.2.1 needs Python >= ${MIN_PYTHON.join(".")}; found none (tried: ${tried.join(", ") || "nothing"}). ` +
      "Install one with pyenv (`pyenv install 3.12`) or point DPS_COST_PYTHON at one, then run setup --test again.",
  );
}

/** What .venv-focus holds: its Python version and `name==version` of each package asked for. */
function venvState(venv) {
  const py = join(venv, "bin", "python");
  if (!existsSync(py)) return null;
  const version = pythonVersion(py);
  if (!version) return null;
  const names = FOCUS_VENV_PACKAGES.map((p) => p.split("==")[0]);
  const r = run(py, ["-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"], { capture: true, allowFail: true });
  const have = new Set((r.stdout ?? "").split("\n").map((l) => l.trim().toLowerCase().replace(/_/g, "-")));
  const missing = FOCUS_VENV_PACKAGES.filter((p) => !have.has(p.toLowerCase()));
  return { version, missing, names };
}

/** The FOCUS validator (and the Parquet read-back's DuckDB), test-only, in .venv-focus/
 * (gitignored). Idempotent: nothing is installed when the venv runs a Python >= 3.12 and holds
 * FOCUS_VENV_PACKAGES exactly; a venv whose interpreter is gone or too old is made anew. */
export function ensureFocusValidator() {
  const venv = join(root, ".venv-focus");
  let state = venvState(venv);
  if (state && newEnough(state.version) && state.missing.length === 0) {
    log(`ok  ${FOCUS_VENV_PACKAGES.join(", ")} (.venv-focus, Python ${state.version.join(".")})`);
    return;
  }
  if (existsSync(venv) && !(state && newEnough(state.version))) {
    log(`.venv-focus has ${state ? `Python ${state.version.join(".")}` : "no working Python"}: making it anew`);
    rmSync(venv, { recursive: true, force: true });
    state = null;
  }
  if (!state) {
    const py = findPython();
    log(`python venv .venv-focus with ${py}`);
    run(py, ["-m", "venv", venv]);
  }
  log(`pip install ${FOCUS_VENV_PACKAGES.join(" ")} into .venv-focus (test-only; about 4 min on a fresh machine)`);
  run(join(venv, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...FOCUS_VENV_PACKAGES]);
  const after = venvState(venv);
  if (!after || after.missing.length) throw new ScriptError(`.venv-focus still lacks ${after ? after.missing.join(", ") : "a working Python"} after pip install`);
}

/** Dynatrace Developer Terms: installed from npm at test time, never saved, vendored or redistributed. */
export function ensureDtRuntime() {
  if (dtRuntimeInstalled()) {
    log(`ok  @dynatrace/js-runtime ${DT_RUNTIME_VERSION}`);
    return;
  }
  log(`npm install --no-save @dynatrace/js-runtime@${DT_RUNTIME_VERSION} (test-only, never saved)`);
  run("npm", ["install", "--no-save", "--no-audit", "--no-fund", `@dynatrace/js-runtime@${DT_RUNTIME_VERSION}`]);
  if (!dtRuntimeInstalled()) {
    throw new ScriptError(
      `@dynatrace/js-runtime@${DT_RUNTIME_VERSION} did not install its native package for ${process.platform}-${process.arch}`,
    );
  }
}

export function setup({ test = false } = {}) {
  const t0 = Date.now();
  const [major] = process.versions.node.split(".").map(Number);
  if (major < 20) throw new ScriptError(`Node >= 20 is required (this is ${process.version})`);
  requireTool("cargo", "install Rust with rustup (https://rustup.rs)");
  requireTool("rustup", "install Rust with rustup (https://rustup.rs)");
  requireTool("npm", "install Node.js >= 20 with npm");
  ensureWasmTarget();
  ensureWasmBindgen();
  ensureNodeModules();
  if (test) {
    ensureChromium();
    ensureCargoDeny();
    ensureCargoFuzz();
    // After npm ci: `npm ci`/`npm install` prune packages that are not in the lockfile.
    ensureDtRuntime();
    ensureFocusValidator();
  }
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

if (isMain(import.meta.url)) {
  main("setup", async () => {
    let values;
    try {
      ({ values } = parseArgs({ options: { test: { type: "boolean" }, help: { type: "boolean", short: "h" } } }));
    } catch (e) {
      process.stderr.write(`setup: ${e.message}\nusage: node scripts/setup.mjs [--test]\n`);
      return 2;
    }
    if (values.help) {
      process.stdout.write("usage: node scripts/setup.mjs [--test]\n");
      return 0;
    }
    return setup({ test: values.test });
  });
}
