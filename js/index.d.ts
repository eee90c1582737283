// dps-cost — public types: the wasm-bindgen declarations, all of them generated from the Rust
// crates (exports, boundary types, the error contract); nothing is declared here by hand.
// The glue's default export (the async init) is not part of the public API: every entry
// (node, web, inline) has already initialised the module when its import resolves.
export * from "./dps_cost.js";
