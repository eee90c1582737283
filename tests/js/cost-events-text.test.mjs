// costEventsFromJson (text in, text out) against buildBizevents (values) from the packed package:
// the same events (numbers may be written differently: `1234.0` by serde_json, `1234` by
// JSON.stringify), in every entry, for a short and a long history, with non-ASCII names so the
// UTF-8 crossing is exercised both ways.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ACCOUNT_UUID, NOW, SUBSCRIPTION, costReplyText } from "../../bench/data.mjs";
import { installedPackage } from "./helpers.mjs";

const pkg = await installedPackage();
const entries = { "dps-cost": await pkg.import("dps-cost"), "dps-cost/inline": await pkg.import("dps-cost/inline") };

const NAMES = ["ACME Global", "Zürich — ☃ 東京 🚀"];

describe("costEventsFromJson gives the events of buildBizevents, as text", () => {
  for (const [entry, lib] of Object.entries(entries)) {
    for (const n of [31, 3_000]) {
      for (const style of ["millis", "seconds"]) {
        test(`${entry}: ${n} records, ${style} timestamps`, () => {
          const text = costReplyText(n, { style });
          for (const accountName of NAMES) {
            const opts = { accountUuid: ACCOUNT_UUID, accountName, subscription: SUBSCRIPTION, now: NOW };
            const got = lib.costEventsFromJson(text, opts);
            assert.equal(typeof got, "string");
            const want = lib.buildBizevents({ ...opts, costs: JSON.parse(text).data });
            const events = JSON.parse(got);
            assert.equal(events.length, n + 1);
            assert.deepEqual(events, want);
            // The name arrives exactly, as UTF-8 decoded text, in every cost event.
            assert.equal(got.split(JSON.stringify(accountName)).length - 1, n);
          }
        });
      }
    }
  }
});
