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
