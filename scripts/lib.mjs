// Shared helpers for scripts/*.mjs (setup, build, start, test). Node >= 20, no dependencies.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** Where `cargo install` puts binaries (wasm-bindgen, wasm-bindgen-test-runner). */
export const cargoBin = join(process.env.CARGO_HOME || join(homedir(), ".cargo"), "bin");

/** Environment for child processes: cargo's bin dir first on PATH, plus `extra`. */
export function toolEnv(extra = {}) {
  const path = process.env.PATH || "";
  const parts = path.split(delimiter);
  const PATH = parts.includes(cargoBin) ? path : [cargoBin, ...parts].join(delimiter);
  return { ...process.env, PATH, ...extra };
}

export class ScriptError extends Error {}

/** A logger writing `[tag] message` lines to stderr. */
export function logger(tag) {
  return (...parts) => process.stderr.write(`[${tag}] ${parts.join(" ")}\n`);
}

/**
 * Run a command synchronously. Child stdout goes to our stderr (progress only) unless `capture`.
 * Throws ScriptError with a clear message on a non-zero exit or a missing binary.
 */
export function run(cmd, args, { cwd = root, env = toolEnv(), capture = false, allowFail = false, input } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env,
    input,
    stdio: capture ? ["pipe", "pipe", "pipe"] : [input === undefined ? "ignore" : "pipe", 2, 2],
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) {
    if (r.error.code === "ENOENT") throw new ScriptError(`\`${cmd}\` was not found on PATH`);
    throw new ScriptError(`\`${cmd} ${args.join(" ")}\` could not run: ${r.error.message}`);
  }
  if (r.status !== 0 && !allowFail) {
    const detail = capture ? `\n${(r.stderr || "").trim()}` : "";
    throw new ScriptError(`\`${cmd} ${args.join(" ")}\` failed (exit ${r.status ?? r.signal})${detail}`);
  }
  return r;
}

/** Run a command asynchronously with inherited stdio; resolves to its exit code. */
export function runAsync(cmd, args, { cwd = root, env = toolEnv(), stdio = "inherit" } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio });
    child.on("error", (e) => {
      process.stderr.write(`could not run ${cmd}: ${e.message}\n`);
      resolve(127);
    });
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The first path in PATH (after cargo's bin dir) holding `name`, or null. */
export function which(name, env = toolEnv()) {
  for (const dir of (env.PATH || "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The `version` of the `[package]` in Cargo.toml. */
export function crateVersion() {
  const toml = readFileSync(join(root, "Cargo.toml"), "utf8");
  const section = (name) => toml.split(/^\[/m).find((s) => s.startsWith(`${name}]`));
  const version = (s) => s && /^version\s*=\s*"([^"]+)"/m.exec(s)?.[1];
  const pkg = section("package");
  // `version.workspace = true`: the version is [workspace.package]'s.
  const v = pkg && /^version\.workspace\s*=\s*true/m.test(pkg) ? version(section("workspace.package")) : version(pkg);
  if (!v) throw new ScriptError("Cargo.toml: no version in [package] or [workspace.package]");
  return v;
}

/** The version Cargo.lock resolves for the `wasm-bindgen` crate. */
export function lockedWasmBindgenVersion() {
  const lockPath = join(root, "Cargo.lock");
  if (!existsSync(lockPath)) throw new ScriptError("Cargo.lock is missing (it is committed; restore it with git)");
  const lock = readFileSync(lockPath, "utf8");
  const m = /\[\[package\]\]\r?\nname = "wasm-bindgen"\r?\nversion = "([^"]+)"/.exec(lock);
  if (!m) throw new ScriptError("Cargo.lock does not resolve the wasm-bindgen crate");
  return m[1];
}

/** `wasm-bindgen --version` → "0.2.130", or null when it is not installed. */
export function installedWasmBindgenVersion(bin = "wasm-bindgen") {
  const r = spawnSync(bin, ["--version"], { env: toolEnv(), encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  const m = /(\d+\.\d+\.\d+\S*)/.exec(r.stdout);
  return m ? m[1] : null;
}

export function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Format a duration in ms as "1.2 s" / "2 min 05 s". */
export function fmtMs(ms) {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** Run `main` and turn a thrown ScriptError into a clear message and exit code 1. */
export function main(tag, fn) {
  fn().then(
    (code) => process.exit(code ?? 0),
    (e) => {
      if (e instanceof ScriptError) process.stderr.write(`[${tag}] error: ${e.message}\n`);
      else process.stderr.write(`[${tag}] unexpected error: ${e?.stack || e}\n`);
      process.exit(1);
    },
  );
}

/** True when the module with this import.meta.url is the script node was started with. */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}
