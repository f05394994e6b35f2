//! The conformance suite on PostgreSQL (a throw-away server with PostGIS, one schema per
//! test), and what only PostgreSQL has: the record append-only in the database itself, the
//! application role's rights, the sequencer's fence, and PostGIS geometry QGIS can open.

use super::*;
use crate::conformance::{
    Backend, all_entries, batch, conformance_suite, estimate, observation, observation_entry,
    revision_entry, standard_record,
};
use crate::verify_chain;
use truce_core::incident::Ellipse95;
use truce_peers::postgres::postgres;

/// One schema of the test server.
pub struct PgBackend {
    target: PgTarget,
    store: Option<PgStore>,
    durability: Durability,
}

impl PgBackend {
    fn open(target: PgTarget, durability: Durability) -> Self {
        let store = PgStore::open(&target, durability).unwrap();
        Self {
            target,
            store: Some(store),
            durability,
        }
    }

    /// A superuser connection with the search path on this test's schema.
    fn admin(&self) -> Client {
        let mut c = Client::connect(&postgres().admin_url(), NoTls).unwrap();
        c.batch_execute(&format!(
            "SET search_path TO {}, public",
            self.target.schema()
        ))
        .unwrap();
        c
    }

    fn close(&mut self) {
        self.store = None;
    }
}

impl Backend for PgBackend {
    fn new() -> Self {
        Self::with_durability(Durability::Full)
    }

    fn with_durability(durability: Durability) -> Self {
        Self::open(
            PgTarget::parse(&postgres().fresh_url()).unwrap(),
            durability,
        )
    }

    fn store(&self) -> &dyn Store {
        self.store.as_ref().unwrap()
    }

    fn reopen(mut self) -> Self {
        self.close();
        Self::open(self.target.clone(), self.durability)
    }

    fn tamper(mut self, statements: &[String]) -> Self {
        self.close();
        let mut admin = self.admin();
        // An operator with the server's superuser can switch triggers off; the record's own
        // hashes are what catch the change then.
        admin
            .batch_execute("SET session_replication_role = replica")
            .unwrap();
        for sql in statements {
            assert_eq!(admin.execute(sql.as_str(), &[]).unwrap(), 1, "{sql}");
        }
        drop(admin);
        Self::open(self.target.clone(), self.durability)
    }

    fn bytes(&self, sql: &str) -> Vec<u8> {
        self.admin().query_one(sql, &[]).unwrap().get(0)
    }

    fn blob(bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("'\\x{hex}'::bytea")
    }

    fn schema_version(&self) -> i64 {
        let v: i32 = self
            .admin()
            .query_one("SELECT version FROM schema_version", &[])
            .unwrap()
            .get(0);
        i64::from(v)
    }

    fn reopen_at_version(mut self, version: i64) -> Result<Self, StoreError> {
        self.close();
        self.admin()
            .execute(
                "UPDATE schema_version SET version = $1",
                &[&(version as i32)],
            )
            .unwrap();
        let store = PgStore::open(&self.target, self.durability)?;
        self.store = Some(store);
        Ok(self)
    }
}

conformance_suite!(crate::pg::tests::PgBackend);

/// The database's message for a refused statement.
fn refusal(result: Result<u64, postgres::Error>) -> String {
    let err = result.expect_err("the statement should be refused");
    err.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| err.to_string())
}

#[test]
fn the_record_is_append_only_even_for_its_owner() {
    let f = PgBackend::new();
    standard_record(f.store());
    let mut admin = f.admin();
    admin
        .execute("INSERT INTO checkpoints (size, note) VALUES (1, 'n')", &[])
        .unwrap();
    for sql in [
        "UPDATE entries SET type = 'x' WHERE idx = 1",
        "DELETE FROM entries WHERE idx = 5",
        "TRUNCATE entries",
        "UPDATE tree_hashes SET hash = hash",
        "DELETE FROM checkpoints",
        "TRUNCATE blobs CASCADE",
    ] {
        let message = refusal(admin.execute(sql, &[]));
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    // Projections of the latest state stay updatable.
    admin
        .execute("UPDATE incidents SET status = status", &[])
        .unwrap();
    drop(admin);
    assert_eq!(all_entries(f.store()).len(), 6);
    verify_chain(f.store()).unwrap();
}

#[test]
fn the_application_role_may_read_and_append_but_never_change_the_record() {
    let schema = PgTarget::parse(&postgres().fresh_url()).unwrap();
    let role = format!("{}_app", schema.schema());
    postgres().psql(&format!("CREATE ROLE {role} LOGIN"));
    // The owner migrates and grants.
    let owner_url = format!(
        "{}?schema={}&app_role={role}",
        postgres().admin_url(),
        schema.schema()
    );
    drop(PgStore::open(&PgTarget::parse(&owner_url).unwrap(), Durability::Full).unwrap());
    // The server, as the application role, opens the migrated schema and appends.
    let app_url = format!(
        "postgres://{role}@127.0.0.1:{}/postgres?schema={}",
        postgres().port(),
        schema.schema()
    );
    let app = PgStore::open(&PgTarget::parse(&app_url).unwrap(), Durability::Full).unwrap();
    standard_record(&app);
    app.add_checkpoint(6, b"note\n").unwrap();
    app.add_cosignature(6, "m1", "\u{2014} m1 AAAA\n").unwrap();
    app.add_cosignature(6, "m1", "\u{2014} m1 BBBB\n").unwrap();
    let mut client = Client::connect(
        &app_url.replace(&format!("?schema={}", schema.schema()), ""),
        NoTls,
    )
    .unwrap();
    client
        .batch_execute(&format!("SET search_path TO {}, public", schema.schema()))
        .unwrap();
    for sql in [
        "UPDATE entries SET type = 'x'",
        "DELETE FROM entries",
        "TRUNCATE entries",
        "DELETE FROM checkpoints",
        "UPDATE assessments SET verdict = 'x'",
        "DELETE FROM incidents",
        "CREATE TABLE extra (x int)",
    ] {
        let message = refusal(client.execute(sql, &[]));
        assert!(message.contains("permission denied"), "{sql}: {message}");
    }
    assert_eq!(app.head().unwrap().size, 6);
    assert_eq!(
        app.latest_checkpoint().unwrap().unwrap().cosignatures,
        vec![("m1".to_string(), "\u{2014} m1 BBBB\n".to_string())]
    );
}

#[test]
fn a_replaced_sequencer_is_fenced_out_of_appends_and_checkpoints() {
    let first = PgBackend::new();
    standard_record(first.store());
    let old = first.store.as_ref().unwrap();
    // A second node takes over the same record.
    let second = PgStore::open(&first.target, Durability::Full).unwrap();
    let next = || {
        batch(vec![observation_entry(
            10,
            10,
            observation("shot", "2026-11-20T12:00:00Z", (40.0, 46.0), "post-9"),
            None,
        )])
    };
    let err = old.append(&next()).unwrap_err();
    assert!(matches!(err, StoreError::Fenced(_)), "{err:?}");
    let err = old.add_checkpoint(6, b"old\n").unwrap_err();
    assert!(matches!(err, StoreError::Fenced(_)), "{err:?}");
    assert!(matches!(old.still_sequencing(), Err(StoreError::Fenced(_))));
    // The new sequencer continues the one tree.
    second.still_sequencing().unwrap();
    let receipt = second.append(&next()).unwrap();
    assert_eq!(receipt.first_index, 6);
    second.add_checkpoint(7, b"new\n").unwrap();
    assert_eq!(verify_chain(&second).unwrap().size, 7);
    assert_eq!(second.checkpoints().unwrap().len(), 1);
}

#[test]
fn incidents_carry_postgis_geometry_that_qgis_lists() {
    let f = PgBackend::new();
    let mut located = estimate(
        truce_core::Kind::Explosion,
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:01:00Z",
        Some((40.0, 46.0)),
    );
    located.ellipse_95 = Some(Ellipse95 {
        semi_major_m: 800.0,
        semi_minor_m: 300.0,
        azimuth_deg: 30.0,
    });
    let unlocated = estimate(
        truce_core::Kind::Burst,
        "2026-11-20T11:00:00Z",
        "2026-11-20T11:00:00Z",
        None,
    );
    f.store()
        .append(&batch(vec![
            revision_entry(1, 1, &[], located),
            revision_entry(2, 1, &[], unlocated),
        ]))
        .unwrap();
    let mut admin = f.admin();
    let row = admin
        .query_one(
            "SELECT ST_AsText(location), ST_SRID(location), GeometryType(ellipse95),
                    ST_NPoints(ellipse95), ST_Contains(ellipse95, location),
                    lower(seen) = '2026-11-20T10:00:00Z'::timestamptz,
                    upper(seen) = '2026-11-20T10:01:00Z'::timestamptz
             FROM incidents WHERE id = 1",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "POINT(46 40)");
    assert_eq!(row.get::<_, i32>(1), 4326);
    assert_eq!(row.get::<_, String>(2), "POLYGON");
    assert_eq!(row.get::<_, i32>(3), 37);
    assert!(row.get::<_, bool>(4));
    assert!(row.get::<_, bool>(5) && row.get::<_, bool>(6));
    let empty = admin
        .query_one(
            "SELECT location IS NULL AND ellipse95 IS NULL FROM incidents WHERE id = 2",
            &[],
        )
        .unwrap();
    assert!(empty.get::<_, bool>(0));
    // QGIS lists a table's layers from geometry_columns, typed and with their SRID.
    let layers: Vec<(String, String, i32)> = admin
        .query(
            "SELECT f_geometry_column::text, type, srid FROM geometry_columns
             WHERE f_table_schema = $1 AND f_table_name = 'incidents'
             ORDER BY f_geometry_column",
            &[&f.target.schema()],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        layers,
        vec![
            ("ellipse95".to_string(), "POLYGON".to_string(), 4326),
            ("location".to_string(), "POINT".to_string(), 4326)
        ]
    );
}

#[test]
fn addresses_parse_with_truce_settings_and_refuse_unsafe_names() {
    let t = PgTarget::parse("postgres://u:secret@db.example:5433/mission?schema=ops&app_role=srv")
        .unwrap();
    assert_eq!(t.schema(), "ops");
    assert_eq!(t.app_role.as_deref(), Some("srv"));
    assert!(!t.to_string().contains("secret"), "{t}");
    let t = PgTarget::parse("postgres://u@localhost/db?host=/var/run/postgresql").unwrap();
    assert_eq!(t.schema(), "truce");
    for bad in [
        "postgres://u@h/db?schema=x;drop",
        "postgres://u@h/db?schema=Caps",
        "postgres://u@h/db?app_role=a b",
        "postgres://u@h/db?schema=public",
        "postgres://u@h/db?app_role=public",
        "postgres://u@h/db?schema=pg_catalog",
    ] {
        let err = PgTarget::parse(bad).unwrap_err();
        assert!(matches!(err, StoreError::Config(_)), "{bad}: {err}");
    }
    assert!(matches!(
        PgTarget::parse("postgres://u@h:notaport/db"),
        Err(StoreError::Config(_))
    ));
}

#[test]
fn a_reader_sees_the_sequencers_record_without_taking_its_role() {
    let f = PgBackend::new();
    standard_record(f.store());
    let reader = PgStore::open_reader(&f.target).unwrap();
    assert_eq!(reader.head().unwrap(), f.store().head().unwrap());
    assert_eq!(verify_chain(&reader).unwrap().size, 6);
    let err = reader.append(&batch(Vec::new())).unwrap_err();
    assert!(matches!(err, StoreError::Fenced(_)), "{err:?}");
    // The sequencer keeps appending, and the reader sees it.
    f.store()
        .append(&batch(vec![observation_entry(
            10,
            10,
            observation("shot", "2026-11-20T12:00:00Z", (40.0, 46.0), "post-9"),
            None,
        )]))
        .unwrap();
    assert_eq!(reader.head().unwrap().size, 7);
    // A schema that holds no record is refused with what to do.
    let empty = PgTarget::parse(&postgres().fresh_url()).unwrap();
    let err = PgStore::open_reader(&empty).unwrap_err();
    assert!(err.to_string().contains("truce init"), "{err}");
}

#[test]
fn evidence_files_are_kept_once_for_every_node_and_never_changed() {
    let f = PgBackend::new();
    let store = f.store();
    assert!(store.keeps_evidence_files());
    let bytes = b"a photo".to_vec();
    let sha = crate::evidence_dir::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    store.put_evidence_file(&sha, &bytes).unwrap();
    store.put_evidence_file(&sha, &bytes).unwrap();
    // A node that does not sequence reads it, and keeps files too.
    let reader = PgStore::open_reader(&f.target).unwrap();
    assert_eq!(reader.evidence_file(&sha).unwrap(), Some(bytes));
    assert_eq!(reader.evidence_file(&"0".repeat(64)).unwrap(), None);
    reader.put_evidence_file(&"b".repeat(64), b"other").unwrap();
    assert!(store.evidence_file(&"b".repeat(64)).unwrap().is_some());
    let err = store.put_evidence_file("../etc", b"x").unwrap_err();
    assert!(err.to_string().contains("evidence file"), "{err}");
    let mut admin = f.admin();
    for sql in [
        "UPDATE evidence_files SET bytes = 'x'",
        "DELETE FROM evidence_files",
        "TRUNCATE evidence_files",
    ] {
        let message = refusal(admin.execute(sql, &[]));
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
}

#[test]
fn a_read_at_one_moment_sees_one_record_size_while_the_sequencer_appends() {
    let f = PgBackend::new();
    standard_record(f.store());
    let reader = PgStore::open_reader(&f.target).unwrap();
    let append = |n: u64| {
        f.store()
            .append(&batch(vec![observation_entry(
                n,
                n,
                observation("shot", "2026-11-20T12:00:00Z", (40.0, 46.0), "post-9"),
                None,
            )]))
            .unwrap();
    };
    let observations = reader.observations_by_id(0, 100).unwrap().len() as u64;
    let mut seen = Vec::new();
    reader
        .read_at_one_moment(&mut || {
            seen.push(reader.head().unwrap().size);
            append(10);
            seen.push(reader.head().unwrap().size);
            seen.push(reader.entries(0, 100).unwrap().len() as u64);
            seen.push(reader.observations_by_id(0, 100).unwrap().len() as u64);
        })
        .unwrap();
    assert_eq!(seen, [6, 6, 6, observations], "{seen:?}");
    // Afterwards the reader sees the append, and its connection went back to the pool.
    assert_eq!(reader.head().unwrap().size, 7);
    assert_eq!(reader.readers.lock().unwrap().idle.len(), 1);
    // One inside another is refused: the inner one could not be at the outer's moment.
    let mut inner = None;
    reader
        .read_at_one_moment(&mut || inner = Some(reader.read_at_one_moment(&mut || {})))
        .unwrap();
    assert!(
        matches!(inner, Some(Err(StoreError::Config(_)))),
        "{inner:?}"
    );
    // A read that panics ends its snapshot: the next reads on this thread see the record now.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reader
            .read_at_one_moment(&mut || panic!("a read that fails"))
            .ok();
    }));
    assert!(caught.is_err());
    append(11);
    assert_eq!(reader.head().unwrap().size, 8);
}

#[test]
fn incident_ids_follow_the_same_filter_and_order_as_incidents() {
    let f = PgBackend::new();
    standard_record(f.store());
    let store = f.store.as_ref().unwrap();
    for filter in [
        IncidentFilter::default(),
        IncidentFilter {
            bbox: Some([45.9, 39.9, 46.1, 40.1]),
            ..Default::default()
        },
        IncidentFilter {
            since: Some(crate::conformance::ts("2026-11-20T11:00:00Z")),
            limit: Some(1),
            ..Default::default()
        },
    ] {
        let full: Vec<u64> = store
            .incidents(&filter)
            .unwrap()
            .iter()
            .map(|i| i.id.0)
            .collect();
        assert_eq!(store.incident_ids(&filter).unwrap(), full, "{filter:?}");
    }
}

#[test]
fn an_intake_item_is_answered_once_with_its_entries_and_only_by_the_sequencer() {
    use crate::{IntakeQueue, IntakeSettle};
    let f = PgBackend::new();
    standard_record(f.store());
    let store = f.store.as_ref().unwrap();
    let reader = PgStore::open_reader(&f.target).unwrap();
    let at = crate::conformance::ts("2026-11-20T12:00:00Z");
    // Any node commits a submission; it waits, in order.
    let a = reader
        .put(crate::IntakeRequest::Observations, "op-1", b"[1]", at)
        .unwrap();
    let b = reader
        .put(crate::IntakeRequest::Write, "op-2", b"[2]", at)
        .unwrap();
    let pending = store.pending(10).unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.id, p.request, p.member.as_str(), p.body.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                a,
                crate::IntakeRequest::Observations,
                "op-1",
                b"[1]".to_vec()
            ),
            (b, crate::IntakeRequest::Write, "op-2", b"[2]".to_vec())
        ]
    );
    assert_eq!(reader.outcome(a).unwrap(), None);
    // The sequencer answers the first with its entries, in one transaction.
    let answer = IntakeSettle {
        id: a,
        status: 201,
        outcome: r#"{"accepted":[]}"#.to_string(),
    };
    let next = |id: u64| {
        batch(vec![observation_entry(
            id,
            id,
            observation("shot", "2026-11-20T12:00:00Z", (40.0, 46.0), "post-9"),
            None,
        )])
    };
    store.append_settling(&next(10), Some(&answer)).unwrap();
    assert_eq!(
        reader.outcome(a).unwrap(),
        Some((201, answer.outcome.clone()))
    );
    // Answering it again, with entries or without, is refused and appends nothing.
    let err = store.append_settling(&next(11), Some(&answer)).unwrap_err();
    assert!(matches!(err, StoreError::Fenced(_)), "{err:?}");
    assert_eq!(store.head().unwrap().size, 7);
    assert!(store.settle(&answer).is_err());
    // A reader never answers; the sequencer answers the second without entries.
    let refusal = IntakeSettle {
        id: b,
        status: 422,
        outcome: "{}".to_string(),
    };
    assert!(reader.settle(&refusal).is_err());
    store.settle(&refusal).unwrap();
    assert_eq!(reader.outcome(b).unwrap().map(|o| o.0), Some(422));
    assert!(store.pending(10).unwrap().is_empty());
    // SQLite has no intake queue: a settling append is refused there.
    let dir = tempfile::tempdir().unwrap();
    let sqlite = crate::SqliteStore::open(&dir.path().join("t.db"), Durability::Full).unwrap();
    assert!(sqlite.append_settling(&next(10), Some(&answer)).is_err());
    assert_eq!(sqlite.head().unwrap().size, 0);
}

#[test]
fn a_schema_named_by_a_reserved_word_holds_a_record() {
    let url = format!("{}?schema=user", postgres().admin_url());
    let target = PgTarget::parse(&url).unwrap();
    target.drop_scratch_schema().unwrap();
    let store = PgStore::open(&target, Durability::Full).unwrap();
    standard_record(&store);
    drop(store);
    let again = PgStore::open_reader(&target).unwrap();
    assert_eq!(verify_chain(&again).unwrap().size, 6);
    drop(again);
    target.drop_scratch_schema().unwrap();
}

proptest::proptest! {
    /// Any text as a `--store` address: parsed or refused with a settings error, never a
    /// panic; and whatever schema is accepted is a plain lowercase name, safe to quote.
    #[test]
    fn any_address_parses_or_is_refused_cleanly(
        base in "postgres(ql)?://[a-z]{0,4}(:[a-z]{0,4})?@[a-z0-9.]{0,8}(:[0-9]{0,6})?/[a-z]{0,6}",
        query in "[a-zA-Z0-9_=&;. %/-]{0,40}",
    ) {
        let url = format!("{base}?{query}");
        match PgTarget::parse(&url) {
            Ok(t) => {
                proptest::prop_assert!(t.schema().chars().all(|c| c.is_ascii_lowercase()
                    || c.is_ascii_digit() || c == '_'));
                proptest::prop_assert!(t.schema() != "public" && !t.schema().starts_with("pg_"));
            }
            Err(e) => proptest::prop_assert!(matches!(e, StoreError::Config(_)), "{e:?}"),
        }
    }
}
