#!/usr/bin/env node
// `forecastSpend` timing: the shipped JSON path and a Float64Array history, for 1, 3 and 10
// years of daily cost, horizon 365 days. Part of `npm run bench` (bench/run.mjs); alone:
//
//   node bench/forecast.mjs            (uses dist/pkg: run `npm run build` first)
//
// The series is growth with a weekly pattern, a level shift, month-start bumps and noise
// (a fixed generator), so every part of the model runs: seasonality detection, change points,
// rolling-origin cross-validation of every candidate. Median of 31 runs after 5 warm-ups.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

export const FORECAST_DAYS = [365, 1_095, 3_650];

/** A deterministic daily series of `n` days from 2024-01-01. */
export function forecastHistory(n) {
  let s = 12345;
  const rand = () => {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    return s / 4_294_967_296;
  };
  return Array.from({ length: n }, (_, t) => {
    const day = new Date(Date.UTC(2024, 0, 1 + t));
    const weekly = day.getUTCDay() % 6 === 0 ? 0.7 : 1.1;
    const bump = day.getUTCDate() <= 2 ? 2.5 : 1;
    const level = (200 + t / 10) * (t > n * 0.7 ? 1.3 : 1);
    return level * weekly * bump * (1 + 0.1 * (rand() - 0.5));
  });
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/** Median milliseconds per call for each length: `{ days, json, typed, kind }`. */
export function forecastTimings(lib, runs = 31) {
  return FORECAST_DAYS.map((days) => {
    const history = forecastHistory(days);
    const typed = Float64Array.from(history);
    const input = { history, firstDate: "2024-01-01", horizon: 365 };
    const inputTyped = { history: typed, firstDate: "2024-01-01", horizon: 365 };
    const f = lib.forecastSpend(input);
    for (let i = 0; i < 5; i++) lib.forecastSpend(inputTyped);
    const t = { json: [], typed: [] };
    for (let r = 0; r < runs; r++) {
      let t0 = performance.now();
      lib.forecastSpend(input);
      t.json.push(performance.now() - t0);
      t0 = performance.now();
      lib.forecastSpend(inputTyped);
      t.typed.push(performance.now() - t0);
    }
    return { days, json: median(t.json), typed: median(t.typed), kind: f.model.kind };
  });
}

/** The Markdown rows. */
export function forecastTable(rows) {
  const out = [
    "| history | horizon | `forecastSpend` (number[]) | `forecastSpend` (Float64Array) | model chosen |",
    "|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    out.push(`| ${r.days.toLocaleString("en-US")} days | 365 days | ${r.json.toFixed(2)} ms | ${r.typed.toFixed(2)} ms | ${r.kind} |`);
  }
  return out.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const lib = await import(new URL("../dist/pkg/node.js", import.meta.url).href);
  process.stdout.write(`${forecastTable(forecastTimings(lib))}\n`);
}
