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
    /// Reports that are outliers by construction (an acoustic arrival by another path, an
    /// echo, a misread bearing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<Uuid>,
    /// For fire: each round, when and where it was fired and which pulses it made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<RoundTruth>,
    /// Pulses reported around this event that no round made (unrelated impulsive noise).
    /// They are not in `observations`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noise: Vec<Uuid>,
}

/// One round of fire: its time, its source and the pulses it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundTruth {
    /// When it was fired.
    pub time: Timestamp,
    /// Where it was fired from, degrees.
    pub lat: f64,
    /// Where it was fired from, degrees.
    pub lon: f64,
    /// Height of the source above the ellipsoid, metres.
    pub alt_m: f64,
    /// The pulses of its sound reaching sensors (direct, or late by a longer path).
    pub observations: Vec<Uuid>,
    /// For each of `observations`, the true standard deviation of its timing error, seconds
    /// (the heavy tail included): the noise a Cramér–Rao bound of the round must assume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sigma_s: Vec<f64>,
    /// Of those, the ones that came by a longer path (non-line-of-sight).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late: Vec<Uuid>,
    /// Echoes of it: a second pulse at a sensor that heard it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub echoes: Vec<Uuid>,
}
