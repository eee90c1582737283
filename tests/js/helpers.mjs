// Shared helpers for the JS tests that run against the packed, installed package.
//
// DPS_COST_PKG_DIR points at the installed package (…/project/node_modules/dps-cost), as set
// by scripts/test.mjs. Without it, dist/pkg is packed and installed into a temp project here,
// so a single file can be run with `node --test tests/js/package.test.mjs` after `npm run build`.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** The fixed "now" of the emulator and of the runs in these tests. */
export const NOW = "2026-11-23T10:00:00Z";
export const ACCOUNT_A = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
export const ACCOUNT_B = "7b1e4f2a-3c5d-4e6f-8a9b-0c1d2e3f4a5b";

export function cargoVersion() {
  const toml = readFileSync(join(repoRoot, "Cargo.toml"), "utf8");
  const pkg = toml.split(/^\[/m).find((s) => s.startsWith("workspace.package]"));
  return /^version\s*=\s*"([^"]+)"/m.exec(pkg)[1];
}

let installed;

/** The installed package: { pkgDir, projectDir, import(spec), importFile(rel), bin }. */
export async function installedPackage() {
  if (installed) return installed;
  let pkgDir = process.env.DPS_COST_PKG_DIR;
  if (!pkgDir) {
    const { packAndInstall } = await import(pathToFileURL(join(repoRoot, "scripts", "pack.mjs")).href);
    pkgDir = packAndInstall().pkgDir;
  }
  if (!existsSync(join(pkgDir, "package.json"))) throw new Error(`DPS_COST_PKG_DIR=${pkgDir} holds no package.json`);
  const nodeModules = dirname(pkgDir);
  if (basename(nodeModules) !== "node_modules") throw new Error(`${pkgDir} is not inside a node_modules directory`);
  const projectDir = dirname(nodeModules);
  installed = {
    pkgDir,
    projectDir,
    bin: join(projectDir, "node_modules", ".bin", "dps-cost"),
    /** Import a specifier the way the consumer project would (Node's own ESM resolution). */
    async import(spec) {
      const shim = join(projectDir, `.import-${spec.replace(/[^\w.-]+/g, "_")}.mjs`);
      if (!existsSync(shim)) {
        writeFileSync(
          shim,
          `export * from ${JSON.stringify(spec)};\nexport const __resolved = import.meta.resolve(${JSON.stringify(spec)});\n`,
        );
      }
      return import(pathToFileURL(shim).href);
    },
    /** Import a file of the installed package by path (e.g. the shipped emulator). */
    importFile(rel) {
      return import(pathToFileURL(join(pkgDir, rel)).href);
    },
  };
  return installed;
}

/** Starts the emulator shipped in the installed package. */
export async function startPackagedEmulator(options = {}) {
  const pkg = await installedPackage();
  const { startEmulator } = await pkg.importFile("emulator/index.js");
  return startEmulator({ port: 0, host: "127.0.0.1", now: NOW, ...options });
}

/** Every secret the emulator config holds: client secrets, the ingest secret, the API token. */
export function secretsOf(config) {
  const s = config.accounts.map((a) => a.clientSecret);
  s.push(config.ingest.clientSecret, config.ingest.apiToken);
  return s.filter((x) => typeof x === "string" && x.length > 0);
}

/** Asserts that `text` contains none of `secrets`, naming only the secret's safe prefix. */
export function assertNoSecret(text, secrets, where) {
  for (const secret of secrets) {
    if (text.includes(secret)) {
      throw new Error(`${where} contains a secret (${secret.split(".").slice(0, 2).join(".")}.…)`);
    }
  }
}

/** The emulator's stored events (`GET /__emulator/events`). */
export async function storedEvents(emu) {
  const res = await fetch(`${emu.url}/__emulator/events`);
  if (res.status !== 200) throw new Error(`GET /__emulator/events → ${res.status}`);
  const body = await res.json();
  return Array.isArray(body) ? body : body.events;
}

export async function clearEvents(emu) {
  const res = await fetch(`${emu.url}/__emulator/events`, { method: "DELETE" });
  if (res.status >= 300) throw new Error(`DELETE /__emulator/events → ${res.status}`);
}

export async function clearRequests(emu) {
  const res = await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
  if (res.status >= 300) throw new Error(`DELETE /__emulator/requests → ${res.status}`);
}

/**
 * A decimal (a cost as JS prints it, its shortest form, or a result's exact decimal text) →
 * micro-units as a BigInt, rounded half to even as the engine rounds (exact).
 */
export function decimalMicros(value) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(value));
  if (!m) throw new Error(`${value}: not a plain decimal`);
  const frac = m[3] ?? "";
  let v = BigInt(m[2] + frac.slice(0, 6).padEnd(6, "0"));
  const [first = "0", ...tail] = frac.slice(6);
  const above = tail.some((d) => d !== "0");
  if (first > "5" || (first === "5" && (above || v % 2n === 1n))) v += 1n;
  return m[1] ? -v : v;
}

/** A token from the emulator's SSO endpoint (form-encoded client credentials). */
export async function emulatorToken(config, { clientId, clientSecret, accountUuid, scope }) {
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret });
  if (scope) body.set("scope", scope);
  if (accountUuid) body.set("resource", `urn:dtaccount:${accountUuid}`);
  const res = await fetch(config.ssoUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  if (res.status !== 200) throw new Error(`emulator token → ${res.status}`);
  return (await res.json()).access_token;
}

/**
 * Runs a command without blocking the event loop (the emulator runs in this process).
 * Resolves with { code, stdout, stderr }.
 */
export function runAsync(cmd, args, { env = process.env, cwd = repoRoot, timeout = 120_000, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, cwd, timeout, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr, error: err });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Sum with the same left-to-right order as a running total. */
export const runningTotals = (values) => {
  let t = 0;
  return values.map((v) => (t += v));
};

export const close = (a, b, eps = 1e-6) => Math.abs(a - b) <= eps * Math.max(1, Math.abs(a), Math.abs(b));
