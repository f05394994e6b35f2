//! Tampering as an operator could, through SQLite directly: 1,000 random single-byte or
//! single-field changes anywhere in the entries, tree hashes, checkpoints, cosignatures,
//! observations, incidents and agreement blob; and every column of every table the schema
//! has, found from the schema itself, changed four times each. The audit behind `truce verify`
//! must fail on every one and say where. Also: truncation against a cosigned checkpoint, and a
//! member's credential swapped in the database.

#![allow(clippy::unwrap_used)]

mod common;

use common::{AGREEMENT, Rng, add_member, build_record};
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
use truce_core::access::Role;
use truce_core::agreement::{Agreement, parse_toml};
use truce_core::{IncidentId, Timestamp};
use truce_engine::{Engine, audit, record_agreement};
use truce_store::{Durability, EvidenceDir, SqliteStore, Store};

/// The shared record, on an SQLite file at `path` (its evidence folder beside it).
fn build(path: &Path) -> Agreement {
    let store = SqliteStore::open(path, Durability::Process).unwrap();
    let evidence = EvidenceDir::open(path.with_extension("evidence")).unwrap();
    build_record(Arc::new(store), Some(evidence)).0
}

/// A connection as an operator with `sqlite3` would open it: no foreign-key enforcement.
fn operator(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch("PRAGMA foreign_keys = OFF;").unwrap();
    c
}

fn count(c: &Connection, table: &str) -> u64 {
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

/// Changes one byte of a BLOB or TEXT column of the `n`-th row of `table` (by rowid order).
fn flip_byte(c: &Connection, table: &str, column: &str, key: &str, rng: &mut Rng) -> String {
    let rows = count(c, table);
    let (k, bytes): (i64, Vec<u8>) = c
        .query_row(
            &format!(
                "SELECT {key}, CAST({column} AS BLOB) FROM {table} ORDER BY {key} LIMIT 1 OFFSET ?1"
            ),
            [rng.below(rows) as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut bytes = bytes;
    let at = rng.below(bytes.len() as u64) as usize;
    bytes[at] ^= 1 + rng.below(255) as u8;
    let is_text: bool = c
        .query_row(
            &format!("SELECT typeof({column}) = 'text' FROM {table} WHERE {key} = ?1"),
            [k],
            |r| r.get(0),
        )
        .unwrap();
    if is_text {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        c.execute(
            &format!("UPDATE {table} SET {column} = ?1 WHERE {key} = ?2"),
            rusqlite::params![text, k],
        )
        .unwrap();
    } else {
        c.execute(
            &format!("UPDATE {table} SET {column} = ?1 WHERE {key} = ?2"),
            rusqlite::params![bytes, k],
        )
        .unwrap();
    }
    format!("{table}.{column} of {key} {k}, byte {at}")
}

/// Changes one field of one row to a different value of the same type.
fn change_field(c: &Connection, table: &str, column: &str, rng: &mut Rng) -> String {
    let rows = count(c, table);
    let id: i64 = c
        .query_row(
            &format!("SELECT id FROM {table} ORDER BY id LIMIT 1 OFFSET ?1"),
            [rng.below(rows) as i64],
            |r| r.get(0),
        )
        .unwrap();
    let sql = match column {
        "kind" => format!(
            "UPDATE {table} SET kind = CASE kind WHEN 'shot' THEN 'burst' ELSE 'shot' END WHERE id = ?1"
        ),
        "status" => format!(
            "UPDATE {table} SET status = CASE status WHEN 'disputed' THEN 'reported' ELSE 'disputed' END WHERE id = ?1"
        ),
        "side" => format!(
            "UPDATE {table} SET side = CASE side WHEN 'a' THEN 'b' ELSE 'a' END WHERE id = ?1"
        ),
        "clauses" => format!("UPDATE {table} SET clauses = clauses || '9,' WHERE id = ?1"),
        "lat" | "lon" => format!("UPDATE {table} SET {column} = {column} + 0.000001 WHERE id = ?1"),
        _ => format!("UPDATE {table} SET {column} = {column} + 1 WHERE id = ?1"),
    };
    c.execute(&sql, [id]).unwrap();
    format!("{table}.{column} of id {id}")
}

#[test]
fn a_thousand_single_changes_are_each_caught_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.sqlite");
    let agreement = build(&clean);
    {
        let store = SqliteStore::open(&clean, Durability::Full).unwrap();
        let report = audit(&store, &agreement).expect("the untouched record verifies");
        assert_eq!(report.observations, 48);
        assert_eq!(report.agreed_size, Some(store.head().unwrap().size));
        // Fold the WAL into the main file so a byte copy is the whole database.
        drop(store);
        let c = Connection::open(&clean).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let mut rng = Rng(0x7275_6365_2d74_616d);
    let work = dir.path().join("work.sqlite");
    for round in 0..1000 {
        std::fs::copy(&clean, &work).unwrap();
        let _ = std::fs::remove_file(dir.path().join("work.sqlite-wal"));
        let what = {
            let c = operator(&work);
            match rng.below(17) {
                0 | 1 => flip_byte(&c, "entries", "body", "idx", &mut rng),
                2 => flip_byte(&c, "entries", "chain", "idx", &mut rng),
                3 => flip_byte(&c, "tree_hashes", "hash", "idx", &mut rng),
                4 => flip_byte(&c, "checkpoints", "note", "size", &mut rng),
                5 => flip_byte(&c, "cosignatures", "line", "size", &mut rng),
                6 => {
                    let bytes: Vec<u8> = c
                        .query_row("SELECT bytes FROM blobs", [], |r| r.get(0))
                        .unwrap();
                    let mut bytes = bytes;
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 1 + rng.below(255) as u8;
                    c.execute("UPDATE blobs SET bytes = ?1", [bytes]).unwrap();
                    format!("blobs.bytes of the agreement, byte {at}")
                }
                7 => change_field(
                    &c,
                    "observations",
                    ["incident_id", "kind", "observed_ns", "entry"][rng.below(4) as usize],
                    &mut rng,
                ),
                8 => flip_byte(&c, "observations", "client_id", "id", &mut rng),
                9 => flip_byte(&c, "observations", "content_hash", "id", &mut rng),
                10 => change_field(
                    &c,
                    "incidents",
                    ["revision", "entry", "first_seen_ns", "last_seen_ns"][rng.below(4) as usize],
                    &mut rng,
                ),
                11 => change_field(
                    &c,
                    "incidents",
                    ["kind", "status", "side", "clauses"][rng.below(4) as usize],
                    &mut rng,
                ),
                12 => change_field(
                    &c,
                    "incidents",
                    ["lat", "lon"][rng.below(2) as usize],
                    &mut rng,
                ),
                14 => flip_byte(&c, "assessments", "reason", "entry", &mut rng),
                15 => {
                    let entry: i64 = c
                        .query_row(
                            "SELECT entry FROM assessments ORDER BY entry LIMIT 1 OFFSET ?1",
                            [rng.below(count(&c, "assessments")) as i64],
                            |r| r.get(0),
                        )
                        .unwrap();
                    c.execute(
                        "UPDATE assessments SET verdict = CASE verdict WHEN 'confirm' THEN 'dispute' ELSE 'confirm' END WHERE entry = ?1",
                        [entry],
                    )
                    .unwrap();
                    format!("assessments.verdict of entry {entry}")
                }
                16 => {
                    let user = ["m1-officer", "m2-officer"][rng.below(2) as usize];
                    c.execute("UPDATE members SET role = 'admin' WHERE user = ?1", [user])
                        .unwrap();
                    format!("members.role of {user}")
                }
                _ => {
                    let n = count(&c, "entries");
                    let idx = rng.below(n);
                    c.execute("UPDATE entries SET body = CAST(CAST(body AS BLOB) || x'20' AS BLOB) WHERE idx = ?1", [idx as i64]).unwrap();
                    format!("entries.body of idx {idx}, a byte appended")
                }
            }
        };
        let result = SqliteStore::open(&work, Durability::Full)
            .map_err(|e| e.to_string())
            .and_then(|s| audit(&s, &agreement).map_err(|e| e.to_string()));
        match result {
            Ok(_) => panic!("round {round}: {what} went unnoticed"),
            Err(message) => assert!(
                message.contains("entry")
                    || message.contains("tree hash")
                    || message.contains("checkpoint")
                    || message.contains("row")
                    || message.contains("damaged"),
                "round {round}: {what}: the error does not say where: {message}"
            ),
        }
    }
}

#[test]
fn truncation_is_caught_against_any_cosigned_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let agreement = build(&path);
    let c = operator(&path);
    let n = count(&c, "entries");
    // The operator drops the last three entries (and their rows, to look consistent).
    c.execute("DELETE FROM entries WHERE idx >= ?1", [(n - 3) as i64])
        .unwrap();
    drop(c);
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    let err = audit(&store, &agreement).unwrap_err().to_string();
    assert!(
        err.contains("truncated") || err.contains("tree hash") || err.contains("row"),
        "{err}"
    );
}

/// Every stored (table, column), from the schema itself, with its primary key columns.
fn columns(c: &Connection) -> Vec<(String, String, Vec<String>)> {
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let info: Vec<(String, i64)> = c
            .prepare(&format!("SELECT name, pk FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut key: Vec<(i64, String)> = info
            .iter()
            .filter(|(_, pk)| *pk > 0)
            .map(|(n, pk)| (*pk, n.clone()))
            .collect();
        key.sort();
        let key: Vec<String> = key.into_iter().map(|(_, n)| n).collect();
        for (name, _) in info {
            out.push((t.clone(), name, key.clone()));
        }
    }
    out
}

/// Changes `column` of a random row of `table` (found by its key) to another value of the
/// same type: integers by one (0 and 1 swapped), reals by a millionth, one character of a text
/// to another letter, one byte of a blob, a NULL to a value. Answers what it did, or `None`
/// when the table is empty.
fn tamper_cell(
    c: &Connection,
    table: &str,
    column: &str,
    key: &[String],
    rng: &mut Rng,
) -> Option<String> {
    let rows = count(c, table);
    if rows == 0 {
        return None;
    }
    let keys = key.join(", ");
    let (key_values, value): (Vec<rusqlite::types::Value>, rusqlite::types::Value) = c
        .query_row(
            &format!("SELECT {keys}, {column} FROM {table} ORDER BY {keys} LIMIT 1 OFFSET ?1"),
            [rng.below(rows) as i64],
            |r| {
                let k = (0..key.len())
                    .map(|i| r.get(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((k, r.get(key.len())?))
            },
        )
        .unwrap();
    use rusqlite::types::Value;
    // A key changed by one would clash with the next row's: it moves past the last one.
    let past_the_last: i64 = c
        .query_row(
            &format!("SELECT COALESCE(MAX(CAST({column} AS INTEGER)), 0) + 1000 FROM {table}"),
            [],
            |r| r.get(0),
        )
        .unwrap_or(1000);
    let new = match &value {
        Value::Integer(_) if key.iter().any(|k| k == column) => Value::Integer(past_the_last),
        Value::Null => Value::Integer(1),
        Value::Integer(0) => Value::Integer(1),
        Value::Integer(1) if column == "active" => Value::Integer(0),
        Value::Integer(i) => Value::Integer(i + 1),
        Value::Real(x) => Value::Real(x + 1e-6 * (1.0 + x.abs())),
        Value::Text(t) => {
            let mut chars: Vec<char> = t.chars().collect();
            if chars.is_empty() {
                Value::Text("x".into())
            } else {
                let at = rng.below(chars.len() as u64) as usize;
                chars[at] = if chars[at] == 'q' { 'z' } else { 'q' };
                Value::Text(chars.into_iter().collect())
            }
        }
        Value::Blob(b) => {
            let mut b = b.clone();
            if b.is_empty() {
                b.push(1);
            } else {
                let at = rng.below(b.len() as u64) as usize;
                b[at] ^= 1 + rng.below(255) as u8;
            }
            Value::Blob(b)
        }
    };
    let condition: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = ?{}", i + 2))
        .collect();
    let mut params: Vec<Value> = vec![new.clone()];
    params.extend(key_values.iter().cloned());
    let changed = c
        .execute(
            &format!(
                "UPDATE {table} SET {column} = ?1 WHERE {}",
                condition.join(" AND ")
            ),
            rusqlite::params_from_iter(params),
        )
        .unwrap_or(0);
    (changed == 1).then(|| format!("{table}.{column} of {key_values:?}: {value:?} -> {new:?}"))
}

#[test]
fn every_column_of_every_table_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.sqlite");
    let agreement = build(&clean);
    {
        let c = Connection::open(&clean).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let all = columns(&operator(&clean));
    let mut rng = Rng(0x6576_6572_7963_656c);
    let work = dir.path().join("work.sqlite");
    let mut missed = Vec::new();
    let mut tried = 0;
    let mut untouched = Vec::new();
    for (table, column, key) in &all {
        let before = tried;
        for _ in 0..4 {
            std::fs::copy(&clean, &work).unwrap();
            let _ = std::fs::remove_file(dir.path().join("work.sqlite-wal"));
            let Some(what) = tamper_cell(&operator(&work), table, column, key, &mut rng) else {
                continue;
            };
            tried += 1;
            let result = SqliteStore::open(&work, Durability::Full)
                .map_err(|e| e.to_string())
                .and_then(|s| audit(&s, &agreement).map_err(|e| e.to_string()));
            if result.is_ok() {
                missed.push(what);
            }
        }
        if tried == before {
            untouched.push(format!("{table}.{column}"));
        }
    }
    // Every column of every table holds something to change (the intake queue is
    // PostgreSQL's; SQLite has none), or this test would show nothing for it.
    assert!(untouched.is_empty(), "never changed: {untouched:?}");
    eprintln!("{tried} changes over {} columns", all.len());
    assert!(
        missed.is_empty(),
        "{} of {tried} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

#[test]
fn a_credential_swapped_in_the_database_signs_no_one_in_and_is_named() {
    // An operator with the database file writes a hash of a token they made into a member's
    // row: the membership entry commits to the member's own credential, so the token signs
    // no one in, and the audit names the column.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truce.sqlite");
    let agreement = Agreement::from_doc(
        parse_toml(AGREEMENT, "t.toml", &|_| Err("none".into()))
            .unwrap()
            .doc,
        "t",
    )
    .unwrap();
    let now = Timestamp::parse("2026-11-20T12:00:00Z").unwrap();
    let store = SqliteStore::open(&path, Durability::Process).unwrap();
    record_agreement(&store, &agreement, now).unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let engine = Engine::open(store.clone()).unwrap();
    let own = engine
        .add_member("m1-officer", "m1", Role::Officer, "test", now)
        .unwrap();
    assert!(engine.authenticate(&own).unwrap().is_some());
    audit(store.as_ref(), &agreement).expect("the untouched record verifies");
    let (own_hash, own_entry): (String, i64) = operator(&path)
        .query_row(
            "SELECT token_hash, entry FROM members WHERE user = 'm1-officer'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();

    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let forged = "m1-officer.made-by-the-operator";
    let hash = argon2::Argon2::default()
        .hash_password(forged.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
    operator(&path)
        .execute(
            "UPDATE members SET token_hash = ?1 WHERE user = 'm1-officer'",
            [&hash],
        )
        .unwrap();
    assert!(engine.authenticate(forged).unwrap().is_none());
    let fault = audit(store.as_ref(), &agreement).unwrap_err().to_string();
    assert!(
        fault.contains("members") && fault.contains("token_hash"),
        "{fault}"
    );
    // Pointing the row at an entry that is not this member's (the agreement's, say) does not
    // get past the check either, nor does raising the role the row claims.
    operator(&path)
        .execute("UPDATE members SET entry = 0 WHERE user = 'm1-officer'", [])
        .unwrap();
    assert!(engine.authenticate(forged).unwrap().is_none());
    // The member's own credential and entry back, but the role raised: the own token, which
    // a fresh engine has not seen, is refused until the row says what the entry says again.
    let set_row = |role: &str| {
        operator(&path)
            .execute(
                "UPDATE members SET token_hash = ?1, entry = ?2, role = ?3
                 WHERE user = 'm1-officer'",
                rusqlite::params![own_hash, own_entry, role],
            )
            .unwrap();
    };
    set_row("admin");
    let fresh = Engine::open(store.clone()).unwrap();
    assert!(fresh.authenticate(&own).unwrap().is_none());
    set_row("officer");
    assert!(fresh.authenticate(&own).unwrap().is_some());
}

/// `EntryBody::decode` then the canonical check, as the audit did before observations and
/// incident revisions were decoded directly.
fn generic_canonical(
    bytes: &[u8],
) -> Result<truce_core::entry::EntryBody, truce_core::entry::EntryError> {
    let body = truce_core::entry::EntryBody::decode(bytes)?;
    if body.canonical_bytes()? != bytes {
        return Err(truce_core::entry::EntryError::NotCanonical);
    }
    Ok(body)
}

#[test]
fn bulk_decoding_is_the_generic_decoding() {
    // A record of the demo scenario's reports (bearings, ranges, arrivals, positions, from
    // observers, sensors and UAVs) with revisions made by association, a merge and a split.
    let dir = tempfile::tempdir().unwrap();
    let agreement = parse_toml(AGREEMENT, "t.toml", &|_| Err("none".into())).unwrap();
    let store = SqliteStore::open(&dir.path().join("t.sqlite"), Durability::Process).unwrap();
    let now = Timestamp::parse("2026-11-21T00:00:00Z").unwrap();
    record_agreement(&store, &agreement, now).unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let engine = Engine::open(store.clone()).unwrap();
    let scenario =
        truce_sim::Scenario::from_toml(include_str!("../../cli/demo/scenario.toml")).unwrap();
    let mut generator = truce_sim::Generator::new(scenario, 7);
    let mut t = Timestamp::parse("2026-11-20T08:00:00Z").unwrap();
    for _ in 0..80 {
        let event = generator.simulate(t);
        let batch = event
            .observations
            .into_iter()
            .map(|o| truce_core::validate::validate(o, now).unwrap())
            .collect();
        engine.submit(batch, now).unwrap();
        t = t.plus_seconds(97.0);
    }
    let analyst = add_member(&engine, "m1-analyst", "m1", Role::Analyst, now);
    engine
        .merge_incidents(&analyst, IncidentId(1), IncidentId(2), "one event", now)
        .unwrap();
    let first = store.incident(IncidentId(1)).unwrap().unwrap();
    engine
        .split_incident(
            &analyst,
            IncidentId(1),
            &first.observation_ids[..1],
            "two events \"after all\"\n",
            now,
        )
        .unwrap();

    let entries = store.entries(0, 100_000).unwrap();
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let mut rng = Rng(0x6275_6c6b);
    for e in &entries {
        let generic = generic_canonical(&e.bytes).expect("every stored entry is canonical");
        // The direct decoding applies to these two types: their `type` member sorts last.
        let suffix = format!(r#","type":"{}"}}"#, generic.type_name());
        if matches!(generic.type_name(), "observation" | "incident_revision") {
            assert!(e.bytes.ends_with(suffix.as_bytes()), "entry {}", e.index);
        }
        let direct = truce_core::entry::EntryBody::from_canonical_bytes(&e.bytes).unwrap();
        assert_eq!(direct, generic, "entry {}", e.index);
        *kinds.entry(generic.type_name()).or_default() += 1;
        // Changed bytes: both ways accept the same ones, as the same entries.
        for _ in 0..20 {
            let mut bytes = e.bytes.clone();
            let at = rng.below(bytes.len() as u64) as usize;
            let alphabet = b"0123456789.,:\"{}[]-etuanlr \\";
            bytes[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
            assert_eq!(
                truce_core::entry::EntryBody::from_canonical_bytes(&bytes),
                generic_canonical(&bytes),
                "entry {} with byte {at} changed: {}",
                e.index,
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    assert!(kinds["observation"] > 100, "{kinds:?}");
    for geometry in ["position", "bearing", "arrival", "uav"] {
        let tag = format!(r#""type":"{geometry}""#);
        assert!(
            entries
                .iter()
                .any(|e| String::from_utf8_lossy(&e.bytes).contains(&tag)),
            "no {geometry} observation in the record"
        );
    }
    assert!(kinds["incident_revision"] > 40, "{kinds:?}");
    let by_analyst = entries.iter().filter(|e| {
        matches!(
            truce_core::entry::EntryBody::decode(&e.bytes),
            Ok(truce_core::entry::EntryBody::IncidentRevision { by: Some(_), .. })
        )
    });
    assert!(by_analyst.count() >= 2, "the merge and the split revise");
}

/// A store as an audit source whose entries past the first page cannot be read.
struct UnreadableAfterFirstPage<'a>(truce_engine::StoreSource<'a>);

impl truce_engine::AuditSource for UnreadableAfterFirstPage<'_> {
    fn entries(
        &self,
        from: u64,
        limit: u64,
    ) -> Result<Vec<truce_engine::AuditEntry>, truce_engine::AuditFault> {
        if from > 0 {
            return Err(truce_store::StoreError::Unreachable("the disk went away".into()).into());
        }
        self.0.entries(from, limit)
    }
    fn check_tree_hash(
        &mut self,
        index: u64,
        hash: &[u8; 32],
    ) -> Result<(), truce_engine::AuditFault> {
        self.0.check_tree_hash(index, hash)
    }
    fn check_entry_type(
        &mut self,
        index: u64,
        type_name: &str,
    ) -> Result<(), truce_engine::AuditFault> {
        self.0.check_entry_type(index, type_name)
    }
    fn finish_tree(&mut self, next_index: u64) -> Result<(), truce_engine::AuditFault> {
        self.0.finish_tree(next_index)
    }
    fn observation_rows(
        &self,
        after: u64,
        limit: u64,
    ) -> Result<Vec<truce_store::ObservationRow>, truce_engine::AuditFault> {
        self.0.observation_rows(after, limit)
    }
    fn incident_rows(
        &self,
        after: u64,
        limit: u64,
    ) -> Result<Vec<truce_store::IncidentRow>, truce_engine::AuditFault> {
        self.0.incident_rows(after, limit)
    }
    fn agreement_versions(
        &self,
    ) -> Result<Vec<truce_store::AgreementVersion>, truce_engine::AuditFault> {
        self.0.agreement_versions()
    }
    fn checkpoints(&self) -> Result<Vec<truce_store::StoredCheckpoint>, truce_engine::AuditFault> {
        self.0.checkpoints()
    }
}

#[test]
fn a_fault_in_a_page_is_named_before_a_failure_to_read_the_next() {
    // The audit reads page n + 1 while it checks page n; a read that fails there must not hide
    // a fault earlier in the record.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let agreement = build(&path);
    let c = operator(&path);
    c.execute("UPDATE entries SET chain = zeroblob(32) WHERE idx = 3", [])
        .unwrap();
    drop(c);
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    let mut source = UnreadableAfterFirstPage(truce_engine::StoreSource::new(&store));
    let err = truce_engine::audit_source(&mut source, &agreement)
        .unwrap_err()
        .to_string();
    assert!(err.contains('3') && err.contains("chain"), "{err}");
    assert!(!err.contains("disk went away"), "{err}");
    // Untampered, the same source fails on the read, naming it.
    let clean = tempfile::tempdir().unwrap();
    let clean_path = clean.path().join("t.sqlite");
    let clean_agreement = build(&clean_path);
    let clean_store = SqliteStore::open(&clean_path, Durability::Full).unwrap();
    let mut source = UnreadableAfterFirstPage(truce_engine::StoreSource::new(&clean_store));
    let err = truce_engine::audit_source(&mut source, &clean_agreement)
        .unwrap_err()
        .to_string();
    assert!(err.contains("disk went away"), "{err}");
}

#[test]
fn a_row_deleted_from_any_table_is_caught_but_a_cosignature() {
    // A deleted cosignature changes no entry: the witness that gave it sees it (it keeps the
    // checkpoint it last cosigned), as ARCHITECTURE.md says; every other row is the entries'.
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.sqlite");
    let agreement = build(&clean);
    {
        let c = Connection::open(&clean).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for (table, _, key) in columns(&operator(&clean)) {
        if tables.last().is_none_or(|(t, _)| *t != table) {
            tables.push((table, key));
        }
    }
    let mut rng = Rng(0x726f_7773_7371_6c74);
    let work = dir.path().join("work.sqlite");
    let mut missed = Vec::new();
    let mut unseen = Vec::new();
    for (table, key) in &tables {
        for _ in 0..3 {
            std::fs::copy(&clean, &work).unwrap();
            let _ = std::fs::remove_file(dir.path().join("work.sqlite-wal"));
            let what = {
                let c = operator(&work);
                let rows = count(&c, table);
                assert!(rows > 0, "{table} holds no row to delete");
                let key = if key.is_empty() {
                    vec!["rowid".to_string()]
                } else {
                    key.clone()
                };
                let keys = key.join(", ");
                let values: Vec<rusqlite::types::Value> = c
                    .query_row(
                        &format!("SELECT {keys} FROM {table} ORDER BY {keys} LIMIT 1 OFFSET ?1"),
                        [rng.below(rows) as i64],
                        |r| (0..key.len()).map(|i| r.get(i)).collect(),
                    )
                    .unwrap();
                let condition: Vec<String> = key
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("{k} = ?{}", i + 1))
                    .collect();
                let deleted = c
                    .execute(
                        &format!("DELETE FROM {table} WHERE {}", condition.join(" AND ")),
                        rusqlite::params_from_iter(values.iter()),
                    )
                    .unwrap();
                assert_eq!(deleted, 1, "{table} {values:?}");
                format!("{table} row {values:?} deleted")
            };
            let result = SqliteStore::open(&work, Durability::Full)
                .map_err(|e| e.to_string())
                .and_then(|s| audit(&s, &agreement).map_err(|e| e.to_string()));
            match result {
                Ok(_) if table == "cosignatures" => unseen.push(table.clone()),
                Ok(_) => missed.push(what),
                Err(_) => {}
            }
        }
    }
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
    unseen.dedup();
    assert_eq!(unseen, ["cosignatures"], "the tables outside the record");
}
