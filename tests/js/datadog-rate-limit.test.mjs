// Datadog's rate limits from the packed package against the emulator's Datadog routes with
// Datadog's fixed windows (X-RateLimit-Limit/-Period/-Remaining/-Reset, no Retry-After):
// datadogRules waits a window of a few seconds out (one real wait of at most 2 s here) and,
// for a window of tens of seconds, either waits within its retry budget or — when the reset
// lies past the budget — fails at once with RATE_LIMITED, without spending attempts inside it
// (native tests/datadog_rate_limit.rs covers the waits on a virtual clock, and the error's
// retry-after being the reset).
import assert from "node:assert/strict";
import { test } from "node:test";

import { installedPackage, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const { datadogRules, isDpsCostError } = await pkg.import("dps-cost");

const read = (emu, retry) => {
  const d = emu.config.datadog;
  return datadogRules({ baseUrl: d.baseUrl, apiKey: d.apiKey, applicationKey: d.applicationKey, ...(retry ? { retry } : {}) });
};

test("a spent window of a few seconds: one 429, a wait until the reset, then the rules", async () => {
  const emu = await startPackagedEmulator({ datadogRateLimit: { limit: 1, periodSeconds: 2, spent: true } });
  try {
    const t0 = Date.now();
    const rules = await read(emu);
    const waited = Date.now() - t0;
    assert.ok(Array.isArray(rules.data) && rules.data.length > 0);
    assert.equal(emu.state.datadog.rateLimit.requests, 2, "the 429, then the rules: no attempt wasted");
    assert.ok(waited >= 900 && waited < 8000, `waited ${waited} ms for a 2 s window`);
  } finally {
    await emu.close();
  }
});

test("a window of tens of seconds past the retry budget: RATE_LIMITED at once", async () => {
  const emu = await startPackagedEmulator({ datadogRateLimit: { limit: 1, periodSeconds: 30, spent: true } });
  try {
    const t0 = Date.now();
    await assert.rejects(read(emu, { budgetMs: 5000 }), (e) => {
      assert.ok(isDpsCostError(e), String(e));
      assert.equal(e.code, "RATE_LIMITED");
      assert.equal(e.status, 429);
      assert.match(e.message, /HTTP 429/, e.message);
      return true;
    });
    assert.ok(Date.now() - t0 < 4000, "no waiting inside a window certain to stay closed");
    assert.equal(emu.state.datadog.rateLimit.requests, 1);
  } finally {
    await emu.close();
  }
});

test("several reads per window share it: only the read that finds it spent waits", async () => {
  const emu = await startPackagedEmulator({ datadogRateLimit: { limit: 3, periodSeconds: 1 } });
  try {
    for (let i = 0; i < 5; i++) assert.ok(Array.isArray((await read(emu)).data));
    const rl = emu.state.datadog.rateLimit;
    assert.ok(rl.requests >= 5 && rl.requests <= 7, `${rl.requests} requests for 5 reads`);
  } finally {
    await emu.close();
  }
});
