//! TAK protocol version 1 against takproto (PyPI), an implementation written by others from
//! the same public description: what truce encodes, takproto reads field for field; what
//! takproto encodes from ATAK's XML, truce reads as the same event it reads from that XML.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use truce_cot::{
    Datagram, Limits, ProtoStream, decode_message, encode_event, frame_mesh, frame_stream,
    parse_datagram, parse_event,
};

/// An ATAK-like marker using every typed detail field, and details kept as XML.
const MARKER: &str = "<event version=\"2.0\" uid=\"ANDROID-589520ccfcd20f01\" type=\"a-h-G\" \
how=\"h-e\" time=\"2026-12-05T14:21:45.123Z\" start=\"2026-12-05T14:21:45.123Z\" \
stale=\"2026-12-05T14:26:45.123Z\"><point lat=\"39.8123456\" lon=\"46.7512345\" hae=\"1023.5\" \
ce=\"12.5\" le=\"9999999.0\"/><detail><contact endpoint=\"*:-1:stcp\" callsign=\"MON1-A\"/>\
<__group name=\"Cyan\" role=\"Team Member\"/><precisionlocation geopointsrc=\"GPS\" altsrc=\"GPS\"/>\
<status battery=\"87\"/><takv device=\"SM-G781B\" platform=\"ATAK-CIV\" os=\"33\" version=\"5.2.0\"/>\
<track speed=\"1.25\" course=\"271.5\"/><remarks>Two impacts &amp; smoke, north-east</remarks>\
<link uid=\"ANDROID-1\" type=\"a-f-G-U-C\" relation=\"p-p\"/></detail></event>";

fn takproto(mode: &str, input: &str) -> Value {
    let python = truce_peers::python();
    let mut child = Command::new(python)
        .arg(truce_peers::script("takproto_peer.py"))
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the takproto peer");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writing to the takproto peer");
    let output = child
        .wait_with_output()
        .expect("waiting for the takproto peer");
    assert!(
        output.status.success(),
        "takproto peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from the takproto peer")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex from the peer"))
        .collect()
}

#[test]
fn what_truce_encodes_takproto_reads_field_for_field() {
    let event = parse_event(MARKER.as_bytes(), &Limits::default()).unwrap();
    let payload = encode_event(&event);
    for framed in [frame_stream(&payload), frame_mesh(&payload)] {
        let json = takproto("decode", &hex(&framed));
        let e = &json["cotEvent"];
        assert_eq!(e["type"].as_str().unwrap(), "a-h-G");
        assert_eq!(e["uid"].as_str().unwrap(), "ANDROID-589520ccfcd20f01");
        assert_eq!(e["how"].as_str().unwrap(), "h-e");
        // uint64 is a JSON string in protobuf's mapping.
        assert_eq!(e["sendTime"].as_str().unwrap(), event.time_ms.to_string());
        assert_eq!(e["staleTime"].as_str().unwrap(), event.stale_ms.to_string());
        assert_eq!(e["lat"].as_f64().unwrap(), 39.8123456);
        assert_eq!(e["lon"].as_f64().unwrap(), 46.7512345);
        assert_eq!(e["hae"].as_f64().unwrap(), 1023.5);
        assert_eq!(e["ce"].as_f64().unwrap(), 12.5);
        let d = &e["detail"];
        assert_eq!(d["contact"]["callsign"].as_str().unwrap(), "MON1-A");
        assert_eq!(d["contact"]["endpoint"].as_str().unwrap(), "*:-1:stcp");
        assert_eq!(d["group"]["name"].as_str().unwrap(), "Cyan");
        assert_eq!(d["precisionLocation"]["altsrc"].as_str().unwrap(), "GPS");
        assert_eq!(d["status"]["battery"].as_f64().unwrap(), 87.0);
        assert_eq!(d["takv"]["platform"].as_str().unwrap(), "ATAK-CIV");
        assert_eq!(d["track"]["course"].as_f64().unwrap(), 271.5);
        let xml = d["xmlDetail"].as_str().unwrap();
        assert!(
            xml.starts_with("<remarks>Two impacts &amp; smoke, north-east</remarks><link "),
            "{xml}"
        );
    }
}

#[test]
fn what_takproto_encodes_from_atak_xml_truce_reads_as_the_same_event() {
    let limits = Limits::default();
    let from_xml = parse_event(MARKER.as_bytes(), &limits).unwrap();
    let json = takproto("encode", MARKER);
    let mut stream = ProtoStream::new(&limits, Vec::new());
    stream.push(&unhex(json["stream"].as_str().unwrap()));
    let payload = stream.next_payload().unwrap().expect("one whole message");
    assert!(stream.is_idle());
    let decoded = decode_message(&payload, &limits).unwrap();
    assert_eq!(decoded.event.as_ref(), Some(&from_xml));
    let mesh = parse_datagram(&unhex(json["mesh"].as_str().unwrap()), &limits).unwrap();
    assert_eq!(mesh, Datagram::Proto(decoded));
}
