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
