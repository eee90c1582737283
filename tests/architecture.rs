//! The workspace's layering, checked: the crate graph has no edge upward, the core's dependency
//! tree holds no futures, HTTP, clock or wasm crate, and the wall clock is read in one place.
//! Cargo already refuses cycles; these tests refuse the edges and dependencies that would
//! compile but break the architecture (README "Architecture").
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Each workspace crate and its layer: a crate may depend only on crates of a lower layer.
const LAYERS: [(&str, u8); 4] = [
    ("dps-cost-core", 0),
    ("dps-cost-client", 1),
    ("dps-cost-wasm", 2),
    ("dps-cost", 2),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cargo {args:?}: {e}"));
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

#[test]
fn no_crate_depends_on_its_own_layer_or_one_above() {
    let meta: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"]))
            .unwrap_or_else(|e| panic!("cargo metadata: {e}"));
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut want: Vec<&str> = LAYERS.iter().map(|(n, _)| *n).collect();
    let mut have = names.clone();
    want.sort_unstable();
    have.sort_unstable();
    assert_eq!(have, want, "every workspace crate has a layer here");
    let mut edges = std::collections::BTreeSet::new();
    for p in &packages {
        let from = p["name"].as_str().unwrap_or_default();
        let Some(from_layer) = layer(from) else {
            continue;
        };
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let to = d["name"].as_str().unwrap_or_default();
            if let Some(to_layer) = layer(to) {
                edges.insert((from, to));
                assert!(
                    to_layer < from_layer,
                    "{from} (layer {from_layer}) depends on {to} (layer {to_layer}): \
                     an edge sideways or upward"
                );
            }
        }
    }
    // client → core; wasm → core, client; facade → core, client.
    assert_eq!(
        edges.len(),
        5,
        "the crate graph changed: update LAYERS and README: {edges:?}"
    );
}

#[test]
fn the_core_depends_on_no_futures_http_clock_or_wasm_crate() {
    // The core as every Rust user and the native build get it (default features). Its one
    // optional feature, `tsify`, attaches TypeScript declaration text to the boundary types and
    // is switched on by the bindings crate alone, for wasm32 (README "Types").
    let tree = cargo(&[
        "tree",
        "-p",
        "dps-cost-core",
        "-e",
        "normal",
        "--target",
        "all",
        "--prefix",
        "none",
        "-f",
        "{p}",
    ]);
    let mut crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "dps-cost-core")
        .collect();
    crates.sort_unstable();
    crates.dedup();
    // serde and serde_json with what they build on, thiserror, zmij (the float printer). A new
    // dependency of the pure core is a decision: add it here on purpose.
    let allowed = [
        "itoa",
        "memchr",
        "proc-macro2",
        "quote",
        "serde",
        "serde_core",
        "serde_derive",
        "serde_json",
        "syn",
        "thiserror",
        "thiserror-impl",
        "unicode-ident",
        "zmij",
    ];
    for c in &crates {
        assert!(
            allowed.contains(c),
            "dps-cost-core depends on {c}: the core takes no futures, HTTP, clock or wasm crate \
             (and any other new dependency is added to this list deliberately)"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Non-comment lines of the Rust files under `dir` that contain `needle`, as `path:line`.
fn uses(dir: &str, needle: &str) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join(dir), &mut files);
    files.sort();
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") && code.contains(needle) {
                let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
                hits.push(format!("{rel}:{}", n + 1));
            }
        }
    }
    hits
}

#[test]
fn the_core_has_no_async_code_and_reads_no_clock() {
    for needle in [
        "async fn",
        ".await",
        "impl Future",
        "SystemTime",
        "Instant::now",
    ] {
        assert_eq!(
            uses("crates/core/src", needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
}

#[test]
fn the_wall_clock_is_read_once_per_target() {
    // The bindings' Clock (JsClock) and the native SystemClock; everything else is given a Clock.
    let js = uses("crates", "Date::now");
    assert!(
        js.len() == 1 && js[0].starts_with("crates/wasm/src/transport.rs:"),
        "Date::now outside JsClock: {js:?}"
    );
    let native = uses("crates", "SystemTime::now");
    assert!(
        native.len() == 1 && native[0].starts_with("crates/client/src/clock.rs:"),
        "SystemTime::now outside SystemClock: {native:?}"
    );
}
