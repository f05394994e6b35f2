//! [`Engine`]: the sequencer lock, idempotency, fusion and the atomic append, in the commit
//! order of [`crate::commit_order`].

use crate::commit_order::{CommitOrder, Turn, Unrecorded};
use crate::writes::Written;
use crate::{EngineError, IncidentEvent};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;
use truce_core::Kind;
use truce_core::access::{Verdict, derive_status};
use truce_core::agreement::Agreement;
use truce_core::entry::{EntryBody, Hash, canonical_json, sha256};
use truce_core::incident::IncidentEstimate;
use truce_core::{IncidentId, ObservationId, Timestamp, ValidObservation};
use truce_fusion::{Fusion, Rules, TrackState};
use truce_store::{AppendBatch, NewEntry, Projection, Store};
use uuid::Uuid;

/// Events buffered per slow subscriber before it is told it lagged.
const EVENT_BUFFER: usize = 4096;

/// One observation's place after a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The observation's number.
    pub id: ObservationId,
    /// The incident it joined or started.
    pub incident_id: IncidentId,
}

/// What a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    /// One per submitted item, in order.
    pub accepted: Vec<Accepted>,
    /// How many items were new (the rest were resubmissions of stored client ids).
    pub new: usize,
}

/// State only the holder of the sequencer lock touches.
pub(crate) struct Sequencer {
    fusion: Fusion,
    next_observation: u64,
    /// Each assessed incident's current verdict per monitor: a revision's status counts them.
    pub(crate) verdicts: HashMap<IncidentId, BTreeMap<String, Verdict>>,
    /// Kinds analysts corrected: a revision keeps the correction.
    pub(crate) corrected: HashMap<IncidentId, Kind>,
    /// Which rebuild from the store this state grew from (see [`CommitOrder`]).
    generation: u64,
}

/// The sequencer lock and the turn to append, both held: nothing else is sequenced or appended
/// while it lives, and every batch sequenced before it has committed (or failed).
pub(crate) struct Exclusive<'a> {
    seq: MutexGuard<'a, Sequencer>,
    _turn: Turn<'a>,
}

impl Deref for Exclusive<'_> {
    type Target = Sequencer;
    fn deref(&self) -> &Sequencer {
        &self.seq
    }
}

impl DerefMut for Exclusive<'_> {
    fn deref_mut(&mut self) -> &mut Sequencer {
        &mut self.seq
    }
}

/// An intake item's answer (its JSON) from what its submission recorded.
pub(crate) type AnswerOf = dyn Fn(&SubmitOutcome) -> String;

/// How a sequenced batch ended.
enum Sequenced {
    /// Recorded (or nothing new to record): the answer.
    Done(SubmitOutcome),
    /// A batch sequenced before it failed to append, so it was not appended: start over.
    Stale,
}

/// The sequencer over one store.
pub struct Engine {
    store: Arc<dyn Store>,
    agreement: Arc<Agreement>,
    /// Held while a submission numbers and fuses its batch; it takes its turn in `order` before
    /// letting go, so the record's order is the order of this lock.
    sequencer: Mutex<Sequencer>,
    /// Turns to append, stale generations and client ids in flight.
    order: CommitOrder,
    events: broadcast::Sender<Arc<IncidentEvent>>,
    /// The agreement's ledger keys, parsed once.
    pub(crate) ledger_keys: Option<crate::LedgerKeys>,
    /// The center's checkpoint key, when this process holds it.
    pub(crate) log_signer: Mutex<Option<truce_ledger::note::NoteSigner>>,
    /// Where evidence files are kept, when this center keeps them.
    pub(crate) evidence_dir: Mutex<Option<truce_store::EvidenceDir>>,
    /// Verified tokens and deposited assessment keys.
    pub(crate) access: crate::members::Access,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the engine over `store`, which must hold an agreement; fusion state is rebuilt
    /// from the stored incidents.
    pub fn open(store: Arc<dyn Store>) -> Result<Self, EngineError> {
        let (_, doc) = store.agreement()?.ok_or(EngineError::NoAgreement)?;
        let agreement = Arc::new(Agreement::from_doc(doc, "stored agreement")?);
        let sequencer = restore(store.as_ref(), &agreement)?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let ledger_keys = crate::LedgerKeys::from_agreement(&agreement)?;
        Ok(Self {
            store,
            agreement,
            sequencer: Mutex::new(sequencer),
            order: CommitOrder::default(),
            events,
            ledger_keys,
            log_signer: Mutex::new(None),
            evidence_dir: Mutex::new(None),
            access: crate::members::Access::default(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The agreement in force.
    pub fn agreement(&self) -> &Arc<Agreement> {
        &self.agreement
    }

    /// A receiver of every incident event committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<IncidentEvent>> {
        self.events.subscribe()
    }

    /// Tells subscribers of the record's entries from index `from` on that this process did not
    /// append (another node sequenced them), as the appending node told its own; answers the
    /// index to continue from.
    pub fn follow(&self, from: u64) -> Result<u64, EngineError> {
        let mut next = from;
        loop {
            let page = self.store.entries(next, 1_000)?;
            let Some(last) = page.last().map(|e| e.index) else {
                return Ok(next);
            };
            for entry in &page {
                let body = EntryBody::decode(&entry.bytes)?;
                if let EntryBody::Membership { user, .. } = &body {
                    // Revoked (or re-admitted with a new token) on another node: this node's
                    // verified tokens of that member are forgotten.
                    self.forget_member(user);
                }
                if let Some(ev) = IncidentEvent::of_entry(entry.index, &body) {
                    let _ = self.events.send(Arc::new(ev));
                }
            }
            next = last + 1;
        }
    }

    /// Holds the sequencer lock and the turn to append, with the state current: nothing else is
    /// sequenced or appended while the guard lives.
    pub(crate) fn lock_sequencer(&self) -> Result<Exclusive<'_>, EngineError> {
        let mut seq = self.lock();
        // The turn first: a batch ahead of it may fail while it waits, and the state must then
        // be rebuilt before anything is built on it.
        let turn = self.order.turn();
        if self.order.is_stale(seq.generation) {
            self.rebuild(&mut seq)?;
        }
        Ok(Exclusive { seq, _turn: turn })
    }

    /// Holds the sequencer lock and the turn to append without looking at the state: nothing
    /// is appended while the guard lives.
    pub(crate) fn hold_still(&self) -> (MutexGuard<'_, Sequencer>, Turn<'_>) {
        let seq = self.lock();
        let turn = self.order.turn();
        (seq, turn)
    }

    /// Appends `batch`, made by a writer other than observation intake (a verdict, a note, a
    /// member, a track, an evidence hand-in, a report) holding the sequencer lock and a turn,
    /// with `answer` (when the write was taken from the intake queue) recorded in the same
    /// transaction, so the write is recorded at most once. When the append may have changed
    /// the record unseen, the state is stale, and the next write rebuilds it from the store
    /// before numbering anything: the record moved under this process (another one wrote to
    /// it), or the commit may have gone through with its reply lost (any failure but a refusal
    /// made before anything was written, fenced, read-only, in use or misconfigured, and an
    /// embedded SQLite transaction's, which commits all or nothing in this process).
    pub(crate) fn append_answering(
        &self,
        batch: &truce_store::AppendBatch,
        answer: Option<&truce_store::IntakeSettle>,
    ) -> Result<truce_store::AppendReceipt, truce_store::StoreError> {
        use truce_store::StoreError::{Config, Database, Fenced, InUse, ReadOnly};
        self.store.append_settling(batch, answer).inspect_err(|e| {
            if !matches!(
                e,
                Fenced(_) | ReadOnly(_) | InUse(_) | Config(_) | Database { .. }
            ) {
                self.order.failed(self.order.current_generation());
            }
        })
    }

    /// Rebuilds the state, stale after a failed write, now if it can; if the store cannot be
    /// read either, the state stays stale and the next write rebuilds it.
    fn rebuild_after_failure(&self, seq: &mut Sequencer) {
        if let Err(e) = self.rebuild(seq) {
            tracing::error!(error = %e, "rebuilding fusion state failed; the next write retries");
        }
    }

    /// Rebuilds the state from the store if an append it was built on failed.
    fn refresh(&self, seq: &mut Sequencer) -> Result<(), EngineError> {
        if self.order.is_stale(seq.generation) {
            let _turn = self.order.turn();
            self.rebuild(seq)?;
        }
        Ok(())
    }

    /// Rebuilds fusion state from the store. The caller holds the sequencer lock and its turn,
    /// so every batch sequenced before has committed or failed.
    fn rebuild(&self, seq: &mut Sequencer) -> Result<(), EngineError> {
        let mut fresh = restore(self.store.as_ref(), &self.agreement)?;
        fresh.generation = self.order.current_generation();
        *seq = fresh;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Sequencer> {
        // A panic while holding the lock cannot leave the record half-written (the append is
        // one transaction); the in-memory state is rebuilt below if an append failed.
        self.sequencer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records `batch` — all of it or none — and answers where each item went. Items whose
    /// `client_id` is already stored with the same content get their original ids back and
    /// are not recorded again.
    pub fn submit(
        &self,
        batch: Vec<ValidObservation>,
        now: Timestamp,
    ) -> Result<SubmitOutcome, EngineError> {
        self.submit_settling(batch, now, None)
    }

    /// [`Engine::submit`] for intake item `intake` (PostgreSQL's queue, see
    /// [`truce_store::IntakeQueue`]): when new items are recorded, the item's answer (201 and
    /// the accepted ids) is written in the same transaction as their entries, so an item is
    /// sequenced at most once. When nothing new is recorded, or the batch is refused, nothing
    /// is written and the caller answers the item.
    pub fn submit_settling(
        &self,
        batch: Vec<ValidObservation>,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<SubmitOutcome, EngineError> {
        let answer = |o: &SubmitOutcome| serde_json::json!({ "accepted": o.accepted }).to_string();
        self.submit_answering(batch, now, intake, &answer)
    }

    /// [`Engine::submit_settling`] with the item's answer (its JSON, 201) made by `answer` from
    /// what was recorded.
    pub(crate) fn submit_answering(
        &self,
        batch: Vec<ValidObservation>,
        now: Timestamp,
        intake: Option<u64>,
        answer: &AnswerOf,
    ) -> Result<SubmitOutcome, EngineError> {
        let client_ids: Vec<Uuid> = batch.iter().filter_map(|o| o.client_id).collect();
        // Content hashes depend on nothing the lock guards: made before it is taken, so a
        // batch hashes while the one before it fuses.
        let hashes = batch
            .iter()
            .map(|o| o.client_id.map(|_| content_hash(o)).transpose())
            .collect::<Result<Vec<Option<Hash>>, _>>()?;
        loop {
            let mut seq = self.lock();
            self.refresh(&mut seq)?;
            if self.order.any_in_flight(&client_ids) {
                // A batch sequenced earlier holds one of these client ids: once every earlier
                // batch has committed, the id is stored (or never will be), and resolves.
                drop(self.order.turn());
                self.refresh(&mut seq)?;
            }
            match self.sequence(seq, &batch, &hashes, now, intake.map(|id| (id, answer)))? {
                Sequenced::Done(outcome) => return Ok(outcome),
                Sequenced::Stale => continue,
            }
        }
    }

    /// Numbers and fuses `batch` holding the sequencer lock, then appends it in its turn.
    fn sequence(
        &self,
        mut seq: MutexGuard<'_, Sequencer>,
        batch: &[ValidObservation],
        hashes: &[Option<Hash>],
        now: Timestamp,
        intake: Option<(u64, &AnswerOf)>,
    ) -> Result<Sequenced, EngineError> {
        let resolved = self.resolve_client_ids(batch, hashes)?;
        // Only what is new must cite held files: a resent observation (recorded before the
        // rule, or citing a file since) gets its original ids back as always.
        self.check_evidence_held(
            batch
                .iter()
                .zip(&resolved)
                .enumerate()
                .filter(|(_, (_, r))| matches!(r, Resolution::New(_)))
                .map(|(i, (o, _))| (i, o.evidence.as_slice())),
        )?;
        let mut fresh: Vec<(ObservationId, &ValidObservation)> = Vec::new();
        let mut fresh_hashes: Vec<Option<Hash>> = Vec::new();
        let mut slots: Vec<Slot> = Vec::with_capacity(batch.len());
        let mut next = seq.next_observation;
        for (obs, resolution) in batch.iter().zip(&resolved) {
            match resolution {
                Resolution::Stored(acc) => slots.push(Slot::Known(*acc)),
                Resolution::SameAs(j) => slots.push(Slot::Alias(*j)),
                Resolution::New(hash) => {
                    slots.push(Slot::Fresh(fresh.len()));
                    fresh.push((ObservationId(next), obs));
                    fresh_hashes.push(*hash);
                    next += 1;
                }
            }
        }
        let mut accepted = Vec::with_capacity(batch.len());
        if fresh.is_empty() {
            for (k, slot) in slots.iter().enumerate() {
                let acc = match slot {
                    Slot::Known(a) => *a,
                    Slot::Alias(j) => accepted_at(&accepted, *j, k),
                    Slot::Fresh(_) => unreachable_fresh(),
                };
                accepted.push(acc);
            }
            return Ok(Sequenced::Done(SubmitOutcome { new: 0, accepted }));
        }
        // From here memory changes: an error or a panic before the commit marks it stale.
        let mut unrecorded = Unrecorded::new(&self.order, seq.generation);
        let mut absorbed = seq.fusion.absorb(&fresh);
        let monitors = self.agreement.doc.monitors.len();
        for rev in &mut absorbed.revisions {
            seq.settle(rev.incident_id, &mut rev.estimate, monitors);
        }
        for (k, slot) in slots.iter().enumerate() {
            let acc = match slot {
                Slot::Known(a) => *a,
                Slot::Fresh(f) => Accepted {
                    id: fresh[*f].0,
                    incident_id: absorbed.incident_ids[*f],
                },
                Slot::Alias(j) => accepted_at(&accepted, *j, k),
            };
            accepted.push(acc);
        }
        let settle = intake.map(|(id, answer)| truce_store::IntakeSettle {
            id,
            status: 201,
            outcome: answer(&SubmitOutcome {
                accepted: accepted.clone(),
                new: fresh.len(),
            }),
        });
        // Memory runs ahead of the record from here until the append, by this batch.
        seq.next_observation = next;
        unrecorded.hold(fresh.iter().filter_map(|(_, o)| o.client_id).collect());
        unrecorded.take_ticket();
        drop(seq);
        // Encoded holding nothing, while the batch before appends and the next one fuses.
        let built = build_append(&fresh, &fresh_hashes, &absorbed, now, None);
        unrecorded.wait_turn();
        if unrecorded.is_stale() {
            // Never appended; the rebuild that staleness asks for undoes it.
            unrecorded.recorded();
            return Ok(Sequenced::Stale);
        }
        let appended = built.and_then(|(append, events)| {
            let receipt = self.store.append_settling(&append, settle.as_ref())?;
            Ok((receipt, events))
        });
        match appended {
            Ok((receipt, events)) => {
                // Still in this batch's turn, so subscribers hear batches in the record's order.
                for (offset, mut ev) in events {
                    ev.entry_index = receipt.first_index + offset;
                    // No subscriber is not an error: the record is the source of truth.
                    let _ = self.events.send(Arc::new(ev));
                }
                unrecorded.recorded();
                Ok(Sequenced::Done(SubmitOutcome {
                    new: fresh.len(),
                    accepted,
                }))
            }
            Err(e) => {
                tracing::error!(error = %e, "encoding or appending a batch failed; rebuilding fusion state from the store");
                // Stale before the turn is free, so nothing is appended on top of it.
                drop(unrecorded);
                let mut seq = self.lock();
                if let Err(rebuild) = self.refresh(&mut seq) {
                    tracing::error!(error = %rebuild, "rebuilding fusion state failed; the next submission retries");
                }
                Err(e)
            }
        }
    }

    /// An analyst folds incident `fold` into `keep` (they are one event): every observation of
    /// `fold` moves to `keep`, re-estimated; `fold` is kept, `merged`. The revisions name the
    /// analyst and the reason.
    pub fn merge_incidents(
        &self,
        caller: &crate::Caller,
        keep: IncidentId,
        fold: IncidentId,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.merge_answering(caller, keep, fold, reason, now, None)
    }

    /// [`Engine::merge_incidents`]; for intake item `intake`, its answer is recorded with the
    /// revisions.
    pub(crate) fn merge_answering(
        &self,
        caller: &crate::Caller,
        keep: IncidentId,
        fold: IncidentId,
        reason: &str,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<(), EngineError> {
        let answer = || intake.map(|id| Written::merged(keep, fold).settling(id));
        self.regroup(caller, reason, now, answer, |seq, store| {
            let observations = store
                .incident(fold)?
                .ok_or_else(|| EngineError::NotFound(format!("no incident {fold}")))?
                .observation_ids;
            if store.incident(keep)?.is_none() {
                return Err(EngineError::NotFound(format!("no incident {keep}")));
            }
            seq.fusion
                .merge_incidents(keep, fold, &observations)
                .map_err(|e| EngineError::invalid("fold", e.to_string()))
        })
    }

    /// An analyst splits `observations` off incident `id` into a new incident (they are
    /// another event). The revisions name the analyst and the reason.
    pub fn split_incident(
        &self,
        caller: &crate::Caller,
        id: IncidentId,
        observations: &[ObservationId],
        reason: &str,
        now: Timestamp,
    ) -> Result<IncidentId, EngineError> {
        self.split_answering(caller, id, observations, reason, now, None)
    }

    /// [`Engine::split_incident`]; for intake item `intake`, its answer is recorded with the
    /// revisions.
    pub(crate) fn split_answering(
        &self,
        caller: &crate::Caller,
        id: IncidentId,
        observations: &[ObservationId],
        reason: &str,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<IncidentId, EngineError> {
        let new_id = std::cell::Cell::new(None);
        let answer = || {
            let new = new_id.get()?;
            intake.map(|item| Written::split(new, id).settling(item))
        };
        self.regroup(caller, reason, now, answer, |seq, store| {
            if store.incident(id)?.is_none() {
                return Err(EngineError::NotFound(format!("no incident {id}")));
            }
            new_id.set(Some(seq.fusion.next_incident_id()));
            seq.fusion
                .split_incident(id, observations)
                .map_err(|e| EngineError::invalid("observation_ids", e.to_string()))
        })?;
        new_id
            .get()
            .ok_or_else(|| EngineError::NotFound(format!("no incident {id}")))
    }

    /// Records what `op` regrouped, with the revisions naming the analyst and `reason`, and
    /// `answer` (an intake item's, made once `op` succeeded) in the same transaction.
    fn regroup(
        &self,
        caller: &crate::Caller,
        reason: &str,
        now: Timestamp,
        answer: impl FnOnce() -> Option<truce_store::IntakeSettle>,
        op: impl FnOnce(&mut Sequencer, &dyn Store) -> Result<truce_fusion::Absorbed, EngineError>,
    ) -> Result<(), EngineError> {
        if caller.role != truce_core::access::Role::Analyst {
            return Err(EngineError::Forbidden(format!(
                "{} is {}, and only an analyst merges or splits incidents",
                caller.user,
                caller.role.as_str()
            )));
        }
        crate::members::check_text("reason", reason)?;
        let mut seq = self.lock_sequencer()?;
        // A refused regrouping changed nothing: fusion checks everything before it moves.
        let mut absorbed = op(&mut seq, self.store.as_ref())?;
        let monitors = self.agreement.doc.monitors.len();
        for rev in &mut absorbed.revisions {
            seq.settle(rev.incident_id, &mut rev.estimate, monitors);
        }
        let built = build_append(&[], &[], &absorbed, now, Some((&caller.user, reason)));
        let (append, events) = match built {
            Ok(b) => b,
            Err(e) => {
                // `op` changed the state: stale until rebuilt.
                self.order.failed(seq.generation);
                self.rebuild_after_failure(&mut seq);
                return Err(e);
            }
        };
        let answer = answer();
        let receipt = match self.append_answering(&append, answer.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                // `op` changed the state for an append that did not happen.
                self.order.failed(seq.generation);
                self.rebuild_after_failure(&mut seq);
                return Err(e.into());
            }
        };
        // Still in the turn, so subscribers hear entries in the record's order.
        for (offset, mut ev) in events {
            ev.entry_index = receipt.first_index + offset;
            let _ = self.events.send(Arc::new(ev));
        }
        drop(seq);
        Ok(())
    }

    /// Decides, for each item, whether it is new or repeats a stored client id or an earlier
    /// item of the same batch; refuses a client id reused with different content.
    fn resolve_client_ids(
        &self,
        batch: &[ValidObservation],
        hashes: &[Option<Hash>],
    ) -> Result<Vec<Resolution>, EngineError> {
        let ids: Vec<Uuid> = batch.iter().filter_map(|o| o.client_id).collect();
        if ids.is_empty() {
            return Ok(batch.iter().map(|_| Resolution::New(None)).collect());
        }
        let stored: HashMap<Uuid, truce_store::ClientRecord> = self
            .store
            .client_records(&ids)?
            .into_iter()
            .map(|r| (r.client_id, r))
            .collect();
        let mut first_in_batch: HashMap<Uuid, (usize, Hash)> = HashMap::new();
        let mut out = Vec::with_capacity(batch.len());
        for (index, (obs, hash)) in batch.iter().zip(hashes).enumerate() {
            let (Some(client_id), Some(hash)) = (obs.client_id, *hash) else {
                out.push(Resolution::New(None));
                continue;
            };
            let conflict = EngineError::ClientIdConflict { client_id, index };
            if let Some(record) = stored.get(&client_id) {
                if record.content_hash != hash {
                    return Err(conflict);
                }
                out.push(Resolution::Stored(Accepted {
                    id: record.observation_id,
                    incident_id: record.incident_id,
                }));
            } else if let Some((first, first_hash)) = first_in_batch.get(&client_id) {
                if *first_hash != hash {
                    return Err(conflict);
                }
                out.push(Resolution::SameAs(*first));
            } else {
                first_in_batch.insert(client_id, (index, hash));
                out.push(Resolution::New(Some(hash)));
            }
        }
        Ok(out)
    }
}

enum Resolution {
    /// Already stored: answer with these ids.
    Stored(Accepted),
    /// Same client id and content as item j of this batch.
    SameAs(usize),
    /// New: record it (with its content hash when it has a client id).
    New(Option<Hash>),
}

enum Slot {
    Known(Accepted),
    Fresh(usize),
    Alias(usize),
}

fn accepted_at(accepted: &[Accepted], j: usize, k: usize) -> Accepted {
    // An alias always points at an earlier item (the first occurrence), already filled in.
    debug_assert!(j < k);
    accepted[j]
}

fn unreachable_fresh() -> Accepted {
    // Only reached if a fresh slot existed while `fresh` was empty, which construction rules out.
    Accepted {
        id: ObservationId(0),
        incident_id: IncidentId(0),
    }
}

/// SHA-256 of the observation's canonical JSON: what "the same content" means for a client id.
/// The SHA-256 of an observation's canonical bytes: what a client id is checked against, as
/// the engine stores it, the audit checks it and a replay rebuilds it.
pub(crate) fn content_hash(
    o: &truce_core::observation::Observation,
) -> Result<Hash, truce_core::entry::EntryError> {
    Ok(sha256(&canonical_json(o)?))
}

type BuiltAppend = (AppendBatch, Vec<(u64, IncidentEvent)>);

fn build_append(
    fresh: &[(ObservationId, &ValidObservation)],
    hashes: &[Option<Hash>],
    absorbed: &truce_fusion::Absorbed,
    now: Timestamp,
    author: Option<(&str, &str)>,
) -> Result<BuiltAppend, EngineError> {
    let mut entries = Vec::with_capacity(fresh.len() + absorbed.revisions.len());
    for (k, (id, obs)) in fresh.iter().enumerate() {
        let body = EntryBody::Observation {
            id: *id,
            recorded_at: now,
            observation: (***obs).clone(),
        };
        let client = obs.client_id.zip(hashes[k]);
        entries.push(NewEntry {
            bytes: body.canonical_bytes()?,
            type_name: body.type_name(),
            projection: Projection::Observation {
                id: *id,
                client,
                incident_id: absorbed.incident_ids[k],
                kind: obs.kind,
                observed_at: obs.observed_at,
            },
        });
    }
    let mut events = Vec::with_capacity(absorbed.revisions.len());
    for rev in &absorbed.revisions {
        let body = EntryBody::IncidentRevision {
            incident_id: rev.incident_id,
            revision: rev.revision,
            recorded_at: now,
            added_observation_ids: rev.added.clone(),
            estimate: rev.estimate.clone(),
            by: author.map(|(by, _)| by.to_string()),
            reason: author.map(|(_, reason)| reason.to_string()),
        };
        events.push((
            entries.len() as u64,
            IncidentEvent {
                id: rev.incident_id,
                revision: rev.revision,
                entry_index: 0,
                added_observation_ids: rev.added.clone(),
                estimate: rev.estimate.clone(),
            },
        ));
        entries.push(NewEntry {
            bytes: body.canonical_bytes()?,
            type_name: body.type_name(),
            projection: Projection::Incident {
                id: rev.incident_id,
                revision: rev.revision,
                estimate: Box::new(rev.estimate.clone()),
                moved: rev.moved.clone(),
            },
        });
    }
    Ok((AppendBatch { entries }, events))
}

fn restore(store: &dyn Store, agreement: &Arc<Agreement>) -> Result<Sequencer, EngineError> {
    let tracks = store
        .latest_estimates()?
        .into_iter()
        .map(|(id, revision, estimate)| TrackState {
            id,
            revision,
            estimate,
        });
    let fusion = Fusion::restore(Rules::new(agreement.clone()), tracks);
    let (max_obs, _) = store.max_ids()?;
    let mut verdicts: HashMap<IncidentId, BTreeMap<String, Verdict>> = HashMap::new();
    for row in store.assessment_rows(-1, u64::MAX >> 1)? {
        let verdict = Verdict::from_name(&row.verdict).ok_or_else(|| {
            EngineError::Store(truce_store::StoreError::Corrupt(format!(
                "assessment {}: verdict {:?}",
                row.entry, row.verdict
            )))
        })?;
        verdicts
            .entry(IncidentId(row.incident_id))
            .or_default()
            .insert(row.monitor, verdict);
    }
    Ok(Sequencer {
        fusion,
        next_observation: max_obs.0 + 1,
        verdicts,
        corrected: store.corrected_kinds()?.into_iter().collect(),
        generation: 0,
    })
}

impl Sequencer {
    /// `estimate` with the verdicts and corrections recorded for incident `id` applied: what
    /// its revision states and the incidents table holds.
    fn settle(&self, id: IncidentId, estimate: &mut IncidentEstimate, monitors: usize) {
        let verdicts: Vec<Verdict> = self
            .verdicts
            .get(&id)
            .map(|v| v.values().copied().collect())
            .unwrap_or_default();
        estimate.status = derive_status(estimate.status, monitors, &verdicts);
        if let Some(kind) = self.corrected.get(&id) {
            estimate.kind = *kind;
        }
    }
}

#[cfg(test)]
mod tests;
