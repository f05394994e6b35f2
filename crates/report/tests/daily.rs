//! The daily report from a simulated day: its figures agree with the record they come from,
//! it is the same bytes when made twice, Russian is Russian, and a bad request names its
//! field.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use truce_core::Timestamp;
use truce_core::agreement::parse_toml;
use truce_core::validate::validate;
use truce_engine::{Engine, record_agreement};
use truce_report::{Lang, Request};
use truce_store::{Durability, SqliteStore, Store};

const AGREEMENT_TOML: &str = include_str!("../../cli/demo/agreement.toml");
const ZONES_GEOJSON: &str = include_str!("../../cli/demo/zones.geojson");
const SCENARIO_TOML: &str = include_str!("../../cli/demo/scenario.toml");

/// A record with the demo agreement in force from 2026-11-01 and two days of simulated
/// events: `first` on 2026-11-19 (before the 19:30 cut-off), `second` on 2026-11-20.
fn record(first: usize, second: usize) -> (tempfile::TempDir, Arc<Engine>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Process).unwrap();
    let agreement = parse_toml(AGREEMENT_TOML, "agreement.toml", &|_| {
        Ok(ZONES_GEOJSON.to_string())
    })
    .unwrap();
    record_agreement(
        &store,
        &agreement,
        Timestamp::parse("2026-11-01T00:00:00Z").unwrap(),
    )
    .unwrap();
    let engine = Arc::new(Engine::open(Arc::new(store) as Arc<dyn Store>).unwrap());
    let scenario = truce_sim::Scenario::from_toml(SCENARIO_TOML).unwrap();
    let mut generator = truce_sim::Generator::new(scenario, 3);
    for (day, n) in [
        ("2026-11-19T20:00:00Z", first),
        ("2026-11-20T08:00:00Z", second),
    ] {
        let start = Timestamp::parse(day).unwrap();
        for k in 0..n {
            let t = start.plus_seconds(k as f64 * 300.0);
            let now = t.plus_seconds(60.0);
            let batch: Vec<_> = generator
                .event(t)
                .into_iter()
                .map(|o| validate(o, now).unwrap())
                .collect();
            engine.submit(batch, now).unwrap();
        }
    }
    (dir, engine)
}

#[test]
fn the_figures_are_the_records_and_the_bytes_are_stable() {
    let (_dir, engine) = record(12, 40);
    let request = Request::parse("2026-11-20", Some("19:30"), "en").unwrap();
    let report = truce_report::build(engine.store().as_ref(), &request).unwrap();
    // The period: 2026-11-19 19:30 to 2026-11-20 19:30 holds every event of both batches
    // (the first starts at 20:00 on the 19th).
    let all = engine
        .store()
        .incidents_by_id(&truce_store::IncidentFilter::default(), 0, 10_000)
        .unwrap();
    assert_eq!(report.annex.len(), all.len());
    let violations: u64 = all
        .iter()
        .filter(|i| !i.estimate.findings.is_empty())
        .map(|i| u64::from(i.estimate.count))
        .sum();
    assert!(violations > 0, "the simulated day has violations");
    assert_eq!(report.total.violations, violations);
    let by_area: u64 = report.areas.iter().map(|a| a.incidents).sum();
    assert!(
        by_area >= report.total.incidents,
        "each violation is in an area or outside"
    );
    assert_eq!(report.total.previous, 0, "nothing before the period");
    let areas: Vec<_> = report.areas.iter().filter(|a| a.zone.is_some()).collect();
    assert!(areas.iter().all(|a| a.covered_permille.is_some()));
    assert!(
        areas.iter().any(|a| a
            .covered_permille
            .is_some_and(|[loud, small]| loud > 0 && small <= loud)),
        "the simulated posts and sensors cover part of an area, less for small arms"
    );
    let html = truce_report::html(&report);
    for row in &report.annex {
        assert!(
            html.contains(&format!("<tr><td class=n>{}</td>", row.id)),
            "incident {} in the annex",
            row.id
        );
    }
    assert!(html.contains("ILLUSTRATIVE"));
    assert!(html.contains("<svg") && html.contains("km</text>"));
    assert!(html.contains(&report.anchor.root));
    // The same record, the same request: the same bytes.
    let again =
        truce_report::html(&truce_report::build(engine.store().as_ref(), &request).unwrap());
    assert_eq!(html, again);
}

#[test]
fn the_header_names_the_monitors_whose_witnesses_cosigned_the_checkpoint() {
    let (_dir, engine) = record(2, 2);
    let store = engine.store();
    let size = store.head().unwrap().size;
    store.add_checkpoint(size, b"origin\n5\nAAAA\n\n").unwrap();
    let request = Request::parse("2026-11-20", Some("19:30"), "en").unwrap();
    let header = |store: &dyn Store| {
        truce_report::build(store, &request)
            .unwrap()
            .anchor
            .checkpoint
            .unwrap()
    };
    assert_eq!(
        header(store.as_ref()).2,
        Vec::<String>::new(),
        "none cosigned yet"
    );
    store
        .add_cosignature(size, "m2", "\u{2014} w BBBB\n")
        .unwrap();
    let (at, _, cosigners) = header(store.as_ref());
    assert_eq!(at, size);
    assert_eq!(cosigners, vec!["Monitor 2".to_string()]);
}

#[test]
fn the_previous_period_is_compared_and_the_report_speaks_russian() {
    let (_dir, engine) = record(10, 10);
    // Cut-off at 12:00 on the 20th: the first batch (evening of the 19th) and part of the
    // second are in the period; a report for the 21st has them all as its previous period.
    let request = Request::parse("2026-11-21", Some("12:00"), "ru").unwrap();
    assert_eq!(request.lang, Lang::Ru);
    let report = truce_report::build(engine.store().as_ref(), &request).unwrap();
    assert!(report.annex.is_empty(), "nothing was seen on the 21st");
    assert!(report.total.previous > 0, "the 20th is the previous period");
    let html = truce_report::html(&report);
    assert!(html.contains("<html lang=\"ru\">"));
    assert!(html.contains("Ежедневный отчёт") && html.contains("Нарушения по районам"));
    assert!(html.contains("ИЛЛЮСТРАТИВНО"));
    assert!(
        !html.contains("Violations by area"),
        "no English label left"
    );
}

#[test]
fn a_bad_request_names_its_field() {
    let field = |r: Result<Request, truce_report::ReportError>| match r.unwrap_err() {
        truce_report::ReportError::Invalid { field, .. } => field,
        other => panic!("{other}"),
    };
    assert_eq!(field(Request::parse("2026-02-30", None, "en")), "date");
    assert_eq!(field(Request::parse("20261120", None, "en")), "date");
    assert_eq!(
        field(Request::parse("2026-11-20", Some("24:00"), "en")),
        "cutoff"
    );
    assert_eq!(
        field(Request::parse("2026-11-20", Some("7:30"), "en")),
        "cutoff"
    );
    assert_eq!(field(Request::parse("2026-11-20", None, "fr")), "lang");
    let ok = Request::parse("2026-11-20", None, "en").unwrap();
    assert_eq!(ok.period_end().to_string(), "2026-11-20T19:30:00Z");
}

/// Runs poppler's `tool` (Debian `poppler-utils`, which `.ci/run` installs) and returns what
/// it printed.
fn poppler(tool: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian poppler-utils) could not run: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_pdf_is_typeset_with_repeated_headers_embedded_fonts_and_a_vector_map() {
    let (dir, engine) = record(12, 60);
    let request = Request::parse("2026-11-20", Some("19:30"), "en").unwrap();
    let report = truce_report::build(engine.store().as_ref(), &request).unwrap();
    let pdf = truce_report::pdf(&report).unwrap();
    assert_eq!(
        pdf,
        truce_report::pdf(&truce_report::build(engine.store().as_ref(), &request).unwrap())
            .unwrap(),
        "the same record gives the same bytes"
    );
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let file = path.to_str().unwrap();

    let info = poppler("pdfinfo", &[file]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        pages >= 3,
        "{} incidents fill several pages: {info}",
        report.annex.len()
    );
    assert!(info.contains("A4"), "{info}");

    let text = poppler("pdftotext", &["-layout", file, "-"]);
    for n in 1..=pages {
        assert!(
            text.contains(&format!("Page {n} of {pages}")),
            "page {n}'s footer says page {n} of {pages}"
        );
    }
    let root_prefix = &report.anchor.root[..16];
    assert!(
        report.anchor.checkpoint.is_none(),
        "this record has no checkpoint"
    );
    assert_eq!(
        text.matches(root_prefix).count(),
        pages + 1,
        "every footer names the record's root, as does the verification appendix"
    );
    // The annex spans pages; its header is repeated on each.
    let annex_pages = text
        .split('\u{c}')
        .filter(|page| page.contains("95% ellipse") && page.contains("Location"))
        .count();
    assert!(
        annex_pages >= 2,
        "the annex's header on {annex_pages} pages"
    );
    for row in &report.annex {
        assert!(
            text.contains(&row.place.as_ref().map_or("—".into(), |p| p.0.clone())),
            "incident {} is in the annex",
            row.id
        );
    }
    assert!(text.contains("ILLUSTRATIVE"));

    let fonts = poppler("pdffonts", &[file]);
    let faces: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(faces.len() >= 2, "{fonts}");
    for face in faces {
        let cols: Vec<&str> = face.split_whitespace().collect();
        let n = cols.len();
        assert_eq!(
            &cols[n - 5..n - 2],
            &["yes", "yes", "yes"],
            "embedded, subset, with a Unicode map: {face}"
        );
    }
    assert_eq!(
        poppler("pdfimages", &["-list", file]).lines().count(),
        2,
        "no raster image: the map is vector"
    );
    let attached = poppler("pdfdetach", &["-list", file]);
    assert!(attached.contains("report-data.json"), "{attached}");
}

#[test]
fn the_russian_pdf_is_in_russian_throughout() {
    let (dir, engine) = record(10, 10);
    let request = Request::parse("2026-11-20", Some("19:30"), "ru").unwrap();
    let report = truce_report::build(engine.store().as_ref(), &request).unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, truce_report::pdf(&report).unwrap()).unwrap();
    let text = poppler("pdftotext", &[path.to_str().unwrap(), "-"]);
    assert!(text.contains("Ежедневный отчёт"), "{text}");
    assert!(text.contains("Нарушения по районам"));
    assert!(text.contains("Стр. 1 из"));
    assert!(
        !text.contains("Violations by area"),
        "no English label left"
    );
}
