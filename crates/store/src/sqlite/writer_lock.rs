//! One writer per record: an exclusive lock on `FILE.lock` beside the database, held as long
//! as a store that may write is open. The operating system releases it when the process ends,
//! however it ends, so a killed server never leaves the record locked.

use crate::error::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file of the database at `db`.
pub fn path_of(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock for the database at `db`, and writes who holds it (process id and
/// command line) into the lock file for the next one who asks. Refused with
/// [`StoreError::InUse`] naming the holder when another process holds it.
pub fn take(db: &Path) -> Result<File, StoreError> {
    let path = path_of(db);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::Config(format!("opening {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::InUse(format!(
                "the record {} is open for writing by another process ({}): stop it first, or \
                 make this change through that server",
                db.display(),
                if holder.is_empty() {
                    "it did not say which"
                } else {
                    holder
                }
            )));
        }
        Err(TryLockError::Error(e)) => {
            return Err(StoreError::Config(format!(
                "locking {}: {e}",
                path.display()
            )));
        }
    }
    let who = format!(
        "pid {}: {}",
        std::process::id(),
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    // Only a courtesy to whoever is refused next: the lock itself is what counts.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
        .and_then(|()| file.write_all(who.as_bytes()));
    Ok(file)
}
