//! The repository is self-contained (issue 14): no test, script, fuzz seed, benchmark or shipped
//! JS reads a file beside the repository (the shared folder next to it) or at an absolute path
//! on the developer's machine. A clone with nothing beside it must pass `npm test`; this catches
//! a new reference before a fresh machine does.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::{Path, PathBuf};

/// Folders whose code runs in `npm test`, `npm start` or `npm run bench`.
const ROOTS: [&str; 7] = ["tests", "scripts", "fuzz", "bench", "js", "src", "crates"];
/// Generated or machine-local folders inside them.
const SKIP: [&str; 7] = [
    "target",
    "corpus",
    "corpus-min",
    "artifacts",
    "logs",
    "seeds",
    "regressions",
];

fn code_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIP.contains(&name.as_str()) && name != "node_modules" && name != "fixtures" {
                code_files(&path, out);
            }
        } else if [".rs", ".mjs", ".js", ".cjs", ".inc", ".ts", ".sh"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            out.push(path);
        }
    }
}

#[test]
fn nothing_reads_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for r in ROOTS {
        code_files(&root.join(r), &mut files);
    }
    files.push(root.join(".ci/run"));
    assert!(files.len() > 50, "found only {} files", files.len());
    // Spelled in pieces so this file does not match itself.
    let forbidden = [
        ["../", "shared"].concat(),
        ["shared/", "fixtures"].concat(),
        ["shared/", "reference"].concat(),
        ["/", "work/"].concat(),
        ["/", "root/"].concat(),
        ["/", "home/"].concat(),
    ];
    let mut found = Vec::new();
    for f in &files {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for pat in &forbidden {
                if line.contains(pat.as_str()) {
                    found.push(format!(
                        "{}:{}: {}",
                        f.strip_prefix(root).unwrap_or(f).display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "files that reach outside the repository:\n{}",
        found.join("\n")
    );
}
