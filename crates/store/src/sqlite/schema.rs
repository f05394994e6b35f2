//! The schema and its migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! `entries` is the record; every other table is derived from it and could be rebuilt from it.

use crate::error::{Context, StoreError};
use rusqlite::Connection;

/// Each migration, in order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    // 1: the spine.
    "CREATE TABLE entries (
        idx   INTEGER PRIMARY KEY,          -- position in the record, from 0
        type  TEXT NOT NULL,
        body  BLOB NOT NULL,                -- canonical bytes (RFC 8785 JSON)
        chain BLOB NOT NULL                 -- SHA-256(previous chain || leaf hash)
     );
     CREATE TABLE blobs (
        sha256 BLOB PRIMARY KEY,
        bytes  BLOB NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE agreements (
        version INTEGER PRIMARY KEY,
        sha256  BLOB NOT NULL REFERENCES blobs(sha256),
        entry   INTEGER NOT NULL REFERENCES entries(idx)
     );
     CREATE TABLE observations (
        id           INTEGER PRIMARY KEY,
        entry        INTEGER NOT NULL REFERENCES entries(idx),
        incident_id  INTEGER NOT NULL,
        kind         TEXT NOT NULL,
        observed_ns  INTEGER NOT NULL,
        client_id    BLOB,
        content_hash BLOB
     );
     CREATE UNIQUE INDEX observations_client ON observations(client_id)
        WHERE client_id IS NOT NULL;
     CREATE INDEX observations_incident ON observations(incident_id);
     CREATE TABLE incidents (
        id            INTEGER PRIMARY KEY,
        revision      INTEGER NOT NULL,
        entry         INTEGER NOT NULL REFERENCES entries(idx),
        kind          TEXT NOT NULL,
        status        TEXT NOT NULL,
        side          TEXT NOT NULL,
        clauses       TEXT NOT NULL,        -- ',1,3,' for findings against clauses 1 and 3
        first_seen_ns INTEGER NOT NULL,
        last_seen_ns  INTEGER NOT NULL,
        lat           REAL,
        lon           REAL                  -- the estimate itself is in the entry
     );
     CREATE INDEX incidents_last_seen ON incidents(last_seen_ns);",
];

/// Brings the schema of `conn` up to this build's version, in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version")?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    let tx = conn.transaction().context("starting a migration")?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)
            .context(&format!("applying schema migration {}", i + 1))?;
    }
    tx.pragma_update(None, "user_version", known)
        .context("recording the schema version")?;
    tx.commit().context("committing the migration")
}
