//! `truce keygen --name NAME --out FILE [--witness]`: a signed-note key pair.

use crate::keys;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use truce_ledger::note::{NoteSigner, TYPE_COSIGNATURE, TYPE_ED25519};

/// Makes a key pair: the center's checkpoint key, or with `witness` a monitor's cosigning key.
pub fn run(name: &str, out: &Path, witness: bool) -> Result<ExitCode> {
    let kind = if witness {
        TYPE_COSIGNATURE
    } else {
        TYPE_ED25519
    };
    let signer = NoteSigner::generate(name, kind)?;
    let public = keys::write(&signer, out)?;
    println!("private key: {} (keep it secret)", out.display());
    println!("public key:  {}", public.display());
    println!("{}", signer.verifier_text());
    println!(
        "list it in the agreement under [ledger] as {}",
        if witness {
            "witnesses.<monitor id> = \"…\""
        } else {
            "log_key = \"…\""
        }
    );
    Ok(ExitCode::SUCCESS)
}
