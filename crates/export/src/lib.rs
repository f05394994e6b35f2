//! What leaves the center for analysts' tools: the record's incidents (with their 95% ellipses
//! as polygons), observations and the agreement's zones, in the formats GIS tools and
//! spreadsheets open.
//!
//! - [`Dataset::load`] reads a selection (time window, bounding box) from a store, with the
//!   record's size and root at the time, so every export says which state of the record it
//!   shows.
//! - [`write`] renders it: [`Format::GeoJson`] (RFC 7946), [`Format::Kml`] (OGC KML 2.2),
//!   [`Format::Csv`] (incidents, one row each), [`Format::AcledCsv`] (ACLED's 31 columns),
//!   [`Format::Gpkg`] (GeoPackage 1.3.1 written with the project's own SQLite, with QGIS
//!   styles), [`Format::Cot`] (the CoT events TAK clients are sent).
//!
//! Guarantees: the same dataset gives the same bytes (GeoPackage aside, whose SQLite file
//! carries no time but is not promised byte-stable); coordinates are WGS 84 longitude,
//! latitude; ellipse rings are closed and counter-clockwise; text cells a spreadsheet would
//! run as a formula are quoted harmless.

mod acled;
mod csv;
mod dataset;
mod ellipse;
mod fields;
mod geojson_out;
mod gpkg;
mod kml;

pub use dataset::{Dataset, Selection};
pub use ellipse::ellipse_ring;
pub use gpkg::write_file as write_gpkg_file;
pub use kml::esc as xml_escape;
use std::io::Write;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GeoJSON (RFC 7946): incidents, ellipses, observations and zones in one collection,
    /// told apart by the `layer` property.
    GeoJson,
    /// KML 2.2: incidents (point and ellipse) and zones, in folders, with a time span each.
    Kml,
    /// CSV: one row per incident, the ellipse as WKT.
    Csv,
    /// ACLED's CSV columns, one row per incident.
    AcledCsv,
    /// GeoPackage 1.3.1: layers `incidents`, `ellipses`, `observations`, `zones`, styled.
    Gpkg,
    /// CoT XML: each incident's marker and ellipse as TAK clients get them.
    Cot,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 6] = [
        Format::GeoJson,
        Format::Kml,
        Format::Csv,
        Format::AcledCsv,
        Format::Gpkg,
        Format::Cot,
    ];

    /// Its name on the command line and in `?format=`.
    pub fn name(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Kml => "kml",
            Format::Csv => "csv",
            Format::AcledCsv => "acled-csv",
            Format::Gpkg => "gpkg",
            Format::Cot => "cot",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::Kml => "application/vnd.google-earth.kml+xml",
            Format::Csv | Format::AcledCsv => "text/csv; charset=utf-8",
            Format::Gpkg => "application/geopackage+sqlite3",
            Format::Cot => "application/xml",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Kml => "kml",
            Format::Csv | Format::AcledCsv => "csv",
            Format::Gpkg => "gpkg",
            Format::Cot => "cot.xml",
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store could not be read.
    #[error("reading the record: {0}")]
    Store(#[from] truce_store::StoreError),
    /// The GeoPackage could not be written.
    #[error("writing the GeoPackage: {0}")]
    Gpkg(String),
    /// A reader thread stopped without an answer.
    #[error("reading the record: {0}")]
    Reader(String),
    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// Bytes a writer gathers before it hands them on.
pub(crate) const FLUSH_BYTES: usize = 1 << 20;

/// Hands `buffer` to `to` once it holds [`FLUSH_BYTES`].
pub(crate) fn flush_if_full(buffer: &mut Vec<u8>, to: &mut dyn Write) -> std::io::Result<()> {
    if buffer.len() >= FLUSH_BYTES {
        to.write_all(buffer)?;
        buffer.clear();
    }
    Ok(())
}

/// Hands `buffer` to `to` once it holds [`FLUSH_BYTES`].
pub(crate) fn flush_text_if_full(buffer: &mut String, to: &mut dyn Write) -> std::io::Result<()> {
    if buffer.len() >= FLUSH_BYTES {
        to.write_all(buffer.as_bytes())?;
        buffer.clear();
    }
    Ok(())
}

/// Renders `data` as `format` into memory.
pub fn write(format: Format, data: &Dataset) -> Result<Vec<u8>, ExportError> {
    if format == Format::Gpkg {
        return gpkg::write(data);
    }
    let mut out = Vec::new();
    write_to(format, data, &mut out)?;
    Ok(out)
}

/// Renders `data` as `format` into `to`, a megabyte at a time (a GeoPackage is a database
/// file: it goes through a temporary file).
pub fn write_to(format: Format, data: &Dataset, to: &mut dyn Write) -> Result<(), ExportError> {
    match format {
        Format::GeoJson => geojson_out::write(data, to)?,
        Format::Kml => kml::write(data, to)?,
        Format::Csv => csv::write_incidents(data, to)?,
        Format::AcledCsv => acled::write(data, to)?,
        Format::Gpkg => to.write_all(&gpkg::write(data)?)?,
        Format::Cot => cot(data, to)?,
    }
    Ok(())
}

/// Every located incident as the CoT events a TAK client is sent (marker and ellipse), in
/// one XML document, times fixed at the record's state so the bytes are stable.
fn cot(data: &Dataset, to: &mut dyn Write) -> std::io::Result<()> {
    let at_ms = data.anchor.at.unix_millis();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<events>\n");
    for incident in &data.incidents {
        for event in truce_tak::outgoing::incident_events(incident, at_ms) {
            out.push_str(&truce_cot::write_event(&event));
            out.push('\n');
        }
        flush_text_if_full(&mut out, to)?;
    }
    out.push_str("</events>\n");
    to.write_all(out.as_bytes())
}
