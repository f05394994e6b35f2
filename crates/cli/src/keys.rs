//! Key files: a signed-note private key in `NAME.key` (readable by its owner only) and its
//! public verifier key in `NAME.key.pub`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use truce_ledger::note::NoteSigner;

/// Writes `signer`'s private key to `path` (refusing to overwrite) and its public key beside it.
pub fn write(signer: &NoteSigner, path: &Path) -> Result<PathBuf> {
    if path.exists() {
        bail!("{} exists; a key is never overwritten", path.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{}", signer.to_text())?;
    file.sync_all()?;
    let public = public_path(path);
    std::fs::write(&public, format!("{}\n", signer.verifier_text()))
        .with_context(|| format!("writing {}", public.display()))?;
    Ok(public)
}

/// `FILE.pub` beside `FILE`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Reads a private key file.
pub fn read(path: &Path) -> Result<NoteSigner> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key {}", path.display()))?;
    NoteSigner::from_text(&text).with_context(|| format!("{} is not a private key", path.display()))
}
