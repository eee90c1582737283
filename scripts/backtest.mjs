#!/usr/bin/env node
// Forecast backtest: our model (weekly seasonality × trend) against the straight-line burn rate,
// on the embedded emulator's daily cost and on synthetic series with known answers.
//
//   node scripts/backtest.mjs [--out FILE]
//
// Writes the emulator's series (default profile: each account's total and each capability;
// large profile: the first 4 accounts' totals) to target/backtest/series.json, then runs
// `cargo run --release --example backtest` on it, which prints the Markdown table (stdout) that
// the README's "Forecast" section holds. Progress on stderr.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createDataset, DEFAULT_PROFILE } from "../js/emulator/data.js";
import { largeProfile } from "../js/emulator/large.js";
import { logger, main, root, runAsync } from "./lib.mjs";

const log = logger("backtest");
const NOW = "2026-11-23T08:00:00Z";

function seriesOf(dataset, pick, perCapability) {
  const out = [];
  for (const account of pick(dataset.accounts)) {
    const days = [];
    for (let d = account.firstDay; d <= account.lastDay; d++) days.push(d);
    out.push({
      group: `emulator ${dataset.profile}: account totals`,
      name: `${account.name} total`,
      firstDay: account.firstDay,
      values: days.map((d) => account.dailyTotalAt(d)),
    });
    if (!perCapability) continue;
    account.capabilities.forEach((cap, c) => {
      out.push({
        group: `emulator ${dataset.profile}: per capability`,
        name: `${account.name} ${cap.key}`,
        firstDay: account.firstDay,
        values: days.map((d) => {
          let sum = 0;
          for (let e = 0; e < account.environments.length; e++) sum += account.costAt(e, c, d);
          return account.round(sum);
        }),
      });
    });
  }
  return out;
}

main("backtest", async () => {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  log("building emulator series (default and large profiles)");
  const series = [
    ...seriesOf(createDataset({ now: NOW, profile: DEFAULT_PROFILE }), (a) => a, true),
    ...seriesOf(createDataset({ now: NOW, profile: largeProfile() }), (a) => a.slice(0, 4), false),
  ];
  const dir = join(root, "target", "backtest");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "series.json");
  writeFileSync(file, JSON.stringify({ now: NOW, series }));
  log(`${series.length} series → ${file}`);
  const args = ["run", "--quiet", "--release", "--example", "backtest", "--", file];
  if (values.out) args.push(values.out);
  return runAsync("cargo", args);
});
