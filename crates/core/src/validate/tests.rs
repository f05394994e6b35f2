//! Unit and property tests of observation validation.

use super::*;
use crate::intake::parse_one;
use proptest::prelude::*;

fn now() -> Timestamp {
    Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
}

fn with_geometry(geometry: &str) -> String {
    format!(
        r#"{{"kind":"explosion","subkind":"impact","observed_at":"2026-11-20T11:00:00Z",
            "reporter":"op-3","geometry":{geometry}}}"#
    )
}

fn field_of(text: &str) -> Option<String> {
    parse_one(text, now(), None)
        .err()
        .and_then(|e| e.field().map(str::to_string))
}

const BEARING: &str = r#"{"type":"bearing","observer":{"lat":39.9,"lon":46.8,"accuracy_m":10},
    "bearing_deg":120,"bearing_sigma_deg":3,"distance_min_m":2000,"distance_max_m":3000}"#;
const ARRIVAL: &str = r#"{"type":"arrival","sensor":{"id":"s1","lat":39.9,"lon":46.8,"alt_m":600},
    "arrival_time":"2026-11-20T11:00:02.125Z","sigma_s":0.005,"temperature_c":-4}"#;
const UAV: &str = r#"{"type":"uav","aircraft":{"lat":39.9,"lon":46.8,"alt_hae_m":1500,
    "yaw_deg":90,"pitch_deg":0,"roll_deg":0},"gimbal":{"pan_deg":0,"tilt_deg":-45},
    "slant_range_m":1400,"ground_alt_m":500}"#;

#[test]
fn each_geometry_form_is_accepted() {
    for g in [
        r#"{"type":"position","lat":39.9,"lon":46.8,"accuracy_m":100}"#,
        BEARING,
        ARRIVAL,
        UAV,
    ] {
        let text = with_geometry(g);
        let parsed = parse_one(&text, now(), None);
        assert!(parsed.is_ok(), "{g}: {parsed:?}");
    }
}

#[test]
fn bearing_checks_name_their_field() {
    let cases = [
        (
            "\"bearing_deg\":120",
            "\"bearing_deg\":361",
            "geometry.bearing_deg",
        ),
        (
            "\"bearing_sigma_deg\":3",
            "\"bearing_sigma_deg\":0",
            "geometry.bearing_sigma_deg",
        ),
        (
            "\"distance_min_m\":2000",
            "\"distance_min_m\":4000",
            "geometry.distance_min_m",
        ),
        ("\"lat\":39.9", "\"lat\":-90.5", "geometry.observer.lat"),
        (
            "\"accuracy_m\":10",
            "\"accuracy_m\":-1",
            "geometry.observer.accuracy_m",
        ),
    ];
    for (good, bad, field) in cases {
        let text = with_geometry(&BEARING.replace(good, bad));
        assert_eq!(field_of(&text).as_deref(), Some(field), "{bad}");
    }
}

#[test]
fn arrival_checks_name_their_field() {
    let cases = [
        ("\"sigma_s\":0.005", "\"sigma_s\":0", "geometry.sigma_s"),
        (
            "\"temperature_c\":-4",
            "\"temperature_c\":99",
            "geometry.temperature_c",
        ),
        ("11:00:02.125Z", "19:00:02.125Z", "geometry.arrival_time"),
        ("\"id\":\"s1\"", "\"id\":\"\"", "geometry.sensor.id"),
    ];
    for (good, bad, field) in cases {
        let text = with_geometry(&ARRIVAL.replace(good, bad));
        assert_eq!(field_of(&text).as_deref(), Some(field), "{bad}");
    }
    let text = with_geometry(ARRIVAL);
    let obs = parse_one(&text, now(), None).unwrap();
    match &obs.geometry {
        Geometry::Arrival(a) => {
            assert_eq!(a.arrival_time.to_string(), "2026-11-20T11:00:02.125Z")
        }
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn uav_checks_name_their_field() {
    let cases = [
        (
            "\"pitch_deg\":0",
            "\"pitch_deg\":91",
            "geometry.aircraft.pitch_deg",
        ),
        (
            "\"tilt_deg\":-45",
            "\"tilt_deg\":-95",
            "geometry.gimbal.tilt_deg",
        ),
        (
            "\"slant_range_m\":1400",
            "\"slant_range_m\":0",
            "geometry.slant_range_m",
        ),
    ];
    for (good, bad, field) in cases {
        let text = with_geometry(&UAV.replace(good, bad));
        assert_eq!(field_of(&text).as_deref(), Some(field), "{bad}");
    }
}

#[test]
fn times_counts_and_text_are_checked() {
    let base = with_geometry(r#"{"type":"position","lat":39.9,"lon":46.8,"accuracy_m":100}"#);
    let future = base.replace("2026-11-20T11:00:00Z", "2026-11-21T11:00:00Z");
    assert_eq!(field_of(&future).as_deref(), Some("observed_at"));
    let ancient = base.replace("2026-11-20T11:00:00Z", "1970-01-01T00:00:00Z");
    assert_eq!(field_of(&ancient).as_deref(), Some("observed_at"));
    let zero = base.replace("\"reporter\"", "\"count\":0,\"reporter\"");
    assert_eq!(field_of(&zero).as_deref(), Some("count"));
    let notes = base.replace(
        "\"reporter\"",
        &format!("\"notes\":\"{}\",\"reporter\"", "x".repeat(4097)),
    );
    assert_eq!(field_of(&notes).as_deref(), Some("notes"));
    let blank = base.replace("\"op-3\"", "\"  \"");
    assert_eq!(field_of(&blank).as_deref(), Some("reporter"));
    let subkind = base.replace("\"explosion\"", "\"shot\"");
    assert_eq!(field_of(&subkind).as_deref(), Some("subkind"));
    let evidence = base.replace(
        "\"reporter\"",
        "\"evidence\":[{\"sha256\":\"ABC\",\"media_type\":\"image/jpeg\"}],\"reporter\"",
    );
    assert_eq!(field_of(&evidence).as_deref(), Some("evidence[0].sha256"));
}

fn position_json(lat: f64, lon: f64, acc: f64) -> String {
    with_geometry(&format!(
        r#"{{"type":"position","lat":{lat},"lon":{lon},"accuracy_m":{acc}}}"#
    ))
}

proptest! {
    /// Validation accepts exactly the coordinates within WGS84 ranges and positive accuracies,
    /// and a refusal always names one of the three fields.
    #[test]
    fn position_ranges(lat in -200.0f64..200.0, lon in -400.0f64..400.0, acc in -10.0f64..1000.0) {
        let ok = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && acc > 0.0;
        match parse_one(&position_json(lat, lon, acc), now(), None) {
            Ok(v) => {
                prop_assert!(ok);
                prop_assert_eq!(&v.geometry, &Geometry::Position(crate::observation::PositionGeometry { lat, lon, accuracy_m: acc }));
            }
            Err(e) => {
                prop_assert!(!ok);
                let field = e.field().unwrap_or("");
                prop_assert!(["geometry.lat", "geometry.lon", "geometry.accuracy_m"].contains(&field), "{}", field);
            }
        }
    }

    /// Any byte string either parses or yields a typed error; it never panics.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = crate::intake::parse_observations(&bytes, &crate::intake::ParseLimits::default(), now());
    }

    /// Mutating one character of a valid observation either keeps it valid or yields an error
    /// with a code the HTTP layer can map.
    #[test]
    fn one_char_mutations_give_typed_errors(pos in 0usize..200, c in proptest::char::any()) {
        let mut text: Vec<char> = with_geometry(BEARING).chars().collect();
        let at = pos % text.len();
        text[at] = c;
        let text: String = text.into_iter().collect();
        if let Err(e) = parse_one(&text, now(), None) {
            prop_assert!(["malformed", "invalid_value"].contains(&e.code()));
        }
    }

    /// A valid observation's canonical JSON parses back to the same observation.
    #[test]
    fn accepted_observations_round_trip(lat in -90.0f64..90.0, lon in -180.0f64..180.0,
                                        b in 0.0f64..360.0, s in 0.1f64..20.0) {
        let g = format!(r#"{{"type":"bearing","observer":{{"lat":{lat},"lon":{lon},"accuracy_m":5}},"bearing_deg":{b},"bearing_sigma_deg":{s}}}"#);
        let v = parse_one(&with_geometry(&g), now(), None).unwrap();
        let bytes = crate::entry::canonical_json(&*v).unwrap();
        let back: Observation = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &*v);
    }
}
