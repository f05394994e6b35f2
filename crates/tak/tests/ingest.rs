//! What each kind of CoT event becomes, without sockets.

#![allow(clippy::unwrap_used)]

use truce_core::observation::{Geometry, Kind, Source, Weapon};
use truce_cot::{Limits, parse_event};
use truce_tak::ingest::{
    ASSUMED_BEARING_SIGMA_DEG, ASSUMED_HUMAN_95_M, ASSUMED_MACHINE_95_M, CE_TO_95, Ingest, ingest,
};

const TIMES: &str = "time=\"2026-12-05T14:00:00.250Z\" start=\"2026-12-05T14:00:00.250Z\" \
stale=\"2026-12-05T15:00:00Z\"";

fn event(kind: &str, how: &str, point: &str, detail: &str) -> truce_cot::Event {
    let xml = format!(
        "<event version=\"2.0\" uid=\"u-1\" type=\"{kind}\" how=\"{how}\" {TIMES}>\
         <point {point}/><detail>{detail}</detail></event>"
    );
    parse_event(xml.as_bytes(), &Limits::default()).unwrap()
}

fn report(e: &truce_cot::Event) -> truce_core::Observation {
    match ingest(e, "cot-tcp test").unwrap() {
        Ingest::Report(o) => *o,
        other => panic!("not a report: {other:?}"),
    }
}

#[test]
fn a_marker_with_ce_is_a_position_whose_95_radius_is_2_4477_ce_observed_at_its_time() {
    let e = event(
        "b-m-p-s-m",
        "h-g-i-g-o",
        "lat=\"40.1\" lon=\"46.5\" ce=\"10\"",
        "<contact callsign=\"OP 3\"/>",
    );
    let o = report(&e);
    let Geometry::Position(p) = o.geometry else {
        panic!()
    };
    assert!((p.accuracy_m - 24.4775).abs() < 1e-3);
    assert!(
        (CE_TO_95 * CE_TO_95 - 5.991_464_547).abs() < 1e-6,
        "chi-square(2) 95% point"
    );
    assert_eq!(o.observed_at.unix_millis(), e.time_ms);
    assert_eq!(
        (o.kind, o.source, o.reporter.as_str()),
        (Kind::Other, Source::Observer, "OP 3")
    );
    assert_eq!(o.notes.as_deref(), Some("[CoT b-m-p-s-m]"));
    assert_eq!(o.via.as_deref(), Some("cot-tcp test"));
}

#[test]
fn a_marker_without_ce_gets_a_radius_by_how_and_its_notes_say_so() {
    for (how, radius) in [
        ("h-g-i-g-o", ASSUMED_HUMAN_95_M),
        ("m-g", ASSUMED_MACHINE_95_M),
    ] {
        let o = report(&event(
            "a-h-G",
            how,
            "lat=\"40.1\" lon=\"46.5\" ce=\"9999999.0\"",
            "",
        ));
        let Geometry::Position(p) = o.geometry else {
            panic!()
        };
        assert_eq!(p.accuracy_m, radius);
        let notes = o.notes.unwrap();
        assert!(
            notes.contains(&format!("95% radius {radius} m assumed for how={how}")),
            "{notes}"
        );
    }
}

#[test]
fn the_same_event_resent_has_the_same_client_id_and_a_moved_marker_a_new_one() {
    let e = event("a-u-G", "h-e", "lat=\"40.1\" lon=\"46.5\" ce=\"5\"", "");
    let first = report(&e).client_id;
    assert_eq!(report(&e).client_id, first);
    let mut moved = e.clone();
    moved.time_ms += 1;
    assert_ne!(report(&moved).client_id, first);
    let mut other = e;
    other.uid = "u-2".into();
    assert_ne!(report(&other).client_id, first);
}

#[test]
fn a_range_and_bearing_line_is_a_bearing_from_its_anchor_with_what_was_assumed_said() {
    let detail = "<range value=\"2500\"/><bearing value=\"120.5\"/>\
                  <truce kind=\"explosion\" weapon=\"artillery\" count=\"3\"/>";
    let o = report(&event(
        "u-rb-a",
        "m-g",
        "lat=\"40.1\" lon=\"46.5\" ce=\"4\"",
        detail,
    ));
    let Geometry::Bearing(b) = &o.geometry else {
        panic!()
    };
    assert_eq!(
        (b.bearing_deg, b.bearing_sigma_deg),
        (120.5, ASSUMED_BEARING_SIGMA_DEG)
    );
    assert_eq!((b.distance_min_m, b.distance_max_m), (None, None));
    assert!((b.observer.accuracy_m - 4.0 * CE_TO_95).abs() < 1e-9);
    assert_eq!(
        (o.kind, o.weapon, o.count),
        (Kind::Explosion, Some(Weapon::Artillery), 3)
    );
    let notes = o.notes.unwrap();
    assert!(notes.contains("bearing sigma 5° assumed"), "{notes}");
    assert!(
        notes.contains("line drawn 2500 m long, not used as a distance"),
        "{notes}"
    );
    let detail = "<bearing value=\"10\"/><truce bearing_sigma_deg=\"2\" distance_min_m=\"2000\" distance_max_m=\"3000\"/>";
    let o = report(&event(
        "u-rb-a",
        "m-g",
        "lat=\"40.1\" lon=\"46.5\" ce=\"4\"",
        detail,
    ));
    let Geometry::Bearing(b) = &o.geometry else {
        panic!()
    };
    assert_eq!(
        (b.bearing_sigma_deg, b.distance_min_m, b.distance_max_m),
        (2.0, Some(2000.0), Some(3000.0))
    );
}

#[test]
fn errors_name_the_cot_attribute() {
    let cases = [
        (
            "u-rb-a",
            "<range value=\"5\"/>",
            "event/detail/bearing@value",
        ),
        (
            "u-rb-a",
            "<bearing value=\"400\"/>",
            "event/detail/bearing@value",
        ),
        (
            "u-rb-a",
            "<bearing value=\"east\"/>",
            "event/detail/bearing@value",
        ),
        (
            "a-u-G",
            "<truce kind=\"volley\"/>",
            "event/detail/truce@kind",
        ),
        (
            "a-u-G",
            "<truce weapon=\"sling\"/>",
            "event/detail/truce@weapon",
        ),
        ("a-u-G", "<truce count=\"-2\"/>", "event/detail/truce@count"),
        (
            "a-u-G",
            "<truce distance_min_m=\"far\"/>",
            "event/detail/truce@distance_min_m",
        ),
    ];
    for (kind, detail, field) in cases {
        let e = event(kind, "h-e", "lat=\"40\" lon=\"46\" ce=\"5\"", detail);
        let err = ingest(&e, "v").unwrap_err();
        assert_eq!(err.field, field, "{detail}: {}", err.message);
    }
}

#[test]
fn long_remarks_are_cut_to_the_notes_limit_with_a_mark() {
    let remarks = "ж".repeat(3000);
    let o = report(&event(
        "a-u-G",
        "h-e",
        "lat=\"40\" lon=\"46\" ce=\"5\"",
        &format!("<remarks>{remarks}</remarks>"),
    ));
    let notes = o.notes.unwrap();
    assert!(notes.len() <= 4096, "{}", notes.len());
    assert!(notes.contains(" [remarks cut at the 4 KiB limit] [CoT a-u-G]"));
}

#[test]
fn control_awareness_deletion_and_unknown_types_are_not_reports() {
    let point = "lat=\"40\" lon=\"46\"";
    assert_eq!(
        ingest(&event("t-x-c-t", "m-g", point, ""), "v").unwrap(),
        Ingest::Ping
    );
    let request = truce_cot::control::protocol_request("P", 1, 0);
    assert_eq!(ingest(&request, "v").unwrap(), Ingest::ProtocolRequest(1));
    let delete = "<link uid=\"marker-9\" relation=\"none\" type=\"none\"/><__forcedelete/>";
    assert_eq!(
        ingest(&event("t-x-d-d", "m-g", point, delete), "v").unwrap(),
        Ingest::Delete("marker-9".into())
    );
    assert!(matches!(
        ingest(&event("t-x-d-d", "m-g", point, ""), "v").unwrap(),
        Ingest::Ignored(_)
    ));
    let sa = "<contact callsign=\"Patrol 2\" endpoint=\"*:-1:stcp\"/><takv platform=\"ATAK-CIV\"/>";
    assert_eq!(
        ingest(&event("a-f-G-U-C", "m-g", point, sa), "v").unwrap(),
        Ingest::Awareness
    );
    // A device's own hostile-typed SA is awareness too, not a marker.
    assert_eq!(
        ingest(&event("a-h-G", "m-g", point, sa), "v").unwrap(),
        Ingest::Awareness
    );
    assert!(matches!(
        ingest(&event("b-t-f", "h-e", point, ""), "v").unwrap(),
        Ingest::Ignored(_)
    ));
    assert!(matches!(
        ingest(&event("u-d-p", "h-e", point, ""), "v").unwrap(),
        Ingest::Ignored(_)
    ));
}

#[test]
fn truces_own_incident_markers_sent_back_are_not_reports() {
    let point = "lat=\"40\" lon=\"46\" ce=\"5\"";
    let echoed = event(
        "a-u-G",
        "m-f",
        point,
        "<truce incident=\"7\" kind=\"explosion\"/>",
    );
    assert!(matches!(ingest(&echoed, "v").unwrap(), Ingest::Ignored(_)));
    let mut renamed = event("a-u-G", "h-e", point, "<remarks>moved</remarks>");
    renamed.uid = "truce-incident-7".into();
    assert!(matches!(ingest(&renamed, "v").unwrap(), Ingest::Ignored(_)));
    // The same marker type from a person is a report.
    assert!(matches!(
        ingest(&event("a-u-G", "h-e", point, ""), "v").unwrap(),
        Ingest::Report(_)
    ));
}

#[test]
fn a_sensor_wedge_with_a_truce_detail_is_a_bearing_whose_sigma_is_a_quarter_of_the_wedge() {
    let detail = "<sensor azimuth=\"75\" fov=\"20\" range=\"3000\"/><truce kind=\"burst\"/>";
    let o = report(&event(
        "b-m-p-s-m",
        "m-g",
        "lat=\"40.1\" lon=\"46.5\" ce=\"3\"",
        detail,
    ));
    let Geometry::Bearing(b) = &o.geometry else {
        panic!("{:?}", o.geometry)
    };
    assert_eq!((b.bearing_deg, b.bearing_sigma_deg), (75.0, 5.0));
    assert_eq!(o.kind, Kind::Burst);
    let notes = o.notes.unwrap();
    assert!(
        notes.contains("a quarter of the 20° wedge") && notes.contains("wedge drawn 3000 m long"),
        "{notes}"
    );
    let bad = event(
        "b-m-p-s-m",
        "m-g",
        "lat=\"40.1\" lon=\"46.5\"",
        "<sensor fov=\"20\"/><truce kind=\"burst\"/>",
    );
    assert_eq!(
        ingest(&bad, "v").unwrap_err().field,
        "event/detail/sensor@azimuth"
    );
    // Without a truce detail a wedge is a picture on a map, not a report.
    let plain = event(
        "a-f-G-U-C",
        "m-g",
        "lat=\"40.1\" lon=\"46.5\"",
        "<sensor azimuth=\"75\" fov=\"20\"/><takv platform=\"ATAK\"/>",
    );
    assert_eq!(ingest(&plain, "v").unwrap(), Ingest::Awareness);
}
