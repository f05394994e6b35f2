//! The center's estimate of one real event, as the API serves it and the record keeps it.

use crate::ids::{IncidentId, ObservationId};
use crate::observation::{Kind, Subkind, Weapon};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An estimated position with its MGRS reference (1 m precision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentPosition {
    /// Latitude, degrees north (WGS84).
    pub lat: f64,
    /// Longitude, degrees east (WGS84).
    pub lon: f64,
    /// The same point in MGRS.
    pub mgrs: String,
}

/// The 95% confidence ellipse of a position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ellipse95 {
    /// Semi-major axis, metres.
    pub semi_major_m: f64,
    /// Semi-minor axis, metres.
    pub semi_minor_m: f64,
    /// Direction of the major axis, degrees clockwise from true north, 0 to 180.
    pub azimuth_deg: f64,
}

/// A 2x2 position covariance in the local east-north plane at the estimate, square metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CovarianceEn {
    /// Variance east, m².
    pub ee: f64,
    /// Covariance east-north, m².
    pub en: f64,
    /// Variance north, m².
    pub nn: f64,
}

/// One clause an incident appears to break, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The clause's id in the agreement.
    pub clause_id: String,
    /// Why, in words a report can quote.
    pub reason: String,
}

/// Which side, if any, the incident is attributed to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// A side id, or `"undetermined"`.
    pub side: String,
    /// Why: the zone and how the estimate lies in it, or what prevents attribution.
    pub reason: String,
}

impl Attribution {
    /// The value of `side` when no side can be named.
    pub const UNDETERMINED: &'static str = "undetermined";

    /// An attribution to no side, with the reason.
    pub fn undetermined(reason: impl Into<String>) -> Self {
        Self {
            side: Self::UNDETERMINED.into(),
            reason: reason.into(),
        }
    }
}

/// Where an incident stands in the joint verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Estimated by the center, not yet assessed by any monitor.
    Reported,
    /// At least one monitor has assessed it.
    UnderReview,
    /// Every monitor confirms it.
    JointlyConfirmed,
    /// At least one monitor disputes it.
    Disputed,
    /// Monitors could not determine it.
    Undetermined,
    /// Found to be the same event as another incident and folded into it (`merged_into`);
    /// kept in the record, never deleted.
    Merged,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [
        Status::Reported,
        Status::UnderReview,
        Status::JointlyConfirmed,
        Status::Disputed,
        Status::Undetermined,
        Status::Merged,
    ];

    /// The contract's name (`jointly_confirmed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::UnderReview => "under_review",
            Status::JointlyConfirmed => "jointly_confirmed",
            Status::Disputed => "disputed",
            Status::Undetermined => "undetermined",
            Status::Merged => "merged",
        }
    }
}

/// One monitor's verdict on an incident, as recorded. Every verdict ever given is kept; the
/// latest of each monitor is `current`, and earlier ones stay shown, never overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The monitor's id.
    pub monitor: String,
    /// `confirm`, `dispute` or `undetermined`.
    pub verdict: crate::access::Verdict,
    /// The monitor's reason.
    pub reason: String,
    /// The officer who gave it.
    pub user: String,
    /// When it was recorded.
    pub at: Timestamp,
    /// Whether it is the monitor's current verdict (a later one supersedes it).
    pub current: bool,
    /// Index of its entry in the record (its signed note is there).
    pub entry_index: u64,
}

/// An analyst's note on an incident, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// The analyst.
    pub user: String,
    /// The note.
    pub text: String,
    /// The kind the analyst corrected the incident to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_kind: Option<Kind>,
    /// When it was recorded.
    pub at: Timestamp,
    /// Index of its entry in the record.
    pub entry_index: u64,
}

/// Everything an incident revision states about the event (the part of an incident that the
/// record's revision entries carry; observation ids are carried as additions instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEstimate {
    /// What happened.
    pub kind: Kind,
    /// The refinement of the kind, when the observations give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<Subkind>,
    /// The weapon class, when the observations agree on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weapon: Option<Weapon>,
    /// Rounds, explosions or vehicles (the largest count reported).
    pub count: u32,
    /// Earliest observed time.
    pub first_seen: Timestamp,
    /// Latest observed time.
    pub last_seen: Timestamp,
    /// Best position, or none when the observations do not fix one yet.
    pub position: Option<IncidentPosition>,
    /// 95% ellipse of the position.
    pub ellipse_95: Option<Ellipse95>,
    /// Covariance of the position in the local east-north plane.
    pub covariance_m2: Option<CovarianceEn>,
    /// Ids of the agreement's zones containing the position.
    pub zones: Vec<String>,
    /// Clauses the event appears to break.
    pub findings: Vec<Finding>,
    /// The side it is attributed to.
    pub attribution: Attribution,
    /// Verification status.
    pub status: Status,
    /// Which kinds of measurement fixed the position (`bearings`, `arrivals`, `points`, joined
    /// by `+`); absent when there is no position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Observations of the incident that the estimate leaves out as outliers, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ExcludedObservation>,
    /// The incident this one was folded into, when association found them to be one event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<IncidentId>,
    /// How sure the position is: whether its covariance rests on the stated noise or was
    /// widened by the fit's own residuals, and with what redundancy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<UncertaintyBasis>,
    /// The source's height and how it was obtained, when acoustic arrivals fixed the position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_height: Option<SourceHeight>,
    /// When the sound was emitted, when acoustic arrivals fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emitted_at: Option<Timestamp>,
    /// Whether the incident only holds acoustic pulses not (yet) resolved into a round: a
    /// waiting room of the area's unplaced pulses (unrelated noise, echoes, too few sensors),
    /// not a claim that they are one event. Pulses leave it for the rounds that place them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unresolved: bool,
    /// When association left this report alone because more incidents than it can choose
    /// among were in its gates (events came faster than the reports tell them apart): how
    /// many were. The incident is that one report, not a claim that no other report saw its
    /// event; association joins nothing to it later (an analyst's merge may, and clears this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated: Option<u32>,
}

/// How the covariance of an estimate was checked against its residuals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UncertaintyBasis {
    /// `stated`: the reporters' sigmas, the residuals agreeing with them; `residuals`: widened
    /// because the residuals showed larger errors than stated; `unchecked`: too little
    /// redundancy to check the stated sigmas (the ellipse trusts them, but reaches where the
    /// source would be if any one measurement were wrong); `ambiguous`: another position fits
    /// about as well, and the ellipse holds it too.
    pub basis: String,
    /// Degrees of freedom of the fit (residuals minus unknowns).
    pub dof: i32,
    /// The fit's chi² per degree of freedom (about 1 when the stated sigmas are right), when
    /// there is redundancy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_variance: Option<f64>,
    /// The factor the stated covariance was multiplied by (1 when not widened).
    pub scale: f64,
}

/// A source height and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceHeight {
    /// Height above the ellipsoid, metres.
    pub alt_m: f64,
    /// One standard deviation, metres, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_m: Option<f64>,
    /// `estimated`: the arrivals resolved it; `surface`: taken from the surface the sensors
    /// describe (the geometry does not resolve it).
    pub basis: String,
}

/// An observation the estimate leaves out (an acoustic arrival from another path or shot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludedObservation {
    /// The observation.
    pub observation_id: ObservationId,
    /// Why it is left out, with the figures.
    pub reason: String,
}

/// An incident as the API serves it: the latest revision's estimate with all its observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The incident's number.
    pub id: IncidentId,
    /// How many revisions it has had (1 for a new incident).
    pub revision: u32,
    /// The latest estimate.
    #[serde(flatten)]
    pub estimate: IncidentEstimate,
    /// Every observation that contributed, in acceptance order.
    pub observation_ids: Vec<ObservationId>,
    /// Every monitor's verdicts, oldest first (`current` marks each monitor's latest).
    pub assessments: Vec<Assessment>,
    /// Analysts' notes and corrections, oldest first.
    #[serde(default)]
    pub annotations: Vec<Annotation>,
}
