#!/usr/bin/env node
// `npm pack` dist/pkg into a temp dir and `npm install` the tarball into a fresh temp project,
// so tests run against exactly what would be published. Prints the installed package dir.
//
//   node scripts/pack.mjs [--dest DIR]   → stdout: DIR/project/node_modules/dps-cost
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ScriptError, isMain, logger, main, root, run } from "./lib.mjs";

const log = logger("pack");

/**
 * @param {{ dest?: string, pkgDir?: string }} [o]
 * @returns {{ tarball: string, projectDir: string, pkgDir: string }}
 */
export function packAndInstall({ dest, pkgDir = join(root, "dist", "pkg") } = {}) {
  if (!existsSync(join(pkgDir, "package.json"))) {
    throw new ScriptError(`${pkgDir}/package.json is missing: run \`npm run build\` first`);
  }
  const base = dest ?? mkdtempSync(join(tmpdir(), "dps-cost-pack-"));
  mkdirSync(base, { recursive: true });
  const npmFlags = ["--no-audit", "--no-fund", "--loglevel=error"];
  const packed = run("npm", ["pack", pkgDir, "--pack-destination", base, "--json", ...npmFlags], { capture: true });
  let info;
  try {
    info = JSON.parse(packed.stdout)[0];
  } catch {
    throw new ScriptError(`npm pack printed no JSON:\n${packed.stdout}${packed.stderr}`);
  }
  const tarball = join(base, info.filename);
  log(`packed ${info.filename}: ${info.entryCount} files, ${(info.size / 1024).toFixed(1)} KiB`);

  const projectDir = join(base, "project");
  mkdirSync(projectDir, { recursive: true });
  writeFileSync(
    join(projectDir, "package.json"),
    `${JSON.stringify({ name: "dps-cost-consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  // The package's one dependency (hyparquet-writer, exportCost's Parquet writer) comes from
  // npm's cache when it is there. Not `--offline`: `npm ci` caches the tarball but not the
  // registry's metadata that resolving a dependency of a fresh project needs, so on a new
  // machine an offline install fails (ENOTCACHED) whatever the repo's own node_modules hold.
  run("npm", ["install", tarball, "--prefer-offline", ...npmFlags], { cwd: projectDir });
  const installed = join(projectDir, "node_modules", "dps-cost");
  if (!existsSync(join(installed, "package.json"))) throw new ScriptError(`npm install did not create ${installed}`);
  log(`installed into ${projectDir}`);
  return { tarball, projectDir, pkgDir: installed };
}

if (isMain(import.meta.url)) {
  main("pack", async () => {
    const { values } = parseArgs({ options: { dest: { type: "string" } } });
    const { pkgDir } = packAndInstall({ dest: values.dest });
    process.stdout.write(`${pkgDir}\n`);
    return 0;
  });
}
