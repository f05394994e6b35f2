//! The PostgreSQL schema and its migrations, applied in order and recorded in `schema_version`.
//!
//! Everything lives in one schema of the caller's choosing (`truce` by default), so one database
//! can hold several records (the tests use one schema each). The record's tables are
//! append-only in the database itself: a trigger refuses UPDATE, DELETE and TRUNCATE for every
//! role but a superuser who turns triggers off, and the application role, when one is named, is
//! granted only SELECT and INSERT on them. The projections that change (incidents,
//! observations' incident, members, cosignature lines, the head row) keep UPDATE.
//!
//! Incidents carry PostGIS geometry (the position as a point, the 95% ellipse as a polygon,
//! SRID 4326) and their seen interval as a `tstzrange` (for QGIS's time filter), a GiST index
//! over the whole days they were seen and their position (migration 3 says why in that order),
//! and the integer key QGIS wants.

use crate::error::{Context, StoreError};
use postgres::Transaction;

/// Tables only ever appended to: a trigger refuses every change, and the application role may
/// only read and insert.
pub const APPEND_ONLY: &[&str] = &[
    "entries",
    "tree_hashes",
    "blobs",
    "agreements",
    "checkpoints",
    "assessments",
    "annotations",
    "tracks",
    "evidence",
    "evidence_files",
];

/// Tables whose rows change as the record grows (projections of the latest state).
pub const UPDATED: &[&str] = &[
    "observations",
    "incidents",
    "members",
    "cosignatures",
    "log_head",
    "intake",
];

/// Each migration, in order; `schema_version` holds the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: the record, its tree and checkpoints, and every projection SQLite has at version 5.
    "CREATE TABLE entries (
        idx   bigint PRIMARY KEY,           -- position in the record, from 0
        type  text NOT NULL,
        body  bytea NOT NULL,               -- canonical bytes (RFC 8785 JSON)
        chain bytea NOT NULL                -- SHA-256(previous chain || leaf hash)
     );
     CREATE TABLE log_head (
        id    integer PRIMARY KEY CHECK (id = 1),
        size  bigint NOT NULL,              -- entries in the record
        chain bytea NOT NULL,               -- chain hash after the last entry
        root  bytea NOT NULL,               -- Merkle root over all entries
        epoch bigint NOT NULL               -- the sequencer's term: each new one increments it
     );
     INSERT INTO log_head VALUES (1, 0, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
        sha256(''::bytea), 0);
     CREATE TABLE blobs (
        sha256 bytea PRIMARY KEY,
        bytes  bytea NOT NULL
     );
     CREATE TABLE agreements (
        version bigint PRIMARY KEY,
        sha256  bytea NOT NULL,
        entry   bigint NOT NULL
     );
     CREATE TABLE observations (
        id           bigint PRIMARY KEY,
        entry        bigint NOT NULL,
        incident_id  bigint NOT NULL,
        kind         text NOT NULL,
        observed_ns  bigint NOT NULL,
        client_id    bytea,
        content_hash bytea
     );
     CREATE UNIQUE INDEX observations_client ON observations (client_id)
        WHERE client_id IS NOT NULL;
     CREATE INDEX observations_incident ON observations (incident_id);
     CREATE TABLE incidents (
        id            bigint PRIMARY KEY,   -- the stable integer key QGIS asks for
        revision      bigint NOT NULL,
        entry         bigint NOT NULL,
        kind          text NOT NULL,
        status        text NOT NULL,
        side          text NOT NULL,
        clauses       text NOT NULL,        -- ',1,3,' for findings against clauses 1 and 3
        first_seen_ns bigint NOT NULL,
        last_seen_ns  bigint NOT NULL,
        lat           double precision,
        lon           double precision,
        location      geometry(Point, 4326),
        ellipse95     geometry(Polygon, 4326),
        seen          tstzrange GENERATED ALWAYS AS (tstzrange(
                          to_timestamp(least(first_seen_ns, last_seen_ns)::float8 / 1e9::float8),
                          to_timestamp(greatest(first_seen_ns, last_seen_ns)::float8 / 1e9::float8),
                          '[]')) STORED
     );
     CREATE INDEX incidents_last_seen ON incidents (last_seen_ns);
     CREATE INDEX incidents_where_when ON incidents USING gist (location, seen);
     CREATE INDEX incidents_ellipse ON incidents USING gist (ellipse95);
     CREATE TABLE tree_hashes (
        idx  bigint PRIMARY KEY,            -- sumdb/tlog stored-hash index
        hash bytea NOT NULL
     );
     CREATE TABLE checkpoints (
        size      bigint PRIMARY KEY,
        note      bytea NOT NULL,
        signed_ns bigint NOT NULL
     );
     CREATE TABLE cosignatures (
        size    bigint NOT NULL REFERENCES checkpoints (size),
        witness text NOT NULL,
        line    text NOT NULL,
        PRIMARY KEY (size, witness)
     );
     CREATE TABLE members (
        username   text PRIMARY KEY,
        monitor    text NOT NULL,
        role       text NOT NULL,
        active     boolean NOT NULL,
        token_hash text,
        entry      bigint NOT NULL
     );
     CREATE TABLE assessments (
        entry       bigint PRIMARY KEY,
        incident_id bigint NOT NULL,
        monitor     text NOT NULL,
        verdict     text NOT NULL,
        reason      text NOT NULL,
        username    text NOT NULL,
        at_ns       bigint NOT NULL
     );
     CREATE INDEX assessments_incident ON assessments (incident_id);
     CREATE TABLE annotations (
        entry          bigint PRIMARY KEY,
        incident_id    bigint NOT NULL,
        username       text NOT NULL,
        text           text NOT NULL,
        corrected_kind text,
        at_ns          bigint NOT NULL
     );
     CREATE INDEX annotations_incident ON annotations (incident_id);
     CREATE TABLE tracks (
        entry    bigint PRIMARY KEY,
        monitor  text NOT NULL,
        device   text NOT NULL,
        callsign text NOT NULL,
        platform text NOT NULL,
        at_ns    bigint NOT NULL,
        lat      double precision NOT NULL,
        lon      double precision NOT NULL
     );
     CREATE INDEX tracks_at ON tracks (at_ns);
     CREATE TABLE evidence (
        entry       bigint PRIMARY KEY,
        sha256      text NOT NULL,
        size        bigint NOT NULL,
        media_type  text NOT NULL,
        username    text NOT NULL,
        monitor     text NOT NULL,
        received_ns bigint NOT NULL
     );
     CREATE INDEX evidence_sha256 ON evidence (sha256);
     CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        RAISE EXCEPTION 'the record is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA,
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
     END $$;",
    // 2: the intake queue: submissions any node commits (its acknowledgement), answered by the
    // one sequencer in the transaction that appends their entries.
    "CREATE TABLE intake (
        id          bigserial PRIMARY KEY,
        member      text NOT NULL,
        received_ns bigint NOT NULL,
        body        bytea NOT NULL,
        attempts    integer NOT NULL DEFAULT 0, -- times a sequencer took it up
        status      integer,                -- the answer's HTTP status, once sequenced
        outcome     text,                   -- the answer's JSON
        settled_ns  bigint
     );
     CREATE INDEX intake_pending ON intake (id) WHERE status IS NULL;",
    // 3: incidents by place and time. A multi-column GiST index splits its pages on the first
    // column, and every point is distinct, so (location, seen) narrowed by place only: a 10 km
    // box and one day read every incident ever seen in the box. The whole UTC days an incident
    // spans come first here, then the place; whole-day keys repeat, so the tree groups by day.
    // Truncating division never decreases as time grows, so a query on days finds every
    // incident its exact nanosecond test would. Place-only questions get an index of their own.
    "CREATE INDEX incidents_when_where ON incidents USING gist (
        int8range(least(first_seen_ns, last_seen_ns) / 86400000000000,
                  greatest(first_seen_ns, last_seen_ns) / 86400000000000, '[]'),
        location);
     CREATE INDEX incidents_location ON incidents USING gist (location);
     DROP INDEX incidents_where_when;",
    // 4: a checkpoint's signing time is in no entry and no signed note, so nothing could check
    // it: it is no longer kept (every stored column is an entry's or checked against them).
    "ALTER TABLE checkpoints DROP COLUMN signed_ns;",
    // 5: each witness's cosignatures by size, so its latest and the agreed checkpoint are found
    // from the lagging witness's own few latest cosignatures, not by walking every checkpoint.
    "CREATE INDEX cosignatures_by_witness ON cosignatures (witness, size);",
    // 6: members' writes other than observations (verdicts, notes, merges, splits) are queued
    // too, so that any node takes them: the column says what an item asks to record.
    "ALTER TABLE intake ADD COLUMN request text NOT NULL DEFAULT 'observations'
        CHECK (request IN ('observations', 'write'));",
    // 7: evidence files kept in the database, so that a file handed in on any node of several
    // is there for every other (the record's `evidence` entries name them by SHA-256; the
    // audit hashes them). Media is already compressed: stored out of line as it is.
    "CREATE TABLE evidence_files (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        bytes  bytea NOT NULL
     );
     ALTER TABLE evidence_files ALTER COLUMN bytes SET STORAGE EXTERNAL;",
];

/// How many migrations this build knows.
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// `name` (already checked) quoted as an SQL identifier, so that a reserved word is a name.
pub fn ident(name: &str) -> String {
    format!("\"{name}\"")
}

/// The schema's name as an SQL identifier, or an error when it is not a plain lowercase name
/// (it is spliced into statements, so nothing else is allowed).
pub fn checked_name(name: &str, what: &str) -> Result<String, StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok && name != "public" && !name.starts_with("pg_") {
        Ok(name.to_string())
    } else {
        Err(StoreError::Config(format!(
            "{what} {name:?}: use lowercase letters, digits and _ (at most 63, not starting with a \
             digit), not public nor pg_…"
        )))
    }
}

/// Creates schema `schema` if absent and brings it to this build's version, in one transaction
/// holding an advisory lock (two nodes starting at once migrate one after the other). When
/// `app_role` is given, grants it what the server needs and no more.
pub fn migrate(
    tx: &mut Transaction<'_>,
    schema: &str,
    app_role: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock(7239017)", &[])
        .context("waiting for other migrations")?;
    let quoted = ident(schema);
    tx.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public;
         CREATE SCHEMA IF NOT EXISTS {quoted};
         SET LOCAL search_path TO {quoted}, public;
         CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
    ))
    .context(&format!(
        "preparing schema {schema} (PostGIS must be installable: postgresql-15-postgis-3)"
    ))?;
    let found: Option<i32> = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .context("reading the schema version")?
        .map(|r| r.get(0));
    let found = i64::from(found.unwrap_or(0));
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql)
            .context(&format!("applying schema migration {}", i + 1))?;
    }
    if found < known {
        for table in APPEND_ONLY {
            tx.batch_execute(&format!(
                "CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION refuse_change();
                 CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();"
            ))
            .context(&format!("making {table} append-only"))?;
        }
        tx.execute("DELETE FROM schema_version", &[])
            .context("recording the schema version")?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(known as i32)],
        )
        .context("recording the schema version")?;
    }
    if let Some(role) = app_role {
        let role = ident(&checked_name(role, "the application role")?);
        let mut grants = format!(
            "GRANT USAGE ON SCHEMA {quoted} TO {role};
             GRANT SELECT ON schema_version TO {role};"
        );
        for table in APPEND_ONLY {
            grants.push_str(&format!(
                "REVOKE ALL ON {table} FROM {role}; GRANT SELECT, INSERT ON {table} TO {role};"
            ));
        }
        for table in UPDATED {
            grants.push_str(&format!(
                "REVOKE ALL ON {table} FROM {role}; GRANT SELECT, INSERT, UPDATE ON {table} TO {role};"
            ));
        }
        grants.push_str(&format!("GRANT USAGE ON SEQUENCE intake_id_seq TO {role};"));
        tx.batch_execute(&grants)
            .context(&format!("granting role {role} the server's rights"))?;
    }
    Ok(())
}
