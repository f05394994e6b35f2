//! TAK protocol version 1: the protobuf `TakMessage` and its conversion to and from the
//! event model.
//!
//! The message structs are written here from the public description of the protocol's
//! fields (names, numbers and types, as listed in TAK's `protocol.txt` and the takproto
//! documentation); no `.proto` file is vendored and no code is generated from one (the only
//! published `.proto` files are in GPL-3.0 repositories, and truce is Apache-2.0). The wire
//! compatibility is checked against takproto, an independent implementation, in
//! `tests/takproto_peer.rs`.

use crate::event::{Contact, Detail, Event, Group, Point, PrecisionLocation, Status, Takv, Track};
use crate::validate::validate_event;
use crate::xml::{parse_detail_children, write_elements};
use crate::{CotError, Limits};
use prost::Message as _;

/// The one message of TAK protocol version 1: a control message, an event, or both.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TakMessage {
    /// Protocol versions the sender supports (mesh networks).
    #[prost(message, optional, tag = "1")]
    pub tak_control: Option<TakControl>,
    /// The CoT event.
    #[prost(message, optional, tag = "2")]
    pub cot_event: Option<CotEvent>,
}

/// Which protocol versions a mesh device supports.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TakControl {
    /// Lowest version supported.
    #[prost(uint32, tag = "1")]
    pub min_proto_version: u32,
    /// Highest version supported.
    #[prost(uint32, tag = "2")]
    pub max_proto_version: u32,
    /// The device's contact uid.
    #[prost(string, tag = "3")]
    pub contact_uid: String,
}

/// A CoT event; times are milliseconds since the Unix epoch.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CotEvent {
    /// CoT type.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// Optional `access`.
    #[prost(string, tag = "2")]
    pub access: String,
    /// Optional `qos`.
    #[prost(string, tag = "3")]
    pub qos: String,
    /// Optional `opex`.
    #[prost(string, tag = "4")]
    pub opex: String,
    /// The event's uid.
    #[prost(string, tag = "5")]
    pub uid: String,
    /// XML `time`.
    #[prost(uint64, tag = "6")]
    pub send_time: u64,
    /// XML `start`.
    #[prost(uint64, tag = "7")]
    pub start_time: u64,
    /// XML `stale`.
    #[prost(uint64, tag = "8")]
    pub stale_time: u64,
    /// XML `how`.
    #[prost(string, tag = "9")]
    pub how: String,
    /// Latitude, degrees.
    #[prost(double, tag = "10")]
    pub lat: f64,
    /// Longitude, degrees.
    #[prost(double, tag = "11")]
    pub lon: f64,
    /// Height above the ellipsoid, metres.
    #[prost(double, tag = "12")]
    pub hae: f64,
    /// Circular error, one sigma, metres.
    #[prost(double, tag = "13")]
    pub ce: f64,
    /// Linear error, one sigma, metres.
    #[prost(double, tag = "14")]
    pub le: f64,
    /// The detail.
    #[prost(message, optional, tag = "15")]
    pub detail: Option<ProtoDetail>,
}

/// `<detail>`: six elements as typed fields, every other child as XML text.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDetail {
    /// Every child not carried by a typed field, as XML without the `<detail>` wrapper.
    #[prost(string, tag = "1")]
    pub xml_detail: String,
    /// `<contact>`.
    #[prost(message, optional, tag = "2")]
    pub contact: Option<ProtoContact>,
    /// `<__group>`.
    #[prost(message, optional, tag = "3")]
    pub group: Option<ProtoGroup>,
    /// `<precisionlocation>`.
    #[prost(message, optional, tag = "4")]
    pub precision_location: Option<ProtoPrecisionLocation>,
    /// `<status>`.
    #[prost(message, optional, tag = "5")]
    pub status: Option<ProtoStatus>,
    /// `<takv>`.
    #[prost(message, optional, tag = "6")]
    pub takv: Option<ProtoTakv>,
    /// `<track>`.
    #[prost(message, optional, tag = "7")]
    pub track: Option<ProtoTrack>,
}

/// `<contact endpoint callsign/>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoContact {
    /// Endpoint.
    #[prost(string, tag = "1")]
    pub endpoint: String,
    /// Call sign.
    #[prost(string, tag = "2")]
    pub callsign: String,
}

/// `<__group name role/>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoGroup {
    /// Team name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Role.
    #[prost(string, tag = "2")]
    pub role: String,
}

/// `<precisionlocation geopointsrc altsrc/>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoPrecisionLocation {
    /// Position source.
    #[prost(string, tag = "1")]
    pub geopointsrc: String,
    /// Height source.
    #[prost(string, tag = "2")]
    pub altsrc: String,
}

/// `<status battery/>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoStatus {
    /// Battery, percent.
    #[prost(uint32, tag = "1")]
    pub battery: u32,
}

/// `<takv device platform os version/>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoTakv {
    /// Device.
    #[prost(string, tag = "1")]
    pub device: String,
    /// Platform.
    #[prost(string, tag = "2")]
    pub platform: String,
    /// Operating system.
    #[prost(string, tag = "3")]
    pub os: String,
    /// Version.
    #[prost(string, tag = "4")]
    pub version: String,
}

/// `<track speed course/>`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoTrack {
    /// Speed, m/s.
    #[prost(double, tag = "1")]
    pub speed: f64,
    /// Course, degrees true.
    #[prost(double, tag = "2")]
    pub course: f64,
}

/// A decoded TAK protocol message: its control part and its event, each if present.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Supported versions, from a mesh device.
    pub control: Option<TakControl>,
    /// The event, validated as [`crate::parse_event`] validates XML.
    pub event: Option<Event>,
}

/// Decodes one `TakMessage` payload (no framing).
///
/// Guarantees: on `Ok`, the event (if any) meets the same checks as an XML event; on `Err`,
/// the error names the field or the decoder's complaint. Never panics, on any input.
pub fn decode_message(payload: &[u8], limits: &Limits) -> Result<Decoded, CotError> {
    if payload.len() > limits.message_bytes {
        return Err(CotError::too_large(
            "message",
            limits.message_bytes,
            "bytes",
        ));
    }
    let message = TakMessage::decode(payload).map_err(|e| CotError::Protobuf {
        problem: e.to_string(),
    })?;
    let event = message
        .cot_event
        .map(|e| event_from_proto(e, limits))
        .transpose()?;
    Ok(Decoded {
        control: message.tak_control,
        event,
    })
}

/// Encodes `event` as a `TakMessage` payload (no framing). Decoding it with
/// [`decode_message`] gives back `event` except its `version`, which protobuf does not carry
/// (it reads as `2.0`).
pub fn encode_event(event: &Event) -> Vec<u8> {
    TakMessage {
        tak_control: None,
        cot_event: Some(event_to_proto(event)),
    }
    .encode_to_vec()
}

/// The event as the protobuf `CotEvent`.
pub fn event_to_proto(event: &Event) -> CotEvent {
    let d = &event.detail;
    let detail = ProtoDetail {
        xml_detail: write_elements(&d.others),
        contact: d.contact.as_ref().map(|c| ProtoContact {
            endpoint: c.endpoint.clone(),
            callsign: c.callsign.clone(),
        }),
        group: d.group.as_ref().map(|g| ProtoGroup {
            name: g.name.clone(),
            role: g.role.clone(),
        }),
        precision_location: d
            .precision_location
            .as_ref()
            .map(|p| ProtoPrecisionLocation {
                geopointsrc: p.geopointsrc.clone(),
                altsrc: p.altsrc.clone(),
            }),
        status: d.status.map(|s| ProtoStatus { battery: s.battery }),
        takv: d.takv.as_ref().map(|t| ProtoTakv {
            device: t.device.clone(),
            platform: t.platform.clone(),
            os: t.os.clone(),
            version: t.version.clone(),
        }),
        track: d.track.map(|t| ProtoTrack {
            speed: t.speed,
            course: t.course,
        }),
    };
    let empty = detail == ProtoDetail::default();
    CotEvent {
        r#type: event.kind.clone(),
        access: event.access.clone().unwrap_or_default(),
        qos: event.qos.clone().unwrap_or_default(),
        opex: event.opex.clone().unwrap_or_default(),
        uid: event.uid.clone(),
        send_time: event.time_ms.max(0) as u64,
        start_time: event.start_ms.max(0) as u64,
        stale_time: event.stale_ms.max(0) as u64,
        how: event.how.clone(),
        lat: event.point.lat,
        lon: event.point.lon,
        hae: event.point.hae,
        ce: event.point.ce,
        le: event.point.le,
        detail: (!empty).then_some(detail),
    }
}

/// The protobuf `CotEvent` as an event, checked.
pub fn event_from_proto(e: CotEvent, limits: &Limits) -> Result<Event, CotError> {
    let ms = |value: u64, at: &str| {
        i64::try_from(value).map_err(|_| CotError::invalid(at, "time out of range"))
    };
    let optional = |s: String| (!s.is_empty()).then_some(s);
    let mut detail = Detail::default();
    if let Some(d) = e.detail {
        detail.contact = d.contact.map(|c| Contact {
            endpoint: c.endpoint,
            callsign: c.callsign,
        });
        detail.group = d.group.map(|g| Group {
            name: g.name,
            role: g.role,
        });
        detail.precision_location = d.precision_location.map(|p| PrecisionLocation {
            geopointsrc: p.geopointsrc,
            altsrc: p.altsrc,
        });
        detail.status = d.status.map(|s| Status { battery: s.battery });
        detail.takv = d.takv.map(|t| Takv {
            device: t.device,
            platform: t.platform,
            os: t.os,
            version: t.version,
        });
        detail.track = d.track.map(|t| Track {
            speed: t.speed,
            course: t.course,
        });
        let children = parse_detail_children(&d.xml_detail, limits).map_err(|err| match err {
            CotError::Xml {
                at,
                position,
                problem,
            } => CotError::Xml {
                at: format!("cotEvent.detail.xmlDetail ({at})"),
                position,
                problem,
            },
            other => other,
        })?;
        crate::xml::sort_into(&mut detail, children);
    }
    let event = Event {
        version: "2.0".into(),
        uid: e.uid,
        kind: e.r#type,
        how: e.how,
        time_ms: ms(e.send_time, "event@time")?,
        start_ms: ms(e.start_time, "event@start")?,
        stale_ms: ms(e.stale_time, "event@stale")?,
        access: optional(e.access),
        qos: optional(e.qos),
        opex: optional(e.opex),
        point: Point {
            lat: e.lat,
            lon: e.lon,
            hae: e.hae,
            ce: e.ce,
            le: e.le,
        },
        detail,
    };
    validate_event(&event, limits)?;
    Ok(event)
}
