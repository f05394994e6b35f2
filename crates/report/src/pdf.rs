//! The report as a PDF, typeset by typst used as a library: the document ([`crate::doc`]) is
//! handed to a fixed template (`report.typ`) as JSON, so no text from the record is ever read
//! as markup. Fonts are typst's own (Libertinus Serif, DejaVu Sans Mono: both cover Cyrillic),
//! compiled into the binary, so the same record gives the same bytes on every machine.

use crate::doc::Document;
use std::collections::HashMap;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::layout::PagedDocument;
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

/// The template every report is set with.
const TEMPLATE: &str = include_str!("report.typ");

/// Why the PDF could not be made (a fault of truce's template, never of the record).
#[derive(Debug, thiserror::Error)]
#[error("typesetting the PDF: {0}")]
pub struct PdfError(String);

impl PdfError {
    fn from_diagnostics(diagnostics: &[SourceDiagnostic]) -> Self {
        let messages: Vec<String> = diagnostics.iter().map(|d| d.message.to_string()).collect();
        Self(messages.join("; "))
    }
}

/// The fonts, read once per process.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: std::sync::OnceLock<(LazyHash<FontBook>, Vec<Font>)> = std::sync::OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

fn library() -> &'static LazyHash<Library> {
    static LIBRARY: std::sync::OnceLock<LazyHash<Library>> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::default()))
}

/// The world one report is typeset in: the template, the document as `/data.json`, nothing
/// else (no file system, no packages, no clock).
struct ReportWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(id.vpath().as_rootless_path().into()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().as_rootless_path().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        // No clock: a report's bytes depend on the record alone.
        None
    }
}

/// `YYYY-MM-DDTHH:MM:SS…` as a typst date and time.
fn datetime(rfc3339: &str) -> Option<Datetime> {
    let n = |range: std::ops::Range<usize>| rfc3339.get(range)?.parse::<u32>().ok();
    Datetime::from_ymd_hms(
        i32::try_from(n(0..4)?).ok()?,
        u8::try_from(n(5..7)?).ok()?,
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(11..13)?).ok()?,
        u8::try_from(n(14..16)?).ok()?,
        u8::try_from(n(17..19)?).ok()?,
    )
}

/// The report document as an A4 PDF/A-3b: tables whose headers repeat on every page they
/// span, "page X of Y" with the record's size and root in every footer, the map as vectors,
/// fonts embedded and subset, the document attached as `report-data.json`. The same document
/// gives the same bytes.
pub fn render(document: &Document) -> Result<Vec<u8>, PdfError> {
    let data = serde_json::to_vec(document).map_err(|e| PdfError(e.to_string()))?;
    let main = Source::new(
        FileId::new(None, VirtualPath::new("/report.typ")),
        TEMPLATE.to_owned(),
    );
    let world = ReportWorld {
        main,
        files: HashMap::from([(
            FileId::new(None, VirtualPath::new("/data.json")),
            Bytes::new(data),
        )]),
    };
    let compiled = typst::compile::<PagedDocument>(&world);
    let paged = compiled
        .output
        .map_err(|diagnostics| PdfError::from_diagnostics(&diagnostics))?;
    let date = datetime(&document.date)
        .ok_or_else(|| PdfError(format!("date {:?} is not RFC 3339", document.date)))?;
    let standards = PdfStandards::new(&[PdfStandard::A_3b]).map_err(|e| PdfError(e.to_string()))?;
    let options = PdfOptions {
        ident: Smart::Custom(&document.ident),
        timestamp: Some(Timestamp::new_utc(date)),
        page_ranges: None,
        standards,
        tagged: true,
    };
    typst_pdf::pdf(&paged, &options).map_err(|diagnostics| PdfError::from_diagnostics(&diagnostics))
}

/// The report as a PDF.
pub fn pdf(r: &crate::Report) -> Result<Vec<u8>, PdfError> {
    render(&crate::doc::document(r))
}
