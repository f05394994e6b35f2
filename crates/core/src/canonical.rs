//! RFC 8785 (JCS) canonical JSON, written straight from `serde::Serialize` into one buffer.
//!
//! The record's entry bytes are this encoding, so it must never change: the output is
//! byte-identical to `serde_json_canonicalizer` 0.4 (the encoder the record was first written
//! with), which the tests check on random values and on every kind of entry. What it does:
//! - object members sorted by the UTF-16 code units of their (unescaped) names, duplicates refused;
//! - every number, integers included, written as the ECMAScript `Number.prototype.toString` of
//!   its `f64` value (`ryu-js`); a NaN or infinity refused when it is the whole value, and
//!   written `null` inside an array or object (as the first encoder did, by way of serde_json;
//!   no entry type reads such a `null` back as a number, so the audit would catch it);
//! - strings escaped only where JSON requires (`"`, `\`, control characters), `\u00xx` in
//!   lowercase hex for controls without a short escape;
//! - no whitespace.
//!
//! The encoder it replaces re-parsed every member name and buffered every value separately; this
//! one writes members in place and reorders an object's bytes once, only when its members were
//! not already in order.

use serde::ser::{self, Serialize};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Display;

/// Why a value has no canonical JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct CanonicalError(String);

impl ser::Error for CanonicalError {
    fn custom<T: Display>(msg: T) -> Self {
        CanonicalError(msg.to_string())
    }
}

/// The RFC 8785 canonical JSON of `value`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    with_encoded(value, <[u8]>::to_vec)
}

/// Whether `bytes` are exactly the RFC 8785 canonical JSON of `value` ([`to_vec`] compared,
/// without a copy of the encoding).
pub fn is_encoding_of<T: Serialize + ?Sized>(
    value: &T,
    bytes: &[u8],
) -> Result<bool, CanonicalError> {
    with_encoded(value, |out| out == bytes)
}

/// Most bytes an encoder's buffers keep between values: a buffer grown by an outsized value is
/// let go.
const KEPT_CAPACITY: usize = 1 << 20;

/// `then` applied to the encoding of `value`, made in this thread's encoder: its buffers are
/// kept between values, so encoding many (an intake batch, an audit) allocates only what
/// `then` does once they have grown.
fn with_encoded<T: Serialize + ?Sized, R>(
    value: &T,
    then: impl FnOnce(&[u8]) -> R,
) -> Result<R, CanonicalError> {
    thread_local! {
        static ENCODER: std::cell::RefCell<Encoder> = const {
            std::cell::RefCell::new(Encoder::new())
        };
    }
    ENCODER.with(|cell| {
        // A value whose serialisation encodes another value on this thread would find the
        // encoder taken: it gets one of its own.
        let Ok(mut encoder) = cell.try_borrow_mut() else {
            let mut own = Encoder::new();
            value.serialize(&mut own)?;
            return Ok(then(&own.out));
        };
        encoder.out.clear();
        encoder.members.clear();
        encoder.wrapped = false;
        let done = value.serialize(&mut *encoder).map(|()| then(&encoder.out));
        if encoder.out.capacity().max(encoder.scratch.capacity()) > KEPT_CAPACITY {
            *encoder = Encoder::new();
        }
        done
    })
}

/// One object member already written: its name and where `"name":value` sits in the output.
struct Member {
    name: Cow<'static, str>,
    start: usize,
    end: usize,
}

/// The encoder: the output, the members of every object still open (innermost last), and a
/// buffer reused to reorder an object.
struct Encoder {
    out: Vec<u8>,
    members: Vec<Member>,
    scratch: Vec<u8>,
    /// Whether the value went through `Some` or a newtype before its first byte: the first
    /// encoder refused a non-finite number only when it was the value itself.
    wrapped: bool,
    /// A buffer reused to format values written as their `Display` text (timestamps).
    text: String,
}

/// `a` against `b` in UTF-16 code units, as RFC 8785 §3.2.3 orders member names.
fn utf16_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

impl Encoder {
    /// An encoder with empty buffers.
    const fn new() -> Self {
        Self {
            out: Vec::new(),
            members: Vec::new(),
            scratch: Vec::new(),
            wrapped: false,
            text: String::new(),
        }
    }

    fn write_number(&mut self, value: f64) -> Result<(), CanonicalError> {
        if !value.is_finite() {
            if self.out.is_empty() && !self.wrapped {
                return Err(CanonicalError(
                    "NaN and +/-Infinity are not permitted in JSON".into(),
                ));
            }
            self.out.extend_from_slice(b"null");
            return Ok(());
        }
        let mut buffer = ryu_js::Buffer::new();
        self.out
            .extend_from_slice(buffer.format_finite(value).as_bytes());
        Ok(())
    }

    fn write_string(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let out = &mut self.out;
        out.push(b'"');
        let bytes = s.as_bytes();
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x0c => b"\\f",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x00..=0x1f => &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ],
                _ => continue,
            };
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(escape);
            run = i + 1;
        }
        out.extend_from_slice(&bytes[run..]);
        out.push(b'"');
    }

    /// Opens an object; returns where its members begin.
    fn open_object(&mut self) -> Open {
        self.out.push(b'{');
        Open {
            body: self.out.len(),
            first_member: self.members.len(),
        }
    }

    /// Writes member `name` (its value by `value`), recording it for the object's ordering.
    fn member<V: Serialize + ?Sized>(
        &mut self,
        open: &Open,
        name: Cow<'static, str>,
        value: &V,
    ) -> Result<(), CanonicalError> {
        if self.members.len() > open.first_member {
            self.out.push(b',');
        }
        let start = self.out.len();
        self.write_string(&name);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.members.push(Member {
            name,
            start,
            end: self.out.len(),
        });
        Ok(())
    }

    /// Closes the object opened at `open`: puts its members in canonical order.
    fn close_object(&mut self, open: Open) -> Result<(), CanonicalError> {
        let members = &mut self.members[open.first_member..];
        let in_order = members
            .windows(2)
            .all(|w| utf16_order(&w[0].name, &w[1].name) == Ordering::Less);
        if !in_order {
            members.sort_unstable_by(|a, b| utf16_order(&a.name, &b.name));
            if let Some(w) = members.windows(2).find(|w| w[0].name == w[1].name) {
                return Err(CanonicalError(format!(
                    "duplicate object key {:?}",
                    w[0].name
                )));
            }
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[open.body..]);
            self.out.truncate(open.body);
            for (k, m) in members.iter().enumerate() {
                if k > 0 {
                    self.out.push(b',');
                }
                self.out
                    .extend_from_slice(&self.scratch[m.start - open.body..m.end - open.body]);
            }
        }
        self.members.truncate(open.first_member);
        self.out.push(b'}');
        Ok(())
    }
}

/// An object being written.
struct Open {
    /// Output position just after `{`.
    body: usize,
    /// Index of its first member in `Encoder::members`.
    first_member: usize,
}

/// The twelve `serialize_<number>` methods of a serializer: each converts its number to `f64`
/// (`as`: i64, u64 and the 128-bit ones round, as JSON's one number type does) and evaluates
/// the body with `$s` bound to the serializer and `$v` to that `f64`.
macro_rules! numbers_as_f64 {
    ($out:ty, |$s:ident, $v:ident| $body:expr) => {
        numbers_as_f64!(@each $out, |$s, $v| $body,
            serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64);
    };
    (@each $out:ty, |$s:ident, $v:ident| $body:expr, $($name:ident: $t:ty),*) => {
        $(
            #[allow(clippy::cast_lossless, clippy::cast_precision_loss)]
            fn $name(self, v: $t) -> $out {
                let $s = self;
                let $v = v as f64;
                $body
            }
        )*
    };
}

/// serde_json's marker for a `RawValue`, which has no canonical form here.
const RAW_VALUE: &str = "$serde_json::private::RawValue";

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = VariantArray<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = VariantObject<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), CanonicalError> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    // JSON has one number type: every number is written as the f64 it is (above 2^53 an
    // integer rounds, exactly as the record always has).
    numbers_as_f64!(Result<(), CanonicalError>, |encoder, v| encoder.write_number(v));
    fn serialize_char(self, v: char) -> Result<(), CanonicalError> {
        self.write_string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CanonicalError> {
        self.write_string(v);
        Ok(())
    }
    // What serde's default does (`serialize_str` of `to_string()`), without a new string each
    // time.
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), CanonicalError> {
        use std::fmt::Write;
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        write!(text, "{value}").map_err(|e| CanonicalError(e.to_string()))?;
        self.write_string(&text);
        self.text = text;
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CanonicalError> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), CanonicalError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CanonicalError> {
        self.wrapped = true;
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CanonicalError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CanonicalError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CanonicalError> {
        self.write_string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        self.wrapped = true;
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        let open = self.open_object();
        self.member(&open, Cow::Borrowed(variant), value)?;
        self.close_object(open)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, CanonicalError> {
        self.out.push(b'[');
        Ok(Array {
            enc: self,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Array<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantArray<'a>, CanonicalError> {
        let outer = self.open_object();
        let start = self.out.len();
        self.write_string(variant);
        self.out.extend_from_slice(b":[");
        Ok(VariantArray {
            array: Array {
                enc: self,
                first: true,
            },
            outer,
            variant,
            start,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a>, CanonicalError> {
        let open = self.open_object();
        Ok(Object {
            enc: self,
            open,
            key: None,
        })
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Object<'a>, CanonicalError> {
        if name == RAW_VALUE {
            return Err(CanonicalError(
                "Raw values are not supported for JCS serialization".into(),
            ));
        }
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantObject<'a>, CanonicalError> {
        let outer = self.open_object();
        let start = self.out.len();
        self.write_string(variant);
        self.out.push(b':');
        let inner = self.open_object();
        Ok(VariantObject {
            inner: Object {
                enc: self,
                open: inner,
                key: None,
            },
            outer,
            variant,
            start,
        })
    }
}

/// An array being written.
pub struct Array<'a> {
    enc: &'a mut Encoder,
    first: bool,
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        if !self.first {
            self.enc.out.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.enc)
    }
    fn close(self) -> Result<(), CanonicalError> {
        self.enc.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

/// `{"variant":[…]}` being written.
pub struct VariantArray<'a> {
    array: Array<'a>,
    outer: Open,
    variant: &'static str,
    start: usize,
}

impl ser::SerializeTupleVariant for VariantArray<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.array.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        let enc = self.array.enc;
        enc.out.push(b']');
        enc.members.push(Member {
            name: Cow::Borrowed(self.variant),
            start: self.start,
            end: enc.out.len(),
        });
        enc.close_object(self.outer)
    }
}

/// An object (a map or a struct) being written.
pub struct Object<'a> {
    enc: &'a mut Encoder,
    open: Open,
    /// A map's key, between `serialize_key` and `serialize_value`.
    key: Option<String>,
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CanonicalError> {
        self.key = Some(key.serialize(MemberName)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CanonicalError> {
        let name = self
            .key
            .take()
            .ok_or_else(|| CanonicalError("map value without a key".into()))?;
        self.enc.member(&self.open, Cow::Owned(name), v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.enc.close_object(self.open)
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), CanonicalError> {
        self.enc.member(&self.open, Cow::Borrowed(key), v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.enc.close_object(self.open)
    }
}

/// `{"variant":{…}}` being written.
pub struct VariantObject<'a> {
    inner: Object<'a>,
    outer: Open,
    variant: &'static str,
    start: usize,
}

impl ser::SerializeStructVariant for VariantObject<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), CanonicalError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        let enc = self.inner.enc;
        enc.close_object(self.inner.open)?;
        enc.members.push(Member {
            name: Cow::Borrowed(self.variant),
            start: self.start,
            end: enc.out.len(),
        });
        enc.close_object(self.outer)
    }
}

/// Turns a map key into a member name, as serde_json does: strings as they are, numbers as
/// their canonical text; anything else has no name.
struct MemberName;

fn key_must_be_a_string() -> CanonicalError {
    CanonicalError("key must be a string".into())
}

fn number_name(v: f64) -> Result<String, CanonicalError> {
    if !v.is_finite() {
        return Err(CanonicalError(
            "NaN and +/-Infinity are not permitted in JSON".into(),
        ));
    }
    Ok(ryu_js::Buffer::new().format_finite(v).to_string())
}

impl ser::Serializer for MemberName {
    type Ok = String;
    type Error = CanonicalError;
    type SerializeSeq = ser::Impossible<String, CanonicalError>;
    type SerializeTuple = ser::Impossible<String, CanonicalError>;
    type SerializeTupleStruct = ser::Impossible<String, CanonicalError>;
    type SerializeTupleVariant = ser::Impossible<String, CanonicalError>;
    type SerializeMap = ser::Impossible<String, CanonicalError>;
    type SerializeStruct = ser::Impossible<String, CanonicalError>;
    type SerializeStructVariant = ser::Impossible<String, CanonicalError>;

    fn serialize_str(self, v: &str) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, CanonicalError> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, CanonicalError> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    numbers_as_f64!(Result<String, CanonicalError>, |_name, v| number_name(v));
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<String, CanonicalError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CanonicalError> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests;
