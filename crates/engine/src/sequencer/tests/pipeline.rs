//! Tests of the commit order (`crate::commit_order`): a batch fused while the batch before it
//! commits is never appended on top of a failed append, and a client id resent while its first
//! batch commits gets that batch's ids. A store wrapper holds an append open (and can make it
//! fail) so the interleaving is the one under test, not a lucky one.

use super::*;
use std::sync::Condvar;
use std::time::Duration;
use truce_core::agreement::AgreementDoc;
use truce_core::{Incident, Kind};
use truce_store::{
    AgreementVersion, AppendReceipt, AssessmentRow, ClientRecord, EvidenceRow, Head,
    IncidentFilter, IncidentRow, Member, ObservationRow, StoreError, StoredCheckpoint, StoredEntry,
    StoredObservation, TrackRow, verify_chain,
};

#[derive(Default)]
struct GateState {
    /// Appends wait while this is set.
    hold: bool,
    /// The next append fails (after its wait).
    fail_next: bool,
    /// Appends begun so far.
    appends: u32,
    /// `client_records` calls so far.
    client_reads: u32,
    /// Reading the incidents' latest estimates fails (as a rebuild with the database away).
    fail_estimates: bool,
    /// Reading tree hashes fails (as a proof with the database away).
    fail_tree_hashes: bool,
}

/// A SQLite store whose appends can be held open and made to fail.
struct Gated {
    inner: truce_store::SqliteStore,
    state: Mutex<GateState>,
    changed: Condvar,
}

impl Gated {
    fn set(&self, f: impl FnOnce(&mut GateState)) {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
        self.changed.notify_all();
    }

    /// Waits until `ready` holds of the gate's counters.
    fn wait_until(&self, ready: impl Fn(&GateState) -> bool) {
        let guard = self.state.lock().unwrap();
        let (_guard, timeout) = self
            .changed
            .wait_timeout_while(guard, Duration::from_secs(30), |s| !ready(s))
            .unwrap();
        assert!(!timeout.timed_out(), "the store never got there");
    }
}

impl Store for Gated {
    fn append(&self, batch: &AppendBatch) -> Result<AppendReceipt, StoreError> {
        let mut s = self.state.lock().unwrap();
        s.appends += 1;
        self.changed.notify_all();
        s = self.changed.wait_while(s, |s| s.hold).unwrap();
        if std::mem::take(&mut s.fail_next) {
            return Err(StoreError::Corrupt("injected by the test".into()));
        }
        drop(s);
        self.inner.append(batch)
    }
    fn head(&self) -> Result<Head, StoreError> {
        self.inner.head()
    }
    fn client_records(&self, ids: &[Uuid]) -> Result<Vec<ClientRecord>, StoreError> {
        self.set(|s| s.client_reads += 1);
        self.inner.client_records(ids)
    }
    fn observation(&self, id: ObservationId) -> Result<Option<StoredObservation>, StoreError> {
        self.inner.observation(id)
    }
    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        self.inner.incident(id)
    }
    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        self.inner.incidents(filter)
    }
    fn incidents_by_id(
        &self,
        filter: &IncidentFilter,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError> {
        self.inner.incidents_by_id(filter, after, limit)
    }
    fn observations_by_id(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.inner.observations_by_id(after, limit)
    }
    fn latest_estimates(&self) -> Result<Vec<(IncidentId, u32, IncidentEstimate)>, StoreError> {
        if self.state.lock().unwrap().fail_estimates {
            return Err(StoreError::Unreachable("injected by the test".into()));
        }
        self.inner.latest_estimates()
    }
    fn agreement(&self) -> Result<Option<(u32, AgreementDoc)>, StoreError> {
        self.inner.agreement()
    }
    fn entries(&self, from: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError> {
        self.inner.entries(from, limit)
    }
    fn max_ids(&self) -> Result<(ObservationId, IncidentId), StoreError> {
        self.inner.max_ids()
    }
    fn tree_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        if self.state.lock().unwrap().fail_tree_hashes {
            return Err(StoreError::Unreachable("injected by the test".into()));
        }
        self.inner.tree_hashes(indexes)
    }
    fn add_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        self.inner.add_checkpoint(size, note)
    }
    fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<(), StoreError> {
        self.inner.add_cosignature(size, witness, line)
    }
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.inner.latest_checkpoint()
    }
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.inner.checkpoints()
    }
    fn agreed_checkpoint(
        &self,
        witnesses: &[String],
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.inner.agreed_checkpoint(witnesses)
    }
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.inner.checkpoint(size)
    }
    fn latest_cosigned(&self, witness: &str) -> Result<Option<u64>, StoreError> {
        self.inner.latest_cosigned(witness)
    }
    fn tree_hash_page(&self, from: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.inner.tree_hash_page(from, limit)
    }
    fn orphan_cosignatures(&self) -> Result<u64, StoreError> {
        self.inner.orphan_cosignatures()
    }
    fn entry_types(&self, from: u64, limit: u64) -> Result<Vec<(u64, String)>, StoreError> {
        self.inner.entry_types(from, limit)
    }
    fn observation_rows(&self, after: u64, limit: u64) -> Result<Vec<ObservationRow>, StoreError> {
        self.inner.observation_rows(after, limit)
    }
    fn incident_rows(&self, after: u64, limit: u64) -> Result<Vec<IncidentRow>, StoreError> {
        self.inner.incident_rows(after, limit)
    }
    fn agreement_versions(&self) -> Result<Vec<AgreementVersion>, StoreError> {
        self.inner.agreement_versions()
    }
    fn member(&self, user: &str) -> Result<Option<Member>, StoreError> {
        self.inner.member(user)
    }
    fn members(&self, monitor: Option<&str>) -> Result<Vec<Member>, StoreError> {
        self.inner.members(monitor)
    }
    fn assessment_rows(&self, after: i64, limit: u64) -> Result<Vec<AssessmentRow>, StoreError> {
        self.inner.assessment_rows(after, limit)
    }
    fn annotation_rows(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<truce_store::AnnotationRow>, StoreError> {
        self.inner.annotation_rows(after, limit)
    }
    fn track_rows(
        &self,
        after: i64,
        since_ns: i64,
        until_ns: i64,
        limit: u64,
    ) -> Result<Vec<TrackRow>, StoreError> {
        self.inner.track_rows(after, since_ns, until_ns, limit)
    }
    fn evidence_rows(
        &self,
        sha256: Option<&str>,
        after: i64,
        limit: u64,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        self.inner.evidence_rows(sha256, after, limit)
    }
    fn corrected_kinds(&self) -> Result<Vec<(IncidentId, Kind)>, StoreError> {
        self.inner.corrected_kinds()
    }
}

/// Lets held appends go when dropped, so a failing assertion ends the test instead of leaving
/// its threads waiting in the store.
struct ReleaseOnDrop<'a>(&'a Gated);

impl Drop for ReleaseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(|s| s.hold = false);
    }
}

/// An engine over a gated store holding the test agreement and one report of event A
/// (observation 1, incident 1).
fn gated() -> (tempfile::TempDir, Arc<Gated>, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let inner =
        truce_store::SqliteStore::open(&dir.path().join("truce.db"), truce_store::Durability::Full)
            .unwrap();
    crate::record_agreement(&inner, &agreement(), now()).unwrap();
    let store = Arc::new(Gated {
        inner,
        state: Mutex::new(GateState::default()),
        changed: Condvar::new(),
    });
    let engine = Engine::open(store.clone()).unwrap();
    engine.submit(vec![report(A, 0.0)], now()).unwrap();
    (dir, store, engine)
}

#[test]
fn a_batch_fused_on_top_of_a_failed_append_is_never_appended_and_is_redone() {
    let (_dir, store, engine) = gated();
    store.set(|s| {
        s.hold = true;
        s.fail_next = true;
    });
    let client = Uuid::from_u128(7);
    std::thread::scope(|scope| {
        let _release = ReleaseOnDrop(&store);
        // First: a report of C, numbered 2 in memory, held inside its append.
        let first = scope.spawn(|| engine.submit(vec![report(C, 5.0)], now()));
        store.wait_until(|s| s.appends == 2);
        // Second: a report of A with a client id. Once the store has been asked about the id,
        // it is being sequenced on top of the first (numbered 3, C's incident 2 known).
        let second =
            scope.spawn(|| engine.submit(vec![client_report(A, 6.0, client, "second")], now()));
        store.wait_until(|s| s.client_reads == 1);
        // The first append fails.
        store.set(|s| s.hold = false);
        let err = first.join().unwrap().unwrap_err();
        assert!(matches!(err, EngineError::Store(_)), "{err:?}");
        let outcome = second.join().unwrap().unwrap();
        // Redone on the record as it is: number 2, A's incident 1 at its second revision.
        assert_eq!(outcome.accepted, accepted(&[(2, 1)]));
    });
    let entries = store.entries(0, u64::MAX).unwrap();
    assert_eq!(observation_ids(&entries), [1, 2]);
    assert_eq!(revisions(&entries), [(1, 1, vec![1]), (1, 2, vec![2])]);
    assert_eq!(verify_chain(store.as_ref()).unwrap().observations, 2);
    // Fusion follows the record: the next new event starts incident 2, numbered 3.
    let next = engine.submit(vec![report(B, 9.0)], now()).unwrap();
    assert_eq!(next.accepted, accepted(&[(3, 2)]));
}

#[test]
fn a_client_id_resent_while_its_batch_commits_gets_that_batchs_ids() {
    let (_dir, store, engine) = gated();
    store.set(|s| s.hold = true);
    let client = Uuid::from_u128(9);
    let item = client_report(B, 3.0, client, "once");
    std::thread::scope(|scope| {
        let _release = ReleaseOnDrop(&store);
        let first = scope.spawn(|| engine.submit(vec![item.clone()], now()));
        store.wait_until(|s| s.appends == 2);
        let resent = scope.spawn(|| engine.submit(vec![item.clone()], now()));
        // Time for the resent batch to get as far as it can while the first is held: it must
        // wait for that commit, not sequence the item again.
        std::thread::sleep(Duration::from_millis(200));
        let client_reads = store.state.lock().unwrap().client_reads;
        assert_eq!(
            client_reads, 1,
            "the resent item was looked up while its batch committed"
        );
        store.set(|s| s.hold = false);
        let first = first.join().unwrap().unwrap();
        let resent = resent.join().unwrap().unwrap();
        assert_eq!(first.accepted, accepted(&[(2, 2)]));
        assert_eq!((resent.accepted, resent.new), (first.accepted, 0));
    });
    let entries = store.entries(0, u64::MAX).unwrap();
    assert_eq!(observation_ids(&entries), [1, 2]);
    assert_eq!(verify_chain(store.as_ref()).unwrap().observations, 2);
}

#[test]
fn a_merge_whose_append_and_rebuild_fail_leaves_no_merge_in_memory() {
    let (_dir, store, engine) = gated();
    engine.submit(vec![report(C, 5.0)], now()).unwrap();
    let analyst = crate::Caller {
        user: "m1-analyst".into(),
        monitor: "m1".into(),
        role: truce_core::access::Role::Analyst,
    };
    let merge = || engine.merge_incidents(&analyst, IncidentId(1), IncidentId(2), "one", now());
    // The merge is made in memory, then its append fails, and so does the rebuild after it
    // (the database away for both).
    store.set(|s| {
        s.fail_next = true;
        s.fail_estimates = true;
    });
    assert!(merge().is_err());
    store.set(|s| s.fail_estimates = false);
    // The database back: memory follows the record, where incident 2 was never merged, so
    // the merge sent again is recorded, and the next report is fused against the record.
    merge().unwrap();
    let entries = store.entries(0, u64::MAX).unwrap();
    let merged: Vec<_> = revisions(&entries)
        .into_iter()
        .filter(|(_, revision, _)| *revision > 1)
        .collect();
    assert_eq!(merged.len(), 2, "{merged:?}");
    engine.submit(vec![report(B, 9.0)], now()).unwrap();
    assert_eq!(verify_chain(store.as_ref()).unwrap().observations, 3);
}

#[test]
fn a_proof_that_fails_because_the_store_does_gives_the_stores_error() {
    let (_dir, store, engine) = gated();
    engine.submit(vec![report(C, 5.0)], now()).unwrap();
    assert!(engine.consistency_proof(1, 4).is_ok());
    store.set(|s| s.fail_tree_hashes = true);
    // The store's fault (a 503 the client may retry), not the tree's refusal (a 500).
    let err = engine.consistency_proof(1, 4).unwrap_err();
    assert!(
        matches!(err, EngineError::Store(StoreError::Unreachable(_))),
        "{err:?}"
    );
    store.set(|s| s.fail_tree_hashes = false);
    assert!(engine.consistency_proof(1, 4).is_ok());
    // What the tree refuses, the store having read well, is the tree's.
    let err = engine
        .with_tree_hashes(|reader| {
            truce_ledger::tlog::tree_hash(1, reader)?;
            Err::<(), _>(truce_ledger::TlogError::InvalidInput("refused".into()))
        })
        .unwrap_err();
    assert!(matches!(err, EngineError::Ledger(_)), "{err:?}");
}
