//! The daily report: what a joint monitoring center tells its readers about one reporting
//! period, every number derived from the record.
//!
//! - [`Request`]: the day, the cut-off time (the period runs from the previous day's cut-off
//!   to this day's, as the OSCE SMM's 19:30-to-19:30 reports did) and the language.
//! - [`build`]: reads the record and computes the [`Report`]: violations by area against the
//!   previous period, counts by kind and subkind, attribution by side and clause, each
//!   monitor's verdicts, access denials, running totals since the agreement took effect, the
//!   incident annex, and the checkpoint the figures rest on.
//! - [`doc::document`]: the report as a document in its language, which both renderings share:
//!   - [`html`]: one self-contained, print-ready HTML page;
//!   - [`pdf()`]: an A4 PDF/A-3b typeset by typst, its fonts embedded and subset, the map
//!     vector, the document itself attached as JSON.
//!
//!   Both carry a map of the zones and the period's incidents and ellipses that truce draws
//!   itself ([`map`]).
//!
//! Guarantees: the same record and request give the same bytes (no clock is read; the
//! generation time is the anchoring checkpoint's); the language is neutral (sides, monitors,
//! zones, clauses); an illustrative agreement is labelled so on every page.

pub mod coverage;
pub mod doc;
mod html;
mod i18n;
pub mod map;
mod model;
mod pdf;

pub use html::html;
pub use i18n::Lang;
pub use model::{
    Anchor, AnnexRow, AreaRow, CheckpointChoice, Report, SideRow, build, build_with,
    checkpoint_root,
};
pub use pdf::{PdfError, pdf};

use truce_core::Timestamp;

/// Which report to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The day the period ends on: year, month, day.
    pub date: (i32, u32, u32),
    /// The cut-off, minutes after midnight UTC (19:30 is 1170).
    pub cutoff_min: u32,
    /// The language.
    pub lang: Lang,
}

/// What makes the report's files: this truce and its typesetter (pinned exactly in
/// Cargo.toml). An issued report records it; a remake is promised byte for byte only by the
/// same.
pub const GENERATOR: &str = concat!("truce ", env!("CARGO_PKG_VERSION"), ", typst 0.14.2");

/// The OSCE SMM's cut-off: 19:30.
pub const DEFAULT_CUTOFF_MIN: u32 = 19 * 60 + 30;

impl Request {
    /// Reads `YYYY-MM-DD`, an optional `HH:MM` and `en` or `ru`; the error names the field.
    pub fn parse(date: &str, cutoff: Option<&str>, lang: &str) -> Result<Self, ReportError> {
        let bad = |field: &'static str, message: String| ReportError::Invalid { field, message };
        let parts: Vec<&str> = date.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad("date", format!("{date:?} is not YYYY-MM-DD")));
        };
        let (y, m, d) = match (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) {
            (Ok(y), Ok(m), Ok(d)) if y.to_string().len() == 4 => (y, m, d),
            _ => return Err(bad("date", format!("{date:?} is not YYYY-MM-DD"))),
        };
        if Timestamp::parse(&format!("{y:04}-{m:02}-{d:02}T00:00:00Z")).is_err() {
            return Err(bad(
                "date",
                format!("{date:?} is not a day of the calendar"),
            ));
        }
        let cutoff_min = match cutoff {
            None => DEFAULT_CUTOFF_MIN,
            Some(text) => {
                let parsed = text.split_once(':').and_then(|(h, m)| {
                    let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
                    (h < 24 && m < 60 && text.len() == 5).then_some(h * 60 + m)
                });
                parsed.ok_or_else(|| {
                    bad("cutoff", format!("{text:?} is not HH:MM (00:00 to 23:59)"))
                })?
            }
        };
        let lang = Lang::from_code(lang)
            .ok_or_else(|| bad("lang", format!("{lang:?} is not en or ru")))?;
        Ok(Self {
            date: (y, m, d),
            cutoff_min,
            lang,
        })
    }

    /// The day as `YYYY-MM-DD`.
    pub fn date_text(&self) -> String {
        let (y, m, d) = self.date;
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// The cut-off as `HH:MM`.
    pub fn cutoff_text(&self) -> String {
        format!("{:02}:{:02}", self.cutoff_min / 60, self.cutoff_min % 60)
    }

    /// When the period ends: the day at the cut-off, UTC.
    pub fn period_end(&self) -> Timestamp {
        let (y, m, d) = self.date;
        let midnight = Timestamp::parse(&format!("{y:04}-{m:02}-{d:02}T00:00:00Z"))
            .unwrap_or_else(|_| Timestamp::now());
        midnight.plus_seconds(f64::from(self.cutoff_min) * 60.0)
    }
}

/// A rendering of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML page.
    Html,
    /// An A4 PDF/A-3b.
    Pdf,
}

impl Format {
    /// The format named `html` or `pdf`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// Its name, as the `report` entry records it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

/// `report` rendered as `format`: the same report gives the same bytes.
pub fn render(report: &Report, format: Format) -> Result<Vec<u8>, PdfError> {
    match format {
        Format::Html => Ok(html(report).into_bytes()),
        Format::Pdf => pdf(report),
    }
}

/// The entry that records `bytes`, the report rendered as `format`, made from `report`, as
/// the answer to `request`.
pub fn issued(
    request: &Request,
    report: &Report,
    format: Format,
    bytes: &[u8],
) -> truce_engine::IssuedReport {
    truce_engine::IssuedReport {
        report: "daily".into(),
        date: request.date_text(),
        cutoff: request.cutoff_text(),
        lang: request.lang.code().into(),
        format: format.name().into(),
        sha256: truce_core::entry::sha256_hex(bytes),
        record_size: report.anchor.size,
        record_root: report.anchor.root.clone(),
        checkpoint_size: report.anchor.checkpoint.as_ref().map(|c| c.0),
        cosigned_by: report
            .anchor
            .checkpoint
            .as_ref()
            .map(|c| c.2.clone())
            .unwrap_or_default(),
        generator: GENERATOR.to_owned(),
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A request field out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The record could not be read.
    #[error("reading the record: {0}")]
    Store(#[from] truce_store::StoreError),
    /// The record holds no agreement, or one that does not check.
    #[error("the agreement: {0}")]
    Agreement(String),
    /// The selection could not be read.
    #[error("{0}")]
    Export(#[from] truce_export::ExportError),
    /// The PDF could not be typeset.
    #[error("{0}")]
    Pdf(#[from] PdfError),
}
