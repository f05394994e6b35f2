//! Parsing a submitted body — one observation or an array of them — into validated observations,
//! all or nothing, with limits checked before the work they protect.

use crate::error::{FieldError, ParseError};
use crate::observation::Observation;
use crate::time::Timestamp;
use crate::validate::{ValidObservation, validate};
use serde_json::value::RawValue;

/// Size limits of one submission (contract: 10,000 items, 16 MiB).
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Largest body, bytes.
    pub max_bytes: usize,
    /// Most items in an array.
    pub max_items: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_items: 10_000,
        }
    }
}

/// Parses `body` (a JSON object or an array of objects) and validates every item against the
/// contract, with `now` the server's clock. Returns all items or the first error, which names
/// the field and, for an array, the index.
pub fn parse_observations(
    body: &[u8],
    limits: &ParseLimits,
    now: Timestamp,
) -> Result<Vec<ValidObservation>, ParseError> {
    parse_observations_via(body, limits, now, None)
}

/// [`parse_observations`] for a listener that takes the contract's JSON (an MQTT
/// subscription): each item's `via` is set to `via` before validation. A client still may not
/// set `via` itself.
pub fn parse_observations_via(
    body: &[u8],
    limits: &ParseLimits,
    now: Timestamp,
    via: Option<&str>,
) -> Result<Vec<ValidObservation>, ParseError> {
    if body.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            message: format!(
                "body is {} bytes; at most {} allowed",
                body.len(),
                limits.max_bytes
            ),
        });
    }
    let text = std::str::from_utf8(body).map_err(|e| ParseError::Malformed {
        message: format!("body is not UTF-8: {e}"),
        index: None,
    })?;
    match text.trim_start().as_bytes().first() {
        Some(b'[') => {
            let items: Vec<&RawValue> =
                serde_json::from_str(text).map_err(|e| ParseError::Malformed {
                    message: format!("not a JSON array of objects: {e}"),
                    index: None,
                })?;
            if items.len() > limits.max_items {
                return Err(ParseError::TooLarge {
                    message: format!(
                        "batch has {} items; at most {} allowed",
                        items.len(),
                        limits.max_items
                    ),
                });
            }
            if items.is_empty() {
                return Err(ParseError::Invalid {
                    error: FieldError::new("", "the batch is empty; send at least one item"),
                    index: None,
                });
            }
            items
                .iter()
                .enumerate()
                .map(|(i, raw)| parse_one_via(raw.get(), now, Some(i), via))
                .collect()
        }
        Some(b'{') => Ok(vec![parse_one_via(text, now, None, via)?]),
        _ => Err(ParseError::Malformed {
            message: "expected a JSON object or an array of objects".into(),
            index: None,
        }),
    }
}

/// Parses and validates one observation object.
pub fn parse_one(
    text: &str,
    now: Timestamp,
    index: Option<usize>,
) -> Result<ValidObservation, ParseError> {
    parse_one_via(text, now, index, None)
}

fn parse_one_via(
    text: &str,
    now: Timestamp,
    index: Option<usize>,
    via: Option<&str>,
) -> Result<ValidObservation, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut observation: Observation =
        serde_path_to_error::deserialize(&mut de).map_err(|e| classify(e, text, index))?;
    de.end().map_err(|e| classify_plain(e, index))?;
    if observation.via.is_some() {
        return Err(ParseError::Invalid {
            error: FieldError::new(
                "via",
                "is set by the server for reports through a TAK or MQTT listener; leave it out",
            ),
            index,
        });
    }
    observation.via = via.map(str::to_owned);
    validate(observation, now).map_err(|error| ParseError::Invalid { error, index })
}

fn classify(
    e: serde_path_to_error::Error<serde_json::Error>,
    text: &str,
    index: Option<usize>,
) -> ParseError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let error = if path == "geometry" {
                geometry_field_error(text).unwrap_or_else(|| field_error(&path, &inner))
            } else {
                field_error(&path, &inner)
            };
            ParseError::Invalid { error, index }
        }
        // serde_json reports some type mismatches (a number where a name is expected) as syntax
        // errors; if the text is valid JSON, it is a bad value, not a malformed body.
        _ if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
            let error = if path == "geometry" {
                geometry_field_error(text).unwrap_or_else(|| field_error(&path, &inner))
            } else {
                field_error(&path, &inner)
            };
            ParseError::Invalid { error, index }
        }
        _ => classify_plain(inner, index),
    }
}

/// serde buffers a tagged enum before choosing the variant, which loses the path inside it; on
/// that (error-only) path, parse the geometry again as its variant to name the exact field.
fn geometry_field_error(text: &str) -> Option<FieldError> {
    use crate::observation::{ArrivalGeometry, BearingGeometry, PositionGeometry, UavGeometry};
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    let geometry = value.get_mut("geometry")?.as_object_mut()?;
    let kind = geometry.remove("type");
    let Some(serde_json::Value::String(kind)) = kind else {
        return Some(FieldError::new(
            "geometry.type",
            "is required: position, bearing, arrival or uav",
        ));
    };
    let geometry = serde_json::Value::Object(geometry.clone());
    fn probe<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Option<FieldError> {
        match serde_path_to_error::deserialize::<_, T>(v) {
            Ok(_) => None,
            Err(e) => {
                let path = format!("geometry.{}", e.path()).replace("geometry..", "geometry");
                Some(field_error(&path, e.inner()))
            }
        }
    }
    match kind.as_str() {
        "position" => probe::<PositionGeometry>(geometry),
        "bearing" => probe::<BearingGeometry>(geometry),
        "arrival" => probe::<ArrivalGeometry>(geometry),
        "uav" => probe::<UavGeometry>(geometry),
        other => Some(FieldError::new(
            "geometry.type",
            format!("{other:?} is not one of position, bearing, arrival, uav"),
        )),
    }
}

fn classify_plain(e: serde_json::Error, index: Option<usize>) -> ParseError {
    ParseError::Malformed {
        message: e.to_string(),
        index,
    }
}

/// Names the field a serde data error is about. serde reports a missing field at the path of
/// the object that lacks it, so the name is joined on from the message.
fn field_error(path: &str, e: &serde_json::Error) -> FieldError {
    let message = strip_position(&e.to_string());
    let base = if path == "." { "" } else { path };
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let field = match named {
        Some(name) if base.is_empty() => name.to_string(),
        Some(name) => format!("{base}.{name}"),
        None => base.to_string(),
    };
    FieldError::new(field, message)
}

/// serde_json appends " at line L column C"; the field path says more to a reporter.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-11-20T12:00:00Z").unwrap()
    }

    const GOOD: &str = r#"{"kind":"shot","observed_at":"2026-11-20T11:59:00Z","reporter":"op-1",
        "geometry":{"type":"position","lat":40.0,"lon":46.9,"accuracy_m":50}}"#;

    fn err(body: &str) -> ParseError {
        parse_observations(body.as_bytes(), &ParseLimits::default(), now()).unwrap_err()
    }

    #[test]
    fn single_object_and_array_both_parse() {
        let one = parse_observations(GOOD.as_bytes(), &ParseLimits::default(), now()).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].count, 1, "count defaults to 1");
        let body = format!("[{GOOD},{GOOD}]");
        let two = parse_observations(body.as_bytes(), &ParseLimits::default(), now()).unwrap();
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn missing_field_is_named_with_its_path() {
        let e = err(r#"{"kind":"shot","observed_at":"2026-11-20T11:59:00Z",
            "geometry":{"type":"position","lat":40.0,"lon":46.9,"accuracy_m":50}}"#);
        assert_eq!(e.code(), "invalid_value");
        assert_eq!(e.field(), Some("reporter"));
        let e = err(
            r#"{"kind":"shot","observed_at":"2026-11-20T11:59:00Z","reporter":"x",
            "geometry":{"type":"position","lat":40.0,"accuracy_m":50}}"#,
        );
        assert_eq!(e.field(), Some("geometry.lon"));
    }

    #[test]
    fn unknown_and_mistyped_fields_are_invalid_values() {
        let e = err(&GOOD.replace("\"accuracy_m\"", "\"accuracy\""));
        assert_eq!(e.code(), "invalid_value");
        assert!(e.message().contains("accuracy"), "{e:?}");
        let e = err(&GOOD.replace("40.0", "\"forty\""));
        assert_eq!(e.field(), Some("geometry.lat"));
        let e = err(&GOOD.replace("\"shot\"", "\"volley\""));
        assert_eq!(e.field(), Some("kind"));
        let e = err(&GOOD.replace("\"shot\"", "7"));
        assert_eq!((e.code(), e.field()), ("invalid_value", Some("kind")));
    }

    #[test]
    fn out_of_range_value_in_a_batch_names_index_and_field() {
        let bad = GOOD.replace("40.0", "91.5");
        let e = err(&format!("[{GOOD},{bad}]"));
        assert_eq!(e.index(), Some(1));
        assert_eq!(e.field(), Some("geometry.lat"));
        assert!(e.message().contains("91.5"));
    }

    #[test]
    fn a_client_may_not_say_which_listener_its_report_came_through() {
        let claimed = GOOD.replace("\"reporter\"", "\"via\":\"cot-tcp\",\"reporter\"");
        let e = err(&format!("[{GOOD},{claimed}]"));
        assert_eq!(
            (e.code(), e.field(), e.index()),
            ("invalid_value", Some("via"), Some(1))
        );
        assert!(e.message().contains("set by the server"), "{e:?}");
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert_eq!(err("{\"kind\":").code(), "malformed");
        assert_eq!(err("42").code(), "malformed");
        assert_eq!(err("").code(), "malformed");
        assert_eq!(err(&format!("[{GOOD},")).code(), "malformed");
    }

    #[test]
    fn limits_are_enforced_before_parsing() {
        let limits = ParseLimits {
            max_bytes: 100,
            max_items: 2,
        };
        let e = parse_observations(GOOD.repeat(2).as_bytes(), &limits, now()).unwrap_err();
        assert_eq!(e.code(), "too_large");
        let limits = ParseLimits {
            max_bytes: 1 << 20,
            max_items: 2,
        };
        let body = format!("[{GOOD},{GOOD},{GOOD}]");
        let e = parse_observations(body.as_bytes(), &limits, now()).unwrap_err();
        assert_eq!(e.code(), "too_large");
        assert!(e.message().contains("3 items"));
    }

    #[test]
    fn empty_batch_is_refused() {
        assert_eq!(err("[]").code(), "invalid_value");
    }
}
