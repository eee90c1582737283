// SECURITY.md, enforced: no eval / new Function in any shipped JS (the Dynatrace runtime flags
// them), no secret or token in any URL the library requests, and none in results (the sync
// summary is what a Workflow task returns).
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";

import { ACCOUNT_A, NOW, assertNoSecret, installedPackage, repoRoot, secretsOf, startPackagedEmulator } from "./helpers.mjs";
import { tapTokens } from "./support.mjs";

const pkg = await installedPackage();

function jsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules") continue;
    if (statSync(p).isDirectory()) out.push(...jsFiles(p));
    else if (/\.(m|c)?js$/.test(name)) out.push(p);
  }
  return out;
}

// `eval(`, `new Function(`, `Function(` as a call (also `globalThis.Function(`), and the
// string forms of setTimeout/setInterval.
const FORBIDDEN = [/\beval\s*\(/, /\bnew\s+Function\s*\(/, /(?<![\w$.])Function\s*\(/, /\bglobalThis\s*\.\s*Function\b/, /\bset(Timeout|Interval)\s*\(\s*["'`]/];

describe("no eval / new Function in shipped JS", () => {
  const files = [...jsFiles(pkg.pkgDir)];
  const workflow = join(repoRoot, "dist", "dps-cost-workflow.js");
  if (existsSync(workflow)) files.push(workflow);

  test("the package and the Workflow file are scanned", () => {
    const names = files.map((f) => relative(pkg.pkgDir, f));
    for (const must of ["dps_cost.js", "node.js", "web.js", "inline.js", "cli.js"]) assert.ok(names.includes(must), `${must} not found in ${pkg.pkgDir}`);
    assert.ok(existsSync(workflow), "dist/dps-cost-workflow.js missing: run node scripts/build.mjs");
  });

  test("the scanner finds what it looks for", () => {
    for (const bad of ["eval('1')", "new Function('return 1')", "x = Function('a', 'return a')", "globalThis.Function", "setTimeout('x()', 1)"]) {
      assert.ok(FORBIDDEN.some((re) => re.test(bad)), bad);
    }
    for (const good of ["// evaluate(x)", "typeof f === 'function'", "isFunction(x)", "setTimeout(() => 1, 5)"]) {
      assert.ok(!FORBIDDEN.some((re) => re.test(good)), good);
    }
  });

  for (const f of files) {
    test(relative(repoRoot, f).startsWith("..") ? relative(pkg.pkgDir, f) : relative(repoRoot, f), () => {
      const text = readFileSync(f, "utf8");
      for (const re of FORBIDDEN) {
        const m = re.exec(text);
        assert.equal(m, null, m ? `${re} at: …${text.slice(Math.max(0, m.index - 60), m.index + 60)}…` : "");
      }
    });
  }
});

describe("secrets stay out of URLs and results", () => {
  let emu;
  let config;
  let tap;
  before(async () => {
    emu = await startPackagedEmulator();
    config = emu.config;
    tap = tapTokens(emu);
  });
  after(() => emu?.close());

  test("a full sync with ingest: no secret or token in any URL, none in the summary", async () => {
    const { sync, getToken } = await pkg.import("dps-cost");
    const A = config.accounts.find((a) => a.accountUuid === ACCOUNT_A);
    // Every URL the library asks for, as it asks (the emulator's own log redacts queries).
    const urls = [];
    const recording = (url, init) => {
      urls.push(String(url));
      return fetch(url, init);
    };
    const token = await getToken({ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret, ssoUrl: config.ssoUrl, fetch: recording });
    const summary = await sync({
      accounts: [{ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret }],
      ssoUrl: config.ssoUrl, apiUrl: config.apiUrl, now: NOW, fetch: recording,
      ingest: { url: config.ingestUrl, clientId: config.ingest.clientId, clientSecret: config.ingest.clientSecret, accountUuid: config.ingest.accountUuid },
    });
    assert.equal(summary.ok, true, JSON.stringify(summary.events.error ?? summary.accounts[0].error));
    const tokens = [...tap.tokens];
    assert.ok(tokens.length >= 2 && tokens.includes(token.accessToken), "the tap saw the tokens");
    const secrets = [...secretsOf(config), ...tokens];
    assertNoSecret(JSON.stringify(summary), secrets, "sync summary");
    assert.ok(urls.length > 5 && urls.some((u) => u.includes("bizevents/ingest")), `requests seen: ${urls.length}`);
    assertNoSecret(urls.join("\n"), secrets, "request URLs");
    // And none in what went to the terminal-facing parts of an error: a refused token request.
    const e = await getToken({ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: `${A.clientSecret}-WRONG`, ssoUrl: config.ssoUrl, retry: { maxAttempts: 1 } }).catch((x) => x);
    assert.equal(e.code, "AUTH_INVALID_CLIENT");
    assertNoSecret(`${e.message}\n${e.stack}\n${JSON.stringify(e)}`, [...secrets, `${A.clientSecret}-WRONG`], "token error");
  });
});
