//! `truce user add|revoke|list --data DIR`: the operator's hand on membership. Every change
//! is an entry of the record; tokens are printed once and kept only as argon2 hashes.

use crate::data_dir;
use anyhow::{Result, anyhow};
use std::path::Path;
use std::process::ExitCode;
use truce_core::Timestamp;
use truce_core::access::Role;

/// Adds `name` to `monitor` with `role` and prints the token.
pub fn add(data: &Path, monitor: &str, role: &str, name: &str) -> Result<ExitCode> {
    let role = Role::from_name(role).ok_or_else(|| {
        anyhow!("--role {role:?} is not observer, analyst, officer, admin or auditor")
    })?;
    let engine = data_dir::open_engine(data)?;
    let token = engine.add_member(name, monitor, role, "cli", Timestamp::now())?;
    println!("{token}");
    eprintln!(
        "{name} is now {} of {monitor}. The token above is shown once: hand it over securely.",
        role.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// Revokes `name`.
pub fn revoke(data: &Path, name: &str) -> Result<ExitCode> {
    let engine = data_dir::open_engine(data)?;
    engine.revoke_member(name, "cli", None, Timestamp::now())?;
    println!("{name} is revoked");
    Ok(ExitCode::SUCCESS)
}

/// Lists every member.
pub fn list(data: &Path) -> Result<ExitCode> {
    let engine = data_dir::open_engine(data)?;
    for m in engine.members(None)? {
        println!(
            "{:<20} {:<10} {:<8} {}",
            m.user,
            m.monitor,
            m.role.as_str(),
            if m.active { "active" } else { "revoked" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
