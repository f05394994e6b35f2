//! The conformance suite on the SQLite store, and what only SQLite has: a spine database
//! (schema 1, before the Merkle ledger) migrated with its tree backfilled.

use super::*;
use crate::conformance::{Backend, conformance_suite};
use tempfile::TempDir;

/// A temporary folder with a store file in it.
pub struct SqliteBackend {
    dir: TempDir,
    store: SqliteStore,
    durability: Durability,
}

impl SqliteBackend {
    fn path(&self) -> PathBuf {
        self.dir.path().join("truce.db")
    }
}

impl Backend for SqliteBackend {
    fn new() -> Self {
        Self::with_durability(Durability::Full)
    }

    fn with_durability(durability: Durability) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("truce.db"), durability).unwrap();
        Self {
            dir,
            store,
            durability,
        }
    }

    fn store(&self) -> &dyn Store {
        &self.store
    }

    fn reopen(self) -> Self {
        let path = self.path();
        let Self {
            dir,
            store,
            durability,
        } = self;
        drop(store);
        let store = SqliteStore::open(&path, durability).unwrap();
        Self {
            dir,
            store,
            durability,
        }
    }

    fn tamper(self, statements: &[String]) -> Self {
        let path = self.path();
        let Self {
            dir,
            store,
            durability,
        } = self;
        drop(store);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
            for sql in statements {
                assert_eq!(conn.execute(sql, []).unwrap(), 1, "{sql}");
            }
        }
        let store = SqliteStore::open(&path, durability).unwrap();
        Self {
            dir,
            store,
            durability,
        }
    }

    fn bytes(&self, sql: &str) -> Vec<u8> {
        let conn = Connection::open(self.path()).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn blob(bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("X'{hex}'")
    }

    fn schema_version(&self) -> i64 {
        let conn = Connection::open(self.path()).unwrap();
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    fn reopen_at_version(self, version: i64) -> Result<Self, StoreError> {
        let path = self.path();
        let Self {
            dir,
            store,
            durability,
        } = self;
        drop(store);
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version = {version}"))
            .unwrap();
        let store = SqliteStore::open(&path, durability)?;
        Ok(Self {
            dir,
            store,
            durability,
        })
    }
}

conformance_suite!(crate::sqlite::tests::SqliteBackend);

#[test]
fn a_spine_database_is_migrated_with_its_tree_backfilled() {
    let f = SqliteBackend::new();
    crate::conformance::standard_record(f.store());
    let root = f.store().head().unwrap().root;
    let path = f.path();
    drop(f.store);
    // Turn the file back into a spine (schema 1) database: no tree tables.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE cosignatures; DROP TABLE checkpoints; DROP TABLE tree_hashes;
             DROP TABLE members; DROP TABLE assessments; DROP TABLE annotations;
             DROP TABLE tracks; DROP TABLE evidence;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let migrated = SqliteStore::open(&path, Durability::Full).unwrap();
    assert_eq!(migrated.head().unwrap().root, root);
}

#[test]
fn one_process_writes_a_record_and_others_may_only_read_it() {
    use crate::conformance::{agreement_doc, agreement_entry, batch, standard_record};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truce.db");
    let writer = SqliteStore::open(&path, Durability::Full).unwrap();
    standard_record(&writer);
    // A second writer is refused, naming the process that holds the record.
    let refused = SqliteStore::open(&path, Durability::Full).unwrap_err();
    let message = refused.to_string();
    assert!(matches!(refused, StoreError::InUse(_)), "{refused:?}");
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    // A reader beside it sees the record and writes nothing.
    let reader = SqliteStore::open_reading(&path, Durability::Full).unwrap();
    assert_eq!(reader.head().unwrap(), writer.head().unwrap());
    let extra = batch(vec![agreement_entry(2, &agreement_doc())]);
    assert!(matches!(
        reader.append(&extra),
        Err(StoreError::ReadOnly(_))
    ));
    assert_eq!(reader.head().unwrap().size, writer.head().unwrap().size);
    // Once the writer is closed, the next one may write, beside a reader (which keeps no lock).
    drop(writer);
    let next = SqliteStore::open(&path, Durability::Full).unwrap();
    next.append(&extra).unwrap();
    drop(next);
    let alone = SqliteStore::open_reading(&path, Durability::Full).unwrap();
    assert!(matches!(alone.append(&extra), Err(StoreError::ReadOnly(_))));
    SqliteStore::open(&path, Durability::Full).unwrap();
}

#[test]
fn a_reader_reads_the_record_as_it_was_when_opened() {
    use crate::conformance::{agreement_doc, agreement_entry, batch, standard_record};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truce.db");
    let writer = SqliteStore::open(&path, Durability::Full).unwrap();
    standard_record(&writer);
    let size = writer.head().unwrap().size;
    let reader = SqliteStore::open_reading(&path, Durability::Full).unwrap();
    // The writer goes on while the reader reads: the reader's record does not move.
    writer
        .append(&batch(vec![agreement_entry(2, &agreement_doc())]))
        .unwrap();
    assert_eq!(reader.head().unwrap().size, size);
    assert_eq!(reader.entries(0, u64::MAX).unwrap().len() as u64, size);
    assert!(reader.tree_hash_page(0, u64::MAX).unwrap().len() as u64 <= 2 * size);
    assert_eq!(crate::verify_chain(&reader).unwrap().size, size);
    assert_eq!(crate::verify_chain(&writer).unwrap().size, size + 1);
}

#[test]
fn a_writer_whose_record_grew_under_it_records_nothing_then_goes_on() {
    use crate::conformance::{agreement_doc, agreement_entry, batch, standard_record};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truce.db");
    let first = SqliteStore::open(&path, Durability::Full).unwrap();
    standard_record(&first);
    let size = first.head().unwrap().size;
    // Another process that got past the lock (its file deleted and made anew) appends.
    std::fs::remove_file(writer_lock::path_of(&path)).unwrap();
    let other = SqliteStore::open(&path, Durability::Full).unwrap();
    other
        .append(&batch(vec![agreement_entry(2, &agreement_doc())]))
        .unwrap();
    drop(other);
    // The first writer's next append records nothing and says why; it has reloaded, so the
    // one after continues the record as it now is.
    let mine = batch(vec![agreement_entry(3, &agreement_doc())]);
    let refused = first.append(&mine).unwrap_err();
    assert!(matches!(refused, StoreError::Moved(_)), "{refused:?}");
    assert!(
        refused.to_string().contains(&format!(
            "holds {} entries where this server wrote {size}",
            size + 1
        )),
        "{refused}"
    );
    assert_eq!(first.head().unwrap().size, size + 1);
    let receipt = first.append(&mine).unwrap();
    assert_eq!(receipt.first_index, size + 1);
    let report = crate::verify_chain(&first).unwrap();
    assert_eq!(report.size, size + 2);
}
