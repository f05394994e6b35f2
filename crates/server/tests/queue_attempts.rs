//! What counts as an attempt at an intake item (PostgreSQL, a real server): the sequencer
//! fails an item after [`MAX_ATTEMPTS`] tries that died on it or failed by its own fault, and
//! only those. A database that refuses the record's writes for longer than three tries (a full
//! disk, a restart) must not turn an acknowledged submission into a 500.

#![allow(clippy::unwrap_used)]

mod common;

use common::{demo_agreement, places};
use std::sync::Arc;
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::intake::ParseLimits;
use truce_engine::{Caller, Engine, EvidenceIn, MemberWrite, record_agreement};
use truce_peers::postgres::postgres;
use truce_server::intake::{ChargesOwed, DrainError, MAX_ATTEMPTS, drain};
use truce_store::{Durability, IntakeQueue, IntakeRequest, PgStore, PgTarget, Store};

/// A record on a fresh schema with the demo agreement and one observer ("op"), the engine
/// that sequences it, and what its drains keep between them.
struct Fixture {
    store: Arc<PgStore>,
    engine: Engine,
    schema: String,
    owed: ChargesOwed,
}

impl Fixture {
    fn new() -> Self {
        let url = postgres().fresh_url();
        let schema = url.rsplit("schema=").next().unwrap().to_string();
        let target = PgTarget::parse(&url).unwrap();
        let store = Arc::new(PgStore::open(&target, Durability::Full).unwrap());
        record_agreement(store.as_ref(), &demo_agreement(), Timestamp::now()).unwrap();
        let engine = Engine::open(store.clone() as Arc<dyn Store>).unwrap();
        engine
            .add_member("op", "m1", Role::Observer, "test", Timestamp::now())
            .unwrap();
        Fixture {
            store,
            engine,
            schema,
            owed: ChargesOwed::default(),
        }
    }

    fn queue(&self) -> &dyn IntakeQueue {
        self.store.as_ref()
    }

    /// A trigger `name` on `table` (`BEFORE INSERT` or `BEFORE UPDATE`, with its `WHEN`
    /// condition if any) running the PL/pgSQL `body`, as the database's superuser could add.
    fn trigger(&self, name: &str, event: &str, table: &str, when: &str, body: &str) {
        let schema = &self.schema;
        postgres().psql(&format!(
            "CREATE FUNCTION {schema}.{name}() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN {body} END $$;
             CREATE TRIGGER {name} {event} ON {schema}.{table}
               FOR EACH ROW {when} EXECUTE FUNCTION {schema}.{name}();"
        ));
    }

    /// Drops trigger `name` of `table` and its function.
    fn drop_trigger(&self, name: &str, table: &str) {
        let schema = &self.schema;
        postgres().psql(&format!(
            "DROP TRIGGER {name} ON {schema}.{table}; DROP FUNCTION {schema}.{name}();"
        ));
    }

    /// Every insert into the record's entries refused with `sqlstate` (as a full disk or a
    /// failing check would), until [`Fixture::allow_entries`].
    fn refuse_entries(&self, sqlstate: &str) {
        self.trigger(
            "refuse",
            "BEFORE INSERT",
            "entries",
            "",
            &format!("RAISE EXCEPTION 'refused by the test' USING ERRCODE = '{sqlstate}';"),
        );
    }

    /// Lets the entries be written again.
    fn allow_entries(&self) {
        self.drop_trigger("refuse", "entries");
    }

    /// One turn at the queue, as the sequencer takes it.
    fn drain(&self) -> Result<usize, DrainError> {
        drain(
            &self.engine,
            self.queue(),
            &ParseLimits::default(),
            &self.owed,
        )
    }
}

/// One observation, as a node commits it to the queue.
fn queue_one(queue: &dyn IntakeQueue, n: u32) -> u64 {
    let (lat, lon) = places::SIDE_A;
    let body = format!(
        r#"{{"client_id":"00000000-0000-4000-8000-{n:012}","kind":"shot",
            "observed_at":"2026-11-20T10:00:00Z","reporter":"op",
            "geometry":{{"type":"position","lat":{lat},"lon":{lon},"accuracy_m":50}}}}"#
    );
    queue
        .put(
            IntakeRequest::Observations,
            "op",
            body.as_bytes(),
            Timestamp::now(),
        )
        .unwrap()
}

/// `member`'s `write`, as a node commits it to the queue.
fn queue_write(queue: &dyn IntakeQueue, member: &str, write: &MemberWrite) -> u64 {
    queue
        .put(
            IntakeRequest::Write,
            member,
            &serde_json::to_vec(write).unwrap(),
            Timestamp::now(),
        )
        .unwrap()
}

/// Item `id`'s answer.
fn answer(queue: &dyn IntakeQueue, id: u64) -> Option<(u16, String)> {
    queue.outcome(id).unwrap()
}

#[test]
fn a_full_disk_for_more_tries_than_allowed_fails_no_item() {
    let f = Fixture::new();
    let queue = f.queue();
    let id = queue_one(queue, 1);
    let size = f.store.head().unwrap().size;

    f.refuse_entries("53100"); // disk_full
    for _ in 0..2 * MAX_ATTEMPTS {
        // What the sequencer logs: the database's own words, not a fence.
        let why = f.drain().unwrap_err().to_string();
        assert!(why.contains("refused by the test"), "{why}");
        assert!(!why.contains("fenced"), "{why}");
        assert_eq!(answer(queue, id), None, "answered while the disk was full");
    }
    let pending = queue.pending(10).unwrap();
    assert_eq!(
        pending[0].attempts, 0,
        "the full disk was charged to the item"
    );

    f.allow_entries();
    assert_eq!(f.drain().unwrap(), 1);
    let (status, body) = answer(queue, id).unwrap();
    assert_eq!(status, 201, "{body}");
    // The observation and the incident it opened.
    assert_eq!(f.store.head().unwrap().size, size + 2, "{body}");
}

#[test]
fn an_attempt_that_cannot_be_taken_back_is_not_charged_again() {
    let f = Fixture::new();
    let queue = f.queue();
    let id = queue_one(queue, 1);

    // The disk full, and the attempt's taking back refused too (the database away by then):
    // the charge stands, but is this process's next try's.
    f.refuse_entries("53100");
    f.trigger(
        "no_release",
        "BEFORE UPDATE",
        "intake",
        "WHEN (NEW.attempts < OLD.attempts)",
        "RAISE EXCEPTION 'refused by the test' USING ERRCODE = '57P01';",
    );
    for _ in 0..2 * MAX_ATTEMPTS {
        assert!(f.drain().is_err());
    }
    assert_eq!(queue.pending(10).unwrap()[0].attempts, 1);
    // An owed try charges nothing, so it takes nothing back either, even once it could: the
    // charge that stands may be one a crash earned.
    f.drop_trigger("no_release", "intake");
    assert!(f.drain().is_err());
    assert_eq!(queue.pending(10).unwrap()[0].attempts, 1);

    f.allow_entries();
    assert_eq!(f.drain().unwrap(), 1);
    assert_eq!(answer(queue, id).unwrap().0, 201);
}

#[test]
fn an_item_that_fails_by_its_own_fault_is_failed_and_the_queue_moves_on() {
    let f = Fixture::new();
    let queue = f.queue();
    let first = queue_one(queue, 1);

    // A refusal that is no storage fault (a check violated): a retry meets it again, so each
    // try counts, and after MAX_ATTEMPTS the item is answered 500 and the next is taken.
    f.refuse_entries("23514"); // check_violation
    for _ in 0..MAX_ATTEMPTS {
        assert!(f.drain().is_err());
    }
    assert_eq!(queue.pending(10).unwrap()[0].attempts, MAX_ATTEMPTS);
    f.allow_entries();
    let second = queue_one(queue, 2);
    assert_eq!(f.drain().unwrap(), 2);
    let (status, body) = answer(queue, first).unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("nothing from it was recorded"), "{body}");
    assert_eq!(answer(queue, second).unwrap().0, 201);
}

#[test]
fn a_hand_in_whose_file_cannot_be_read_by_its_own_fault_is_failed_and_the_queue_moves_on() {
    let f = Fixture::new();
    let queue = f.queue();
    // A node kept the file and queued the hand-in, as `POST /api/evidence` does on a node.
    let observer = Caller {
        user: "op".into(),
        monitor: "m1".into(),
        role: Role::Observer,
    };
    let evidence = EvidenceIn {
        media_type: "image/jpeg".into(),
        name: Some("p.jpg".into()),
        derived_from: None,
        capture: Default::default(),
    };
    let photo = b"\xFF\xD8\xFF\xE0 a photo".to_vec();
    let (sha256, size) = f
        .engine
        .keep_evidence_file(&observer, &photo, &evidence, Timestamp::now())
        .unwrap();
    let write = MemberWrite::Evidence {
        sha256,
        size,
        evidence,
    };
    let id = queue_write(queue, "op", &write);

    // The kept files cannot be read, for a reason no retry clears (not the disk, not the
    // database away): each try counts, and after MAX_ATTEMPTS the item is answered 500, so it
    // does not hold back the queue for ever.
    postgres().psql(&format!(
        "ALTER TABLE {}.evidence_files RENAME TO evidence_files_gone",
        f.schema
    ));
    for _ in 0..MAX_ATTEMPTS {
        assert!(f.drain().is_err());
    }
    let next = queue_one(queue, 2);
    assert_eq!(f.drain().unwrap(), 2);
    assert_eq!(answer(queue, id).unwrap().0, 500);
    assert_eq!(answer(queue, next).unwrap().0, 201);
}

#[test]
fn a_revocation_queued_before_reports_is_recorded_before_them() {
    let f = Fixture::new();
    let queue = f.queue();
    f.engine
        .add_member("adm", "m1", Role::Admin, "test", Timestamp::now())
        .unwrap();
    // The revocation's append takes its time (a slow disk), as long as reports would need to
    // be recorded beside it by a second worker.
    f.trigger(
        "slow",
        "BEFORE INSERT",
        "entries",
        "WHEN (NEW.type = 'membership')",
        "PERFORM pg_sleep(0.3); RETURN NEW;",
    );
    let revoke = MemberWrite::Revoke { user: "op".into() };
    let revoked = queue_write(queue, "adm", &revoke);
    let reports: Vec<u64> = (1..=10).map(|n| queue_one(queue, n)).collect();
    let mut answered = 0;
    while answered < 11 {
        answered += f.drain().unwrap();
    }
    assert_eq!(answer(queue, revoked).unwrap().0, 204);
    // Each report came after the revocation: none is recorded.
    for id in reports {
        let (status, body) = answer(queue, id).unwrap();
        assert_eq!(status, 403, "{body}");
    }
}
