//! Ground truth: what really happened, written beside the reports so `truce eval` can score the
//! center's incidents against it.

use serde::{Deserialize, Serialize};
use truce_core::{Kind, Subkind, Timestamp, Weapon};
use uuid::Uuid;

/// A place, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

/// One real event and the reports made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthEvent {
    /// The event's number in the simulation, from 1.
    pub event: u64,
    /// When it happened.
    pub time: Timestamp,
    /// Where it happened (for fire, where the rounds landed).
    pub lat: f64,
    /// Where it happened.
    pub lon: f64,
    /// What happened.
    pub kind: Kind,
    /// Refinement of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<Subkind>,
    /// Weapon class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weapon: Option<Weapon>,
    /// Rounds, explosions or vehicles.
    pub count: u32,
    /// Whether `lat`/`lon` is where an effect landed (an impact) rather than where the act was.
    pub impact: bool,
    /// Where the fire came from, for an impact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Place>,
    /// The side that acted (fired, moved, denied access), when it is on a side's ground.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_side: Option<String>,
    /// The `client_id` of every report made of it.
    pub observations: Vec<Uuid>,
    /// Reports that are outliers by construction (an acoustic arrival by another path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<Uuid>,
}
