//! Turning stored rows into the values the store gives, the same way for every backend: each
//! backend reads plain tuples with its own SQL, and these functions decode entries, mark
//! current verdicts and put an incident together.

use crate::StoreError;
use crate::model::StoredObservation;
use std::collections::HashMap;
use truce_core::access::Verdict;
use truce_core::entry::{EntryBody, Hash};
use truce_core::incident::{Annotation, Assessment, IncidentEstimate, Status};
use truce_core::{Incident, IncidentId, Kind, ObservationId, Timestamp};

/// 32 stored bytes as a hash, or `Corrupt` naming `what`.
pub fn hash_of(bytes: Vec<u8>, what: &str) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

/// Nanoseconds since the epoch as stored (i64, saturating: a query for the year 9999 matches
/// everything before it rather than wrapping).
pub fn nanos(t: Timestamp) -> i64 {
    t.unix_nanos().clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// A count or index as stored (i64, saturating).
pub fn clamp(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// The estimate of incident `id` from the bytes of its latest revision entry.
pub fn decode_estimate(id: i64, entry: &[u8]) -> Result<IncidentEstimate, StoreError> {
    match EntryBody::decode(entry) {
        Ok(EntryBody::IncidentRevision {
            incident_id,
            estimate,
            ..
        }) if incident_id.0 == id as u64 => Ok(estimate),
        Ok(other) => Err(StoreError::Corrupt(format!(
            "incident {id}: its entry is a {} entry for another item",
            other.type_name()
        ))),
        Err(e) => Err(StoreError::Corrupt(format!("incident {id}: {e}"))),
    }
}

/// Observation `id` from its entry's bytes, or `Corrupt` when the entry is anything else.
pub fn decode_observation(
    id: i64,
    entry: i64,
    incident: i64,
    body: &[u8],
) -> Result<StoredObservation, StoreError> {
    match EntryBody::decode(body) {
        Ok(EntryBody::Observation {
            id: entry_id,
            recorded_at,
            observation,
        }) if entry_id.0 == id as u64 => Ok(StoredObservation {
            id: entry_id,
            incident_id: IncidentId(incident as u64),
            entry_index: entry as u64,
            recorded_at,
            observation,
        }),
        Ok(other) => Err(StoreError::Corrupt(format!(
            "observation {id}: entry {entry} is a {} entry for another item",
            other.type_name()
        ))),
        Err(e) => Err(StoreError::Corrupt(format!(
            "observation {id}: entry {entry}: {e}"
        ))),
    }
}

/// An `assessments` row as read for assembling incidents: (incident, entry, monitor, verdict,
/// reason, user, at_ns).
pub type VerdictRow = (i64, i64, String, String, String, String, i64);

/// An `annotations` row as read for assembling incidents: (incident, entry, user, text,
/// corrected kind, at_ns).
pub type NoteRow = (i64, i64, String, String, Option<String>, i64);

/// What an incident's entry does not hold, read for a range of incidents at once: its
/// observations, verdicts, notes and the status the incidents table counts.
#[derive(Debug, Default)]
pub struct Parts {
    observations: HashMap<i64, Vec<ObservationId>>,
    assessments: HashMap<i64, Vec<Assessment>>,
    annotations: HashMap<i64, Vec<Annotation>>,
    statuses: HashMap<i64, Status>,
}

impl Parts {
    /// The parts from rows read in entry (or id) order: (observation id, incident) pairs,
    /// verdicts, notes and (incident, status) pairs.
    pub fn from_rows(
        observations: impl IntoIterator<Item = (i64, i64)>,
        verdicts: impl IntoIterator<Item = VerdictRow>,
        notes: impl IntoIterator<Item = NoteRow>,
        statuses: impl IntoIterator<Item = (i64, String)>,
    ) -> Result<Self, StoreError> {
        let mut parts = Self::default();
        for (id, incident) in observations {
            parts
                .observations
                .entry(incident)
                .or_default()
                .push(ObservationId(id as u64));
        }
        for (incident, entry, monitor, verdict, reason, user, at_ns) in verdicts {
            let verdict = Verdict::from_name(&verdict).ok_or_else(|| {
                StoreError::Corrupt(format!("assessment {entry}: verdict {verdict:?}"))
            })?;
            let list = parts.assessments.entry(incident).or_default();
            // Each monitor's latest verdict is its current one.
            for earlier in list.iter_mut().filter(|a| a.monitor == monitor) {
                earlier.current = false;
            }
            list.push(Assessment {
                monitor,
                verdict,
                reason,
                user,
                at: Timestamp::from_unix_nanos(i128::from(at_ns))
                    .ok_or_else(|| StoreError::Corrupt(format!("assessment {entry}: time")))?,
                current: true,
                entry_index: entry as u64,
            });
        }
        for (incident, entry, user, text, kind, at_ns) in notes {
            parts
                .annotations
                .entry(incident)
                .or_default()
                .push(Annotation {
                    user,
                    text,
                    corrected_kind: kind.as_deref().and_then(Kind::from_name),
                    at: Timestamp::from_unix_nanos(i128::from(at_ns))
                        .ok_or_else(|| StoreError::Corrupt(format!("annotation {entry}: time")))?,
                    entry_index: entry as u64,
                });
        }
        for (id, status) in statuses {
            if let Some(s) = Status::ALL.into_iter().find(|x| x.as_str() == status) {
                parts.statuses.insert(id, s);
            }
        }
        Ok(parts)
    }

    /// Incident `id` at `revision` from its entry's bytes and its parts.
    pub fn assemble(
        &mut self,
        id: i64,
        revision: u32,
        entry: &[u8],
    ) -> Result<Incident, StoreError> {
        let mut estimate = decode_estimate(id, entry)?;
        let annotations = self.annotations.remove(&id).unwrap_or_default();
        // An analyst's correction of the kind stands over the estimators' kind.
        if let Some(kind) = annotations.iter().rev().find_map(|a| a.corrected_kind) {
            estimate.kind = kind;
        }
        if let Some(status) = self.statuses.remove(&id) {
            estimate.status = status;
        }
        Ok(Incident {
            id: IncidentId(id as u64),
            revision,
            estimate,
            observation_ids: self.observations.remove(&id).unwrap_or_default(),
            assessments: self.assessments.remove(&id).unwrap_or_default(),
            annotations,
        })
    }
}
