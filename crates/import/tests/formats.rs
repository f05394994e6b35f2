//! Each import format: what a row becomes, every bad row named with its place, and the same
//! file giving the same client ids (so a second import adds nothing).

#![allow(clippy::unwrap_used)]

use truce_core::Timestamp;
use truce_core::observation::{Geometry, Source};
use truce_import::{Format, ImportError, Provenance, parse};

fn now() -> Timestamp {
    Timestamp::parse("2026-11-25T00:00:00Z").unwrap()
}

fn import(format: Format, text: &str) -> Result<truce_import::Parsed, ImportError> {
    let p = Provenance::of(text.as_bytes(), format);
    parse(format, text.as_bytes(), &p, now())
}

const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n";

#[test]
fn acled_rows_become_positions_widened_by_their_precision() {
    let csv = format!(
        "{ACLED_HEADER}\
AZE1,2026-11-20,2026,1,Political violence,Explosions/Remote violence,Shelling/artillery/missile attack,Side A,,,,,,,,31,,,,,,Place,40.1234,46.5678,1,Local media,Other,\"Shelling, heard at night\",0,,1763600000\n\
AZE2,2026-11-21,2026,2,Political violence,Explosions/Remote violence,Air/drone strike,,,,,,,,,31,,,,,,Place,40.2,46.6,2,,,,2,,1763600001\n\
AZE3,2026-11-22,2026,1,Political violence,Battles,Armed clash,,,,,,,,,31,,,,,,Place,40.3,46.7,3,,,,0,,1763600002\n"
    );
    let parsed = import(Format::AcledCsv, &csv).unwrap();
    let o: Vec<_> = parsed.observations.iter().map(|v| (**v).clone()).collect();
    assert_eq!(
        o.len(),
        4,
        "three rows and a casualty report for the row with fatalities"
    );
    let radius = |i: usize| match &o[i].geometry {
        Geometry::Position(p) => p.accuracy_m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (radius(0), radius(1), radius(3)),
        (5_000.0, 25_000.0, 100_000.0)
    );
    assert_eq!(o[0].kind.as_str(), "explosion");
    assert_eq!(o[1].weapon.map(|w| w.as_str()), Some("uav"));
    assert_eq!((o[2].kind.as_str(), o[2].count), ("casualty", 2));
    assert_eq!(o[3].kind.as_str(), "burst");
    assert!(o.iter().all(|x| x.source == Source::Import));
    assert_eq!(o[0].observed_at.to_string(), "2026-11-20T12:00:00Z");
    let notes = o[1].notes.as_deref().unwrap();
    assert!(notes.contains("within the week"), "{notes}");
    assert!(
        o[0].notes
            .as_deref()
            .unwrap()
            .starts_with("Shelling, heard at night [ACLED AZE1")
    );
    assert_eq!(o[0].reporter, "acled:AZE1");
    assert!(
        o[0].via
            .as_deref()
            .unwrap()
            .starts_with("import acled-csv sha256:")
    );
    // The same file: the same client ids.
    let again = import(Format::AcledCsv, &csv).unwrap();
    let ids = |p: &truce_import::Parsed| -> Vec<_> {
        p.observations.iter().map(|v| v.client_id).collect()
    };
    assert_eq!(ids(&parsed), ids(&again));
}

#[test]
fn every_bad_acled_row_is_named_by_line_and_column_and_nothing_is_taken() {
    let csv = format!(
        "{ACLED_HEADER}\
OK1,2026-11-20,2026,1,,,Armed clash,,,,,,,,,,,,,,,,40.1,46.5,1,,,,0,,1\n\
B2,2026-11-31,2026,1,,,Armed clash,,,,,,,,,,,,,,,,40.1,46.5,1,,,,0,,1\n\
B3,2026-11-20,2026,3,,,Armed clash,,,,,,,,,,,,,,,,40.1,46.5,1,,,,0,,1\n\
B4,2026-11-20,2026,1,,,Armed clash,,,,,,,,,,,,,,,,north,46.5,1,,,,0,,1\n\
B5,2026-11-20,2026,1,,,Armed clash,,,,,,,,,,,,,,,,40.1,46.5,7,,,,0,,1\n\
B6,2026-11-20,2026,1,,,Armed clash,,,,,,,,,,,,,,,,40.1,246.5,1,,,,0,,1\n\
B7,2026-11-20,2026,1,,,Armed clash,,,,,,,,,,,,,,,,40.1,46.5,1,,,,many,,1\n"
    );
    let Err(ImportError::Rows(rows)) = import(Format::AcledCsv, &csv) else {
        panic!("the file must be refused")
    };
    let places: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r.line, r.column.as_deref().unwrap()))
        .collect();
    assert_eq!(
        places,
        [
            (3, "event_date"),
            (4, "time_precision"),
            (5, "latitude"),
            (6, "geo_precision"),
            (7, "longitude"),
            (8, "fatalities"),
        ]
    );
    let missing = import(Format::AcledCsv, "event_id_cnty,event_date\nA,2026-11-20\n");
    assert!(matches!(missing, Err(ImportError::File(m)) if m.contains("no column time_precision")));
}

#[test]
fn geojson_points_import_and_what_is_not_a_position_is_passed_over_or_refused() {
    let good = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","id":"f1","geometry":{"type":"Point","coordinates":[46.5,40.1]},
       "properties":{"kind":"explosion","subkind":"impact","weapon":"mortar","count":3,
                     "observed_at":"2026-11-20T10:00:00Z","accuracy_m":300,"reporter":"partner-7"}},
      {"type":"Feature","geometry":{"type":"Point","coordinates":[46.6,40.2]},
       "properties":{"layer":"observation","form":"bearing","kind":"shot","observed_at":"2026-11-20T10:00:00Z"}},
      {"type":"Feature","geometry":{"type":"Polygon","coordinates":[]},"properties":{"layer":"ellipse"}}]}"#;
    let parsed = import(Format::GeoJson, good).unwrap();
    assert_eq!((parsed.observations.len(), parsed.passed_over), (1, 2));
    let o = &*parsed.observations[0];
    assert_eq!(
        (o.kind.as_str(), o.count, o.reporter.as_str()),
        ("explosion", 3, "partner-7")
    );
    let bad = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","geometry":{"type":"LineString","coordinates":[[46,40],[47,41]]},"properties":{}},
      {"type":"Feature","geometry":{"type":"Point","coordinates":[46.5,40.1]},"properties":{"kind":"boom","observed_at":"2026-11-20T10:00:00Z","accuracy_m":10}},
      {"type":"Feature","geometry":{"type":"Point","coordinates":[46.5,40.1]},"properties":{"kind":"shot","observed_at":"2026-11-20T10:00:00Z"}},
      {"type":"Feature","geometry":{"type":"Point","coordinates":[46.5,95.0]},"properties":{"kind":"shot","observed_at":"2026-11-20T10:00:00Z","accuracy_m":10}}]}"#;
    let Err(ImportError::Rows(rows)) = import(Format::GeoJson, bad) else {
        panic!("refused")
    };
    let places: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| (r.line, r.column.as_deref().unwrap()))
        .collect();
    assert_eq!(
        places,
        [
            (0, "geometry"),
            (1, "properties.kind"),
            (2, "properties.accuracy_m"),
            (3, "geometry.coordinates[1]")
        ]
    );
    assert!(
        rows[0]
            .to_string()
            .starts_with("feature 0, geometry: a LineString")
    );
}

#[test]
fn cot_markers_import_as_the_tak_listener_reads_them() {
    let cot = r#"<?xml version="1.0"?><events>
<event version="2.0" uid="m-1" type="a-u-G" how="h-e" time="2026-11-20T10:00:00Z" start="2026-11-20T10:00:00Z" stale="2026-11-20T11:00:00Z"><point lat="40.3" lon="46.7" hae="0" ce="20" le="9999999"/><detail><contact callsign="OP 1"/><truce kind="explosion" count="2"/></detail></event>
<event version="2.0" uid="ANDROID-1" type="a-f-G-U-C" how="m-g" time="2026-11-20T10:00:00Z" start="2026-11-20T10:00:00Z" stale="2026-11-20T11:00:00Z"><point lat="40.3" lon="46.7" hae="0" ce="5" le="9"/><detail><takv platform="ATAK"/><contact callsign="P" endpoint="*:-1:stcp"/></detail></event>
<event version="2.0" uid="m-3" type="a-u-G" how="h-e" time="2026-11-20T10:00:00Z" start="2026-11-20T10:00:00Z" stale="2026-11-20T11:00:00Z"><point lat="140.3" lon="46.7" hae="0" ce="20" le="9999999"/><detail/></event>
</events>"#;
    let Err(ImportError::Rows(rows)) = import(Format::Cot, cot) else {
        panic!("the third event is out of range")
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 3);
    let ok = cot.replace("lat=\"140.3\"", "lat=\"40.31\"");
    let parsed = import(Format::Cot, &ok).unwrap();
    assert_eq!((parsed.observations.len(), parsed.passed_over), (2, 1));
    let o = &*parsed.observations[0];
    assert_eq!(
        (o.kind.as_str(), o.count, o.source),
        ("explosion", 2, Source::Import)
    );
}

#[test]
fn a_file_that_is_not_the_format_is_refused_with_where() {
    assert!(
        matches!(import(Format::GeoJson, "{\"type\":"), Err(ImportError::File(m)) if m.starts_with("line 1, column"))
    );
    assert!(
        matches!(import(Format::Cot, "hello"), Err(ImportError::File(m)) if m.contains("not CoT"))
    );
    assert!(matches!(
        import(Format::AcledCsv, ""),
        Err(ImportError::File(_))
    ));
}

#[test]
fn kml_placemarks_with_a_point_import_and_truces_own_incidents_are_passed_over() {
    let kml = r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark id="p1"><name>Post 4</name><description>Two impacts &amp; smoke</description>
  <TimeStamp><when>2026-11-20T10:00:00Z</when></TimeStamp>
  <ExtendedData><Data name="kind"><value>explosion</value></Data><Data name="count"><value>2</value></Data>
  <Data name="accuracy_m"><value>400</value></Data><Data name="weapon"><value>mortar</value></Data></ExtendedData>
  <Point><coordinates>46.7,40.3,0</coordinates></Point></Placemark>
<Placemark id="incident-7"><name>#7 explosion</name><MultiGeometry><Point><coordinates>46.7,40.3</coordinates></Point></MultiGeometry></Placemark>
<Placemark id="area"><name>An area</name><Polygon><outerBoundaryIs><LinearRing><coordinates>46,40 47,40 47,41 46,40</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Document></kml>"#;
    let parsed = import(Format::Kml, kml).unwrap();
    assert_eq!((parsed.observations.len(), parsed.passed_over), (1, 2));
    let o = &*parsed.observations[0];
    assert_eq!(
        (o.kind.as_str(), o.count, o.reporter.as_str()),
        ("explosion", 2, "Post 4")
    );
    assert_eq!(o.notes.as_deref(), Some("Two impacts & smoke"));
    assert_eq!(o.weapon.map(|w| w.as_str()), Some("mortar"));
    let bad = kml.replace("<value>400</value>", "<value>far</value>");
    let Err(ImportError::Rows(rows)) = import(Format::Kml, &bad) else {
        panic!("refused")
    };
    assert_eq!(
        (rows[0].line, rows[0].column.as_deref()),
        (3, Some("ExtendedData accuracy_m"))
    );
    let broken = kml.replace("</name><description>", "</nam><description>");
    assert!(
        matches!(import(Format::Kml, &broken), Err(ImportError::File(m)) if m.starts_with("line 3"))
    );
}

#[test]
fn rows_keyed_alike_in_different_files_are_different_observations_and_bad_numbers_are_refused() {
    let a = r#"{"type":"Feature","id":0,"geometry":{"type":"Point","coordinates":[46.5,40.1]},"properties":{"kind":"shot","observed_at":"2026-11-20T10:00:00Z","accuracy_m":50}}"#;
    let b = a.replace("46.5", "46.6");
    let id = |text: &str| import(Format::GeoJson, text).unwrap().observations[0].client_id;
    assert_ne!(id(a), id(&b), "feature 0 of two files");
    assert_eq!(id(a), id(a), "the same bytes, the same id");
    let shifted = a.replace("[46.5,40.1]", "[\"x\",46.5,40.1]");
    let Err(ImportError::Rows(rows)) = import(Format::GeoJson, &shifted) else {
        panic!("a non-number coordinate is refused, not shifted")
    };
    assert_eq!(rows[0].column.as_deref(), Some("geometry.coordinates"));
}
