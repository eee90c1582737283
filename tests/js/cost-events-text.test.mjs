// costEventsFromJson (text in, text out) against buildBizevents (values) from the packed package:
// the same events (numbers may be written differently: `1234.0` by serde_json, `1234` by
// JSON.stringify), in every entry, below and above the size where the result text
// leaves wasm memory through Node's Buffer instead of TextDecoder (src/wasm/convert.rs, 64 KiB),
// with non-ASCII names so the UTF-8 decoding is exercised on both paths.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
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
            if (n === 3_000) assert.ok(Buffer.byteLength(got) > 64 * 1024, "above the Buffer threshold");
            else assert.ok(Buffer.byteLength(got) < 64 * 1024, "below the Buffer threshold");
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

test("in Node, a large result text leaves wasm memory through Buffer (a small one through TextDecoder)", async () => {
  // A fresh process: the Buffer.from spy must be in place before the module looks it up.
  const script = `
    const calls = [];
    const from = Buffer.from;
    Buffer.from = function (...args) {
      if (args[0] instanceof ArrayBuffer) calls.push(args[2]);
      return from.apply(this, args);
    };
    const lib = await import(${JSON.stringify(pathToFileURL(join(pkg.pkgDir, "node.js")).href)});
    const { ACCOUNT_UUID, NOW, SUBSCRIPTION, costReplyText } = await import(${JSON.stringify(new URL("../../bench/data.mjs", import.meta.url).href)});
    const opts = { accountUuid: ACCOUNT_UUID, subscription: SUBSCRIPTION, now: NOW };
    const small = lib.costEventsFromJson(costReplyText(31), opts);
    const afterSmall = calls.length;
    const large = lib.costEventsFromJson(costReplyText(3000), opts);
    console.log(JSON.stringify({ afterSmall, calls, small: small.length, large: Buffer.byteLength(large) }));
  `;
  const { execFileSync } = await import("node:child_process");
  const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim());
  assert.equal(out.afterSmall, 0, "the small result crossed without Buffer");
  assert.deepEqual(out.calls, [out.large], "the large result crossed as one Buffer view of its bytes");
});
