//! The CoT event model shared by the XML and protobuf codecs.

use crate::element::Element;

/// CoT's value for "no estimate" of `ce`, `le` or `hae` as ATAK-derived XML emitters write it
/// (pytak, node-cot); TAK's protobuf comments use 999999. Both, and anything above, mean none.
pub const UNKNOWN: f64 = 9_999_999.0;
/// The smallest value read as "no estimate".
pub const UNKNOWN_AT_LEAST: f64 = 999_999.0;

/// One CoT event: what (`kind`), where (`point`), when (`time`, `start`, `stale`), who
/// (`uid`), and its details.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Schema version, `2.0` for every TAK client.
    pub version: String,
    /// The sender's stable id for the thing described; a resend or update keeps it.
    pub uid: String,
    /// The CoT type, e.g. `a-h-G`, `b-m-p-s-m`, `u-rb-a`, `t-x-c-t`.
    pub kind: String,
    /// How the position was obtained (`m-g` machine GPS, `h-e` human estimate, `h-g-i-g-o`
    /// placed on a map).
    pub how: String,
    /// When the event was generated, milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// From when it is valid, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// When it expires, milliseconds since the Unix epoch.
    pub stale_ms: i64,
    /// Optional `access` attribute, kept as sent.
    pub access: Option<String>,
    /// Optional `qos` attribute, kept as sent.
    pub qos: Option<String>,
    /// Optional `opex` attribute, kept as sent.
    pub opex: Option<String>,
    /// Where.
    pub point: Point,
    /// Everything under `<detail>`.
    pub detail: Detail,
}

/// The event's position and its one-sigma errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude, degrees (WGS 84), within ±90.
    pub lat: f64,
    /// Longitude, degrees (WGS 84), within ±180.
    pub lon: f64,
    /// Height above the ellipsoid, metres; [`UNKNOWN`] when not known.
    pub hae: f64,
    /// Circular error, one sigma, metres; [`UNKNOWN`] when not known.
    pub ce: f64,
    /// Linear (vertical) error, one sigma, metres; [`UNKNOWN`] when not known.
    pub le: f64,
}

impl Point {
    /// A value of `hae`, `ce` or `le` as a number, or `None` where it says "no estimate".
    pub fn known(value: f64) -> Option<f64> {
        (value.is_finite() && value < UNKNOWN_AT_LEAST).then_some(value)
    }
}

/// The children of `<detail>`. The six that TAK protocol version 1 carries as typed fields
/// are parsed into them when the element has exactly those attributes and nothing else
/// inside; every other child (and any of the six that carries more) is kept whole, in order,
/// in `others` (the protobuf's `xmlDetail`). An element is never split between the two.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    /// `<contact endpoint callsign/>`.
    pub contact: Option<Contact>,
    /// `<__group name role/>`.
    pub group: Option<Group>,
    /// `<precisionlocation geopointsrc altsrc/>`.
    pub precision_location: Option<PrecisionLocation>,
    /// `<status battery/>`.
    pub status: Option<Status>,
    /// `<takv device platform os version/>`.
    pub takv: Option<Takv>,
    /// `<track speed course/>`.
    pub track: Option<Track>,
    /// Every other child, in the order sent.
    pub others: Vec<Element>,
}

impl Detail {
    /// The first child in `others` named `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.others.iter().find(|e| e.name == name)
    }
}

/// Who sent it, and where to reach them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// e.g. `*:-1:stcp` over a server stream, `192.168.1.10:4242:tcp` directly.
    pub endpoint: String,
    /// The sender's call sign.
    pub callsign: String,
}

/// The sender's team colour and role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// Team (colour) name, e.g. `Cyan`.
    pub name: String,
    /// Role, e.g. `Team Member`.
    pub role: String,
}

/// Where the position and height came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrecisionLocation {
    /// Source of the position, e.g. `GPS`, `USER`.
    pub geopointsrc: String,
    /// Source of the height, e.g. `GPS`, `DTED0`.
    pub altsrc: String,
}

/// The sending device's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// Battery charge, percent.
    pub battery: u32,
}

/// The sending client's software.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Takv {
    /// Device model.
    pub device: String,
    /// Client, e.g. `ATAK-CIV`.
    pub platform: String,
    /// Operating system.
    pub os: String,
    /// Client version.
    pub version: String,
}

/// Movement of the thing described.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Track {
    /// Speed over ground, m/s.
    pub speed: f64,
    /// Course over ground, degrees true.
    pub course: f64,
}
