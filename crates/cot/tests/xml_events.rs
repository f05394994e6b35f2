//! CoT XML events as ATAK sends them, and what the parser says about broken ones.

#![allow(clippy::unwrap_used)]

use truce_cot::{CotError, Limits, Point, UNKNOWN, parse_event, write_event};

/// A spot-map marker as ATAK writes one (pretty-printed, with a declaration).
const ATAK_MARKER: &str = r#"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>
<event version='2.0' uid='7a3c2f1e-5b44-4a5e-9d0e-1c2b3a4d5e6f' type='b-m-p-s-m' time='2026-12-05T14:21:45.123Z' start='2026-12-05T14:21:45.123Z' stale='2026-12-06T14:21:45.123Z' how='h-g-i-g-o'>
  <point lat='39.8123456' lon='46.7512345' hae='1023.4' ce='25.0' le='9999999.0'/>
  <detail>
    <status readiness='true'/>
    <archive/>
    <contact callsign='OP North 1'/>
    <link uid='ANDROID-589520ccfcd20f01' production_time='2026-12-05T14:21:40.000Z' type='a-f-G-U-C' parent_callsign='MON1-A' relation='p-p'/>
    <remarks>Explosion heard &amp; smoke seen, bearing 120&#176;, 2-3 km</remarks>
    <color argb='-65536'/>
    <precisionlocation altsrc='DTED0'/>
    <usericon iconsetpath='COT_MAPPING_SPOTMAP/b-m-p-s-m/-65536'/>
  </detail>
</event>"#;

/// A range and bearing line.
const RANGE_AND_BEARING: &str = "<event version=\"2.0\" uid=\"rb-1\" type=\"u-rb-a\" \
time=\"2026-12-05T14:22:00Z\" start=\"2026-12-05T14:22:00Z\" stale=\"2026-12-05T15:22:00Z\" \
how=\"h-e\"><point lat=\"39.80\" lon=\"46.70\" hae=\"9999999.0\" ce=\"9999999.0\" le=\"9999999.0\"/>\
<detail><range value=\"2500.0\"/><bearing value=\"120.5\"/><inclination value=\"0.0\"/>\
<rangeUnits value=\"1\"/><bearingUnits value=\"0\"/><northRef value=\"0\"/>\
<contact callsign=\"OP North 1\"/><__group name=\"Cyan\" role=\"Team Member\"/></detail></event>";

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn an_atak_marker_reads_with_its_position_error_time_and_details() {
    let e = parse_event(ATAK_MARKER.as_bytes(), &limits()).unwrap();
    assert_eq!(e.kind, "b-m-p-s-m");
    assert_eq!(e.uid, "7a3c2f1e-5b44-4a5e-9d0e-1c2b3a4d5e6f");
    assert_eq!(e.how, "h-g-i-g-o");
    assert_eq!(
        (e.point.lat, e.point.lon, e.point.ce),
        (39.8123456, 46.7512345, 25.0)
    );
    assert_eq!(Point::known(e.point.le), None, "9999999 means no estimate");
    assert_eq!(Point::known(e.point.hae), Some(1023.4));
    assert_eq!(e.stale_ms - e.time_ms, 86_400_000);
    assert_eq!(
        e.detail.contact.as_ref().map(|c| c.callsign.as_str()),
        Some("OP North 1")
    );
    // <status readiness=…> carries an attribute the typed field has not: kept whole.
    assert!(e.detail.status.is_none());
    assert_eq!(
        e.detail
            .find("status")
            .and_then(|s| s.attribute("readiness")),
        Some("true")
    );
    let remarks = e.detail.find("remarks").map(|r| r.text.as_str());
    assert_eq!(
        remarks,
        Some("Explosion heard & smoke seen, bearing 120°, 2-3 km")
    );
    let link = e.detail.find("link").unwrap();
    assert_eq!(link.attribute("parent_callsign"), Some("MON1-A"));
    assert_eq!(
        e.detail
            .precision_location
            .as_ref()
            .map(|p| p.altsrc.as_str()),
        Some("DTED0")
    );
}

#[test]
fn a_range_and_bearing_line_reads_with_its_range_and_bearing_and_typed_details() {
    let e = parse_event(RANGE_AND_BEARING.as_bytes(), &limits()).unwrap();
    assert_eq!(e.kind, "u-rb-a");
    let value = |name: &str| {
        e.detail
            .find(name)
            .and_then(|x| x.attribute("value"))
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(
        (value("range"), value("bearing")),
        (Some(2500.0), Some(120.5))
    );
    assert_eq!(e.point.hae, UNKNOWN);
    let group = e.detail.group.as_ref().unwrap();
    assert_eq!(
        (group.name.as_str(), group.role.as_str()),
        ("Cyan", "Team Member")
    );
}

#[test]
fn writing_and_reading_again_gives_the_same_event() {
    for sample in [ATAK_MARKER, RANGE_AND_BEARING] {
        let e = parse_event(sample.as_bytes(), &limits()).unwrap();
        let written = write_event(&e);
        assert_eq!(
            parse_event(written.as_bytes(), &limits()).unwrap(),
            e,
            "{written}"
        );
        assert!(written.ends_with("</event>") && !written.starts_with("<?xml"));
    }
}

fn refusal(xml: &str) -> String {
    parse_event(xml.as_bytes(), &limits())
        .unwrap_err()
        .to_string()
}

fn event_with(point: &str, attributes: &str) -> String {
    format!("<event version='2.0' {attributes}><point {point}/></event>",)
}

const GOOD_ATTRIBUTES: &str = "uid='u' type='a-h-G' how='h-e' time='2026-12-05T14:00:00Z' \
start='2026-12-05T14:00:00Z' stale='2026-12-05T15:00:00Z'";

#[test]
fn a_broken_event_is_refused_naming_the_attribute_at_fault() {
    let good_point = "lat='39.8' lon='46.7' hae='0' ce='10' le='10'";
    assert!(
        parse_event(
            event_with(good_point, GOOD_ATTRIBUTES).as_bytes(),
            &limits()
        )
        .is_ok()
    );
    let cases = [
        (
            event_with("lat='91' lon='46.7'", GOOD_ATTRIBUTES),
            "event/point@lat: 91 is not a latitude",
        ),
        (
            event_with("lat='39' lon='-180.5'", GOOD_ATTRIBUTES),
            "event/point@lon",
        ),
        (
            event_with("lat='39' lon='46' ce='-3'", GOOD_ATTRIBUTES),
            "event/point@ce",
        ),
        (
            event_with("lat='north' lon='46'", GOOD_ATTRIBUTES),
            "event/point@lat: \"north\" is not a number",
        ),
        (
            event_with("lon='46'", GOOD_ATTRIBUTES),
            "event/point@lat is missing",
        ),
        (
            event_with("lat='NaN' lon='46'", GOOD_ATTRIBUTES),
            "event/point@lat",
        ),
        (
            event_with(good_point, &GOOD_ATTRIBUTES.replace("uid='u'", "")),
            "event@uid is missing",
        ),
        (
            event_with(good_point, &GOOD_ATTRIBUTES.replace("uid='u'", "uid=' '")),
            "event@uid: empty",
        ),
        (
            event_with(
                good_point,
                &GOOD_ATTRIBUTES.replace("stale='2026-12-05T15:00:00Z'", "stale='soon'"),
            ),
            "event@stale: \"soon\"",
        ),
        ("stray text".into(), "text outside <event>"),
        (
            "<event version='2.0'></event>".into(),
            "event@time is missing",
        ),
        (
            format!("<event {GOOD_ATTRIBUTES}></event>"),
            "event/point is missing",
        ),
        (
            "<marker/>".into(),
            "the root element is <marker>, expected <event>",
        ),
        (
            format!(
                "<event {GOOD_ATTRIBUTES}><point lat='1' lon='1'/><detail><remarks>x</detail></event>"
            ),
            "malformed XML in event/detail/remarks",
        ),
        (
            format!("<event {GOOD_ATTRIBUTES}><point lat='1' lon='1'/></event><event/>"),
            "one event per message",
        ),
        (
            format!("<event {GOOD_ATTRIBUTES} uid='again'><point lat='1' lon='1'/></event>"),
            "event: attributes: position 123: duplicated attribute",
        ),
    ];
    for (xml, expected) in cases {
        let message = refusal(&xml);
        assert!(
            message.contains(expected),
            "{xml}\n  gave {message:?}\n  expected {expected:?}"
        );
    }
}

#[test]
fn every_limit_is_enforced_and_named() {
    let limits = Limits::default();
    let point = "<point lat='1' lon='1'/>";
    let remarks = "r".repeat(limits.text_bytes + 1);
    let too_long_text = format!(
        "<event {GOOD_ATTRIBUTES}>{point}<detail><remarks>{remarks}</remarks></detail></event>"
    );
    assert!(
        refusal(&too_long_text)
            .contains("the text of event/detail/remarks is larger than the limit of 16384 bytes")
    );
    let deep = format!(
        "<event {GOOD_ATTRIBUTES}>{point}<detail>{}{}</detail></event>",
        "<a>".repeat(limits.depth),
        "</a>".repeat(limits.depth)
    );
    assert!(refusal(&deep).contains("levels"), "{}", refusal(&deep));
    let many = format!(
        "<event {GOOD_ATTRIBUTES}>{point}<detail>{}</detail></event>",
        "<x/>".repeat(limits.detail_elements + 1)
    );
    assert!(refusal(&many).contains("event/detail is larger than the limit of 256 elements"));
    let value = "v".repeat(limits.attribute_bytes + 1);
    let long_value =
        format!("<event {GOOD_ATTRIBUTES}>{point}<detail><link uid='{value}'/></detail></event>");
    assert!(refusal(&long_value).contains("event/detail/link@uid is larger"));
    let attributes: String = (0..=limits.attributes)
        .map(|i| format!(" a{i}='1'"))
        .collect();
    let many_attributes =
        format!("<event {GOOD_ATTRIBUTES}>{point}<detail><x{attributes}/></detail></event>");
    assert!(
        refusal(&many_attributes)
            .contains("event/detail/x is larger than the limit of 32 attributes")
    );
    let huge = format!(
        "<event {GOOD_ATTRIBUTES}>{point}<detail>{}</detail></event>",
        " ".repeat(limits.message_bytes)
    );
    assert_eq!(
        parse_event(huge.as_bytes(), &limits).unwrap_err(),
        CotError::TooLarge {
            at: "message".into(),
            limit: limits.message_bytes,
            unit: "bytes"
        }
    );
}

#[test]
fn a_doctype_and_unknown_entities_are_refused() {
    let doctype = format!(
        "<!DOCTYPE event [<!ENTITY x 'y'>]><event {GOOD_ATTRIBUTES}><point lat='1' lon='1'/></event>"
    );
    assert!(refusal(&doctype).contains("DOCTYPE"));
    let entity = format!(
        "<event {GOOD_ATTRIBUTES}><point lat='1' lon='1'/><detail><remarks>&x;</remarks></detail></event>"
    );
    assert!(
        refusal(&entity).contains("unknown entity &x;"),
        "{}",
        refusal(&entity)
    );
}

#[test]
fn an_event_without_a_declaration_or_detail_and_with_missing_optional_values_reads() {
    let xml = format!("<event {GOOD_ATTRIBUTES}><point lat='-33.5' lon='151.25'/></event>");
    let e = parse_event(xml.as_bytes(), &limits()).unwrap();
    assert_eq!(
        (e.point.hae, e.point.ce, e.point.le),
        (UNKNOWN, UNKNOWN, UNKNOWN)
    );
    assert!(e.detail.others.is_empty() && e.detail.contact.is_none());
}

/// Found by fuzzing (`fuzz/regressions/tak_proto/detail-element-without-a-name`): an element or
/// attribute whose name is not an XML name was read, and written back as XML no one can read.
#[test]
fn an_element_or_attribute_without_an_xml_name_is_refused() {
    let point = "<point lat='39.8' lon='46.7' hae='0' ce='10' le='10'/>";
    for (detail, says) in [
        ("< />", "is not an XML element name"),
        ("<.x='1'/>", "is not an XML element name"),
        ("<1abc/>", "is not an XML element name"),
        ("<remarks .='1'/>", "is not an XML attribute name"),
    ] {
        let xml = format!(
            "<event version='2.0' {GOOD_ATTRIBUTES}>{point}<detail>{detail}</detail></event>"
        );
        let refused = parse_event(xml.as_bytes(), &limits())
            .map(|_| ())
            .unwrap_err();
        assert!(refused.to_string().contains(says), "{detail}: {refused}");
    }
    let fine = format!(
        "<event version='2.0' {GOOD_ATTRIBUTES}>{point}<detail><__group name='x'/><_flow-tags_ a.b='1'/><контакт позывной='М1'/></detail></event>"
    );
    assert!(parse_event(fine.as_bytes(), &limits()).is_ok());
}
