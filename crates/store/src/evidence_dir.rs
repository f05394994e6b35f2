//! The evidence folder: files handed in to the center (photos, recordings, proofs), kept
//! outside the record and named by their SHA-256 (`DATA/evidence/ab/abcdef…`). A file is
//! written once, never changed; the record's `evidence` entries say who handed it in, when,
//! and what its capture metadata claims.

use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A folder of content-addressed evidence files.
#[derive(Debug, Clone)]
pub struct EvidenceDir {
    root: PathBuf,
}

/// What checking one file against its hash found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileCheck {
    /// The file is there and hashes to its name, with the size the entry states.
    Intact,
    /// No such file.
    Missing,
    /// The file's bytes hash to something else, or its size differs from the entry's.
    Altered {
        /// What the bytes hash to.
        found_sha256: String,
        /// Their size.
        found_size: u64,
    },
}

impl FileCheck {
    /// What `bytes` (`None`: no file) are against the name `sha256` and the `size` an entry
    /// states.
    pub fn of(sha256: &str, size: u64, bytes: Option<&[u8]>) -> Self {
        let Some(bytes) = bytes else {
            return Self::Missing;
        };
        let found_sha256 = hex(&Sha256::digest(bytes));
        if found_sha256 == sha256 && bytes.len() as u64 == size {
            Self::Intact
        } else {
            Self::Altered {
                found_sha256,
                found_size: bytes.len() as u64,
            }
        }
    }
}

/// Lowercase hex of a SHA-256 digest.
pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` is a SHA-256 in lowercase hex (the only names this folder has).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl EvidenceDir {
    /// The folder at `root`, created if absent.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// The folder at `root` as it is, for reading only: nothing is created (an audit must
    /// not write to what it checks); a missing folder holds no files.
    pub fn existing(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the file with hash `sha256` is (or would be) kept. `None` for a name that is not
    /// a lowercase hex SHA-256, so no caller can reach outside the folder.
    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(sha256).then(|| self.root.join(&sha256[..2]).join(sha256))
    }

    /// Stores `bytes` under their SHA-256 and returns it. The file is written to a temporary
    /// name of its own (concurrent hand-ins of the same bytes never share one), flushed to
    /// disk and renamed, and the folder entry is flushed too, so a file the center
    /// acknowledges survives a crash. A file already held is kept when it still hashes to its
    /// name, and replaced by these bytes when it does not.
    pub fn put(&self, bytes: &[u8]) -> io::Result<String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let sha256 = hex(&Sha256::digest(bytes));
        let dir = self.root.join(&sha256[..2]);
        let path = dir.join(&sha256);
        if self.check(&sha256, bytes.len() as u64)? == FileCheck::Intact {
            return Ok(sha256);
        }
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(
            ".{sha256}.{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        {
            let mut file = File::options().write(true).create_new(true).open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        // Atomic: a reader sees the old file or this one; another hand-in of the same bytes
        // renaming at the same time puts the same bytes in place.
        fs::rename(&tmp, &path)?;
        File::open(&dir)?.sync_all()?;
        File::open(&self.root)?.sync_all()?;
        Ok(sha256)
    }

    /// Reads the file with hash `sha256` as it is; `None` when the folder has no such file.
    pub fn read(&self, sha256: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks the file named `sha256` against its name and the `size` its entry states.
    pub fn check(&self, sha256: &str, size: u64) -> io::Result<FileCheck> {
        Ok(FileCheck::of(sha256, size, self.read(sha256)?.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_names_files_by_hash_and_check_sees_a_changed_byte() {
        let dir = tempfile::tempdir().unwrap();
        let evidence = EvidenceDir::open(dir.path().join("evidence")).unwrap();
        let sha = evidence.put(b"a photo").unwrap();
        // What `printf 'a photo' | sha256sum` prints.
        assert_eq!(
            sha,
            "d4e24d749a4fe2f161af2de913c0402b04e3ae287dafd0f9dbfa4a5c56c69285"
        );
        assert!(is_sha256_hex(&sha));
        assert_eq!(
            evidence.read(&sha).unwrap().as_deref(),
            Some(&b"a photo"[..])
        );
        assert_eq!(
            evidence.put(b"a photo").unwrap(),
            sha,
            "the same bytes, the same name"
        );
        assert_eq!(evidence.check(&sha, 7).unwrap(), FileCheck::Intact);
        assert!(matches!(
            evidence.check(&sha, 8).unwrap(),
            FileCheck::Altered { .. }
        ));
        std::fs::write(evidence.path(&sha).unwrap(), b"a phot0").unwrap();
        match evidence.check(&sha, 7).unwrap() {
            FileCheck::Altered {
                found_sha256,
                found_size,
            } => {
                assert_ne!(found_sha256, sha);
                assert_eq!(found_size, 7);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            crate::EvidenceFiles::new(None, Some(&evidence))
                .read_checked(&sha)
                .is_err(),
            "a damaged copy is not served"
        );
        assert_eq!(evidence.put(b"a photo").unwrap(), sha);
        assert_eq!(
            evidence.check(&sha, 7).unwrap(),
            FileCheck::Intact,
            "and is repaired"
        );
        let absent = "0".repeat(64);
        assert_eq!(evidence.check(&absent, 1).unwrap(), FileCheck::Missing);
        assert_eq!(evidence.path("../../etc/passwd"), None);
        assert_eq!(
            evidence.path(&"A".repeat(64)),
            None,
            "uppercase is not a name here"
        );
    }
}
