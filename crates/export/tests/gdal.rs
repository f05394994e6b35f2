//! Every export format checked by tools truce shares no code with: GDAL's `ogrinfo` opens
//! each without a warning and finds what was written; `validate_gpkg.py` (GDAL's GeoPackage
//! validator) passes the GeoPackage with its extra checks as errors; `xmllint` validates the
//! KML against the OGC KML 2.2 schema (the XSDs shipped in PyPI's fastkml wheel); GeoJSON
//! survives a round trip through `ogr2ogr`'s RFC 7946 writer unchanged. Debian's `gdal-bin`,
//! `python3-gdal` and `libxml2-utils`, installed by `.ci/run`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use truce_core::Timestamp;
use truce_core::agreement::parse_toml;
use truce_core::validate::validate;
use truce_engine::{Engine, record_agreement};
use truce_export::{Dataset, Format, Selection};
use truce_store::{Durability, SqliteStore, Store};

const AGREEMENT_TOML: &str = include_str!("../../cli/demo/agreement.toml");
const ZONES_GEOJSON: &str = include_str!("../../cli/demo/zones.geojson");
const SCENARIO_TOML: &str = include_str!("../../cli/demo/scenario.toml");

/// A record of the demo agreement with `events` simulated events, and its folder.
fn record(events: usize) -> (tempfile::TempDir, Arc<Engine>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("truce.sqlite"), Durability::Process).unwrap();
    let agreement = parse_toml(AGREEMENT_TOML, "agreement.toml", &|_| {
        Ok(ZONES_GEOJSON.to_string())
    })
    .unwrap();
    let start = Timestamp::now().plus_seconds(-3600.0);
    record_agreement(&store, &agreement, start).unwrap();
    let engine = Arc::new(Engine::open(Arc::new(store) as Arc<dyn Store>).unwrap());
    let scenario = truce_sim::Scenario::from_toml(SCENARIO_TOML).unwrap();
    let mut generator = truce_sim::Generator::new(scenario, 7);
    for n in 0..events {
        let t = start.plus_seconds(n as f64 * 3.0);
        let batch: Vec<_> = generator
            .event(t)
            .into_iter()
            .map(|o| validate(o, t.plus_seconds(10.0)).unwrap())
            .collect();
        engine.submit(batch, t.plus_seconds(10.0)).unwrap();
    }
    (dir, engine)
}

fn dataset(engine: &Engine, selection: &Selection) -> Dataset {
    Dataset::load(engine.store().as_ref(), &engine.agreement().doc, selection).unwrap()
}

fn export(dir: &Path, data: &Dataset, format: Format) -> PathBuf {
    let path = dir.join(format!("export.{}", format.extension()));
    let _ = std::fs::remove_file(&path);
    if format == Format::Gpkg {
        truce_export::write_gpkg_file(data, &path).unwrap();
    } else {
        std::fs::write(&path, truce_export::write(format, data).unwrap()).unwrap();
    }
    path
}

/// Runs a tool, fails the test with its output unless it succeeds; returns stdout and stderr.
fn tool(program: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} (Debian: gdal-bin, python3-gdal, libxml2-utils): {e}")
        });
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "{program} {args:?}:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn no_warning(what: &str, stderr: &str) {
    assert!(
        !stderr.contains("Warning") && !stderr.contains("ERROR"),
        "{what}: {stderr}"
    );
}

/// `ogrinfo`'s summary value after `label` (e.g. `Feature Count: `) for each layer, in order.
fn summary(text: &str, label: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(label))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_geopackage_passes_gdals_validator_and_reads_back_what_was_written() {
    let (dir, engine) = record(40);
    let data = dataset(&engine, &Selection::default());
    let located = data
        .incidents
        .iter()
        .filter(|i| i.estimate.position.is_some())
        .count();
    assert!(located > 10, "the fixture has incidents: {located}");
    let path = export(dir.path(), &data, Format::Gpkg);
    let file = path.to_str().unwrap();
    tool(
        "python3",
        &[
            "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py",
            "-k",
            "--extra",
            "--warning-as-error",
            file,
        ],
    );
    let (out, err) = tool("ogrinfo", &["-ro", "-so", "-al", file]);
    no_warning("ogrinfo on the GeoPackage", &err);
    let layers = summary(&out, "Layer name: ");
    assert_eq!(
        layers,
        [
            "incidents",
            "ellipses",
            "observations",
            "zone_areas",
            "zone_lines",
            "layer_styles"
        ]
    );
    let counts = summary(&out, "Feature Count: ");
    assert_eq!(counts[0], data.incidents.len().to_string());
    let with_ellipse = data
        .incidents
        .iter()
        .filter(|i| i.estimate.position.is_some() && i.estimate.ellipse_95.is_some())
        .count();
    assert_eq!(counts[1], with_ellipse.to_string());
    assert_eq!(counts[2], data.observations.len().to_string());
    assert!(out.contains("first_seen: DateTime"), "{out}");
    // The header's envelope is what GDAL's ST_MinX reads: it must be the point itself.
    let (out, _) = tool(
        "ogrinfo",
        &[
            "-ro",
            file,
            "-sql",
            "SELECT COUNT(*) AS bad FROM incidents WHERE geom IS NOT NULL AND (ST_MinX(geom) != lon OR ST_MaxY(geom) != lat)",
        ],
    );
    assert!(out.contains("bad (Integer) = 0"), "{out}");
}

#[test]
fn the_kml_validates_against_the_ogc_schema_and_opens_in_gdal() {
    let (dir, engine) = record(25);
    let data = dataset(&engine, &Selection::default());
    let path = export(dir.path(), &data, Format::Kml);
    let schema = kml_schema();
    let (_, err) = tool(
        "xmllint",
        &[
            "--noout",
            "--schema",
            schema.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
    );
    assert!(err.contains("validates"), "{err}");
    let (out, err) = tool("ogrinfo", &["-ro", "-so", "-al", path.to_str().unwrap()]);
    no_warning("ogrinfo on the KML", &err);
    assert_eq!(summary(&out, "Layer name: "), ["Incidents", "Zones"]);
    let located = data
        .incidents
        .iter()
        .filter(|i| i.estimate.position.is_some())
        .count();
    assert_eq!(summary(&out, "Feature Count: ")[0], located.to_string());
}

#[test]
fn geojson_survives_ogr2ogrs_rfc_7946_writer_unchanged() {
    let (dir, engine) = record(25);
    let data = dataset(&engine, &Selection::default());
    let path = export(dir.path(), &data, Format::GeoJson);
    let (_, err) = tool("ogrinfo", &["-ro", "-so", "-al", path.to_str().unwrap()]);
    no_warning("ogrinfo on the GeoJSON", &err);
    let norm = dir.path().join("norm.geojson");
    let (_, err) = tool(
        "ogr2ogr",
        &[
            "-f",
            "GeoJSON",
            "-lco",
            "RFC7946=YES",
            norm.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
    );
    no_warning("ogr2ogr", &err);
    let ours: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let gdal: serde_json::Value = serde_json::from_slice(&std::fs::read(&norm).unwrap()).unwrap();
    let (a, b) = (
        ours["features"].as_array().unwrap(),
        gdal["features"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (fa, fb) in a.iter().zip(b) {
        // GDAL rewinds rings to the right-hand rule and rounds to 7 decimals: ours already are.
        assert_eq!(fa["geometry"]["coordinates"], fb["geometry"]["coordinates"]);
        assert_eq!(fa["properties"]["layer"], fb["properties"]["layer"]);
    }
    let layers: Vec<&str> = a
        .iter()
        .map(|f| f["properties"]["layer"].as_str().unwrap())
        .collect();
    for layer in ["incident", "ellipse", "observation", "zone"] {
        assert!(layers.contains(&layer), "{layer} missing");
    }
}

#[test]
fn both_csvs_open_in_gdal_with_typed_columns_and_geometry() {
    let (dir, engine) = record(25);
    let data = dataset(&engine, &Selection::default());
    let csv = export(dir.path(), &data, Format::Csv);
    let (out, err) = tool(
        "ogrinfo",
        &[
            "-ro",
            "-so",
            "-al",
            csv.to_str().unwrap(),
            "-oo",
            "GEOM_POSSIBLE_NAMES=ellipse_wkt",
            "-oo",
            "AUTODETECT_TYPE=YES",
        ],
    );
    no_warning("ogrinfo on the CSV", &err);
    assert_eq!(
        summary(&out, "Feature Count: ")[0],
        data.incidents.len().to_string()
    );
    assert!(
        out.contains("first_seen: DateTime") && out.contains("count: Integer"),
        "{out}"
    );
    let acled = dir.path().join("acled.csv");
    std::fs::write(
        &acled,
        truce_export::write(Format::AcledCsv, &data).unwrap(),
    )
    .unwrap();
    let (out, err) = tool(
        "ogrinfo",
        &[
            "-ro",
            "-so",
            "-al",
            acled.to_str().unwrap(),
            "-oo",
            "X_POSSIBLE_NAMES=longitude",
            "-oo",
            "Y_POSSIBLE_NAMES=latitude",
            "-oo",
            "AUTODETECT_TYPE=YES",
        ],
    );
    no_warning("ogrinfo on the ACLED CSV", &err);
    assert!(out.contains("Geometry: Point"), "{out}");
    assert!(
        out.contains("event_date: Date") && out.contains("geo_precision: Integer"),
        "{out}"
    );
    let header = std::fs::read_to_string(&acled).unwrap();
    let columns: Vec<&str> = header.lines().next().unwrap().split(',').collect();
    assert_eq!(columns.len(), 31);
}

#[test]
fn a_selection_keeps_what_it_says_and_the_same_record_gives_the_same_bytes() {
    let (_dir, engine) = record(30);
    let all = dataset(&engine, &Selection::default());
    let bbox = [46.5, 40.0, 47.5, 40.7];
    let some = dataset(
        &engine,
        &Selection {
            bbox: Some(bbox),
            ..Selection::default()
        },
    );
    assert!(some.incidents.len() < all.incidents.len() && !some.incidents.is_empty());
    for i in &some.incidents {
        let p = i.estimate.position.as_ref().unwrap();
        assert!(p.lon >= bbox[0] && p.lat >= bbox[1] && p.lon <= bbox[2] && p.lat <= bbox[3]);
    }
    let wanted: std::collections::HashSet<u64> = some
        .incidents
        .iter()
        .flat_map(|i| i.observation_ids.iter().map(|o| o.0))
        .collect();
    assert_eq!(some.observations.len(), wanted.len());
    for format in Format::ALL.into_iter().filter(|f| *f != Format::Gpkg) {
        let again = dataset(&engine, &Selection::default());
        assert_eq!(
            truce_export::write(format, &all).unwrap(),
            truce_export::write(format, &again).unwrap(),
            "{} is byte-stable",
            format.name()
        );
    }
}

/// The OGC KML 2.2 XSDs, from PyPI's fastkml 1.4.0 wheel (downloaded once into `target/`).
fn kml_schema() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kml-schema");
    let xsd = dir.join("fastkml/schema/ogckml22.xsd");
    if xsd.is_file() {
        return xsd;
    }
    let python = truce_peers::python();
    std::fs::create_dir_all(&dir).unwrap();
    tool(
        python.to_str().unwrap(),
        &[
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "fastkml==1.4.0",
            "-d",
            dir.to_str().unwrap(),
        ],
    );
    let unzip = "import glob, sys, zipfile\n\
                 d = sys.argv[1]\n\
                 w = glob.glob(d + '/fastkml-1.4.0-*.whl')[0]\n\
                 z = zipfile.ZipFile(w)\n\
                 [z.extract(n, d) for n in z.namelist() if n.startswith('fastkml/schema/')]";
    tool(
        python.to_str().unwrap(),
        &["-c", unzip, dir.to_str().unwrap()],
    );
    assert!(xsd.is_file(), "the KML schema was not unpacked");
    xsd
}
