//! CoT times: RFC 3339 in XML, milliseconds since the Unix epoch in the model and protobuf.

use crate::CotError;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The latest time the codec accepts, milliseconds since the epoch (the end of year 9999,
/// the last an RFC 3339 time can write).
pub const LATEST_MS: i64 = 253_402_300_799_999;

/// Reads an RFC 3339 time (any offset, any fraction; digits below a millisecond are
/// dropped) as milliseconds since the epoch. `at` names the attribute in errors.
pub fn parse_time(text: &str, at: &str) -> Result<i64, CotError> {
    let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
        CotError::invalid(
            at,
            format!("{text:?} is not an RFC 3339 time such as 2026-12-05T14:21:45.123Z ({e})"),
        )
    })?;
    let ms = parsed.unix_timestamp_nanos().div_euclid(1_000_000);
    let ms = i64::try_from(ms).map_err(|_| CotError::invalid(at, "time out of range"))?;
    check_time(ms, at)?;
    Ok(ms)
}

/// Refuses times before 1970 (TAK's protobuf carries unsigned milliseconds) or after
/// [`LATEST_MS`].
pub fn check_time(ms: i64, at: &str) -> Result<(), CotError> {
    if (0..=LATEST_MS).contains(&ms) {
        Ok(())
    } else {
        Err(CotError::invalid(
            at,
            format!("{ms} ms since 1970 is outside 1970-01-01 to 9999-12-31"),
        ))
    }
}

/// Writes milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`, as ATAK does.
/// Times outside what [`check_time`] accepts are clamped into it.
pub fn format_time(ms: i64) -> String {
    let ms = ms.clamp(0, LATEST_MS);
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_with_any_offset_and_fraction_and_write_as_atak_does() {
        let ms = parse_time("2026-12-05T14:21:45.1239Z", "event@time").unwrap();
        assert_eq!(format_time(ms), "2026-12-05T14:21:45.123Z");
        let shifted = parse_time("2026-12-05T16:21:45.123+02:00", "event@time").unwrap();
        assert_eq!(shifted, ms);
        assert_eq!(
            parse_time("2026-12-05T14:21:45Z", "t").unwrap(),
            ms - 123,
            "no fraction is whole seconds"
        );
    }

    #[test]
    fn a_time_that_is_not_rfc_3339_is_refused_naming_the_attribute() {
        let err = parse_time("yesterday", "event@stale").unwrap_err();
        assert!(
            err.to_string().starts_with("event@stale: \"yesterday\""),
            "{err}"
        );
        let err = parse_time("1969-12-31T23:59:59Z", "event@start").unwrap_err();
        assert!(err.to_string().contains("outside 1970-01-01"), "{err}");
    }
}
