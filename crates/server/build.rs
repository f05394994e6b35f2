//! Builds the dashboard (`web/`, TypeScript and MapLibre GL from npm) into `OUT_DIR`, where
//! `src/dashboard.rs` embeds it: `cargo build` is the only build step a user runs. Needs Node.js
//! and npm (on Debian: `apt-get install nodejs npm`); the first build installs the pinned
//! packages of `web/package-lock.json` with `npm ci`.

#![allow(clippy::print_stdout, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("web");
    for watched in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", web.join(watched).display());
    }
    let installed = web.join("node_modules/.package-lock.json");
    let lock = web.join("package-lock.json");
    let stale = match (modified(&installed), modified(&lock)) {
        (Some(i), Some(l)) => i < l,
        _ => true,
    };
    if stale {
        run(
            &web,
            "npm",
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        );
    }
    run(
        &web,
        "node",
        &["build.mjs", out.to_str().expect("a UTF-8 path")],
    );
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "building the dashboard needs `{program}` (Node.js and npm; on Debian: \
                 apt-get install nodejs npm): {e}"
            )
        });
    assert!(
        status.success(),
        "building the dashboard: `{program} {}` in {} failed ({status})",
        args.join(" "),
        dir.display()
    );
}
