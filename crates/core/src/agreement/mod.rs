//! The agreement the center monitors: sides, monitors, clauses with their rules, and zones.
//!
//! It is authored as a TOML file (zones as GeoJSON, in a file beside it or inline) and kept in
//! the record as one canonical JSON document ([`AgreementDoc`]), from which [`Agreement`] — the
//! form rules and fusion use, with parsed geometries — is rebuilt and re-checked on every load.

mod document;
mod toml_file;

pub use document::{AgreementDoc, ClauseDoc, LedgerDoc, MonitorDoc, Place, SideDoc};
pub use toml_file::parse_toml;

use crate::observation::Weapon;
use geo::{BoundingRect, Geometry, Rect};
use thiserror::Error;

/// Why an agreement was refused: the file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{file}: {location}: {message}")]
pub struct AgreementError {
    /// The file (or `stored agreement` when read back from the record).
    pub file: String,
    /// `line 12`, `feature 3 (id "corridor")`, `clause "4"`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

/// The kinds of zone an agreement draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// The line separating the sides' forces (a line, or a thin polygon).
    LineOfContact,
    /// A buffer or disengagement area.
    Buffer,
    /// A corridor under special protection.
    Corridor,
    /// Where a monitor is responsible for monitoring.
    AreaOfResponsibility,
    /// The area a side controls.
    ControlledBy,
    /// An area where listed weapon classes may not be.
    Exclusion,
}

impl ZoneKind {
    /// The contract's name (`line_of_contact`).
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::LineOfContact => "line_of_contact",
            ZoneKind::Buffer => "buffer",
            ZoneKind::Corridor => "corridor",
            ZoneKind::AreaOfResponsibility => "area_of_responsibility",
            ZoneKind::ControlledBy => "controlled_by",
            ZoneKind::Exclusion => "exclusion",
        }
    }
}

/// What a clause forbids, in a form the rules engine evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Any act of fire inside the listed zones (all areas of responsibility when none are
    /// listed, and anywhere when the agreement has none) breaks the clause.
    Ceasefire {
        /// Zone ids; empty means the agreement's whole area.
        zones: Vec<String>,
    },
    /// Any of the listed weapon classes inside the listed exclusion zones (all exclusion zones
    /// when none are listed) breaks the clause.
    Exclusion {
        /// Forbidden weapon classes.
        weapons: Vec<Weapon>,
        /// Zone ids; empty means every zone of kind `exclusion`.
        zones: Vec<String>,
    },
    /// A clause the engine records but does not test automatically.
    Manual,
}

/// A clause, with its rule parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Identifier used in findings (`"1"`, `"ceasefire"`).
    pub id: String,
    /// Short title.
    pub title: String,
    /// The rule the engine applies.
    pub rule: Rule,
}

/// A zone with its geometry in WGS84 longitude/latitude degrees (x = lon, y = lat).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Unique id within the agreement.
    pub id: String,
    /// A name for maps and reports.
    pub name: String,
    /// What the zone is.
    pub kind: ZoneKind,
    /// The side it belongs to (controlled areas).
    pub side: Option<String>,
    /// The monitor it belongs to (areas of responsibility).
    pub monitor: Option<String>,
    /// The geometry, x = longitude, y = latitude, degrees.
    pub geometry: Geometry<f64>,
    /// Its bounding box, for a cheap first test.
    pub bounds: Rect<f64>,
}

/// A checked agreement: every reference resolves, every geometry is valid WGS84.
#[derive(Debug, Clone)]
pub struct Agreement {
    /// The canonical document it was built from (what the record stores).
    pub doc: AgreementDoc,
    /// Clauses with parsed rules, in document order.
    pub clauses: Vec<Clause>,
    /// Zones with parsed geometries, in document order.
    pub zones: Vec<Zone>,
}

impl Agreement {
    /// Checks `doc` and builds the working form. `file` names the source in errors.
    pub fn from_doc(doc: AgreementDoc, file: &str) -> Result<Self, AgreementError> {
        document::check(doc, file)
    }

    /// The zone with id `id`.
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.id == id)
    }

    /// The name of side `id`, if it is one of the agreement's sides.
    pub fn side_name(&self, id: &str) -> Option<&str> {
        self.doc
            .sides
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.as_str())
    }
}

pub(crate) fn bounds_of(geometry: &Geometry<f64>) -> Option<Rect<f64>> {
    geometry.bounding_rect()
}
