// dps-cost — browser entry. Fetches the wasm next to this file (top-level await), so every
// export is ready as soon as the import resolves. Serve .wasm as application/wasm for streaming
// compilation. Bundlers recognise the `new URL(…, import.meta.url)` asset pattern. `exportCost`
// also writes Parquet (format "parquet", ./parquet.js).
import init, { exportCost as exportRows, version } from "./dps_cost.js";
import { withParquet } from "./parquet.js";

await init({ module_or_path: new URL("./dps_cost_bg.wasm", import.meta.url) });

export * from "./dps_cost.js";
/** @param {import("./index.d.ts").ReportConfig} config */
export const exportCost = (config) => exportRows(config).then((r) => withParquet(r, version()));
