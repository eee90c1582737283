// dps-cost — Node.js entry. Reads the wasm next to this file and instantiates it synchronously,
// so every export is ready as soon as the import resolves.
import { readFileSync } from "node:fs";
import { initSync } from "./dps_cost.js";

initSync({ module: readFileSync(new URL("./dps_cost_bg.wasm", import.meta.url)) });

export * from "./dps_cost.js";
