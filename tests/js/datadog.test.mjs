// datadogRules() from the packed package against the emulator's Datadog routes, serving the
// recorded Datadog fixtures.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { assertNoSecret, installedPackage, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const { datadogRules, isDpsCostError } = await pkg.import("dps-cost");
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/datadog/openapi-examples/ArbitraryRuleResponseArray.example.json", import.meta.url), "utf8"),
);

let emu;
let dd;
before(async () => {
  emu = await startPackagedEmulator({ datadogRules: fixture });
  dd = emu.config.datadog;
});
after(() => emu?.close());

test("lists and gets the recorded rules", async () => {
  const list = await datadogRules({ baseUrl: dd.baseUrl, apiKey: dd.apiKey, applicationKey: dd.applicationKey });
  assert.deepEqual(list, fixture);
  const one = await datadogRules({ baseUrl: dd.baseUrl, apiKey: dd.apiKey, applicationKey: dd.applicationKey, ruleId: fixture.data[1].id });
  assert.deepEqual(one.data, fixture.data[1]);
});

test("errors are typed and never show the keys", async () => {
  const cases = [
    [{ ruleId: "424242" }, "NOT_FOUND", 404],
    [{ apiKey: "wrongkey123" }, "FORBIDDEN", 403],
    [{ ruleId: "1/../2" }, "INVALID_INPUT", undefined],
    [{ baseUrl: undefined, site: "datadoghq.cn" }, "INVALID_INPUT", undefined],
    [{ baseUrl: "http://example.com" }, "INVALID_INPUT", undefined],
  ];
  for (const [over, code, status] of cases) {
    const opts = { baseUrl: dd.baseUrl, apiKey: dd.apiKey, applicationKey: dd.applicationKey, retry: { maxAttempts: 1 }, ...over };
    if (opts.baseUrl === undefined) delete opts.baseUrl;
    const e = await datadogRules(opts).then(() => null, (x) => x);
    assert.ok(isDpsCostError(e), `${JSON.stringify(over)}: ${e}`);
    assert.equal(e.code, code, `${JSON.stringify(over)}: ${e.message}`);
    assert.equal(e.status, status);
    assertNoSecret(`${e.message} ${e.stack}`, [dd.apiKey, dd.applicationKey], "the error");
  }
});
