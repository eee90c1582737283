// dps-cost — Node.js entry. Reads the wasm next to this file and instantiates it synchronously,
// so every export is ready as soon as the import resolves. `exportCost` also writes Parquet
// (format "parquet", ./parquet.js).
import { readFileSync } from "node:fs";
import { exportCost as exportRows, initSync, version } from "./dps_cost.js";
import { withParquet } from "./parquet.js";

initSync({ module: readFileSync(new URL("./dps_cost_bg.wasm", import.meta.url)) });

export * from "./dps_cost.js";
/** @param {import("./index.d.ts").ReportConfig} config */
export const exportCost = (config) => exportRows(config).then((r) => withParquet(r, version()));
