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
    // 2: the Merkle ledger. Tree hashes are backfilled from the entries by `backfill_tree`.
    "CREATE TABLE tree_hashes (
        idx  INTEGER PRIMARY KEY,           -- sumdb/tlog stored-hash index
        hash BLOB NOT NULL
     );
     CREATE TABLE checkpoints (
        size      INTEGER PRIMARY KEY,      -- tree size the checkpoint commits to
        note      BLOB NOT NULL,            -- the log-signed note, verbatim
        signed_ns INTEGER NOT NULL
     );
     CREATE TABLE cosignatures (
        size    INTEGER NOT NULL REFERENCES checkpoints(size),
        witness TEXT NOT NULL,
        line    TEXT NOT NULL,              -- the signature line, verbatim
        PRIMARY KEY (size, witness)
     ) WITHOUT ROWID;",
    // 3: joint verification. `members.token_hash` holds the member's credential (the argon2
    // hash of their token; tokens never enter the record), which the joining entry commits to.
    "CREATE TABLE members (
        user       TEXT PRIMARY KEY,
        monitor    TEXT NOT NULL,
        role       TEXT NOT NULL,
        active     INTEGER NOT NULL,
        token_hash TEXT,                    -- argon2 PHC string; NULL once revoked
        entry      INTEGER NOT NULL
     );
     CREATE TABLE assessments (
        entry       INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL,
        monitor     TEXT NOT NULL,
        verdict     TEXT NOT NULL,
        reason      TEXT NOT NULL,
        user        TEXT NOT NULL,
        at_ns       INTEGER NOT NULL
     );
     CREATE INDEX assessments_incident ON assessments(incident_id);
     CREATE TABLE annotations (
        entry          INTEGER PRIMARY KEY,
        incident_id    INTEGER NOT NULL,
        user           TEXT NOT NULL,
        text           TEXT NOT NULL,
        corrected_kind TEXT,
        at_ns          INTEGER NOT NULL
     );
     CREATE INDEX annotations_incident ON annotations(incident_id);",
    // 4: tracks of the monitors' own patrols and UAVs.
    "CREATE TABLE tracks (
        entry    INTEGER PRIMARY KEY,
        monitor  TEXT NOT NULL,
        device   TEXT NOT NULL,
        callsign TEXT NOT NULL,
        platform TEXT NOT NULL,
        at_ns    INTEGER NOT NULL,
        lat      REAL NOT NULL,
        lon      REAL NOT NULL
     );
     CREATE INDEX tracks_at ON tracks(at_ns);",
    // 5: evidence files handed in, one row per hand-in (the file itself is in DATA/evidence).
    "CREATE TABLE evidence (
        entry       INTEGER PRIMARY KEY,
        sha256      TEXT NOT NULL,
        size        INTEGER NOT NULL,
        media_type  TEXT NOT NULL,
        user        TEXT NOT NULL,
        monitor     TEXT NOT NULL,
        received_ns INTEGER NOT NULL
     );
     CREATE INDEX evidence_sha256 ON evidence(sha256);",
    // 6: a checkpoint's signing time is in no entry and no signed note, so nothing could check
    // it: it is no longer kept (every stored column is an entry's or checked against them).
    "ALTER TABLE checkpoints DROP COLUMN signed_ns;",
    // 7: each witness's cosignatures by size, so its latest and the agreed checkpoint are found
    // from the lagging witness's own few latest cosignatures, not by walking every checkpoint.
    "CREATE INDEX cosignatures_by_witness ON cosignatures (witness, size);",
];

/// Computes the Merkle tree's stored hashes for entries recorded before the ledger existed (a
/// data folder made by the spine), so the tree covers the whole record.
fn backfill_tree(tx: &rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    let mut frontier = truce_ledger::tree::Frontier::new();
    let mut read = tx
        .prepare("SELECT body FROM entries ORDER BY idx")
        .context("reading entries for the tree")?;
    let mut insert = tx
        .prepare("INSERT INTO tree_hashes (idx, hash) VALUES (?1, ?2)")
        .context("preparing the tree backfill")?;
    let mut rows = read.query([]).context("reading entries for the tree")?;
    while let Some(row) = rows.next().context("reading entries for the tree")? {
        let body: Vec<u8> = row.get(0).context("reading an entry")?;
        for (idx, hash) in frontier.append(&body) {
            insert
                .execute(rusqlite::params![idx as i64, &hash.0[..]])
                .context("storing a tree hash")?;
        }
    }
    Ok(())
}

/// Brings the schema of `conn` up to this build's version, in one transaction.
/// Whether the database at `path` is at an older schema version than this build's (a new,
/// empty file is); refused ([`StoreError::SchemaTooNew`]) when it is at a newer one.
pub fn needs_migration(path: &std::path::Path) -> Result<bool, StoreError> {
    let conn = Connection::open(path).context("opening the database file")?;
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version")?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    Ok(found < known)
}

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
        if i + 1 == 2 {
            backfill_tree(&tx)?;
        }
    }
    tx.pragma_update(None, "user_version", known)
        .context("recording the schema version")?;
    tx.commit().context("committing the migration")
}
