//! The Python test peers truce's tests talk to: packages others wrote (takproto, pytak),
//! installed at the versions pinned in `python/requirements.txt` into one virtual
//! environment under the workspace's `target/` folder, created on first use.
//!
//! Guarantees: [`python`] returns an interpreter with every pinned package importable, or
//! panics with the command that failed and its output (a test that needs a peer fails
//! loudly rather than passing without it). Test binaries running at once wait for each
//! other on a lock file, so the environment is built once.

pub mod postgres;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the peers' scripts and requirements live.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The path of the peer script `name` (e.g. `takproto_peer.py`).
pub fn script(name: &str) -> PathBuf {
    scripts().join(name)
}

/// The virtual environment's folder: `TRUCE_PEER_VENV`, else `target/peer-venv`.
fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("TRUCE_PEER_VENV") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peer-venv")
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The virtual environment's Python, with the pinned peers installed (created on first use:
/// `python3 -m venv` and `pip install -r python/requirements.txt`, from PyPI).
pub fn python() -> PathBuf {
    let dir = venv();
    std::fs::create_dir_all(&dir).expect("creating the peers' virtual environment folder");
    let lock = std::fs::File::create(dir.join(".lock")).expect("creating the peers' lock file");
    lock.lock().expect("waiting for the peers' lock");
    let python = dir.join("bin/python");
    let requirements = scripts().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("reading requirements.txt");
    let stamp = dir.join(".installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir));
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements));
        std::fs::write(&stamp, &wanted).expect("marking the peers installed");
    }
    python
}

/// Runs peer script `name` with `args` in the peers' environment and returns what it
/// printed; panics with its standard error when it fails (a test's peer failing is the
/// test failing). Blocking: call it from `spawn_blocking` in async tests.
pub fn run_script(name: &str, args: &[String]) -> std::process::Output {
    let out = Command::new(python())
        .arg(script(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
