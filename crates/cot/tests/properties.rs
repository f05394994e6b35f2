//! Properties of the codec over generated input: no input makes a parser panic; writing then
//! reading gives back the event (XML and protobuf); a stream cut anywhere yields the same
//! messages.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use truce_cot::{
    Contact, Datagram, Detail, Element, Event, Group, Limits, Point, PrecisionLocation,
    ProtoStream, Status, Takv, Track, XmlStream, decode_message, encode_event, frame_mesh,
    frame_stream, parse_datagram, parse_event, write_event,
};

const TYPED: [&str; 6] = [
    "contact",
    "__group",
    "precisionlocation",
    "status",
    "takv",
    "track",
];

/// Text as people type it: letters, digits, punctuation with XML's markup characters,
/// non-ASCII letters, tabs and line breaks.
fn text() -> impl Strategy<Value = String> {
    "[ -~\t\n\r°éж€]{0,24}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_.-]{0,10}"
}

fn element(depth: u32) -> BoxedStrategy<Element> {
    let leaf = (
        name().prop_filter("a typed element's name", |n| !TYPED.contains(&n.as_str())),
        prop::collection::btree_map(name(), text(), 0..4),
        text().prop_filter("whitespace-only text is dropped", |t| {
            t.is_empty() || !t.trim().is_empty()
        }),
    );
    if depth == 0 {
        leaf.prop_map(|(name, attributes, text)| Element {
            name,
            attributes: attributes.into_iter().collect(),
            text,
            children: Vec::new(),
        })
        .boxed()
    } else {
        (leaf, prop::collection::vec(element(depth - 1), 0..3))
            .prop_map(|((name, attributes, text), children)| Element {
                name,
                attributes: attributes.into_iter().collect(),
                text,
                children,
            })
            .boxed()
    }
}

fn detail() -> impl Strategy<Value = Detail> {
    (
        prop::option::of(
            (text(), text()).prop_map(|(endpoint, callsign)| Contact { endpoint, callsign }),
        ),
        prop::option::of((text(), text()).prop_map(|(name, role)| Group { name, role })),
        prop::option::of(
            (text(), text()).prop_map(|(geopointsrc, altsrc)| PrecisionLocation {
                geopointsrc,
                altsrc,
            }),
        ),
        prop::option::of(any::<u32>().prop_map(|battery| Status { battery })),
        prop::option::of((text(), text(), text(), text()).prop_map(
            |(device, platform, os, version)| Takv {
                device,
                platform,
                os,
                version,
            },
        )),
        prop::option::of(
            (-1e3..1e3f64, 0.0..360.0f64).prop_map(|(speed, course)| Track { speed, course }),
        ),
        prop::collection::vec(element(2), 0..4),
    )
        .prop_map(
            |(contact, group, precision_location, status, takv, track, others)| Detail {
                contact,
                group,
                precision_location,
                status,
                takv,
                track,
                others,
            },
        )
}

fn optional_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[a-zA-Z0-9 ]{1,8}")
}

fn event() -> impl Strategy<Value = Event> {
    (
        (
            "[A-Za-z0-9._:-]{1,40}",
            "[a-z](-[A-Za-z]){0,5}",
            "[a-z-]{0,8}",
        ),
        (
            0..=truce_cot_latest(),
            0..=truce_cot_latest(),
            0..=truce_cot_latest(),
        ),
        (optional_text(), optional_text(), optional_text()),
        (
            -90.0..=90.0f64,
            -180.0..=180.0f64,
            -500.0..9_000.0f64,
            0.0..1e7f64,
            0.0..1e7f64,
        ),
        detail(),
    )
        .prop_map(
            |(
                (uid, kind, how),
                (time_ms, start_ms, stale_ms),
                (access, qos, opex),
                (lat, lon, hae, ce, le),
                detail,
            )| Event {
                version: "2.0".into(),
                uid,
                kind,
                how,
                time_ms,
                start_ms,
                stale_ms,
                access,
                qos,
                opex,
                point: Point {
                    lat,
                    lon,
                    hae,
                    ce,
                    le,
                },
                detail,
            },
        )
}

fn truce_cot_latest() -> i64 {
    253_402_300_799_999
}

/// Bytes that look like CoT often enough to reach deep into the parser: fragments of events
/// and details glued in random order, with random bytes among them.
fn cot_like() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"<event version='2.0' uid='x' type='a-h-G' time='2026-12-05T14:00:00Z' start='2026-12-05T14:00:00Z' stale='2026-12-05T15:00:00Z' how='h-e'>".to_vec()),
        Just(b"<point lat='1' lon='2' hae='3' ce='4' le='5'/>".to_vec()),
        Just(b"<detail>".to_vec()),
        Just(b"</detail>".to_vec()),
        Just(b"</event>".to_vec()),
        Just(b"<remarks>a &amp; b &#x263a; &#0;</remarks>".to_vec()),
        Just(b"<contact callsign='c' endpoint='e'/>".to_vec()),
        Just(b"<status battery='99999999999'/>".to_vec()),
        Just(b"<track speed='inf' course='1e999'/>".to_vec()),
        Just(b"<?xml version='1.0'?>".to_vec()),
        Just(b"<![CDATA[<x>]]>".to_vec()),
        Just(b"<!-- c -->".to_vec()),
        Just(vec![0xbf, 0x01, 0xbf]),
        prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop::collection::vec(fragment, 0..12).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_input_makes_a_parser_panic(bytes in prop_oneof![cot_like(), prop::collection::vec(any::<u8>(), 0..256)]) {
        let limits = Limits { message_bytes: 4096, ..Limits::default() };
        let _ = parse_event(&bytes, &limits);
        let _ = decode_message(&bytes, &limits);
        let _ = parse_datagram(&bytes, &limits);
        let mut xml = XmlStream::new(&limits);
        xml.push(&bytes);
        while let Ok(Some(e)) = xml.next_event() {
            let _ = parse_event(&e, &limits);
        }
        let mut proto = ProtoStream::new(&limits, bytes.clone());
        while let Ok(Some(p)) = proto.next_payload() {
            let _ = decode_message(&p, &limits);
        }
    }

    #[test]
    fn an_event_written_as_xml_reads_back_the_same(e in event()) {
        let written = write_event(&e);
        let read = parse_event(written.as_bytes(), &Limits::default());
        prop_assert_eq!(read.as_ref(), Ok(&e), "{}", written);
    }

    #[test]
    fn an_event_encoded_as_protobuf_decodes_the_same(e in event()) {
        let limits = Limits::default();
        let decoded = decode_message(&encode_event(&e), &limits).unwrap();
        prop_assert_eq!(decoded.event.as_ref(), Some(&e));
        let datagram = parse_datagram(&frame_mesh(&encode_event(&e)), &limits).unwrap();
        prop_assert_eq!(datagram, Datagram::Proto(decoded));
    }

    #[test]
    fn an_xml_stream_cut_anywhere_yields_the_events_sent(
        events in prop::collection::vec(event(), 1..5),
        declarations in prop::collection::vec(any::<bool>(), 5),
        cuts in prop::collection::vec(1usize..200, 1..40),
    ) {
        let mut stream = Vec::new();
        for (e, declared) in events.iter().zip(&declarations) {
            if *declared {
                stream.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
            }
            stream.extend_from_slice(write_event(e).as_bytes());
        }
        let limits = Limits::default();
        let mut split = XmlStream::new(&limits);
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            let end = (at + cut).min(stream.len());
            split.push(&stream[at..end]);
            at = end;
            while let Some(bytes) = split.next_event().unwrap() {
                got.push(parse_event(&bytes, &limits).unwrap());
            }
            if at == stream.len() {
                break;
            }
        }
        prop_assert!(split.is_idle());
        prop_assert_eq!(got, events);
    }

    #[test]
    fn a_protobuf_stream_cut_anywhere_yields_the_messages_sent(
        events in prop::collection::vec(event(), 1..5),
        cuts in prop::collection::vec(1usize..100, 1..40),
    ) {
        let stream: Vec<u8> = events.iter().flat_map(|e| frame_stream(&encode_event(e))).collect();
        let limits = Limits::default();
        let mut split = ProtoStream::new(&limits, Vec::new());
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            let end = (at + cut).min(stream.len());
            split.push(&stream[at..end]);
            at = end;
            while let Some(payload) = split.next_payload().unwrap() {
                got.push(decode_message(&payload, &limits).unwrap().event.unwrap());
            }
            if at == stream.len() {
                break;
            }
        }
        prop_assert!(split.is_idle());
        prop_assert_eq!(got, events);
    }
}

#[test]
fn a_stream_holding_an_unfinished_event_over_the_limit_is_refused_before_it_ends() {
    let limits = Limits {
        message_bytes: 1000,
        ..Limits::default()
    };
    let mut xml = XmlStream::new(&limits);
    xml.push(b"\n\n<event ");
    xml.push(&vec![b' '; 990]);
    assert_eq!(xml.next_event(), Ok(None), "within the limit, waiting");
    xml.push(b"uid='x'");
    assert!(
        xml.next_event()
            .unwrap_err()
            .to_string()
            .contains("larger than the limit of 1000 bytes")
    );
    let mut proto = ProtoStream::new(&limits, Vec::new());
    let mut header = vec![0xbf];
    header.extend_from_slice(&[0xe9, 0x07]); // 1001
    proto.push(&header);
    assert!(
        proto.next_payload().is_err(),
        "refused on the length, before the payload"
    );
    let mut wrong = ProtoStream::new(&limits, b"<event".to_vec());
    assert!(
        wrong
            .next_payload()
            .unwrap_err()
            .to_string()
            .contains("starts with 0xbf, not 0x3c")
    );
}

#[test]
fn a_stream_of_nothing_but_whitespace_holds_nothing() {
    let limits = Limits {
        message_bytes: 1000,
        ..Limits::default()
    };
    let mut xml = XmlStream::new(&limits);
    for _ in 0..100 {
        xml.push(&[b'\n'; 500]);
        assert_eq!(xml.next_event(), Ok(None));
    }
    assert!(xml.is_idle());
    xml.push(b"\r\n <?xml version='1.0'?>");
    assert_eq!(xml.next_event(), Ok(None));
    assert_eq!(
        xml.into_remaining(),
        b"<?xml version='1.0'?>",
        "what waits is the event's start"
    );
}

#[test]
fn a_mesh_datagram_of_another_version_is_refused_and_xml_datagrams_read() {
    let limits = Limits::default();
    let err = parse_datagram(&[0xbf, 0x02, 0xbf, 0x00], &limits).unwrap_err();
    assert!(err.to_string().contains("mesh protocol version 2"), "{err}");
    let xml = b"<event version='2.0' uid='u' type='a-u-G' time='2026-12-05T14:00:00Z' start='2026-12-05T14:00:00Z' stale='2026-12-05T15:00:00Z' how='h-e'><point lat='1' lon='2'/></event>";
    assert!(matches!(parse_datagram(xml, &limits), Ok(Datagram::Xml(e)) if e.uid == "u"));
}
