//! How CoT messages follow one another on a stream or sit in a datagram.
//!
//! - **XML streams** (TAK protocol version 0): events one after another, split after each
//!   `</event>`, with or without an XML declaration before each.
//! - **Protobuf streams** (version 1, after negotiation): `0xbf`, the payload's length as an
//!   unsigned varint, the `TakMessage`.
//! - **Mesh datagrams**: `0xbf`, the version as a varint, `0xbf`, the `TakMessage`; or one XML
//!   event.

use crate::proto::{Decoded, decode_message};
use crate::xml::parse_event;
use crate::{CotError, Event, Limits};

/// What TAK writes between framed parts.
pub const MAGIC: u8 = 0xbf;
/// The token after which an XML stream is split.
pub const END_OF_EVENT: &[u8] = b"</event>";
/// Longest varint the framing accepts, bytes (a `u64`).
const MAX_VARINT_BYTES: usize = 10;

/// Splits an XML stream into events as bytes arrive.
///
/// Guarantees: holds at most `limits.message_bytes` of an unfinished event (beyond, the next
/// call to [`XmlStream::next_event`] fails and the stream should be closed); each search
/// looks only at bytes not searched before, so the cost is linear in what arrives.
#[derive(Debug)]
pub struct XmlStream {
    buffer: Vec<u8>,
    searched: usize,
    limit: usize,
}

impl XmlStream {
    /// A stream that refuses events larger than `limits.message_bytes`.
    pub fn new(limits: &Limits) -> Self {
        Self {
            buffer: Vec::new(),
            searched: 0,
            limit: limits.message_bytes,
        }
    }

    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event's bytes (up to and including `</event>`), `None` until one
    /// has arrived, or an error when the unfinished event is over the limit.
    pub fn next_event(&mut self) -> Result<Option<Vec<u8>>, CotError> {
        // Whitespace between events (newlines after `</event>`) is dropped, never kept: a
        // stream of nothing but spaces costs nothing.
        let space = leading_space(&self.buffer);
        if space > 0 {
            self.buffer.drain(..space);
            self.searched = self.searched.saturating_sub(space);
        }
        let from = self.searched.saturating_sub(END_OF_EVENT.len() - 1);
        match find(&self.buffer[from..], END_OF_EVENT) {
            Some(at) => {
                let end = from + at + END_OF_EVENT.len();
                if end > self.limit {
                    return Err(CotError::too_large("message", self.limit, "bytes"));
                }
                let event: Vec<u8> = self.buffer.drain(..end).collect();
                self.searched = 0;
                Ok(Some(event))
            }
            None => {
                self.searched = self.buffer.len();
                if self.buffer.len() > self.limit {
                    Err(CotError::too_large("message", self.limit, "bytes"))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// Bytes received after the last complete event, whitespace before them left out: what a
    /// connection that switches to protobuf framing hands on to [`ProtoStream`] (a client's
    /// newline after its request is not the start of a frame).
    pub fn into_remaining(self) -> Vec<u8> {
        let space = leading_space(&self.buffer);
        self.buffer[space..].to_vec()
    }

    /// Whether what is buffered is only whitespace (a stream may end here cleanly).
    pub fn is_idle(&self) -> bool {
        self.buffer.iter().all(u8::is_ascii_whitespace)
    }
}

/// Whitespace before the first markup (newlines between events).
fn leading_space(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits a protobuf stream (`0xbf`, varint length, payload) as bytes arrive.
///
/// Guarantees: refuses a length above `limits.message_bytes` as soon as its varint is read,
/// before the payload arrives; a stream that does not start a message with `0xbf` is refused.
#[derive(Debug)]
pub struct ProtoStream {
    buffer: Vec<u8>,
    limit: usize,
}

impl ProtoStream {
    /// A stream starting with `already` (bytes that arrived before the switch from XML).
    pub fn new(limits: &Limits, already: Vec<u8>) -> Self {
        Self {
            buffer: already,
            limit: limits.message_bytes,
        }
    }

    /// Adds bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete payload, `None` until one has arrived, or an error when the framing
    /// is broken or the length over the limit (the stream should then be closed).
    pub fn next_payload(&mut self) -> Result<Option<Vec<u8>>, CotError> {
        let Some(&first) = self.buffer.first() else {
            return Ok(None);
        };
        if first != MAGIC {
            return Err(CotError::framing(format!(
                "a protobuf stream message starts with 0xbf, not 0x{first:02x}"
            )));
        }
        let Some((length, header)) = read_varint(&self.buffer[1..])? else {
            return Ok(None);
        };
        if length > self.limit as u64 {
            return Err(CotError::too_large("message", self.limit, "bytes"));
        }
        let end = 1 + header + length as usize;
        if self.buffer.len() < end {
            return Ok(None);
        }
        let payload = self.buffer[1 + header..end].to_vec();
        self.buffer.drain(..end);
        Ok(Some(payload))
    }

    /// Whether nothing of an unfinished message is buffered.
    pub fn is_idle(&self) -> bool {
        self.buffer.is_empty()
    }
}

/// Reads an unsigned varint: `(value, bytes used)`, `None` if it is not complete yet.
fn read_varint(bytes: &[u8]) -> Result<Option<(u64, usize)>, CotError> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(MAX_VARINT_BYTES) {
        let bits = u64::from(b & 0x7f);
        if i == MAX_VARINT_BYTES - 1 && b > 1 {
            return Err(CotError::framing("a varint longer than 64 bits"));
        }
        value |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= MAX_VARINT_BYTES {
        return Err(CotError::framing("a varint longer than 10 bytes"));
    }
    Ok(None)
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Frames a `TakMessage` payload for a protobuf stream.
pub fn frame_stream(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(MAGIC);
    write_varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// Frames a `TakMessage` payload as a version 1 mesh datagram (`bf 01 bf`).
pub fn frame_mesh(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 3);
    out.extend_from_slice(&[MAGIC, 1, MAGIC]);
    out.extend_from_slice(payload);
    out
}

/// One datagram's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Datagram {
    /// An XML event.
    Xml(Event),
    /// A version 1 protobuf message.
    Proto(Decoded),
}

/// Reads a UDP datagram: a mesh protobuf message (`0xbf`, version, `0xbf`; version 1 only)
/// or one XML event.
pub fn parse_datagram(bytes: &[u8], limits: &Limits) -> Result<Datagram, CotError> {
    match bytes.first() {
        Some(&MAGIC) => {
            let Some((version, used)) = read_varint(&bytes[1..])? else {
                return Err(CotError::framing("a mesh datagram cut off in its version"));
            };
            if version != 1 {
                return Err(CotError::framing(format!(
                    "mesh protocol version {version}; only version 1 is understood"
                )));
            }
            let rest = &bytes[1 + used..];
            match rest.first() {
                Some(&MAGIC) => Ok(Datagram::Proto(decode_message(&rest[1..], limits)?)),
                _ => Err(CotError::framing(
                    "a mesh datagram has 0xbf after its version",
                )),
            }
        }
        Some(_) => Ok(Datagram::Xml(parse_event(bytes, limits)?)),
        None => Err(CotError::framing("an empty datagram")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_the_longest_is_refused() {
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            65_535,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_varint(v, &mut out);
            assert_eq!(read_varint(&out).unwrap(), Some((v, out.len())));
            assert_eq!(
                read_varint(&out[..out.len() - 1]).unwrap(),
                None,
                "cut short"
            );
        }
        assert!(read_varint(&[0xff; 11]).is_err());
    }

    #[test]
    fn a_159_byte_payload_is_framed_as_takproto_frames_it() {
        // takproto 3.0.1 writes a 159-byte TakMessage as `bf 9f 01 …` on a stream and
        // `bf 01 bf …` in a mesh datagram.
        let payload = vec![0u8; 159];
        assert_eq!(&frame_stream(&payload)[..3], &[0xbf, 0x9f, 0x01]);
        assert_eq!(&frame_mesh(&payload)[..3], &[0xbf, 0x01, 0xbf]);
    }
}
