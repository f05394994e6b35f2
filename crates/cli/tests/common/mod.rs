//! What the binary's tests share: a `truce serve` on a free port.

// Each test binary uses part of this.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_truce");

/// `truce`, with `--store URL` before the command when the record is in PostgreSQL.
pub fn truce(store: Option<&str>) -> Command {
    let mut command = Command::new(BIN);
    if let Some(url) = store {
        command.args(["--store", url]);
    }
    command
}

/// `truce serve --data DATA` on a free port: the running child (kill it when done) and the
/// base URL its first line of output names.
pub fn serve(data: &str) -> (Child, String) {
    serve_from(data, None)
}

/// [`serve`], with the record in PostgreSQL at `store` when given (`--store`).
pub fn serve_from(data: &str, store: Option<&str>) -> (Child, String) {
    serve_with(data, store, &[])
}

/// [`serve_from`] with more arguments to `serve` (listeners); what the server prints after its
/// first line is read and dropped, so it never writes to a closed pipe.
pub fn serve_with(data: &str, store: Option<&str>, more: &[&str]) -> (Child, String) {
    let mut server = truce(store)
        .args(["serve", "--data", data, "--http", "127.0.0.1:0"])
        .args(more)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("truce serve starts");
    let mut banner = String::new();
    let mut out = BufReader::new(server.stdout.take().expect("its stdout"));
    out.read_line(&mut banner).expect("its first line");
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner:?}"))
        .trim_end_matches('/')
        .to_string();
    (server, url)
}
