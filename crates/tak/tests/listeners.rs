//! The TAK listeners against clients others wrote: pytak's command-line client (XML over TCP
//! and UDP) and a negotiating client on takproto (protocol version 1 over TCP, mesh datagrams
//! over UDP). Each report must reach the record once, with the listener named in `via`; what
//! is refused must not reach it; the stream must survive a bad event.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use truce_core::Timestamp;
use truce_core::observation::{Geometry, Kind};
use truce_tak::{Binding, serve_tcp};
#[tokio::test(flavor = "multi_thread")]
async fn a_marker_sent_by_pytak_over_tcp_is_recorded_once_as_its_observer_said() {
    let center = Center::start().await;
    let file = center.file("marker.xml", &marker("marker-1", TRUCE_DETAIL));
    let printed = pytak(&format!("tcp://{}", center.tcp), &file, 2).await;
    assert!(
        printed.contains("t-x-takp-v"),
        "the server offers protocol 1 on connect:\n{printed}"
    );
    let found = center.wait_for(1).await;
    let o = &found[0].observation;
    assert_eq!((o.kind, o.count), (Kind::Explosion, 2));
    assert_eq!(o.reporter, "OP North 1");
    assert_eq!(
        o.via.as_deref(),
        Some(format!("cot-tcp {} as m1-observer (m1)", center.tcp).as_str())
    );
    let Geometry::Position(p) = &o.geometry else {
        panic!("{:?}", o.geometry)
    };
    assert_eq!((p.lat, p.lon), (40.3, 46.7));
    assert!(
        (p.accuracy_m - 20.0 * 2.4477).abs() < 0.01,
        "95% radius from ce: {}",
        p.accuracy_m
    );
    assert!(
        o.notes
            .as_deref()
            .unwrap()
            .starts_with("Impact seen, smoke north-east [CoT a-u-G]")
    );
    // The same event again (a client resending after a reconnect) is recognised.
    pytak(&format!("tcp://{}", center.tcp), &file, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        center.observations().len(),
        1,
        "a resent event is not recorded twice"
    );
    let stats = center.intake.stats.snapshot();
    let get = |name: &str| stats.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!((get("reports_recorded"), get("reports_repeated")), (1, 1));
    // pytak's "hello" (a t-x-d-d without a link) on each connect is not a report.
    assert_eq!(get("ignored"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_goes_on_after_a_refused_event_and_nothing_of_it_is_recorded() {
    let center = Center::start().await;
    let bad = marker("bad-1", TRUCE_DETAIL).replace("lat=\"40.3\"", "lat=\"91.3\"");
    let wrong_kind = marker("bad-2", "<truce kind=\"volley\"/>");
    let good = marker("good-1", TRUCE_DETAIL);
    let both = format!("{bad}{wrong_kind}{good}");
    let file = center.file("three.xml", &both);
    pytak(&format!("tcp://{}", center.tcp), &file, 2).await;
    let found = center.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(center.observations().len(), 1);
    let o = &found[0].observation;
    assert_eq!(
        o.kind,
        Kind::Explosion,
        "the good event, not the one of an unknown kind"
    );
    let Geometry::Position(p) = &o.geometry else {
        panic!("{:?}", o.geometry)
    };
    assert_eq!(p.lat, 40.3, "not the one with latitude 91.3");
    let stats = center.intake.stats.snapshot();
    let get = |name: &str| stats.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(get("refused"), 2, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_negotiates_protocol_1_reports_in_protobuf_and_gets_its_pong() {
    let center = Center::start().await;
    let file = center.file("marker.xml", &marker("proto-1", TRUCE_DETAIL));
    let answer = tak_client(vec![
        "negotiate".into(),
        "127.0.0.1".into(),
        center.tcp.port().to_string(),
        file.display().to_string(),
    ])
    .await;
    assert_eq!(answer["answer_type"], "t-x-takp-r");
    assert_eq!(answer["status"], "true");
    assert_eq!(
        answer["pong_type"], "t-x-c-t-r",
        "the pong comes back in protobuf"
    );
    // The incident its report made came back too, in protobuf: the relay writes each
    // client's framing.
    let also = answer["also_received"].as_array().unwrap();
    assert!(
        also.iter().any(|t| t == "a-u-G") && also.iter().any(|t| t == "u-d-c-e"),
        "{also:?}"
    );
    let found = center.wait_for(1).await;
    assert_eq!(found[0].observation.kind, Kind::Explosion);
    let stats = center.intake.stats.snapshot();
    assert!(
        stats.contains(&("negotiated", 1)) && stats.contains(&("pings", 1)),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_for_another_protocol_version_is_refused_and_the_stream_stays_xml() {
    let center = Center::start().await;
    let answer = tak_client(vec![
        "refuse-version".into(),
        "127.0.0.1".into(),
        center.tcp.port().to_string(),
    ])
    .await;
    assert_eq!(answer["status"], "false");
    assert_eq!(
        answer["pong_type"], "t-x-c-t-r",
        "an XML ping gets an XML pong"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn datagrams_from_pytak_and_takproto_mesh_are_recorded() {
    let center = Center::start().await;
    let xml = center.file("udp.xml", &marker("udp-xml-1", TRUCE_DETAIL));
    pytak(&format!("udp+wo://{}", center.udp), &xml, 1).await;
    let mesh = center.file("mesh.xml", &marker("udp-mesh-1", TRUCE_DETAIL));
    tak_client(vec![
        "mesh".into(),
        "127.0.0.1".into(),
        center.udp.port().to_string(),
        mesh.display().to_string(),
    ])
    .await;
    let found = center.wait_for(2).await;
    let via = format!("cot-udp {} as m1-observer (m1)", center.udp);
    assert!(
        found
            .iter()
            .all(|o| o.observation.via.as_deref() == Some(via.as_str()))
    );
}

#[tokio::test]
async fn a_listener_binds_only_to_an_active_observer() {
    let center = Center::start().await;
    let err = Binding::to_member(&center.engine, "cot-tcp x", "m1-analyst").unwrap_err();
    assert_eq!(
        err.to_string(),
        "m1-analyst is analyst; only an observer reports"
    );
    let err = Binding::to_member(&center.engine, "cot-tcp x", "nobody").unwrap_err();
    assert!(err.to_string().contains("no active member \"nobody\""));
}

/// Reads from `stream` until `count` CoT events have arrived; returns their types.
async fn read_events(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    count: usize,
) -> Vec<String> {
    use tokio::io::AsyncReadExt;
    let limits = truce_cot::Limits::default();
    let mut split = truce_cot::XmlStream::new(&limits);
    let mut types = Vec::new();
    let mut buffer = vec![0u8; 65_536];
    while types.len() < count {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the server answers within 10 s")
            .unwrap();
        assert!(
            n > 0,
            "the server closed the stream after {} events",
            types.len()
        );
        split.push(&buffer[..n]);
        while let Some(bytes) = split.next_event().unwrap() {
            let event = truce_cot::parse_event(&bytes, &limits).unwrap();
            types.push(event.kind);
        }
    }
    types
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_over_the_rate_cap_is_slowed_and_every_message_is_still_answered() {
    use tokio::io::AsyncWriteExt;
    let center = Center::start().await;
    let stream = tokio::net::TcpStream::connect(center.tcp).await.unwrap();
    let (mut read_half, mut write_half) = stream.into_split();
    assert_eq!(read_events(&mut read_half, 1).await, ["t-x-takp-v"]);
    let burst = truce_tak::session::BURST as usize;
    let extra = (truce_tak::session::RATE_PER_S / 2.0) as usize;
    let now = Timestamp::now().unix_millis();
    let pings =
        truce_cot::write_event(&truce_cot::control::ping("load", now)).repeat(burst + extra);
    let started = std::time::Instant::now();
    let writer = tokio::spawn(async move {
        write_half.write_all(pings.as_bytes()).await.unwrap();
        write_half
    });
    let answers = read_events(&mut read_half, burst + extra).await;
    let _ = writer.await;
    assert_eq!(answers.len(), burst + extra, "no message dropped");
    assert!(answers.iter().all(|t| t == "t-x-c-t-r"));
    // The burst passes at once, the rest at the capped rate: half a second's worth at least.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

/// A raw CoT stream client, as a TAK client is on the wire.
struct Peer {
    read: tokio::net::tcp::OwnedReadHalf,
    write: tokio::net::tcp::OwnedWriteHalf,
    split: truce_cot::XmlStream,
    ready: std::collections::VecDeque<truce_cot::Event>,
}

impl Peer {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (read, write) = stream.into_split();
        Self {
            read,
            write,
            split: truce_cot::XmlStream::new(&truce_cot::Limits::default()),
            ready: Default::default(),
        }
    }

    async fn send(&mut self, xml: &str) {
        use tokio::io::AsyncWriteExt;
        self.write.write_all(xml.as_bytes()).await.unwrap();
    }

    /// The next event the server sends (fails after 10 s).
    async fn next(&mut self) -> truce_cot::Event {
        use tokio::io::AsyncReadExt;
        let limits = truce_cot::Limits::default();
        let mut buffer = vec![0u8; 65_536];
        loop {
            if let Some(e) = self.ready.pop_front() {
                return e;
            }
            let n = tokio::time::timeout(Duration::from_secs(10), self.read.read(&mut buffer))
                .await
                .expect("the server sends within 10 s")
                .unwrap();
            assert!(n > 0, "the server closed the stream");
            self.split.push(&buffer[..n]);
            while let Some(bytes) = self.split.next_event().unwrap() {
                self.ready
                    .push_back(truce_cot::parse_event(&bytes, &limits).unwrap());
            }
        }
    }

    /// Events up to and including the first of type `kind`.
    async fn until(&mut self, kind: &str) -> Vec<truce_cot::Event> {
        let mut seen = Vec::new();
        loop {
            let e = self.next().await;
            let done = e.kind == kind;
            seen.push(e);
            if done {
                return seen;
            }
        }
    }
}

/// A device's own position as ATAK sends it every few seconds.
fn awareness(uid: &str, remarks: &str) -> String {
    awareness_at(uid, remarks, 0.0, 40.2)
}

/// A device's own position at `offset_s` from now, at latitude `lat`.
fn awareness_at(uid: &str, remarks: &str, offset_s: f64, lat: f64) -> String {
    let (t, stale) = (cot_time(offset_s), cot_time(120.0));
    format!(
        "<event version=\"2.0\" uid=\"{uid}\" type=\"a-f-G-U-C\" how=\"m-g\" time=\"{t}\" \
         start=\"{t}\" stale=\"{stale}\"><point lat=\"{lat}\" lon=\"46.6\" hae=\"900\" ce=\"5\" \
         le=\"9\"/><detail><contact callsign=\"Patrol 2\" endpoint=\"*:-1:stcp\"/>\
         <takv platform=\"ATAK-CIV\" version=\"5.2\"/><track course=\"12.5\" speed=\"3.2\"/>\
         <remarks>{remarks}</remarks></detail></event>"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patrols_awareness_becomes_its_track_in_the_record_at_a_bounded_rate() {
    let center = Center::start().await;
    let mut patrol = Peer::connect(center.tcp).await;
    assert_eq!(patrol.next().await.kind, "t-x-takp-v");
    // Every 5 s for a minute and more; then a move of 1.1 km ten seconds after a kept point.
    let mut sent = Vec::new();
    for offset in [-130.0, -125.0, -120.0, -115.0, -60.0, -55.0] {
        sent.push(awareness_at("ANDROID-patrol-7", "", offset, 40.2));
    }
    sent.push(awareness_at("ANDROID-patrol-7", "", -50.0, 40.21));
    // A friendly marker placed by hand is not where a team is.
    let (t, stale) = (cot_time(-40.0), cot_time(600.0));
    sent.push(format!(
        "<event version=\"2.0\" uid=\"friendly-post\" type=\"a-f-G\" how=\"h-g-i-g-o\" \
         time=\"{t}\" start=\"{t}\" stale=\"{stale}\"><point lat=\"40.0\" lon=\"46.0\" \
         hae=\"0\" ce=\"9999999\" le=\"9999999\"/><detail/></event>"
    ));
    for event in &sent {
        patrol.send(event).await;
    }
    // A ping after them: its pong means every event before it was taken.
    patrol
        .send(&truce_cot::write_event(&truce_cot::control::ping(
            "after",
            Timestamp::now().unix_millis(),
        )))
        .await;
    patrol.until("t-x-c-t-r").await;
    let rows = center
        .engine
        .store()
        .track_rows(-1, i64::MIN, i64::MAX, 100)
        .unwrap();
    let seconds_ago: Vec<i64> = rows
        .iter()
        .map(|r| (Timestamp::now().unix_nanos() as i64 - r.at_ns) / 1_000_000_000)
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "kept at -130 s, -60 s and after the move at -50 s: {seconds_ago:?}"
    );
    assert!(rows.iter().all(|r| r.device == "ANDROID-patrol-7"
        && r.callsign == "Patrol 2"
        && r.platform == "ground"
        && r.monitor == "m1"));
    assert!((rows[2].lat - 40.21).abs() < 1e-9);
    assert!(
        center.observations().is_empty(),
        "a track is not an observation"
    );
    assert_eq!(counter(&center.intake, "track_points_recorded"), 3);
    // The entry keeps the whole point; the audit checks the table against the entries.
    let entry = center.engine.store().entries(rows[0].entry, 1).unwrap();
    let body = truce_core::entry::EntryBody::decode(&entry[0].bytes).unwrap();
    let truce_core::entry::EntryBody::Track { point, monitor, .. } = body else {
        panic!("{body:?}")
    };
    assert_eq!(monitor, "m1");
    assert_eq!((point.course_deg, point.speed_mps), (Some(12.5), Some(3.2)));
    assert!((point.accuracy_m.unwrap() - 5.0 * 2.4477).abs() < 0.01);
    assert_eq!(
        point.via,
        format!("cot-tcp {} as m1-observer (m1)", center.tcp)
    );
    truce_engine::audit(center.engine.store().as_ref(), center.engine.agreement()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incident_goes_out_to_connected_clients_and_late_joiners_get_it_first() {
    let center = Center::start().await;
    let mut early = Peer::connect(center.tcp).await;
    assert_eq!(early.next().await.kind, "t-x-takp-v");
    early.send(&marker("m-out-1", TRUCE_DETAIL)).await;
    let got = early.until("u-d-c-e").await;
    let incident = &got[got.len() - 2];
    assert_eq!(incident.kind, "a-u-G");
    assert!(
        incident.uid.starts_with("truce-incident-"),
        "{}",
        incident.uid
    );
    assert_eq!((incident.point.lat, incident.point.lon), (40.3, 46.7));
    let remarks = &incident.detail.find("remarks").unwrap().text;
    assert!(remarks.starts_with("Status: reported."), "{remarks}");
    assert!(remarks.contains("Attribution: "), "{remarks}");
    let truce = incident.detail.find("truce").unwrap();
    assert_eq!(truce.attribute("kind"), Some("explosion"));
    let shape = got.last().unwrap();
    let ellipse = shape
        .detail
        .find("shape")
        .and_then(|s| s.child("ellipse"))
        .unwrap();
    let major: f64 = ellipse.attribute("major").unwrap().parse().unwrap();
    assert!(major > 10.0, "the 95% semi-major axis in metres: {major}");
    assert!((incident.point.ce - major / 2.4477).abs() < 0.1);

    let mut late = Peer::connect(center.tcp).await;
    let first = late.until("t-x-takp-v").await;
    let kinds: Vec<&str> = first.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["a-u-G", "u-d-c-e", "t-x-takp-v"],
        "the latest state, then the offer"
    );
    assert_eq!(first[0].uid, incident.uid);
}

#[tokio::test(flavor = "multi_thread")]
async fn awareness_is_relayed_to_the_others_and_withdrawn_when_its_sender_leaves() {
    let center = Center::start().await;
    let mut a = Peer::connect(center.tcp).await;
    let mut b = Peer::connect(center.tcp).await;
    assert_eq!(a.next().await.kind, "t-x-takp-v");
    assert_eq!(b.next().await.kind, "t-x-takp-v");
    a.send(&awareness("ANDROID-patrol-2", "on the move")).await;
    let relayed = b.next().await;
    assert_eq!(
        (relayed.kind.as_str(), relayed.uid.as_str()),
        ("a-f-G-U-C", "ANDROID-patrol-2")
    );
    assert!(
        center.observations().is_empty(),
        "awareness is not a report"
    );
    // A later joiner sees the patrol too.
    let mut c = Peer::connect(center.tcp).await;
    let first = c.until("t-x-takp-v").await;
    assert_eq!(first[0].uid, "ANDROID-patrol-2");
    drop(a);
    let gone = b.next().await;
    assert_eq!(gone.kind, "t-x-d-d");
    let link = gone.detail.find("link").unwrap();
    assert_eq!(link.attribute("uid"), Some("ANDROID-patrol-2"));
    assert_eq!(c.next().await.kind, "t-x-d-d");
    // The sender never got its own position back, and the next joiner no longer sees it.
    let mut d = Peer::connect(center.tcp).await;
    assert_eq!(d.next().await.kind, "t-x-takp-v");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_dropped_and_the_others_miss_nothing() {
    let center = Center::start().await;
    let mut sender = Peer::connect(center.tcp).await;
    let stuck = Peer::connect(center.tcp).await; // never reads
    let mut reader = Peer::connect(center.tcp).await;
    assert_eq!(sender.next().await.kind, "t-x-takp-v");
    assert_eq!(reader.next().await.kind, "t-x-takp-v");
    // Big positions, so the stuck client's socket buffers fill with a few hundred.
    let remarks = "r".repeat(15_000);
    let count = 3000;
    let one = awareness("ANDROID-busy", &remarks);
    let sending = tokio::spawn(async move {
        for _ in 0..count {
            sender.send(&one).await;
        }
        sender
    });
    let mut received = 0;
    while received < count {
        let e = reader.next().await;
        assert_eq!(e.uid, "ANDROID-busy");
        received += 1;
    }
    let _sender = sending.await.unwrap();
    let stats = center.intake.stats.snapshot();
    assert!(stats.contains(&("clients_dropped_slow", 1)), "{stats:?}");
    assert_eq!(
        center.relay.clients(),
        2,
        "the stuck client is gone, the others stay"
    );
    // Its connection is closed: what was buffered for it, then the end of the stream.
    let mut stuck = stuck.read;
    let mut buffer = vec![0u8; 1 << 20];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match tokio::io::AsyncReadExt::read(&mut stuck, &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server closed the stuck client's stream"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_cap_of_one_address_are_refused_and_counted() {
    let center = Center::start().await;
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let binding = Binding::to_member(&center.engine, "cot-tcp capped", "m1-observer").unwrap();
    let (_stop_tx, stop) = watch::channel(false);
    tokio::spawn(serve_tcp(
        tcp,
        Arc::new(binding),
        center.intake.clone(),
        center.relay.clone(),
        2,
        stop,
    ));
    let mut first = Peer::connect(addr).await;
    let mut second = Peer::connect(addr).await;
    assert_eq!(first.next().await.kind, "t-x-takp-v");
    assert_eq!(second.next().await.kind, "t-x-takp-v");
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut third, &mut byte),
    )
    .await
    .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the third is closed unread: {read:?}"
    );
    assert!(
        center
            .intake
            .stats
            .snapshot()
            .contains(&("connections_refused", 1))
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = Peer::connect(addr).await;
    assert_eq!(
        again.next().await.kind,
        "t-x-takp-v",
        "a slot freed is taken again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_a_stream_closes_that_stream_and_the_listener_serves_on() {
    use tokio::io::AsyncWriteExt;
    let center = Center::start().await;
    // Bytes no CoT client sends: binary noise, broken markup, an event over the size limit.
    let mut noise = Vec::new();
    let mut x: u32 = 2_463_534_242;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push((x & 0xff) as u8);
    }
    let oversized = format!("<event {}", "a".repeat(70_000));
    for bytes in [
        noise,
        b"<event><point/></detail></event>".to_vec(),
        oversized.into_bytes(),
    ] {
        let mut s = tokio::net::TcpStream::connect(center.tcp).await.unwrap();
        let _ = s.write_all(&bytes).await;
        let _ = s.write_all(b"</event>").await;
        let mut sink = vec![0u8; 65_536];
        // The server answers what it can and closes the stream on a framing error; either
        // way it must not stop serving others.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while tokio::io::AsyncReadExt::read(&mut s, &mut sink)
                .await
                .unwrap_or(0)
                > 0
            {}
        })
        .await;
        drop(s);
        let mut fresh = Peer::connect(center.tcp).await;
        assert_eq!(
            fresh.next().await.kind,
            "t-x-takp-v",
            "the listener serves on"
        );
    }
    assert!(center.observations().is_empty(), "nothing of it recorded");
    let stats = center.intake.stats.snapshot();
    let refused = stats.iter().find(|(n, _)| *n == "refused").unwrap().1;
    assert!(refused >= 2, "{stats:?}");
}
