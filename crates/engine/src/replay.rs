//! Replay: the record's first entries appended, byte for byte, into an empty store, with the
//! derived tables each entry gave when it was first appended. The result is the record as it
//! stood at that size: what an issued report was computed from, so it can be made again.
//!
//! Each entry's projection is derived from the entries alone, as the audit derives the rows
//! it checks: an observation joins the incident whose revision in the same batch adds it; a
//! revision takes over (moves) the observations it adds that belonged to another incident; a
//! verdict's status comes from the monitors' current verdicts, as when it was given.

use crate::EngineError;
use std::collections::HashMap;
use truce_core::access::derive_status;
use truce_core::entry::EntryBody;
use truce_core::{IncidentId, ObservationId};
use truce_store::{
    AppendBatch, EvidenceRow, Head, NewEntry, Projection, Store, StoredEntry, TrackRow,
};

/// Entries read at a time.
const PAGE: u64 = 10_000;

/// Replays the first `size` entries of `source` into `target`, which must be empty, and
/// returns `target`'s head: its root is the source's root at `size` when both hold the same
/// entries (the caller compares it with what it expects).
pub fn replay(source: &dyn Store, size: u64, target: &dyn Store) -> Result<Head, EngineError> {
    replay_observed(source, size, target, &mut |_| {})
}

/// [`replay`], showing `observe` every batch as it is appended (the batches the engine
/// appended, rebuilt: what a store's bare append speed is measured with).
pub fn replay_observed(
    source: &dyn Store,
    size: u64,
    target: &dyn Store,
    observe: &mut dyn FnMut(&AppendBatch),
) -> Result<Head, EngineError> {
    replay_with(source, size, target, HashMap::new(), observe)
}

/// [`replay_observed`], giving each membership entry in `tokens` (by entry index) that token
/// hash: what a migration carries over so that members keep signing in.
pub(crate) fn replay_with(
    source: &dyn Store,
    size: u64,
    target: &dyn Store,
    tokens: HashMap<u64, String>,
    observe: &mut dyn FnMut(&AppendBatch),
) -> Result<Head, EngineError> {
    if target.head()?.size != 0 {
        return Err(EngineError::invalid(
            "target",
            "replay needs an empty store",
        ));
    }
    if size > source.head()?.size {
        return Err(EngineError::invalid(
            "size",
            format!("the record holds fewer than {size} entries"),
        ));
    }
    let documents: HashMap<u64, (u32, Vec<u8>)> = source
        .agreement_versions()?
        .into_iter()
        .map(|v| (v.entry, (v.version, v.document)))
        .collect();
    let mut state = Replay {
        target,
        observe,
        documents,
        tokens,
        monitors: 0,
        incident_of: HashMap::new(),
        batch: Vec::new(),
    };
    let mut from = 0;
    while from < size {
        let page = source.entries(from, PAGE.min(size - from))?;
        let Some(last) = page.last() else { break };
        from = last.index + 1;
        for entry in page {
            state.take(entry)?;
        }
    }
    state.flush()?;
    Ok(target.head()?)
}

struct Replay<'a> {
    target: &'a dyn Store,
    observe: &'a mut dyn FnMut(&AppendBatch),
    /// Agreement documents by the entry that recorded them.
    documents: HashMap<u64, (u32, Vec<u8>)>,
    /// Token hashes by the membership entry that set them (empty: no one signs in).
    tokens: HashMap<u64, String>,
    /// Monitors in the agreement in force.
    monitors: usize,
    /// Each observation's incident so far.
    incident_of: HashMap<u64, u64>,
    /// Observations, then the revisions that place them: one batch as the engine appended it.
    batch: Vec<(StoredEntry, EntryBody)>,
}

fn bad(index: u64, message: impl Into<String>) -> EngineError {
    EngineError::invalid("record", format!("entry {index}: {}", message.into()))
}

impl Replay<'_> {
    fn take(&mut self, entry: StoredEntry) -> Result<(), EngineError> {
        let body = EntryBody::decode(&entry.bytes)?;
        match &body {
            EntryBody::Observation { .. } => {
                // Observations after revisions begin another batch.
                if matches!(
                    self.batch.last(),
                    Some((_, EntryBody::IncidentRevision { .. }))
                ) {
                    self.flush()?;
                }
                self.batch.push((entry, body));
            }
            EntryBody::IncidentRevision { .. } => self.batch.push((entry, body)),
            _ => {
                self.flush()?;
                let projection = self.projection(entry.index, &body)?;
                self.append(vec![(entry, body, projection)])?;
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        entries: Vec<(StoredEntry, EntryBody, Projection)>,
    ) -> Result<(), EngineError> {
        let batch = AppendBatch {
            entries: entries
                .into_iter()
                .map(|(entry, body, projection)| NewEntry {
                    bytes: entry.bytes,
                    type_name: body.type_name(),
                    projection,
                })
                .collect(),
        };
        self.target.append(&batch)?;
        (self.observe)(&batch);
        Ok(())
    }

    /// Appends the pending observations and revisions as one batch.
    fn flush(&mut self) -> Result<(), EngineError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let new: Vec<u64> = batch
            .iter()
            .filter_map(|(_, b)| match b {
                EntryBody::Observation { id, .. } => Some(id.0),
                _ => None,
            })
            .collect();
        // Where each new observation ends up: the last revision of the batch that adds it.
        let mut placed: HashMap<u64, u64> = HashMap::new();
        for (_, body) in &batch {
            if let EntryBody::IncidentRevision {
                incident_id,
                added_observation_ids,
                ..
            } = body
            {
                for o in added_observation_ids {
                    placed.insert(o.0, incident_id.0);
                }
            }
        }
        let mut out = Vec::with_capacity(batch.len());
        for (entry, body) in batch {
            let projection = match &body {
                EntryBody::Observation {
                    id, observation, ..
                } => {
                    let incident = *placed.get(&id.0).ok_or_else(|| {
                        bad(entry.index, format!("observation {id} joins no incident"))
                    })?;
                    let client = match observation.client_id {
                        Some(c) => Some((c, crate::sequencer::content_hash(observation)?)),
                        None => None,
                    };
                    Projection::Observation {
                        id: *id,
                        client,
                        incident_id: IncidentId(incident),
                        kind: observation.kind,
                        observed_at: observation.observed_at,
                    }
                }
                EntryBody::IncidentRevision {
                    incident_id,
                    revision,
                    added_observation_ids,
                    estimate,
                    ..
                } => {
                    let moved: Vec<ObservationId> = added_observation_ids
                        .iter()
                        .filter(|o| !new.contains(&o.0))
                        .filter(|o| self.incident_of.get(&o.0) != Some(&incident_id.0))
                        .copied()
                        .collect();
                    for o in added_observation_ids {
                        self.incident_of.insert(o.0, incident_id.0);
                    }
                    Projection::Incident {
                        id: *incident_id,
                        revision: *revision,
                        estimate: Box::new(estimate.clone()),
                        moved,
                    }
                }
                _ => return Err(bad(entry.index, "not an observation or a revision")),
            };
            out.push((entry, body, projection));
        }
        self.append(out)
    }

    /// What a single entry (not an observation or a revision) changed.
    fn projection(&mut self, index: u64, body: &EntryBody) -> Result<Projection, EngineError> {
        Ok(match body {
            EntryBody::Agreement { .. } => {
                let (version, document) = self
                    .documents
                    .get(&index)
                    .cloned()
                    .ok_or_else(|| bad(index, "the agreement's document is not stored"))?;
                self.monitors =
                    serde_json::from_slice::<truce_core::agreement::AgreementDoc>(&document)
                        .map(|d| d.monitors.len())
                        .map_err(|e| bad(index, format!("the agreement's document: {e}")))?;
                Projection::Agreement { version, document }
            }
            EntryBody::Membership {
                user,
                monitor,
                role,
                active,
                ..
            } => Projection::Membership {
                user: user.clone(),
                monitor: monitor.clone(),
                role: *role,
                active: *active,
                // Tokens are not in the record: a replayed record signs no one in, unless a
                // migration carries the hashes over.
                token_hash: self.tokens.get(&index).cloned(),
            },
            EntryBody::Assessment {
                incident_id,
                monitor,
                verdict,
                reason,
                user,
                recorded_at,
                ..
            } => {
                let found = self
                    .target
                    .incident(*incident_id)?
                    .ok_or_else(|| bad(index, format!("no incident {incident_id}")))?;
                let mut verdicts: HashMap<String, truce_core::access::Verdict> = found
                    .assessments
                    .iter()
                    .filter(|a| a.current)
                    .map(|a| (a.monitor.clone(), a.verdict))
                    .collect();
                verdicts.insert(monitor.clone(), *verdict);
                let current: Vec<_> = verdicts.into_values().collect();
                Projection::Assessment {
                    incident_id: *incident_id,
                    monitor: monitor.clone(),
                    verdict: *verdict,
                    reason: reason.clone(),
                    user: user.clone(),
                    at: *recorded_at,
                    status: derive_status(found.estimate.status, self.monitors, &current),
                }
            }
            EntryBody::Annotation {
                incident_id,
                user,
                text,
                corrected_kind,
                recorded_at,
            } => Projection::Annotation {
                incident_id: *incident_id,
                user: user.clone(),
                text: text.clone(),
                corrected_kind: *corrected_kind,
                at: *recorded_at,
            },
            EntryBody::Track { monitor, point, .. } => Projection::Track {
                row: TrackRow::of(0, monitor, point),
            },
            EntryBody::Evidence { .. } => Projection::Evidence {
                row: EvidenceRow::of(0, body).ok_or_else(|| bad(index, "not evidence"))?,
            },
            EntryBody::Report { .. } => Projection::Nothing,
            EntryBody::Observation { .. } | EntryBody::IncidentRevision { .. } => {
                return Err(bad(index, "an observation or revision outside a batch"));
            }
        })
    }
}
