// dps-cost — browser entry. Fetches the wasm next to this file (top-level await), so every
// export is ready as soon as the import resolves. Serve .wasm as application/wasm for streaming
// compilation. Bundlers recognise the `new URL(…, import.meta.url)` asset pattern.
import init from "./dps_cost.js";

await init({ module_or_path: new URL("./dps_cost_bg.wasm", import.meta.url) });

export * from "./dps_cost.js";
