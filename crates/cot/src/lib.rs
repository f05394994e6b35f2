//! Cursor-on-Target for truce: the messages ATAK, WinTAK, iTAK and TAK servers exchange,
//! parsed and written, with no sockets.
//!
//! - [`parse_event`] / [`write_event`]: one CoT XML `<event>`.
//! - [`decode_message`] / [`encode_event`]: TAK protocol version 1 (protobuf `TakMessage`),
//!   with message structs written from the public field list ([`proto`]).
//! - [`XmlStream`], [`ProtoStream`], [`frame_stream`], [`frame_mesh`], [`parse_datagram`]:
//!   the framings of streams and UDP datagrams.
//! - [`control`]: protocol negotiation (`t-x-takp-v/q/r`) and keepalive (`t-x-c-t`).
//!
//! Every parser has size limits ([`Limits`]) checked before what they bound is kept, refuses
//! out-of-range fields, and answers with a [`CotError`] naming the element or attribute. None
//! panics on any input (property tests in `tests/`).

pub mod control;
mod element;
mod error;
mod event;
mod framing;
mod limits;
pub mod proto;
mod times;
mod validate;
mod xml;

pub use element::Element;
pub use error::CotError;
pub use event::{
    Contact, Detail, Event, Group, Point, PrecisionLocation, Status, Takv, Track, UNKNOWN,
    UNKNOWN_AT_LEAST,
};
pub use framing::{
    Datagram, END_OF_EVENT, MAGIC, ProtoStream, XmlStream, frame_mesh, frame_stream, parse_datagram,
};
pub use limits::Limits;
pub use proto::{Decoded, decode_message, encode_event};
pub use times::{format_time, parse_time};
pub use validate::validate_event;
pub use xml::{parse_event, parse_tree, write_event};
