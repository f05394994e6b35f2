//! The encoder against `serde_json_canonicalizer` 0.4 (the encoder the record was first written
//! with) on random JSON and on every serde shape the record's types use, plus RFC 8785's own
//! examples and the values that have no canonical form.

use super::{is_encoding_of, to_vec};
use proptest::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn oracle<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| e.to_string())
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// Any string: ASCII, controls, quotes and backslashes, letters past the BMP and just below it
/// (where UTF-8 and UTF-16 orders differ).
fn any_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '"',
                '\\',
                '\n',
                '\t',
                '\u{0}',
                '\u{1f}',
                '\u{7f}',
                '/',
                'a',
                'B',
                '\u{e9}',
                '\u{ff61}',
                '\u{fffd}',
                '\u{10000}',
                '\u{1f600}',
                '\u{e000}'
            ]),
        ],
        0..6,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1e21,
            1e-7,
            5e-324,
            1.7976931348623157e308,
            0.1
        ])
        .prop_map(Value::from),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        any_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Every finite number written canonically reads back to the same `f64`, so an entry's
    /// bytes re-encode to themselves (serde_json's `float_roundtrip`, which the record needs).
    #[test]
    fn numbers_read_back_exactly(v in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let back: f64 = serde_json::from_slice(&to_vec(&v).unwrap()).unwrap();
        prop_assert_eq!(back.to_bits(), if v == 0.0 { 0.0f64.to_bits() } else { v.to_bits() });
    }

    /// Any JSON value encodes to exactly the bytes the record's first encoder gave.
    #[test]
    fn random_json_is_byte_identical_to_the_first_encoder(value in any_json()) {
        prop_assert_eq!(to_vec(&value).map_err(|e| e.to_string()), oracle(&value));
    }

    /// The check that reuses its buffers says "yes" to exactly the bytes `to_vec` writes:
    /// values checked one after another on a thread, a `Display` value among them, and any
    /// one byte changed.
    #[test]
    fn is_encoding_of_accepts_exactly_the_encoding(
        value in any_json(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let Ok(bytes) = to_vec(&value) else { return Ok(()) };
        prop_assert!(is_encoding_of(&value, &bytes).unwrap());
        let stamp = (crate::time::Timestamp::from_unix_nanos(1_700_000_000_123_456_789).unwrap(), &value);
        prop_assert_eq!(to_vec(&stamp).map_err(|e| e.to_string()), oracle(&stamp));
        prop_assert!(is_encoding_of(&stamp, &to_vec(&stamp).unwrap()).unwrap());
        let mut changed = bytes.clone();
        let at = at.index(changed.len());
        changed[at] = byte;
        prop_assert_eq!(is_encoding_of(&value, &changed).unwrap(), changed == bytes);
        let mut longer = bytes.clone();
        longer.push(b' ');
        prop_assert!(!is_encoding_of(&value, &longer).unwrap());
    }
}

/// Every serde shape the record's types use: internally tagged enums, struct, newtype, tuple
/// and unit variants, options, flatten, maps with string and integer keys, chars, bytes.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged {
    Zebra { z: u8, a: Option<String> },
    Apple { inner: Inner, list: Vec<Shape> },
}

#[derive(Serialize)]
struct Inner {
    yes: bool,
    #[serde(flatten)]
    extra: BTreeMap<String, f64>,
    numbers: BTreeMap<i32, &'static str>,
    letter: char,
    #[serde(with = "serde_bytes_as_seq")]
    raw: Vec<u8>,
    unit: (),
    tuple: (i64, f32, u128),
}

mod serde_bytes_as_seq {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

#[derive(Serialize)]
enum Shape {
    Unit,
    Newtype(u32),
    Tuple(i8, String),
    Struct { b: i16, a: Vec<Option<u8>> },
}

#[test]
fn every_serde_shape_is_byte_identical_to_the_first_encoder() {
    let mut extra = BTreeMap::new();
    extra.insert("middle".to_string(), 2.5);
    extra.insert("\u{1f600}".to_string(), -0.0);
    extra.insert("\u{ff61}".to_string(), 1e22);
    let values = [
        Tagged::Zebra {
            z: 7,
            a: Some("x\u{1}\"y".into()),
        },
        Tagged::Zebra { z: 0, a: None },
        Tagged::Apple {
            inner: Inner {
                yes: true,
                extra,
                numbers: [(10, "ten"), (9, "nine"), (-1, "minus")]
                    .into_iter()
                    .collect(),
                letter: '\u{e9}',
                raw: vec![0, 255, 16],
                unit: (),
                tuple: (i64::MAX, 0.1, u128::MAX),
            },
            list: vec![
                Shape::Unit,
                Shape::Newtype(u32::MAX),
                Shape::Tuple(-8, "t".into()),
                Shape::Struct {
                    b: -3,
                    a: vec![None, Some(1)],
                },
            ],
        },
    ];
    for v in &values {
        let ours = to_vec(v).unwrap();
        assert_eq!(text(&ours), text(&oracle(v).unwrap()));
    }
}

/// RFC 8785 §3.2.2 and appendix B: numbers, escapes and the UTF-16 member order.
#[test]
fn rfc_8785_examples() {
    let numbers = serde_json::from_str::<Value>(
        r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]}"#,
    )
    .unwrap();
    assert_eq!(
        text(&to_vec(&numbers).unwrap()),
        r#"{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}"#
    );
    let strings = json!({"string": "\u{20ac}$\u{000F}\u{000a}A'\u{0042}\u{0022}\u{005c}\\\"/"});
    assert_eq!(
        text(&to_vec(&strings).unwrap()),
        "{\"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
    );
    let order = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
        "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis"});
    assert_eq!(
        text(&to_vec(&order).unwrap()),
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{0080}\":\"Control\",\
         \"\u{00f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
         \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
}

/// What has no canonical form is refused, as by the first encoder; a non-finite number inside
/// a value is written `null`, as the first encoder did.
#[test]
fn nan_infinity_duplicates_and_raw_values_are_refused() {
    assert!(to_vec(&f64::NAN).is_err() && oracle(&f64::NAN).is_err());
    assert!(to_vec(&f32::INFINITY).is_err() && oracle(&f32::INFINITY).is_err());
    for nested in [vec![1.0, f64::INFINITY], vec![f64::NAN]] {
        assert_eq!(
            text(&to_vec(&nested).unwrap()),
            text(&oracle(&nested).unwrap())
        );
    }
    assert_eq!(
        to_vec(&Some(f64::NAN)).unwrap(),
        oracle(&Some(f64::NAN)).unwrap()
    );
    let mut optional_key = BTreeMap::new();
    optional_key.insert(Some("k"), 1);
    assert_eq!(
        to_vec(&optional_key).unwrap(),
        oracle(&optional_key).unwrap()
    );
    let mut with_nan_key = BTreeMap::new();
    with_nan_key.insert(ordered(f64::NEG_INFINITY), 1);
    assert!(to_vec(&with_nan_key).is_err());

    #[derive(Serialize)]
    struct Twice {
        a: u8,
        #[serde(flatten)]
        more: BTreeMap<String, u8>,
    }
    let twice = Twice {
        a: 1,
        more: [("a".to_string(), 2)].into_iter().collect(),
    };
    let err = to_vec(&twice).unwrap_err();
    assert!(err.to_string().contains("duplicate"), "{err}");
    assert!(oracle(&twice).is_err());

    let raw = serde_json::value::RawValue::from_string("{\"b\":1,\"a\":2}".into()).unwrap();
    assert!(to_vec(&raw).is_err());
    assert!(oracle(&raw).is_err());

    let mut list_key = BTreeMap::new();
    list_key.insert(vec![1u8], 1);
    assert!(to_vec(&list_key).is_err());
}

/// An `f64` map key (`BTreeMap` needs `Ord`).
#[derive(PartialEq)]
struct OrderedF64(f64);
impl Eq for OrderedF64 {}
impl PartialOrd for OrderedF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl Serialize for OrderedF64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}
fn ordered(v: f64) -> OrderedF64 {
    OrderedF64(v)
}

/// A value whose serialisation encodes another value canonically (as an entry embedding a
/// canonical document's text would): the inner encoding gets an encoder of its own, and
/// neither is disturbed.
struct Embeds(BTreeMap<&'static str, u8>);

impl Serialize for Embeds {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let inner = to_vec(&self.0).map_err(serde::ser::Error::custom)?;
        let mut st = s.serialize_struct("Embeds", 2)?;
        st.serialize_field("z", &1)?;
        st.serialize_field("text", std::str::from_utf8(&inner).unwrap_or(""))?;
        st.end()
    }
}

#[test]
fn a_value_encoding_another_while_it_is_encoded_gets_both_right() {
    let value = Embeds([("b", 2), ("a", 1)].into_iter().collect());
    let bytes = to_vec(&value).unwrap();
    assert_eq!(text(&bytes), r#"{"text":"{\"a\":1,\"b\":2}","z":1}"#);
    assert!(is_encoding_of(&value, &bytes).unwrap());
    // And the thread's encoder is whole afterwards.
    assert_eq!(
        text(&to_vec(&json!({"y": [1, 2], "x": null})).unwrap()),
        r#"{"x":null,"y":[1,2]}"#
    );
}
