//! A direct decoding of the two entry types that make the bulk of a record, observations and
//! incident revisions, for the audit.
//!
//! serde decodes an internally tagged enum such as [`EntryBody`] by buffering every member of
//! the object into a generic tree until it has seen the `type` member, then decoding the
//! variant from that tree: for an audit of a million entries, about a third of its time. In
//! canonical bytes the members are sorted, and `type` sorts after every member of these two
//! types, so their bytes end in `"type":"observation"}` or `"type":"incident_revision"}`. Such
//! bytes are decoded here straight into the variant's fields, with the `type` member checked
//! like any other field. Anything else, or anything this decoding refuses, goes the generic
//! way, so what is accepted, and the error of what is refused, are the generic decoding's.
//!
//! The fields below repeat the variants' fields of [`EntryBody`] as they deserialise; the test
//! `bulk_decoding_is_the_generic_decoding` compares the two on every variant shape.

use super::EntryBody;
use crate::ids::{IncidentId, ObservationId};
use crate::incident::IncidentEstimate;
use crate::observation::Observation;
use crate::time::Timestamp;
use serde::Deserialize;

/// The `type` member of an observation entry; no other value decodes.
#[derive(Deserialize)]
enum ObservationType {
    #[serde(rename = "observation")]
    Observation,
}

/// The `type` member of an incident revision entry; no other value decodes.
#[derive(Deserialize)]
enum RevisionType {
    #[serde(rename = "incident_revision")]
    IncidentRevision,
}

/// [`EntryBody::Observation`]'s members.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservationMembers {
    #[serde(rename = "type")]
    _type: ObservationType,
    id: ObservationId,
    recorded_at: Timestamp,
    observation: Observation,
}

/// [`EntryBody::IncidentRevision`]'s members.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisionMembers {
    #[serde(rename = "type")]
    _type: RevisionType,
    incident_id: IncidentId,
    revision: u32,
    recorded_at: Timestamp,
    added_observation_ids: Vec<ObservationId>,
    estimate: IncidentEstimate,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `bytes` decoded directly when they end as a canonical observation or incident revision does
/// and decode as one; `None` otherwise (the caller decodes them the generic way).
pub(super) fn decode(bytes: &[u8]) -> Option<EntryBody> {
    if bytes.ends_with(br#","type":"observation"}"#) {
        let m: ObservationMembers = serde_json::from_slice(bytes).ok()?;
        return Some(EntryBody::Observation {
            id: m.id,
            recorded_at: m.recorded_at,
            observation: m.observation,
        });
    }
    if bytes.ends_with(br#","type":"incident_revision"}"#) {
        let m: RevisionMembers = serde_json::from_slice(bytes).ok()?;
        return Some(EntryBody::IncidentRevision {
            incident_id: m.incident_id,
            revision: m.revision,
            recorded_at: m.recorded_at,
            added_observation_ids: m.added_observation_ids,
            estimate: m.estimate,
            by: m.by,
            reason: m.reason,
        });
    }
    None
}
