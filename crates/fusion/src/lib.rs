//! Observations to incidents: the center's first fusion.
//!
//! [`Fusion`] holds the incidents that new observations may join, decides for each observation
//! which incident it belongs to ([`associate`]), re-estimates that incident ([`estimate`]) and
//! tests the estimate against the agreement ([`rules`]). It is pure: it does no IO, and its
//! output — which incident each observation joined and one revision per touched incident — is
//! what the engine writes to the record.
//!
//! Positions come from the maximum-likelihood estimators of `truce-locate` ([`measure`]): each
//! observation is a measurement, and an incident's position is the joint fix of all of its own.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod associate;
pub mod cluster;
pub mod estimate;
pub mod measure;
pub mod rules;

pub use associate::{Absorbed, Fusion, RegroupError, Revision, TrackState};
pub use estimate::{Estimate, estimate_observation};
pub use rules::Rules;
