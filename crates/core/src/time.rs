//! Instants in UTC, written as RFC 3339 with a `Z` and only as many fractional digits as needed.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// An instant, always held in UTC with nanosecond precision.
///
/// Parsing accepts any RFC 3339 offset and converts to UTC; formatting always writes `Z`, so the
/// same instant always has the same text (the record's canonical bytes rely on this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current instant of the system clock.
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 text (`2026-11-20T10:00:00.25Z`, `2026-11-20T12:00:00+02:00`).
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(|t| Self(t.to_offset(UtcOffset::UTC)))
    }

    /// The instant `seconds` (may be fractional or negative) after `self`, saturating at the
    /// representable range.
    pub fn plus_seconds(self, seconds: f64) -> Self {
        let delta = Duration::seconds_f64(seconds);
        Self(self.0.checked_add(delta).unwrap_or(self.0))
    }

    /// Seconds from `earlier` to `self` (negative when `self` is before `earlier`).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0).as_seconds_f64()
    }

    /// Seconds since the Unix epoch, with the fraction.
    pub fn unix_seconds(self) -> f64 {
        nanos_as_f64(self.0.unix_timestamp_nanos()) / 1e9
    }

    /// Whole nanoseconds since the Unix epoch (exact; used as a sortable key in storage).
    pub fn unix_nanos(self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// The instant at `nanos` nanoseconds since the Unix epoch, if representable.
    pub fn from_unix_nanos(nanos: i128) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .map(Self)
    }

    /// Milliseconds since the Unix epoch, the unit storage indexes use.
    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// The year, for plausibility checks.
    pub fn year(self) -> i32 {
        self.0.year()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(|e| {
            serde::de::Error::custom(format_args!("not an RFC 3339 time ({e}): {text:?}"))
        })
    }
}

/// `ns as f64` to the bit: through 64 bits where the count fits them (nanoseconds within
/// 292 years of the epoch), since the 128-bit conversion is a slow library routine; both
/// round the same integer to the nearest double.
#[inline]
pub fn nanos_as_f64(ns: i128) -> f64 {
    match i64::try_from(ns) {
        Ok(n) => n as f64,
        Err(_) => wide_as_f64(ns),
    }
}

/// The 128-bit conversion, out of line: the compiler counts it as cheap and, inlined, would
/// compute it ahead of knowing it is needed (it is a library call).
#[cold]
#[inline(never)]
fn wide_as_f64(ns: i128) -> f64 {
    ns as f64
}

/// `ns` nanoseconds in seconds: `ns as f64 * 1e-9` to the bit ([`nanos_as_f64`]).
#[inline]
pub fn nanos_as_seconds(ns: i128) -> f64 {
    nanos_as_f64(ns) * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_normalise_to_utc_and_fraction_survives() {
        let t = Timestamp::parse("2026-11-20T12:00:00.125+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-20T10:00:00.125Z");
        let whole = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        assert_eq!(whole.to_string(), "2026-11-20T10:00:00Z");
        assert!((t.seconds_since(whole) - 0.125).abs() < 1e-9);
    }

    #[test]
    fn nanoseconds_convert_as_the_128_bit_conversion_does() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values: Vec<i128> = vec![
            0,
            1,
            -1,
            i128::from(i64::MAX),
            i128::from(i64::MIN),
            i128::from(i64::MAX) + 1,
            i128::from(i64::MIN) - 1,
            i128::MAX,
            i128::MIN,
            (1 << 53) + 1,
            -(1 << 53) - 1,
            1_795_000_000_123_456_789,
        ];
        // Pseudo-random counts of every magnitude (xorshift), both signs.
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = i128::from(x as i64) >> (x % 64);
            values.push(v);
            values.push(v * i128::from(u32::MAX));
        }
        for v in values {
            assert_eq!(nanos_as_f64(v).to_bits(), (v as f64).to_bits(), "{v}");
            assert_eq!(
                nanos_as_seconds(v).to_bits(),
                (v as f64 * 1e-9).to_bits(),
                "{v}"
            );
        }
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!(Timestamp::parse("2026-11-20 10:00").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
    }
}
