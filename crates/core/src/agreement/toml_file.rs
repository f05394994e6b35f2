//! Reading the agreement's TOML file. Errors name the file and the line (TOML) or the feature
//! (GeoJSON) at fault.

use super::{
    Agreement, AgreementDoc, AgreementError, ClauseDoc, LedgerDoc, MonitorDoc, Place, SideDoc,
};
use serde::Deserialize;

/// Largest agreement file or zones file accepted, bytes.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlAgreement {
    name: String,
    #[serde(default)]
    illustrative: bool,
    note: Option<String>,
    sides: Vec<SideDoc>,
    monitors: Vec<MonitorDoc>,
    #[serde(default)]
    clauses: Vec<ClauseDoc>,
    center: Option<Place>,
    default_temperature_c: Option<f64>,
    zones: TomlZones,
    ledger: Option<LedgerDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlZones {
    /// A GeoJSON file, relative to the TOML file.
    path: Option<String>,
    /// GeoJSON text inline.
    geojson: Option<String>,
}

/// Parses an agreement from TOML `text` read from `file`. `load` reads a zones file named in the
/// TOML (relative to the TOML file; the caller resolves it) and answers its text or why not.
pub fn parse_toml(
    text: &str,
    file: &str,
    load: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Agreement, AgreementError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(AgreementError {
            file: file.into(),
            location: "whole file".into(),
            message: format!("is {} bytes; at most {MAX_FILE_BYTES} allowed", text.len()),
        });
    }
    let raw: TomlAgreement = toml::from_str(text).map_err(|e| AgreementError {
        file: file.into(),
        location: e
            .span()
            .map(|span| format!("line {}", line_of(text, span.start)))
            .unwrap_or_else(|| "whole file".into()),
        message: e.message().to_string(),
    })?;
    let (zones_file, zones_text) = match (&raw.zones.path, &raw.zones.geojson) {
        (Some(path), None) => {
            let loaded = load(path).map_err(|message| AgreementError {
                file: path.clone(),
                location: "whole file".into(),
                message,
            })?;
            (path.clone(), loaded)
        }
        (None, Some(inline)) => (format!("{file} [zones].geojson"), inline.clone()),
        _ => {
            return Err(AgreementError {
                file: file.into(),
                location: "[zones]".into(),
                message: "give exactly one of path = \"zones.geojson\" or geojson = '''…'''".into(),
            });
        }
    };
    if zones_text.len() > MAX_FILE_BYTES {
        return Err(AgreementError {
            file: zones_file,
            location: "whole file".into(),
            message: format!(
                "is {} bytes; at most {MAX_FILE_BYTES} allowed",
                zones_text.len()
            ),
        });
    }
    let zones: geojson::FeatureCollection =
        serde_json::from_str(&zones_text).map_err(|e| AgreementError {
            file: zones_file.clone(),
            location: format!("line {} column {}", e.line(), e.column()),
            message: format!("not a GeoJSON FeatureCollection: {e}"),
        })?;
    let doc = AgreementDoc {
        name: raw.name,
        illustrative: raw.illustrative,
        note: raw.note,
        sides: raw.sides,
        monitors: raw.monitors,
        clauses: raw.clauses,
        center: raw.center,
        default_temperature_c: raw.default_temperature_c.unwrap_or(15.0),
        zones,
        ledger: raw.ledger,
    };
    Agreement::from_doc(doc, file).map_err(|mut e| {
        if e.location.starts_with("feature") {
            e.file = zones_file;
        }
        e
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONES: &str = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"id":"a-area","kind":"controlled_by","side":"a"},
       "geometry":{"type":"Polygon","coordinates":[[[46.0,39.0],[47.0,39.0],[47.0,40.0],[46.0,40.0],[46.0,39.0]]]}}]}"#;

    fn toml_with(zones: &str, extra: &str) -> String {
        format!(
            "name = \"Test\"\n{extra}\nsides = [{{id = \"a\", name = \"Side A\"}}, {{id = \"b\", name = \"Side B\"}}]\n\
             monitors = [{{id = \"m1\", name = \"Monitor 1\"}}]\n\
             [[clauses]]\nid = \"1\"\ntitle = \"Ceasefire\"\ntext = \"No fire.\"\nrule = \"ceasefire\"\n\
             [zones]\n{zones}\n"
        )
    }

    fn no_files(_: &str) -> Result<String, String> {
        Err("no files in this test".into())
    }

    #[test]
    fn inline_zones_parse() {
        let text = toml_with(&format!("geojson = '''{ZONES}'''"), "");
        let a = parse_toml(&text, "t.toml", &no_files).unwrap();
        assert_eq!(a.zones.len(), 1);
        assert_eq!(a.zones[0].side.as_deref(), Some("a"));
        assert_eq!(a.clauses.len(), 1);
    }

    #[test]
    fn zones_file_is_loaded_through_the_callback() {
        let text = toml_with("path = \"z.geojson\"", "");
        let load = |p: &str| {
            assert_eq!(p, "z.geojson");
            Ok(ZONES.to_string())
        };
        assert!(parse_toml(&text, "t.toml", &load).is_ok());
    }

    #[test]
    fn toml_error_names_the_line() {
        let text = toml_with(&format!("geojson = '''{ZONES}'''"), "illustrative = maybe");
        let e = parse_toml(&text, "t.toml", &no_files).unwrap_err();
        assert_eq!(e.file, "t.toml");
        assert_eq!(e.location, "line 2");
    }

    #[test]
    fn unknown_side_names_the_feature_and_zones_file() {
        let zones = ZONES.replace("\"side\":\"a\"", "\"side\":\"c\"");
        let text = toml_with("path = \"z.geojson\"", "");
        let e = parse_toml(&text, "t.toml", &|_| Ok(zones.clone())).unwrap_err();
        assert_eq!(e.file, "z.geojson");
        assert_eq!(e.location, "feature 0 (id \"a-area\")");
        assert!(e.message.contains("side \"c\""));
    }

    #[test]
    fn out_of_range_coordinate_is_refused() {
        let zones = ZONES.replace("[47.0,40.0]", "[47.0,140.0]");
        let text = toml_with(&format!("geojson = '''{zones}'''"), "");
        let e = parse_toml(&text, "t.toml", &no_files).unwrap_err();
        assert!(e.message.contains("outside WGS84"), "{e}");
    }

    /// Found by fuzzing (`fuzz/regressions/agreement/position-with-one-coordinate`): the geojson
    /// crate's conversion panicked on a position of one number.
    #[test]
    fn a_position_with_one_coordinate_is_refused_not_a_panic() {
        for short in ["[46.0]", "[]"] {
            let zones = ZONES.replace("[47.0,40.0]", short);
            let text = toml_with(&format!("geojson = '''{zones}'''"), "");
            let e = parse_toml(&text, "t.toml", &no_files).unwrap_err();
            assert_eq!(e.location, "feature 0 (id \"a-area\")", "{e}");
            assert!(e.message.contains("needs longitude and latitude"), "{e}");
        }
        // Height and a measure after them, as GIS tools write, are fine.
        let zones = ZONES.replace("[47.0,40.0]", "[47.0,40.0,120.0,3.0]");
        let text = toml_with(&format!("geojson = '''{zones}'''"), "");
        assert!(parse_toml(&text, "t.toml", &no_files).is_ok());
    }

    #[test]
    fn unknown_rule_and_missing_zone_are_refused() {
        let text = toml_with(&format!("geojson = '''{ZONES}'''"), "")
            .replace("rule = \"ceasefire\"", "rule = \"truce\"");
        let e = parse_toml(&text, "t.toml", &no_files).unwrap_err();
        assert_eq!(e.location, "clause \"1\"");
        let text = toml_with(&format!("geojson = '''{ZONES}'''"), "").replace(
            "rule = \"ceasefire\"",
            "rule = \"ceasefire\"\nzones = [\"nowhere\"]",
        );
        let e = parse_toml(&text, "t.toml", &no_files).unwrap_err();
        assert!(e.message.contains("nowhere"));
    }
}
