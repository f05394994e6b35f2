//! Where a center's evidence files are read from: its store, when the store keeps them
//! (PostgreSQL, so that every node of several reaches them), then its evidence folder (SQLite's
//! place for them, and where a record moved to PostgreSQL keeps the files handed in before).

use crate::evidence_dir::{FileCheck, hex};
use crate::{EvidenceDir, Store};
use sha2::{Digest, Sha256};
use std::io;

/// The places one center's evidence files are in, read in order: the store, then the folder.
#[derive(Clone, Copy)]
pub struct EvidenceFiles<'a> {
    store: Option<&'a dyn Store>,
    dir: Option<&'a EvidenceDir>,
}

impl<'a> EvidenceFiles<'a> {
    /// The files in `store` (when it keeps any) and in `dir`.
    pub fn new(store: Option<&'a dyn Store>, dir: Option<&'a EvidenceDir>) -> Self {
        Self {
            store: store.filter(|s| s.keeps_evidence_files()),
            dir,
        }
    }

    /// Whether there is anywhere to read files from.
    pub fn any(&self) -> bool {
        self.store.is_some() || self.dir.is_some()
    }

    /// Where the files are read from, for messages.
    pub fn describe(&self) -> String {
        match (self.store, self.dir) {
            (Some(_), Some(d)) => format!("the store and {}", d.root().display()),
            (Some(_), None) => "the store".into(),
            (None, Some(d)) => d.root().display().to_string(),
            (None, None) => "nowhere (no evidence folder)".into(),
        }
    }

    /// The file named `sha256` as kept (not checked): from the store, else the folder; `None`
    /// when neither holds it.
    pub fn read(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        if let Some(store) = self.store
            && let Some(bytes) = store.evidence_file(sha256).map_err(io::Error::other)?
        {
            return Ok(Some(bytes));
        }
        match self.dir {
            Some(dir) => dir.read(sha256),
            None => Ok(None),
        }
    }

    /// [`EvidenceFiles::read`], checked against the name: an error when the bytes kept no
    /// longer hash to it (a damaged copy is never served).
    pub fn read_checked(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(bytes) = self.read(sha256)? else {
            return Ok(None);
        };
        if hex(&Sha256::digest(&bytes)) != sha256 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the copy of {sha256} kept in {} no longer hashes to its name",
                    self.describe()
                ),
            ));
        }
        Ok(Some(bytes))
    }

    /// Checks the file named `sha256` against its name and the `size` its entry states.
    pub fn check(&self, sha256: &str, size: u64) -> io::Result<FileCheck> {
        Ok(FileCheck::of(sha256, size, self.read(sha256)?.as_deref()))
    }
}
