//! Files from outside into the record: each row or feature becomes an observation with
//! `source: import`, its `via` naming the format, the file's SHA-256 and who imported it.
//!
//! - [`Format::AcledCsv`]: ACLED's CSV export ([`acled`]); precision codes widen the accuracy.
//! - [`Format::GeoJson`]: Point features with the observation's fields as properties (truce's
//!   own export's `observation` layer reads back).
//! - [`Format::Kml`]: Placemarks with a Point, fields from their extended data.
//! - [`Format::Cot`]: CoT events, as the TAK listeners take them.
//!
//! Guarantees: [`parse`] reads the whole file and returns every observation, validated, or
//! every bad row with its line, column and reason: a file is all or nothing. Each observation
//! carries a client id derived from its row's identity (ACLED's event id and timestamp, a
//! feature's id or content, a CoT event's uid and time), so importing the same file twice adds
//! nothing. Files over [`MAX_BYTES`] or [`MAX_ROWS`] rows are refused before any parsing.

mod acled;
mod cot;
mod geojson_in;
mod kml_in;

use sha2::{Digest, Sha256};
use truce_core::validate::{ValidObservation, limits::NAME_BYTES, validate};
use truce_core::{Observation, Timestamp};
use uuid::Uuid;

/// Largest file, bytes.
pub const MAX_BYTES: usize = 128 * 1024 * 1024;
/// Most rows or features in one file.
pub const MAX_ROWS: usize = 250_000;

/// Namespace of the client ids of imported rows.
const NAMESPACE: Uuid = Uuid::from_u128(0x8d2e_41a7_0c55_4f0b_9b3e_6a1d_f27c_9e04);

/// An import format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ACLED's CSV export.
    AcledCsv,
    /// GeoJSON Point features.
    GeoJson,
    /// CoT XML events.
    Cot,
    /// KML Placemarks with a Point.
    Kml,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 4] = [Format::AcledCsv, Format::GeoJson, Format::Kml, Format::Cot];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::AcledCsv => "acled-csv",
            Format::GeoJson => "geojson",
            Format::Cot => "cot",
            Format::Kml => "kml",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One bad row: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// What `line` counts: `line` (CSV, from 1), `feature` (GeoJSON, from 0) or `event`
    /// (CoT, from 1).
    pub unit: &'static str,
    /// Where the row is.
    pub line: u64,
    /// The column, property or element at fault, when one is.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{} {}, {c}: {}", self.unit, self.line, self.reason),
            None => write!(f, "{} {}: {}", self.unit, self.line, self.reason),
        }
    }
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Too large, or not the format at all.
    #[error("{0}")]
    File(String),
    /// Rows that cannot be observations; none of the file was taken.
    #[error("{} bad rows; nothing was imported. {}", .0.len(), .0.iter().take(20).map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rows(Vec<RowError>),
}

/// Where an import comes from: the server's word, put into every observation's `via`.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// `import <format> sha256:<first 16 hex>`: the same for the same bytes, whoever imports
    /// them under whatever name, so a second import is recognised rather than refused.
    pub via: String,
    /// The file's SHA-256, hex.
    pub sha256: String,
}

impl Provenance {
    /// The provenance of `bytes` imported as `format`.
    pub fn of(bytes: &[u8], format: Format) -> Self {
        let sha256 = truce_core::entry::hex(&Sha256::digest(bytes));
        let via = format!("import {} sha256:{}", format.name(), &sha256[..16]);
        debug_assert!(via.len() <= NAME_BYTES);
        Self { via, sha256 }
    }
}

/// The client id of the row whose identity is `key` in the file `provenance` describes: the
/// same bytes give the same ids whoever imports them under whatever name; another file's row
/// with the same key (features numbered 0, 1, 2… in unrelated files) is another observation.
pub(crate) fn client_id(provenance: &Provenance, format: Format, key: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{}:{}:{key}", format.name(), provenance.sha256).as_bytes(),
    )
}

/// A time as RFC 3339, or as GDAL writes a DateTime field (`2026/11/20 10:00:00+00`, as
/// `ogr2ogr` does into KML and GeoJSON): GIS tools hand files on in that form.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse(text) {
        return Some(t);
    }
    let (date, rest) = text.trim().split_once(' ')?;
    let date = date.replace('/', "-");
    // The zone: `+HH`, `+HHMM` or `+HH:MM` (`-` too), or none (taken as UTC).
    let (clock, zone) = match rest.rfind(['+', '-']) {
        Some(i) if i >= 5 => (&rest[..i], &rest[i..]),
        _ => (rest, "Z"),
    };
    let zone = match zone.len() {
        3 => format!("{zone}:00"),
        5 if !zone.contains(':') => format!("{}:{}", &zone[..3], &zone[3..]),
        _ => zone.to_owned(),
    };
    Timestamp::parse(&format!("{date}T{clock}{zone}")).ok()
}

/// Validates `o` for row `line`, naming the source column `column_of` gives for a field.
pub(crate) fn checked(
    o: Observation,
    unit: &'static str,
    line: u64,
    now: Timestamp,
    column_of: impl Fn(&str) -> Option<String>,
) -> Result<ValidObservation, RowError> {
    validate(o, now).map_err(|e| RowError {
        unit,
        line,
        column: column_of(&e.field).or(Some(e.field.clone())),
        reason: e.message,
    })
}

/// What a file gave.
#[derive(Debug)]
pub struct Parsed {
    /// Every row's observations, validated.
    pub observations: Vec<ValidObservation>,
    /// Rows that are not observations and were passed over: truce's own incidents, ellipses
    /// and zones, bearings' observer points, CoT events that are not reports.
    pub passed_over: usize,
}

/// What one format's reader found: observations, bad rows, rows passed over.
pub(crate) type Read = (Vec<ValidObservation>, Vec<RowError>, usize);

/// Reads `bytes` as `format`: every observation, validated at `now` and carrying
/// `provenance`, or every bad row.
pub fn parse(
    format: Format,
    bytes: &[u8],
    provenance: &Provenance,
    now: Timestamp,
) -> Result<Parsed, ImportError> {
    if bytes.len() > MAX_BYTES {
        return Err(ImportError::File(format!(
            "{} bytes; an import is at most {MAX_BYTES}",
            bytes.len()
        )));
    }
    let (observations, errors, passed_over) = match format {
        Format::AcledCsv => acled::parse(bytes, provenance, now)?,
        Format::GeoJson => geojson_in::parse(bytes, provenance, now)?,
        Format::Cot => cot::parse(bytes, provenance, now)?,
        Format::Kml => kml_in::parse(bytes, provenance, now)?,
    };
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    if observations.is_empty() {
        return Err(ImportError::File(format!(
            "the file holds no rows to import ({passed_over} passed over as not observations)"
        )));
    }
    Ok(Parsed {
        observations,
        passed_over,
    })
}
