//! Observations to incidents: the center's first fusion.
//!
//! [`Fusion`] holds the incidents that new observations may join, decides for each observation
//! which incident it belongs to ([`associate`]), re-estimates that incident ([`estimate`]) and
//! tests the estimate against the agreement ([`rules`]). It is pure: it does no IO, and its
//! output — which incident each observation joined and one revision per touched incident — is
//! what the engine writes to the record.
//!
//! The estimators here are the spine's first ones (a point, or a bearing with a distance range);
//! the geolocation issue replaces them behind the same interface.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod associate;
pub mod estimate;
pub mod rules;

pub use associate::{Absorbed, Fusion, Revision, TrackState};
pub use estimate::{Estimate, estimate_observation};
pub use rules::Rules;
