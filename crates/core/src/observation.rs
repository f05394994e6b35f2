//! One raw report as the field sends it: what was seen or heard, when, by whom, and its geometry.
//!
//! These types are the wire form of the interface contract (DESIGN.md, "Observation"). They carry
//! no guarantee by themselves; [`crate::validate`] turns one into a [`crate::ValidObservation`].
//! Unknown fields are refused so that a misspelt field (`bearing_sigma` for `bearing_sigma_deg`)
//! is an error, not a silently missing value.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An explosion (impact, airburst or undetermined).
    Explosion,
    /// A burst of automatic fire.
    Burst,
    /// Single shots.
    Shot,
    /// A projectile seen or heard in flight.
    Projectile,
    /// A muzzle flash.
    MuzzleFlash,
    /// An illumination flare.
    Flare,
    /// An uncrewed aircraft seen.
    UavSighting,
    /// Movement of (heavy) weapons or vehicles.
    Movement,
    /// Damage found.
    Damage,
    /// A casualty reported.
    Casualty,
    /// Monitors denied access to a place, or their movement restricted.
    AccessDenial,
    /// Anything else; say what in `notes`.
    Other,
}

impl Kind {
    /// Every kind, in contract order.
    pub const ALL: [Kind; 12] = [
        Kind::Explosion,
        Kind::Burst,
        Kind::Shot,
        Kind::Projectile,
        Kind::MuzzleFlash,
        Kind::Flare,
        Kind::UavSighting,
        Kind::Movement,
        Kind::Damage,
        Kind::Casualty,
        Kind::AccessDenial,
        Kind::Other,
    ];

    /// The contract's name of the kind (`muzzle_flash`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Explosion => "explosion",
            Kind::Burst => "burst",
            Kind::Shot => "shot",
            Kind::Projectile => "projectile",
            Kind::MuzzleFlash => "muzzle_flash",
            Kind::Flare => "flare",
            Kind::UavSighting => "uav_sighting",
            Kind::Movement => "movement",
            Kind::Damage => "damage",
            Kind::Casualty => "casualty",
            Kind::AccessDenial => "access_denial",
            Kind::Other => "other",
        }
    }

    /// The kind named `name` in the contract, if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this kind is an act of fire, which a ceasefire clause forbids.
    pub fn is_fire(self) -> bool {
        matches!(
            self,
            Kind::Explosion | Kind::Burst | Kind::Shot | Kind::Projectile | Kind::MuzzleFlash
        )
    }
}

/// A refinement of the kind, as monitors record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subkind {
    /// An explosion where a round landed.
    Impact,
    /// An explosion in the air.
    Airburst,
    /// An explosion of undetermined type.
    Undetermined,
    /// Fire leaving (the observer heard or saw a weapon firing).
    Outgoing,
    /// Fire arriving (the observer heard or saw rounds land or pass).
    Incoming,
}

/// The weapon class, when the observer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weapon {
    /// Rifles, light machine guns.
    SmallArms,
    /// Heavy machine guns.
    HeavyMg,
    /// Grenade launchers.
    GrenadeLauncher,
    /// Mortars.
    Mortar,
    /// Tube artillery.
    Artillery,
    /// Tanks.
    Tank,
    /// Multiple-launch rocket systems.
    Mlrs,
    /// Air-defence weapons.
    AirDefence,
    /// Uncrewed aircraft.
    Uav,
    /// Could not be told.
    Unknown,
}

impl Weapon {
    /// The contract's name of the weapon class (`heavy_mg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Weapon::SmallArms => "small_arms",
            Weapon::HeavyMg => "heavy_mg",
            Weapon::GrenadeLauncher => "grenade_launcher",
            Weapon::Mortar => "mortar",
            Weapon::Artillery => "artillery",
            Weapon::Tank => "tank",
            Weapon::Mlrs => "mlrs",
            Weapon::AirDefence => "air_defence",
            Weapon::Uav => "uav",
            Weapon::Unknown => "unknown",
        }
    }
}

/// Who or what produced the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A static observer (observation post).
    #[default]
    Observer,
    /// A patrol on the move.
    Patrol,
    /// An uncrewed aircraft's crew.
    Uav,
    /// An unattended sensor.
    Sensor,
    /// A fixed camera.
    Camera,
    /// A file import.
    Import,
}

/// A point on WGS84 with its 95% horizontal accuracy radius in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserverPosition {
    /// Latitude, degrees north (WGS84).
    pub lat: f64,
    /// Longitude, degrees east (WGS84).
    pub lon: f64,
    /// Radius of the 95% circle around the point, metres.
    pub accuracy_m: f64,
}

/// An acoustic sensor's place and identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    /// The sensor's identity, stable across detections.
    pub id: String,
    /// Latitude, degrees north (WGS84).
    pub lat: f64,
    /// Longitude, degrees east (WGS84).
    pub lon: f64,
    /// Height above the ellipsoid, metres.
    pub alt_m: f64,
}

/// An aircraft's position and attitude at the moment of the sighting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aircraft {
    /// Latitude, degrees north (WGS84).
    pub lat: f64,
    /// Longitude, degrees east (WGS84).
    pub lon: f64,
    /// Height above the WGS84 ellipsoid, metres.
    pub alt_hae_m: f64,
    /// Heading of the body, degrees clockwise from true north.
    pub yaw_deg: f64,
    /// Nose up positive, degrees.
    pub pitch_deg: f64,
    /// Right wing down positive, degrees.
    pub roll_deg: f64,
}

/// The camera's pointing relative to the aircraft body.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gimbal {
    /// Clockwise from the nose, degrees.
    pub pan_deg: f64,
    /// Up positive, degrees (straight down is −90).
    pub tilt_deg: f64,
}

/// The event's own position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionGeometry {
    /// Latitude, degrees north (WGS84).
    pub lat: f64,
    /// Longitude, degrees east (WGS84).
    pub lon: f64,
    /// Radius of the 95% circle, metres.
    pub accuracy_m: f64,
}

/// A bearing from the observer, with an optional distance range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearingGeometry {
    /// Where the observer stood.
    pub observer: ObserverPosition,
    /// Direction to the event, degrees clockwise from true north, 0 to 360.
    pub bearing_deg: f64,
    /// One standard deviation of the bearing, degrees.
    pub bearing_sigma_deg: f64,
    /// Nearest distance the event can be, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_min_m: Option<f64>,
    /// Farthest distance the event can be, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_max_m: Option<f64>,
}

/// An acoustic sensor's time of arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalGeometry {
    /// The sensor.
    pub sensor: Sensor,
    /// When the onset reached the sensor (sub-second precision).
    pub arrival_time: Timestamp,
    /// One standard deviation of the arrival time, seconds.
    pub sigma_s: f64,
    /// Air temperature at the sensor, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
}

/// A UAV's pose and camera pointing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UavGeometry {
    /// The aircraft.
    pub aircraft: Aircraft,
    /// The camera gimbal.
    pub gimbal: Gimbal,
    /// Distance along the camera ray to the target, metres, when a rangefinder gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slant_range_m: Option<f64>,
    /// Height of the ground at the target above the ellipsoid, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_alt_m: Option<f64>,
}

/// Where the observation places the event, in one of the contract's four forms, tagged by
/// `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Geometry {
    /// `{"type":"position",…}`
    Position(PositionGeometry),
    /// `{"type":"bearing",…}`
    Bearing(BearingGeometry),
    /// `{"type":"arrival",…}`
    Arrival(ArrivalGeometry),
    /// `{"type":"uav",…}`
    Uav(UavGeometry),
}

impl Geometry {
    /// The contract's name of the geometry form.
    pub fn type_name(&self) -> &'static str {
        match self {
            Geometry::Position(_) => "position",
            Geometry::Bearing(_) => "bearing",
            Geometry::Arrival(_) => "arrival",
            Geometry::Uav(_) => "uav",
        }
    }
}

/// A file that backs the report, stored outside the record and addressed by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// The file's media type (`image/jpeg`).
    pub media_type: String,
    /// The file's name as the reporter knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One report, as submitted (fields and units as in the interface contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// The client's idempotency key: the same key again returns the original ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// What was seen or heard.
    pub kind: Kind,
    /// A refinement of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subkind: Option<Subkind>,
    /// The weapon class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weapon: Option<Weapon>,
    /// Rounds, explosions or vehicles; at least 1.
    #[serde(default = "one")]
    pub count: u32,
    /// When it happened (UTC).
    pub observed_at: Timestamp,
    /// The user or device that reported.
    pub reporter: String,
    /// What kind of reporter.
    #[serde(default)]
    pub source: Source,
    /// Where it happened, in one of four forms.
    pub geometry: Geometry,
    /// Free text, at most 4 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Files that back the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// The listener the report came through, set by the server, never by a client: e.g.
    /// `cot-tcp 0.0.0.0:8087 as mon1-observer` for a TAK stream bound by configuration to a
    /// member. Absent for reports posted to the HTTP API (whose token names the member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

fn one() -> u32 {
    1
}
