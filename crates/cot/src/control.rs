//! TAK's control events: protocol negotiation on streams and keepalive.
//!
//! Negotiation (TAK `protocol.txt`): the server offers version 1 once per connection
//! (`t-x-takp-v`, a fresh uid P); a client may ask for it (`t-x-takp-q`, uid P); the server
//! answers (`t-x-takp-r`, uid P, status true or false). After a true answer both directions
//! use protobuf stream framing. Keepalive: ATAK pings (`t-x-c-t`) after 15 s of silence and
//! drops the connection at 25 s; the server answers each ping with `t-x-c-t-r`.

use crate::element::Element;
use crate::event::{Detail, Event, Point};

/// The TAK protocol version truce speaks besides XML.
pub const PROTOCOL_VERSION: u32 = 1;
/// CoT type of the server's offer.
pub const OFFER: &str = "t-x-takp-v";
/// CoT type of a client's request.
pub const REQUEST: &str = "t-x-takp-q";
/// CoT type of the server's answer.
pub const RESPONSE: &str = "t-x-takp-r";
/// CoT type of a ping.
pub const PING: &str = "t-x-c-t";
/// CoT type of the answer to a ping.
pub const PONG: &str = "t-x-c-t-r";
/// How long an offer stays open, and its stale time, milliseconds.
pub const OFFER_OPEN_MS: i64 = 60_000;

fn control_event(uid: &str, kind: &str, how: &str, now_ms: i64, stale_after_ms: i64) -> Event {
    Event {
        version: "2.0".into(),
        uid: uid.into(),
        kind: kind.into(),
        how: how.into(),
        time_ms: now_ms,
        start_ms: now_ms,
        stale_ms: now_ms + stale_after_ms,
        access: None,
        qos: None,
        opex: None,
        point: Point {
            lat: 0.0,
            lon: 0.0,
            hae: 0.0,
            ce: 999_999.0,
            le: 999_999.0,
        },
        detail: Detail::default(),
    }
}

fn with_tak_control(mut event: Event, child: Element) -> Event {
    let mut control = Element::new("TakControl", &[]);
    control.children.push(child);
    event.detail.others.push(control);
    event
}

/// The server's offer of protocol version 1, uid `uid` (fresh per connection).
pub fn protocol_offer(uid: &str, now_ms: i64) -> Event {
    with_tak_control(
        control_event(uid, OFFER, "m-g", now_ms, OFFER_OPEN_MS),
        Element::new("TakProtocolSupport", &[("version", "1")]),
    )
}

/// The version a client's `t-x-takp-q` asks for, or `None` if `event` is not a request
/// (a request whose version is missing or not a number asks for version 0, which is refused).
pub fn requested_version(event: &Event) -> Option<u32> {
    if event.kind != REQUEST {
        return None;
    }
    let version = event
        .detail
        .find("TakControl")
        .and_then(|c| c.child("TakRequest"))
        .and_then(|r| r.attribute("version"))
        .and_then(|v| v.trim().parse().ok());
    Some(version.unwrap_or(0))
}

/// A client's request for protocol `version`, answering the offer with uid `uid`.
pub fn protocol_request(uid: &str, version: u32, now_ms: i64) -> Event {
    with_tak_control(
        control_event(uid, REQUEST, "m-g", now_ms, OFFER_OPEN_MS),
        Element::new("TakRequest", &[("version", &version.to_string())]),
    )
}

/// The server's answer to a request: `accepted` when it asked for version 1.
pub fn protocol_response(uid: &str, accepted: bool, now_ms: i64) -> Event {
    with_tak_control(
        control_event(uid, RESPONSE, "m-g", now_ms, OFFER_OPEN_MS),
        Element::new(
            "TakResponse",
            &[("status", if accepted { "true" } else { "false" })],
        ),
    )
}

/// Whether a response accepts the switch (`status="true"`), or `None` if `event` is not one.
pub fn response_accepted(event: &Event) -> Option<bool> {
    (event.kind == RESPONSE).then(|| {
        event
            .detail
            .find("TakControl")
            .and_then(|c| c.child("TakResponse"))
            .and_then(|r| r.attribute("status"))
            == Some("true")
    })
}

/// Whether `event` is a keepalive ping.
pub fn is_ping(event: &Event) -> bool {
    event.kind == PING
}

/// The answer to a ping, as TAK Server writes it (uid `takPong`, stale after 20 s).
pub fn pong(now_ms: i64) -> Event {
    control_event("takPong", PONG, "h-g-i-g-o", now_ms, 20_000)
}

/// A ping from `uid` (what ATAK sends after 15 s without traffic).
pub fn ping(uid: &str, now_ms: i64) -> Event {
    control_event(&format!("{uid}-ping"), PING, "m-g", now_ms, 20_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse_event, write_event};

    #[test]
    fn an_offer_request_and_answer_read_back_as_what_they_say() {
        let limits = Limits::default();
        let now = 1_796_000_000_000;
        let offer =
            parse_event(write_event(&protocol_offer("P", now)).as_bytes(), &limits).unwrap();
        assert_eq!(offer.kind, OFFER);
        let support = offer
            .detail
            .find("TakControl")
            .and_then(|c| c.child("TakProtocolSupport"));
        assert_eq!(support.and_then(|s| s.attribute("version")), Some("1"));
        let request = parse_event(
            write_event(&protocol_request("P", 1, now)).as_bytes(),
            &limits,
        )
        .unwrap();
        assert_eq!(requested_version(&request), Some(1));
        assert_eq!(requested_version(&offer), None);
        for accepted in [true, false] {
            let answer = write_event(&protocol_response("P", accepted, now));
            let answer = parse_event(answer.as_bytes(), &limits).unwrap();
            assert_eq!(response_accepted(&answer), Some(accepted));
            assert_eq!(answer.uid, "P", "the answer reuses the offer's uid");
        }
    }

    #[test]
    fn a_request_without_a_version_asks_for_one_that_is_refused() {
        let mut request = protocol_request("P", 1, 0);
        request.detail.others.clear();
        assert_eq!(requested_version(&request), Some(0));
    }

    #[test]
    fn a_ping_is_answered_by_a_pong_stale_twenty_seconds_later() {
        let now = 1_796_000_000_000;
        assert!(is_ping(&ping("ANDROID-1", now)));
        let p = pong(now);
        assert_eq!((p.kind.as_str(), p.uid.as_str()), (PONG, "takPong"));
        assert_eq!(p.stale_ms - p.time_ms, 20_000);
    }
}
