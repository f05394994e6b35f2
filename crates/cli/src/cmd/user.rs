//! `truce user add|revoke|list --data DIR`: the operator's hand on membership. Every change
//! is an entry of the record; tokens are printed once and kept only as argon2 hashes.

use crate::data_dir;
use anyhow::{Context, Result, anyhow};
use std::path::Path;
use std::process::ExitCode;
use truce_core::Timestamp;
use truce_core::access::Role;

/// Adds `name` to `monitor` with `role` and prints the token; with `cert`, binds that client
/// certificate to the member for CoT/TLS and prints its fingerprint.
pub fn add(
    data: &Path,
    monitor: &str,
    role: &str,
    cert: Option<&Path>,
    name: &str,
) -> Result<ExitCode> {
    let role = Role::from_name(role).ok_or_else(|| {
        anyhow!("--role {role:?} is not observer, analyst, officer, admin or auditor")
    })?;
    let fingerprint = cert
        .map(truce_tak::tls::cert_fingerprint)
        .transpose()
        .context("--cert")?;
    let engine = data_dir::open_engine(data)?;
    let token = engine.add_member_with_cert(
        name,
        monitor,
        role,
        fingerprint.as_ref(),
        "cli",
        Timestamp::now(),
    )?;
    println!("{token}");
    eprintln!(
        "{name} is now {} of {monitor}. The token above is shown once: hand it over securely.",
        role.as_str()
    );
    if let Some(f) = fingerprint {
        eprintln!(
            "Their TAK device may report over CoT/TLS with the certificate of SHA-256 {}.",
            truce_core::entry::hex(&f)
        );
    }
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
    let engine = data_dir::engine_over(data_dir::open_store_reading(data)?, data)?;
    for m in engine.members(None)? {
        let cert = engine
            .bound_cert(&m)?
            .map(|c| format!("cert sha256:{c}"))
            .unwrap_or_default();
        let line = format!(
            "{:<20} {:<10} {:<8} {:<8} {cert}",
            m.user,
            m.monitor,
            m.role.as_str(),
            if m.active { "active" } else { "revoked" }
        );
        println!("{}", line.trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
