#!/usr/bin/env node
// The official FOCUS validator (focus-validator 2.2.1 from PyPI, test-only, in .venv-focus/ —
// installed by `node scripts/setup.mjs --test`) over the FOCUS 1.2 exports in tests/golden
// (byte for byte what `--focus-version 1.2` writes), offline (--block-download: its bundled 1.2
// rule set). The validator exits 0 even when rules fail, so its `Total: … | Pass | Fail` line and
// failure list are read. Exit 0 only when every failing rule is a known validator artefact
// (VALIDATOR_ARTEFACTS, each explained in README "FOCUS export").
//
//   node scripts/focus-validate.mjs
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ScriptError, isMain, logger, main, root, run } from "./lib.mjs";

const log = logger("focus-validate");
export const VENV = join(root, ".venv-focus");
export const FOCUS_VALIDATOR_VERSION = "2.2.1";

/** Rule id → why it is a validator artefact, not a fault of the file (README "FOCUS export"). */
export const VALIDATOR_ARTEFACTS = {
  "InvoiceId-C-005-C":
    "InvoiceId MUST NOT be null only when the charge is associated with an issued or provisional invoice; a DPS daily cost row is not, and the validator checks the clause unconditionally",
};

const FILES = ["tests/golden/focus_1_2_lines.csv", "tests/golden/focus_1_2_allocated.csv"];

/** The site-packages folder (the validator opens focus_validator/rules/currency_codes.csv relative to the working directory). */
function sitePackages() {
  const lib = join(VENV, "lib");
  const py = readdirSync(lib).find((d) => d.startsWith("python3"));
  if (!py) throw new ScriptError(`${lib} holds no python3.* folder: run node scripts/setup.mjs --test`);
  return join(lib, py, "site-packages");
}

export function validate(file) {
  const bin = join(VENV, "bin", "focus-validator");
  if (!existsSync(bin)) throw new ScriptError(`${bin} is missing: run node scripts/setup.mjs --test`);
  const r = run(
    bin,
    ["--data-file", join(root, file), "--validate-version", "1.2", "--block-download", "--applicability-criteria", "SUB_ACCOUNT_SUPPORTED,TAGGING_SUPPORTED"],
    { cwd: sitePackages(), capture: true, allowFail: true },
  );
  const out = `${r.stdout}\n${r.stderr}`;
  const total = /Total:\s*(\d+)\s*\|\s*Pass:\s*(\d+)\s*\|\s*Fail:\s*(\d+)\s*\|\s*Skipped:\s*(\d+)/.exec(out);
  if (!total) throw new ScriptError(`${file}: no "Total: … | Pass | Fail | Skipped" line in the validator's output:\n${out.slice(-2000)}`);
  const failed = [...out.matchAll(/^❌\s+(\S+):\s*FAIL/gm)].map((m) => m[1]);
  return { file, rules: +total[1], pass: +total[2], fail: +total[3], skipped: +total[4], failed };
}

export function focusValidate() {
  let bad = 0;
  for (const file of FILES) {
    const r = validate(file);
    const real = r.failed.filter((id) => !Object.hasOwn(VALIDATOR_ARTEFACTS, id));
    log(`${file}: ${r.rules} rules, ${r.pass} pass, ${r.fail} fail (${r.failed.join(", ") || "none"}), ${r.skipped} skipped`);
    if (r.failed.length !== r.fail) {
      log(`  could not read every failing rule id (${r.failed.length} of ${r.fail})`);
      bad++;
    }
    for (const id of real) log(`  REAL FAILURE ${id}`);
    bad += real.length;
  }
  return bad === 0 ? 0 : 1;
}

if (isMain(import.meta.url)) main("focus-validate", async () => focusValidate());
