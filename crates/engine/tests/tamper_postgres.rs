//! Tampering as an operator of the PostgreSQL server could (its superuser, with the record's
//! append-only triggers switched off): every column of every table the schema has, found from
//! the database's own catalogue, changed three times each, one cell at a time. What
//! `truce --store URL verify` checks (the audit, then every evidence file the entries name
//! against its hash) must fail on every change to the record and to its projections. The
//! intake queue is not the record (it holds what nodes acknowledged until the sequencer
//! answers it, and an answered item's entries are what the record keeps), nor is the
//! sequencer's term: their columns are the only ones allowed to change unseen, and the test
//! names them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Rng, build_record};
use postgres::{Client, NoTls};
use std::sync::Arc;
use truce_core::Timestamp;
use truce_core::agreement::Agreement;
use truce_core::intake::parse_one;
use truce_engine::audit;
use truce_peers::postgres::postgres;
use truce_store::{
    Durability, EvidenceFiles, FileCheck, IntakeQueue, IntakeRequest, IntakeSettle, PgStore,
    PgTarget,
};

/// The columns no check can see, because no entry says what they should hold.
const OUTSIDE_THE_RECORD: &[&str] = &[
    // The sequencer's term, which fences a sequencer that lost its role. Changed, it fences
    // the running sequencer (another takes over) or un-fences a stale one; only one of them
    // can append, since every append also checks the head's size and chain against its own.
    "log_head.epoch",
    // The intake queue: what nodes acknowledged, until the sequencer records and answers it.
    "intake.id",
    "intake.member",
    "intake.received_ns",
    "intake.body",
    "intake.attempts",
    "intake.status",
    "intake.outcome",
    "intake.settled_ns",
    "intake.request",
];

/// Columns the database itself holds to one value (a CHECK no trigger switch turns off).
const FIXED_BY_THE_DATABASE: &[&str] = &["log_head.id"];

/// `name` (from the catalogue) as an SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

/// A superuser connection to the test's schema with triggers off, as an operator could open.
fn operator(schema: &str) -> Client {
    let mut c = Client::connect(&postgres().admin_url(), NoTls).unwrap();
    c.batch_execute(&format!(
        "SET search_path TO {schema}, public; SET session_replication_role = replica;"
    ))
    .unwrap();
    c
}

/// Every column of the schema's tables that can be written (generated ones are computed from
/// the others), with its type's name and whether it is part of the table's primary key.
fn columns(c: &mut Client, schema: &str) -> Vec<(String, String, String, bool)> {
    c.query(
        "SELECT col.table_name::text, col.column_name::text, col.udt_name::text,
                EXISTS (SELECT 1 FROM information_schema.key_column_usage k
                        JOIN information_schema.table_constraints t
                          ON t.constraint_name = k.constraint_name
                         AND t.table_schema = k.table_schema
                        WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_schema = $1
                          AND k.table_name = col.table_name AND k.column_name = col.column_name)
         FROM information_schema.columns col
         WHERE col.table_schema = $1 AND col.is_generated = 'NEVER'
         ORDER BY col.table_name, col.ordinal_position",
        &[&schema],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// The physical place (`ctid`) of a random row of `table`, or `None` when it is empty.
fn random_row(c: &mut Client, table: &str, rng: &mut Rng) -> Option<String> {
    let t = quote(table);
    let rows: i64 = c
        .query_one(&format!("SELECT count(*) FROM {t}"), &[])
        .unwrap()
        .get(0);
    if rows == 0 {
        return None;
    }
    let offset = rng.below(rows as u64) as i64;
    Some(
        c.query_one(
            &format!("SELECT ctid::text FROM {t} ORDER BY ctid OFFSET $1 LIMIT 1"),
            &[&offset],
        )
        .unwrap()
        .get(0),
    )
}

/// One cell changed: where, and how to put it back.
struct Changed {
    what: String,
    table: String,
    column: String,
    ctid: String,
}

/// Changes `column` of a random row of `table` to another value of its type: integers by one
/// (0 to 1; a key past the largest), reals by a millionth, one character of a text (a hex
/// digit to another), one byte of a bytea, a boolean negated, a geometry moved by a
/// millionth of a degree, a NULL to a value. The old value is kept in a temporary table to put
/// back. `None` when the table is empty or the database refuses the value (a CHECK).
fn tamper_cell(
    c: &mut Client,
    table: &str,
    column: &str,
    udt: &str,
    is_key: bool,
    rng: &mut Rng,
) -> Option<Changed> {
    let (t, col) = (quote(table), quote(column));
    let ctid = random_row(c, table, rng)?;
    let length: Option<i32> = c
        .query_one(
            &format!("SELECT char_length({col}::text) FROM {t} WHERE ctid = '{ctid}'"),
            &[],
        )
        .unwrap()
        .get(0);
    let expr = match udt {
        "int2" | "int4" | "int8" if is_key => {
            format!("(SELECT max({col}) FROM {t}) + 1000")
        }
        "int2" | "int4" | "int8" => {
            format!("CASE WHEN {col} IS NULL OR {col} = 0 THEN 1 ELSE {col} + 1 END")
        }
        "float8" => format!("COALESCE({col} + 1e-6 * (1 + abs({col})), 1)"),
        "bool" => format!("NOT {col}"),
        "text" if column == "request" => {
            format!("CASE {col} WHEN 'write' THEN 'observations' ELSE 'write' END")
        }
        "text" => {
            let k = 1 + rng.below(length.unwrap_or(0).max(1) as u64);
            format!(
                "CASE WHEN {col} IS NULL OR {col} = '' THEN 'x' ELSE overlay({col} \
                 placing (CASE WHEN substr({col}, {k}, 1) ~ '^[0-9a-f]$' \
                 THEN (CASE substr({col}, {k}, 1) WHEN '0' THEN '1' ELSE '0' END) \
                 WHEN substr({col}, {k}, 1) = 'q' THEN 'z' ELSE 'q' END) from {k} for 1) END"
            )
        }
        "bytea" => {
            let bytes: Option<i32> = c
                .query_one(
                    &format!("SELECT length({col}) FROM {t} WHERE ctid = '{ctid}'"),
                    &[],
                )
                .unwrap()
                .get(0);
            let k = rng.below(bytes.unwrap_or(0).max(1) as u64);
            let x = 1 + rng.below(255);
            format!(
                "CASE WHEN {col} IS NULL OR length({col}) = 0 THEN '\\x01'::bytea \
                 ELSE set_byte({col}, {k}, get_byte({col}, {k}) # {x}) END"
            )
        }
        "geometry" => {
            let null_to = if column == "location" {
                "ST_SetSRID(ST_MakePoint(46.0, 40.0), 4326)"
            } else {
                "ST_SetSRID(ST_Buffer(ST_MakePoint(46.0, 40.0), 0.01), 4326)"
            };
            format!("COALESCE(ST_Translate({col}, 1e-6, 0), {null_to})")
        }
        other => panic!("{t}.{col}: no way to change a {other}; add one"),
    };
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS saved; \
         CREATE TEMP TABLE saved AS SELECT {col} AS v FROM {t} WHERE ctid = '{ctid}'"
    ))
    .unwrap();
    let changed = c
        .query(
            &format!("UPDATE {t} SET {col} = {expr} WHERE ctid = '{ctid}' RETURNING ctid::text"),
            &[],
        )
        .ok()?;
    let ctid: String = changed.first()?.get(0);
    Some(Changed {
        what: format!("{table}.{column} at {ctid}"),
        table: table.into(),
        column: column.into(),
        ctid,
    })
}

/// Puts the cell [`tamper_cell`] changed back as it was.
fn restore(c: &mut Client, changed: &Changed) {
    let Changed {
        table,
        column,
        ctid,
        ..
    } = changed;
    let (t, col) = (quote(table), quote(column));
    let n = c
        .execute(
            &format!("UPDATE {t} SET {col} = (SELECT v FROM saved) WHERE ctid = '{ctid}'"),
            &[],
        )
        .unwrap();
    assert_eq!(n, 1, "{} put back", changed.what);
}

/// How [`verify`]'s error begins when the store did not even open.
const OPENING: &str = "opening the store: ";

/// What `truce --store URL verify` checks on a machine that keeps no evidence folder (a node's):
/// the audit, then each evidence file the entries name, from the store, against its hash and
/// size.
fn verify(target: &PgTarget, agreement: &Agreement) -> Result<(), String> {
    let store = PgStore::open_reader(target).map_err(|e| format!("{OPENING}{e}"))?;
    let report = audit(&store, agreement).map_err(|e| e.to_string())?;
    let files = EvidenceFiles::new(Some(&store), None);
    for (sha256, size) in &report.evidence_files {
        match files.check(sha256, *size).map_err(|e| e.to_string())? {
            FileCheck::Intact => {}
            other => return Err(format!("evidence file {sha256}: {other:?}")),
        }
    }
    Ok(())
}

/// The shared record on PostgreSQL, plus intake items as nodes queue them: one recorded with
/// its answer, one refused, one still pending.
fn build(target: &PgTarget) -> Agreement {
    let pg = Arc::new(PgStore::open(target, Durability::Full).unwrap());
    let (agreement, engine) = build_record(pg.clone(), None);
    let now = Timestamp::parse("2026-11-20T12:30:00Z").unwrap();
    let body = r#"{"client_id":"00000000-0000-4000-8000-000000000999","kind":"shot","observed_at":"2026-11-20T10:59:00Z","reporter":"op","geometry":{"type":"position","lat":39.65,"lon":46.0,"accuracy_m":50}}"#;
    let queue: &dyn IntakeQueue = pg.as_ref();
    let recorded = queue
        .put(
            IntakeRequest::Observations,
            "m2-observer",
            body.as_bytes(),
            now,
        )
        .unwrap();
    let outcome = engine
        .submit_settling(
            vec![parse_one(body, now, None).unwrap()],
            now,
            Some(recorded),
        )
        .unwrap();
    assert_eq!(outcome.new, 1);
    let refused = queue
        .put(IntakeRequest::Write, "m1-gone", b"{}", now)
        .unwrap();
    queue
        .settle(&IntakeSettle {
            id: refused,
            status: 403,
            outcome: r#"{"code":"forbidden"}"#.into(),
        })
        .unwrap();
    queue
        .put(
            IntakeRequest::Observations,
            "m2-observer",
            body.as_bytes(),
            now,
        )
        .unwrap();
    agreement
}

#[test]
fn every_column_of_every_table_on_postgres_is_checked_but_the_queue_and_the_term() {
    let target = PgTarget::parse(&postgres().fresh_url()).unwrap();
    let agreement = build(&target);
    verify(&target, &agreement).expect("the untouched record verifies");
    let schema = target.schema().to_string();
    let mut c = operator(&schema);
    let all = columns(&mut c, &schema);
    let mut rng = Rng(0x7067_7461_6d70_6572);
    let mut missed = Vec::new();
    let mut unseen = std::collections::BTreeSet::new();
    let mut untouched = Vec::new();
    let mut tried = 0;
    for (table, column, udt, is_key) in &all {
        let name = format!("{table}.{column}");
        let before = tried;
        for _ in 0..3 {
            let Some(changed) = tamper_cell(&mut c, table, column, udt, *is_key, &mut rng) else {
                continue;
            };
            tried += 1;
            match verify(&target, &agreement) {
                Ok(()) if OUTSIDE_THE_RECORD.contains(&name.as_str()) => {
                    unseen.insert(name.clone());
                }
                Ok(()) => missed.push(changed.what.clone()),
                // Only a changed schema version may keep the store from opening: anything else
                // failing there is the test's fault, not a catch.
                Err(e) if e.starts_with(OPENING) && table != "schema_version" => {
                    panic!("{}: {e}", changed.what)
                }
                Err(_) => {}
            }
            restore(&mut c, &changed);
            verify(&target, &agreement)
                .unwrap_or_else(|e| panic!("{} put back, yet: {e}", changed.what));
        }
        if tried == before && !FIXED_BY_THE_DATABASE.contains(&name.as_str()) {
            untouched.push(name);
        }
    }
    assert!(untouched.is_empty(), "never changed: {untouched:?}");
    eprintln!("{tried} changes over {} columns", all.len());
    assert!(
        missed.is_empty(),
        "{} of {tried} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
    // The listed columns are unseen, as the list says (a column checked since is taken off
    // it, so the list never claims more than is true).
    let listed: std::collections::BTreeSet<String> =
        OUTSIDE_THE_RECORD.iter().map(|s| s.to_string()).collect();
    assert_eq!(unseen, listed, "the columns outside the record");
}

/// The tables a row deleted from goes unseen by the audit, because no entry says it should be
/// there (in name order), and who sees it instead:
/// - a cosignature: the witness that gave it, which keeps the checkpoint it last cosigned
///   (C2SP tlog-witness); a record cut back together with its later checkpoints and their
///   cosignatures is caught the same way, and only that way, as in any transparency log;
/// - an intake item: no one; the queue is not the record, and an item an operator deletes
///   before the sequencer takes it is lost without a trace.
const ROWS_OUTSIDE_THE_RECORD: &[&str] = &["cosignatures", "intake"];

/// Deletes a random row of `table`, keeping its `columns` in a temporary table to put back;
/// answers where, or `None` when the table is empty.
fn delete_row(c: &mut Client, table: &str, columns: &[String], rng: &mut Rng) -> Option<String> {
    let t = quote(table);
    let ctid = random_row(c, table, rng)?;
    let list = columns
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ");
    c.batch_execute(&format!(
        "DROP TABLE IF EXISTS saved_row; \
         CREATE TEMP TABLE saved_row AS SELECT {list} FROM {t} WHERE ctid = '{ctid}'; \
         DELETE FROM {t} WHERE ctid = '{ctid}'"
    ))
    .unwrap();
    Some(format!("{table} row {ctid} deleted"))
}

/// Puts the row [`delete_row`] deleted back.
fn put_row_back(c: &mut Client, table: &str, columns: &[String]) {
    let list = columns
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ");
    let n = c
        .execute(
            &format!(
                "INSERT INTO {} ({list}) SELECT {list} FROM saved_row",
                quote(table)
            ),
            &[],
        )
        .unwrap();
    assert_eq!(n, 1, "{table}: the row put back");
}

#[test]
fn a_row_deleted_from_any_table_on_postgres_is_caught_but_a_cosignature_or_a_queued_item() {
    let target = PgTarget::parse(&postgres().fresh_url()).unwrap();
    let agreement = build(&target);
    let schema = target.schema().to_string();
    let mut c = operator(&schema);
    let mut tables: Vec<(String, Vec<String>)> = Vec::new();
    for (table, column, _, _) in columns(&mut c, &schema) {
        match tables.last_mut() {
            Some((t, cols)) if *t == table => cols.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    let mut rng = Rng(0x726f_7773_676f_6e65);
    let mut missed = Vec::new();
    let mut unseen = Vec::new();
    for (table, cols) in &tables {
        for _ in 0..3 {
            let what = delete_row(&mut c, table, cols, &mut rng)
                .unwrap_or_else(|| panic!("{table} holds no row to delete"));
            match verify(&target, &agreement) {
                Ok(()) if ROWS_OUTSIDE_THE_RECORD.contains(&table.as_str()) => {
                    unseen.push(table.clone());
                }
                Ok(()) => missed.push(what.clone()),
                Err(e) if e.starts_with(OPENING) && table != "schema_version" => {
                    panic!("{what}: {e}")
                }
                Err(_) => {}
            }
            put_row_back(&mut c, table, cols);
            verify(&target, &agreement).unwrap_or_else(|e| panic!("{what}, put back, yet: {e}"));
        }
    }
    eprintln!(
        "{} deletions over {} tables",
        3 * tables.len(),
        tables.len()
    );
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
    unseen.dedup();
    assert_eq!(
        unseen, ROWS_OUTSIDE_THE_RECORD,
        "the tables outside the record"
    );
}
