//! Domain types of truce and their validation.
//!
//! Everything that crosses the system boundary is described here: [`Observation`]s as reported,
//! [`ValidObservation`]s as accepted, [`Incident`]s as estimated, the [`Agreement`] they are tested
//! against, and the canonical [`entry`] bytes that make up the shared record.
//!
//! Architecture invariant: this crate does no IO and has no async code. Parsing functions take
//! bytes or text that the caller has already read, and every error names the field it is about.
//!
//! ```
//! use truce_core::intake::{parse_observations, ParseLimits};
//! use truce_core::Timestamp;
//!
//! let body = br#"{"kind":"explosion","subkind":"impact","observed_at":"2026-11-20T10:00:00Z",
//!   "reporter":"post-7","geometry":{"type":"position","lat":39.9,"lon":46.8,"accuracy_m":150}}"#;
//! let now = Timestamp::parse("2026-11-20T10:05:00Z").unwrap();
//! let batch = parse_observations(body, &ParseLimits::default(), now).unwrap();
//! assert_eq!(batch.len(), 1);
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod access;
pub mod agreement;
pub mod canonical;
pub mod entry;
pub mod error;
pub mod evidence;
pub mod ids;
pub mod incident;
pub mod intake;
pub mod observation;
pub mod time;
pub mod track;
pub mod validate;

pub use agreement::Agreement;
pub use error::{FieldError, ParseError};
pub use ids::{IncidentId, ObservationId};
pub use incident::Incident;
pub use observation::{
    ArrivalGeometry, BearingGeometry, Geometry, Kind, Observation, PositionGeometry, Source,
    Subkind, UavGeometry, Weapon,
};
pub use time::Timestamp;
pub use validate::ValidObservation;
