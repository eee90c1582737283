#!/usr/bin/env node
// Builds the npm package into dist/pkg, the Workflow action file dist/dps-cost-workflow.js, the
// dashboard dist/dps-cost-dashboard.json and the workflow template dist/dps-cost-workflow.yaml.
//
//   cargo build (wasm32, release) → wasm-bindgen --target web → wasm-opt -Oz (npm binaryen)
//   (three modules: `full` for the node/web entries; `--profile inline --no-default-features
//   --features contract`, the contract's API only, for inline.js; `--profile workflow
//   --no-default-features --features rules,delivery`, `sync` (with its rule allocation and its
//   `export` option), `version` and `isDpsCostError` only, for the Workflow file; the last two
//   stored LZMA-compressed as base-85 text)
//   → dist/pkg: glue, wasm, node/web/inline entries, types, CLI (cli.js + cli/), emulator, package.json, README, LICENSE
//   → dist/dps-cost-workflow.js → tsc --noEmit over the types → smoke test → sizes
//
// Progress goes to stderr. Every step fails loudly; see scripts/setup.mjs for the tools.
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import {
  ScriptError,
  crateVersion,
  installedWasmBindgenVersion,
  isMain,
  lockedWasmBindgenVersion,
  logger,
  main,
  root,
  run,
} from "./lib.mjs";
import { bundleReport } from "../js/report/bundle.mjs";
import { dashboardJson } from "../js/dashboard.js";
import { workflowTemplateYaml } from "../js/workflow-template.js";

const log = logger("build");
const p = (...parts) => join(root, ...parts);

// The package's file names (wasm-bindgen --out-name), from the bindings crate's wasm file.
const CRATE = "dps_cost";
const WASM_FILE = "dps_cost_wasm.wasm";
/** The module builds: `full` (node/web entries), `inline` (inline.js), `workflow` (the Workflow file). */
const BUILDS = {
  full: { profile: "release", features: [], sub: "" },
  // Cargo.toml's `inline` profile; without the `full` feature (exports beyond CONTRACT_EXPORTS).
  inline: { profile: "inline", features: ["--no-default-features", "--features", "contract"], sub: "inline" },
  // Cargo.toml's `workflow` profile: what the action file calls (WORKFLOW_EXPORTS), nothing else,
  // with the rule allocation inside `sync` (the action's `allocation` block) and `delivery`
  // (sync's `export` option, the action's export block).
  workflow: { profile: "workflow", features: ["--no-default-features", "--features", "rules,delivery"], sub: "workflow" },
};
const wasmIn = (b) => p("target", "wasm32-unknown-unknown", b.profile, WASM_FILE);
const bindgenDir = (b) => p("target", "wasm-bindgen", b.sub);
const optDir = (b) => p("target", "wasm-opt", b.sub);
const PKG = p("dist", "pkg");
const WORKFLOW = p("dist", "dps-cost-workflow.js");
const DASHBOARD = p("dist", "dps-cost-dashboard.json");
const WORKFLOW_TEMPLATE = p("dist", "dps-cost-workflow.yaml");

// Features the Rust wasm32 target enables by default (and wasm-bindgen's externref table uses).
// wasm-opt also reads them from the module's target_features section; listing them keeps the
// build independent of that section and fails validation loudly if a new one appears.
export const WASM_OPT_FLAGS = [
  "-Oz",
  "--strip-debug",
  "--strip-producers",
  "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-mutable-globals",
  "--enable-reference-types",
  "--enable-multivalue",
];

/** The names the contract's JS API exports (see the package's index.d.ts). */
export const CONTRACT_EXPORTS = [
  "version",
  "isDpsCostError",
  "getToken",
  "DpsClient",
  "costToDate",
  "buildBizevents",
  "ingest",
  "sync",
];

/** The names the Workflow file's module exports: what js/workflow/action.js imports, and the guard. */
export const WORKFLOW_EXPORTS = ["version", "isDpsCostError", "sync"];

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

function step(name, fn) {
  const t0 = Date.now();
  const r = fn();
  log(`${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return r;
}

function cargoBuild(b) {
  run("cargo", ["build", "-p", "dps-cost-wasm", "--profile", b.profile, "--target", "wasm32-unknown-unknown", "--lib", ...b.features]);
  if (!existsSync(wasmIn(b))) throw new ScriptError(`cargo did not produce ${relative(root, wasmIn(b))}`);
}

function wasmBindgen(b) {
  const want = lockedWasmBindgenVersion();
  const have = installedWasmBindgenVersion();
  if (have !== want) {
    throw new ScriptError(
      `wasm-bindgen CLI ${have ?? "(not installed)"} does not match the crate's ${want}: run \`npm run setup\``,
    );
  }
  rmSync(bindgenDir(b), { recursive: true, force: true });
  run("wasm-bindgen", ["--target", "web", "--out-name", CRATE, "--out-dir", bindgenDir(b), wasmIn(b)]);
}

function wasmOpt(b) {
  const OPT_DIR = optDir(b);
  const input = readFileSync(join(bindgenDir(b), `${CRATE}_bg.wasm`));
  const bin = p("node_modules", ".bin", "wasm-opt");
  if (!existsSync(bin)) throw new ScriptError("node_modules/.bin/wasm-opt is missing: run `npm run setup`");
  const key = sha256(Buffer.concat([input, Buffer.from(WASM_OPT_FLAGS.join(" "))]));
  const out = join(OPT_DIR, `${CRATE}_bg.wasm`);
  const stamp = join(OPT_DIR, "input.sha256");
  if (existsSync(out) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) return { out, cached: true };
  mkdirSync(OPT_DIR, { recursive: true });
  rmSync(stamp, { force: true });
  run(bin, [...WASM_OPT_FLAGS, join(bindgenDir(b), `${CRATE}_bg.wasm`), "-o", out]);
  // Compile check: a broken optimiser shows up here rather than in a user's runtime.
  try {
    new WebAssembly.Module(readFileSync(out));
  } catch (e) {
    throw new ScriptError(`wasm-opt output does not compile: ${e.message}`);
  }
  writeFileSync(stamp, key);
  return { out, cached: false };
}

/** Names exported by the wasm-bindgen glue. */
export function glueExports(glue) {
  const names = new Set();
  for (const m of glue.matchAll(/^export\s+(?:async\s+)?(?:function\*?|class|const|let|var)\s+([A-Za-z_$][\w$]*)/gm)) {
    names.add(m[1]);
  }
  for (const m of glue.matchAll(/^export\s*\{([^}]*)\}/gm)) {
    for (const part of m[1].split(",")) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) names.add(name);
    }
  }
  return names;
}

/**
 * THE one place that rewrites wasm-bindgen's glue: for inline.js and the Workflow action the
 * glue's default export (the fetch-based async init) must go, because the action file may have
 * exactly one `export default`. Fails loudly when wasm-bindgen's output stops matching.
 */
export function glueForInline(glue) {
  const EXPORT_LINE = "export { initSync, __wbg_init as default };";
  const count = glue.split(EXPORT_LINE).length - 1;
  if (count !== 1) {
    throw new ScriptError(
      `glue rewrite: expected exactly one \`${EXPORT_LINE}\` in the wasm-bindgen output, found ${count}. ` +
        "wasm-bindgen's output format changed: update glueForInline in scripts/build.mjs.",
    );
  }
  let out = glue.replace(EXPORT_LINE, "export { initSync };");
  // Deno's type hint points at dps_cost.d.ts, which declares the default export we removed.
  out = out.replace(/^\/\* @ts-self-types="[^"]*" \*\/\n/m, "");
  if (/^\s*export\s+default\b/m.test(out) || /\bas\s+default\b/.test(out)) {
    throw new ScriptError("glue rewrite: a default export is left in the inline glue");
  }
  return out;
}

/** Checks the Workflow runtime's rules on a final action file; returns the list of problems. */
export function workflowProblems(src) {
  const problems = [];
  const defaults = (src.match(/\bexport\s+default\b/g) || []).length + (src.match(/\bas\s+default\b/g) || []).length;
  if (defaults !== 1) problems.push(`${defaults} default exports (exactly one allowed)`);
  if (/\beval\s*\(/.test(src)) problems.push("eval( is used");
  if (/\bnew\s+Function\b/.test(src)) problems.push("new Function is used");
  // js-sys' `global()` imports an accessor that reads `window` only when `globalThis` is missing
  // (never in the runtime; the runtime test asserts no deprecation warning). Anything else is out.
  // (In any formatting: the bundle is minified, its local names shortened.)
  const JS_SYS_WINDOW = /const \w+\s*=\s*typeof window\s*===\s*(["'])undefined\1\s*\?\s*undefined\s*:\s*window;/g;
  if (/\bwindow\b/.test(src.replace(JS_SYS_WINDOW, ""))) problems.push("`window` is referenced");
  // Also after `;`/`}` on a line and without spaces (`import{x}from"y"`): the bundle is minified.
  if (/(?:^|[;}])\s*import\s*[\w$*{][^;]*?\bfrom\s*["']/m.test(src)) problems.push("an import statement is left (the runtime has no npm)");
  return problems;
}

/**
 * A wasm-bindgen `.d.ts` as shipped: it declares `[Symbol.dispose]()` on exported classes, which
 * needs the `esnext.disposable` lib; the package brings that itself (a consumer's tsconfig need
 * not list it). Fails loudly when wasm-bindgen's output is not what this expects.
 */
export function shippedDts(dts) {
  const LIB = '/// <reference lib="esnext.disposable" />';
  if (dts.includes("/// <reference")) throw new ScriptError("wasm-bindgen's .d.ts already has a reference directive: check shippedDts in scripts/build.mjs");
  if (!/^export /m.test(dts)) throw new ScriptError("wasm-bindgen's .d.ts exports nothing");
  // Only comments may precede a triple-slash directive: it goes first.
  return `${LIB}\n${dts}`;
}

function fillMarker(src, marker, replacement, file) {
  const lines = src.split("\n");
  const idx = lines.flatMap((l, i) => (l.includes(marker) ? [i] : []));
  if (idx.length !== 1) throw new ScriptError(`${file}: expected one line with ${marker}, found ${idx.length}`);
  lines[idx[0]] = replacement;
  return lines.join("\n");
}

/**
 * The inline module as a JS string literal: LZMA (the .lzma "alone" format, npm `lzma` at its
 * strongest mode) as base-85 text (inline-footer.js), 37 % of plain base64 and 18 % below raw
 * deflate; base 85 instead of base64 takes 6 % off the text (5 characters per 4 bytes instead of
 * 5⅓). Round-trips it through the decoders of inline-footer.js before use.
 */
export function inlineWasmLiteral(wasmBytes, footer) {
  const { compress } = createRequire(import.meta.url)("lzma");
  const packed = Buffer.from(compress(wasmBytes, 9));
  const text = base85(packed, footerAlphabet(footer));
  const unpack = footerUnpack(footer);
  if (Buffer.compare(Buffer.from(unpack(text, wasmBytes.length)), wasmBytes) !== 0) {
    throw new ScriptError("inline-footer.js: __dpsCostUnpack does not reproduce the wasm module");
  }
  return { text: JSON.stringify(text), size: String(wasmBytes.length) };
}

/** The base-85 alphabet inline-footer.js decodes with (`__DPS_COST_B85`). */
function footerAlphabet(footer) {
  const m = /const __DPS_COST_B85 = "([^"]{85})";/.exec(footer);
  if (!m) throw new ScriptError("inline-footer.js: expected `const __DPS_COST_B85 = \"…\";` of 85 characters");
  return m[1];
}

/** inline-footer.js's `__dpsCostUnpack` (base 85, then LZMA) as a function. */
function footerUnpack(footer) {
  const start = footer.indexOf("function __dpsCostLzma"), end = footer.indexOf("initSync({ module: __dpsCostUnpack(");
  if (start < 0 || end < start) throw new ScriptError("inline-footer.js: its decoders or its initSync line are gone");
  return new Function(`${footer.slice(start, end)}; return __dpsCostUnpack;`)();
}

/** Base 85 as inline-footer.js reads it: each group of 4 bytes (big-endian) as 5 digits. */
export function base85(bytes, alphabet) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    const k = Math.min(4, bytes.length - i);
    let v = 0;
    for (let j = 0; j < 4; j++) v = v * 256 + (j < k ? bytes[i + j] : 0);
    const group = new Array(5);
    for (let j = 4; j >= 0; j--, v = Math.floor(v / 85)) group[j] = alphabet[v % 85];
    out += group.slice(0, k + 1).join("");
  }
  return out;
}

function checkExports(glue, what, want = CONTRACT_EXPORTS) {
  const exportsSet = glueExports(glue);
  const missing = want.filter((n) => !exportsSet.has(n));
  if (missing.length) {
    const which = want === WORKFLOW_EXPORTS ? "what js/workflow/action.js imports" : "the contract's JS API; see js/index.d.ts";
    throw new ScriptError(`the ${what} wasm does not export ${missing.join(", ")} (${which})`);
  }
  return exportsSet;
}

/**
 * Glue without its default export + LZMA base-85 module + initSync: the body of inline.js and of
 * the Workflow file. The generated code (glue + footer) is minified by terser without renaming
 * anything global and without rewriting expressions (whitespace, comments and local names only):
 * inline.js 267.4 → 246.5 KB raw (gzip 180.5 → 176.7). The header above it and the Workflow
 * file's CONFIG and action code are never minified.
 */
function inlineBundle(glue, wasmFile, footer) {
  const literal = inlineWasmLiteral(readFileSync(wasmFile), footer);
  const code = minifyGenerated(`${glueForInline(glue)}\n${footer}`);
  for (const marker of ["__DPS_COST_WASM_LZMA_TEXT__", "__DPS_COST_WASM_SIZE__"]) {
    if (code.split(marker).length !== 2) throw new ScriptError(`minified bundle: expected one ${marker}`);
  }
  return `${code
    .replace("__DPS_COST_WASM_LZMA_TEXT__", () => literal.text)
    .replace("__DPS_COST_WASM_SIZE__", () => literal.size)}\n`;
}

/** terser over generated ES module code: comments and whitespace out, local names shortened. */
function minifyGenerated(code) {
  const { minify_sync } = createRequire(import.meta.url)("terser");
  // Not `module: true`: it renames top-level names, which the Workflow action code and the size
  // test read (without it terser keeps them; export syntax parses either way).
  const out = minify_sync(code, { compress: false, format: { comments: false, ascii_only: true } });
  if (typeof out.code !== "string" || !out.code) throw new ScriptError("terser produced no code");
  return out.code;
}

function assemble(optWasm, inlineWasm, workflowWasm) {
  const version = crateVersion();
  const BINDGEN_DIR = bindgenDir(BUILDS.full);
  const glue = readFileSync(join(BINDGEN_DIR, `${CRATE}.js`), "utf8");
  const inlineGlue = readFileSync(join(bindgenDir(BUILDS.inline), `${CRATE}.js`), "utf8");
  checkExports(glue, "full");
  const inlineExports = checkExports(inlineGlue, "inline");

  rmSync(PKG, { recursive: true, force: true });
  mkdirSync(PKG, { recursive: true });
  const put = (name, content) => writeFileSync(join(PKG, name), content);

  put(`${CRATE}.js`, glue);
  put(`${CRATE}.d.ts`, shippedDts(readFileSync(join(BINDGEN_DIR, `${CRATE}.d.ts`), "utf8")));
  const wasmBytes = readFileSync(optWasm);
  put(`${CRATE}_bg.wasm`, wasmBytes);

  for (const entry of ["node.js", "web.js"]) cpSync(p("js", "entries", entry), join(PKG, entry));
  // exportCost's Parquet writer (node and web entries only; hyparquet-writer is the package's dependency).
  cpSync(p("js", "parquet.js"), join(PKG, "parquet.js"));

  // inline.js: header + inline glue without its default export + LZMA base-85 wasm + initSync.
  const footer = readFileSync(p("js", "entries", "inline-footer.js"), "utf8");
  for (const marker of ["__DPS_COST_WASM_LZMA_TEXT__", "__DPS_COST_WASM_SIZE__"]) {
    if (!footer.includes(marker)) throw new ScriptError(`inline-footer.js lost its placeholder ${marker}`);
  }
  const inline = readFileSync(p("js", "entries", "inline-header.js"), "utf8") + inlineBundle(inlineGlue, inlineWasm, footer);
  put("inline.js", inline);
  // Its types: index.d.ts over the inline module's declarations (fewer exports than the full one).
  const indexDts = readFileSync(p("js", "index.d.ts"), "utf8");
  const FROM = 'export * from "./dps_cost.js";';
  if (indexDts.split(FROM).length !== 2) throw new ScriptError(`js/index.d.ts: expected one line ${FROM}`);
  put("inline.d.ts", indexDts.replace(FROM, 'export * from "./dps_cost_inline.js";'));
  put(`${CRATE}_inline.d.ts`, shippedDts(readFileSync(join(bindgenDir(BUILDS.inline), `${CRATE}.d.ts`), "utf8")));
  const extra = [...glueExports(glue)].filter((n) => !inlineExports.has(n) && n !== "default");
  log(`inline.js leaves out: ${extra.length ? extra.join(", ") : "(nothing)"}`);

  cpSync(p("js", "index.d.ts"), join(PKG, "index.d.ts"));
  cpSync(p("js", "cli.js"), join(PKG, "cli.js"));
  cpSync(p("js", "cli"), join(PKG, "cli"), { recursive: true });
  cpSync(p("js", "format.js"), join(PKG, "format.js"));
  // dps-cost/report: the HTML cost report, Chart.js inlined (see js/report/bundle.mjs).
  bundleReport(PKG, root);

  const emulatorDir = p("js", "emulator");
  if (existsSync(join(emulatorDir, "index.js"))) {
    cpSync(emulatorDir, join(PKG, "emulator"), {
      recursive: true,
      filter: (src) => !/(\.test\.m?js|node_modules)$/.test(src),
    });
  } else {
    log("WARNING: js/emulator/index.js does not exist yet: the package ships without the emulator");
  }

  cpSync(p("pkg-template", "README.md"), join(PKG, "README.md"));
  cpSync(p("pkg-template", "LICENSE"), join(PKG, "LICENSE"));

  // The Workflow action: the CONFIG block stays on top, the import line becomes the bundle of
  // the workflow module (only what the action calls).
  const action = readFileSync(p("js", "workflow", "action.js"), "utf8");
  const imported = /^import\s*\{([^}]*)\}\s*from\s*"dps-cost\/inline";.*@dps-cost:inline/m.exec(action);
  if (!imported) throw new ScriptError("js/workflow/action.js: the `import { … } from \"dps-cost/inline\"` line with @dps-cost:inline is gone");
  const workflowGlue = readFileSync(join(bindgenDir(BUILDS.workflow), `${CRATE}.js`), "utf8");
  checkExports(workflowGlue, "workflow", WORKFLOW_EXPORTS);
  const missing = imported[1].split(",").map((n) => n.trim()).filter((n) => n && !WORKFLOW_EXPORTS.includes(n));
  if (missing.length) throw new ScriptError(`js/workflow/action.js imports ${missing.join(", ")}, which the workflow module does not export (WORKFLOW_EXPORTS)`);
  const workflowBody = inlineBundle(workflowGlue, workflowWasm, footer);
  const workflow = fillMarker(
    action,
    "@dps-cost:inline",
    `// ---- dps-cost ${version}: wasm-bindgen glue + inlined WebAssembly (generated) ----\n${workflowBody}\n// ---- end of dps-cost bundle ----`,
    "js/workflow/action.js",
  );
  const problems = workflowProblems(workflow);
  if (problems.length) throw new ScriptError(`dist/dps-cost-workflow.js breaks the runtime rules: ${problems.join("; ")}`);
  writeFileSync(WORKFLOW, workflow);

  // The Dynatrace-native delivery files: the dashboard to upload and the workflow template to
  // import (its task's script is the Workflow file byte for byte); both also in the package.
  put("dps-cost-workflow.js", workflow);
  cpSync(p("js", "dashboard.js"), join(PKG, "dashboard.js"));
  cpSync(p("js", "workflow-template.js"), join(PKG, "workflow-template.js"));
  const dashboard = dashboardJson();
  const workflowYaml = workflowTemplateYaml(workflow);
  writeFileSync(DASHBOARD, dashboard);
  writeFileSync(WORKFLOW_TEMPLATE, workflowYaml);
  put("dps-cost-dashboard.json", dashboard);
  put("dps-cost-workflow.yaml", workflowYaml);

  // package.json last: its `files` lists what exists.
  const template = JSON.parse(readFileSync(p("pkg-template", "package.json"), "utf8"));
  template.version = version;
  // The package's runtime dependencies are the workspace's (package.json `dependencies`, exact
  // versions, locked in package-lock.json): one list.
  template.dependencies = JSON.parse(readFileSync(p("package.json"), "utf8")).dependencies ?? {};
  template.files = template.files.filter((f) => existsSync(join(PKG, f.replace(/\/$/, ""))) || f === "README.md" || f === "LICENSE");
  put("package.json", `${JSON.stringify(template, null, 2)}\n`);
  return { version };
}

/**
 * The consumer's view: tests/js/types/consumer.ts imports every typed entry point ("dps-cost",
 * "/node", "/web", "/inline", "/report") through the package's exports map, and tsc checks it
 * as a new user's project would: `--strict --target es2022 --module nodenext`, default libs, no
 * tsconfig, no skipLibCheck (every shipped .d.ts is checked). The Workflow file has no types (it
 * is pasted, not imported).
 */
function typecheck() {
  const dir = p("target", "typecheck");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  symlinkSync(PKG, join(dir, "node_modules", "dps-cost"), "dir");
  cpSync(p("tests", "js", "types", "consumer.ts"), join(dir, "consumer.ts"));
  const tsc = p("node_modules", ".bin", "tsc");
  if (!existsSync(tsc)) throw new ScriptError("node_modules/.bin/tsc is missing: run `npm run setup`");
  const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "consumer.ts"];
  const r = run(tsc, args, { capture: true, allowFail: true, cwd: dir });
  if (r.status !== 0) throw new ScriptError(`tsc ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  // Every shipped .d.ts was part of that program (none left unchecked).
  const listed = run(tsc, [...args, "--listFilesOnly"], { capture: true, cwd: dir }).stdout;
  const unchecked = readdirSync(PKG).filter((f) => f.endsWith(".d.ts") && !listed.includes(join(PKG, f)));
  if (unchecked.length) throw new ScriptError(`tsc: consumer.ts does not reach ${unchecked.join(", ")}`);
}

function smoke(version) {
  // Fresh processes: each entry must load and instantiate on its own.
  const script = `
    const want = ${JSON.stringify(version)};
    for (const f of ["node.js", "inline.js"]) {
      const m = await import(${JSON.stringify(PKG)} + "/" + f);
      if (m.version() !== want) throw new Error(f + ": version() = " + m.version() + ", want " + want);
      if (typeof m.isDpsCostError !== "function") throw new Error(f + ": no isDpsCostError export");
      if ("default" in m) throw new Error(f + ": has a default export");
    }
    const { copyFileSync, mkdtempSync, rmSync } = await import("node:fs");
    const dir = mkdtempSync((await import("node:os")).tmpdir() + "/dps-cost-wf-");
    copyFileSync(${JSON.stringify(WORKFLOW)}, dir + "/action.mjs");
    const wf = await import(dir + "/action.mjs");
    rmSync(dir, { recursive: true, force: true });
    if (typeof wf.default !== "function") throw new Error("workflow file: default export is not a function");
    if (wf.version() !== want) throw new Error("workflow file: version() = " + wf.version());
  `;
  run(process.execPath, ["--input-type=module", "-e", script], { capture: true });
}

function size(file) {
  const buf = readFileSync(file);
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  return `${relative(root, file).padEnd(28)} ${kb(buf.length).padStart(10)} raw ${kb(gzipSync(buf, { level: 9 }).length).padStart(10)} gzip`;
}

export function build() {
  const t0 = Date.now();
  const opts = {};
  for (const [kind, b] of Object.entries(BUILDS)) {
    step(`cargo build -p dps-cost-wasm --profile ${b.profile} --target wasm32-unknown-unknown ${b.features.join(" ")}`, () => cargoBuild(b));
    step(`wasm-bindgen --target web (${kind})`, () => wasmBindgen(b));
    opts[kind] = step(`wasm-opt (${kind})`, () => wasmOpt(b));
    if (opts[kind].cached) log(`wasm-opt: input unchanged, reused ${relative(root, optDir(b))}`);
  }
  const { version } = step("assemble dist/pkg + dist/dps-cost-workflow.js", () => assemble(opts.full.out, opts.inline.out, opts.workflow.out));
  step("smoke: node.js, inline.js, workflow file load; version() matches", () => smoke(version));
  step("tsc --noEmit (package types + tests/js/types/consumer.ts)", () => typecheck());
  log(`dps-cost ${version} built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const f of [join(PKG, `${CRATE}_bg.wasm`), join(PKG, "inline.js"), WORKFLOW]) log(size(f));
  return 0;
}

if (isMain(import.meta.url)) main("build", async () => build());
