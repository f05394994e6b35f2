//! Files another tool wrote: GDAL's `ogr2ogr` (Debian `gdal-bin`, installed by `.ci/run`)
//! rewrites a GeoJSON of points as RFC 7946 GeoJSON and as KML (its LIBKML driver, fields as
//! `ExtendedData/SchemaData`); truce imports each and gets the same observations.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use truce_core::Timestamp;
use truce_import::{Format, Provenance, parse};

const POINTS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[46.5,40.1]},"properties":{"kind":"explosion","count":2,"observed_at":"2026-11-20T10:00:00Z","accuracy_m":300,"reporter":"partner-1"}},
 {"type":"Feature","geometry":{"type":"Point","coordinates":[46.6,40.2]},"properties":{"kind":"burst","count":8,"observed_at":"2026-11-20T11:30:00Z","accuracy_m":150,"reporter":"partner-2"}}]}"#;

fn ogr2ogr(driver: &str, out: &std::path::Path, input: &std::path::Path) {
    let done = Command::new("ogr2ogr")
        .args(["-f", driver])
        .arg(out)
        .arg(input)
        .output()
        .expect("ogr2ogr (Debian: gdal-bin)");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

fn import(format: Format, bytes: &[u8]) -> Vec<(String, u32, String)> {
    let p = Provenance::of(bytes, format);
    let now = Timestamp::parse("2026-11-25T00:00:00Z").unwrap();
    let parsed = parse(format, bytes, &p, now).unwrap();
    parsed
        .observations
        .iter()
        .map(|o| {
            (
                o.kind.as_str().to_owned(),
                o.count,
                o.observed_at.to_string(),
            )
        })
        .collect()
}

#[test]
fn points_rewritten_by_gdal_as_geojson_and_kml_import_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("points.geojson");
    std::fs::write(&input, POINTS).unwrap();
    let ours = import(Format::GeoJson, POINTS.as_bytes());
    assert_eq!(ours.len(), 2);

    let geojson = dir.path().join("gdal.geojson");
    ogr2ogr("GeoJSON", &geojson, &input);
    assert_eq!(
        import(Format::GeoJson, &std::fs::read(&geojson).unwrap()),
        ours
    );

    let kml = dir.path().join("gdal.kml");
    ogr2ogr("LIBKML", &kml, &input);
    let text = std::fs::read(&kml).unwrap();
    assert!(
        String::from_utf8_lossy(&text).contains("SimpleData"),
        "GDAL wrote its fields as data"
    );
    assert_eq!(import(Format::Kml, &text), ours);
}
