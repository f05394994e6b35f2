//! What subscribers (the live feed) are told after each commit.

use serde::Serialize;
use truce_core::incident::IncidentEstimate;
use truce_core::{IncidentId, ObservationId};

/// An incident was created or revised; sent only after the revision is committed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentEvent {
    /// The incident.
    pub id: IncidentId,
    /// Its new revision.
    pub revision: u32,
    /// Index of the revision's entry in the record.
    pub entry_index: u64,
    /// Observations that joined in this revision.
    pub added_observation_ids: Vec<ObservationId>,
    /// The estimate after the revision.
    #[serde(flatten)]
    pub estimate: IncidentEstimate,
}

impl IncidentEvent {
    /// The event the incident revision entry `body` (at `index`) gave subscribers when it was
    /// committed; `None` for any other entry. A node that did not append the entry tells its
    /// own subscribers the same thing from the record.
    pub fn of_entry(index: u64, body: &truce_core::entry::EntryBody) -> Option<Self> {
        match body {
            truce_core::entry::EntryBody::IncidentRevision {
                incident_id,
                revision,
                added_observation_ids,
                estimate,
                ..
            } => Some(Self {
                id: *incident_id,
                revision: *revision,
                entry_index: index,
                added_observation_ids: added_observation_ids.clone(),
                estimate: estimate.clone(),
            }),
            _ => None,
        }
    }
}
