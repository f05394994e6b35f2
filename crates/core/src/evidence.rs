//! Evidence handed in to the center: which files it takes, what their bytes must look like,
//! and the capture metadata a client may state about them. What the client states (when and
//! where the file was captured, by which device) is kept apart from what the center saw (who
//! handed it in, when it arrived, its hash and size), as the Berkeley Protocol asks.

use crate::Timestamp;
use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// The largest file the center takes, in bytes (a minute of 1080p video, a long recording).
pub const MAX_EVIDENCE_BYTES: usize = 64 * 1024 * 1024;

/// What the client says about a file's capture. Every field is the client's claim; the center
/// records it and checks its ranges, and cannot check its truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    /// When the file was captured, by the device's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<Timestamp>,
    /// Where: latitude, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Where: longitude, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// The device's stated 95% radius of that position, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// The device: make and model, serial or app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// Media types the center takes, with the bytes a file of that type starts with (checked, so
/// a file cannot claim to be a photo and be something else). `None`: checked by
/// [`looks_like`] instead.
const MEDIA_TYPES: &[(&str, Option<&[u8]>)] = &[
    ("image/jpeg", Some(b"\xFF\xD8\xFF")),
    ("image/png", Some(b"\x89PNG\r\n\x1A\n")),
    ("image/tiff", None),
    ("image/webp", None),
    ("image/heic", None),
    ("video/mp4", None),
    ("video/quicktime", None),
    ("audio/wav", None),
    ("audio/flac", Some(b"fLaC")),
    ("audio/ogg", Some(b"OggS")),
    ("audio/mpeg", None),
    ("application/pdf", Some(b"%PDF-")),
    ("application/json", None),
    ("text/plain", None),
    ("text/csv", None),
    ("application/pgp-signature", None),
    ("application/c2pa", None),
];

/// Whether `bytes` begin as a file of `media_type` (one without a fixed prefix) does.
fn looks_like(media_type: &str, bytes: &[u8]) -> bool {
    let at = |range: std::ops::Range<usize>| bytes.get(range);
    match media_type {
        "image/tiff" => bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*"),
        "image/webp" => bytes.starts_with(b"RIFF") && at(8..12) == Some(b"WEBP"),
        "audio/wav" => bytes.starts_with(b"RIFF") && at(8..12) == Some(b"WAVE"),
        // ISO base media files (MP4, QuickTime, HEIF) carry `ftyp` at offset 4.
        "video/mp4" | "video/quicktime" | "image/heic" => at(4..8) == Some(b"ftyp"),
        // An ID3 tag, or an MPEG audio frame's sync bits.
        "audio/mpeg" => {
            bytes.starts_with(b"ID3")
                || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0)
        }
        "application/pgp-signature" => bytes.starts_with(b"-----BEGIN PGP SIGNATURE-----"),
        // A C2PA manifest store is a JUMBF box: `jumb` at offset 4.
        "application/c2pa" => at(4..8) == Some(b"jumb"),
        "application/json" => serde_json::from_slice::<serde_json::Value>(bytes).is_ok(),
        _ => std::str::from_utf8(bytes).is_ok(),
    }
}

/// The media types the center takes, for error messages and the API document.
pub fn accepted_media_types() -> impl Iterator<Item = &'static str> {
    MEDIA_TYPES.iter().map(|(name, _)| *name)
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// Checks that `bytes` may be kept as `media_type`: a type the center takes, a size within
/// [`MAX_EVIDENCE_BYTES`], not empty, and bytes that start as that type's files do (ISO media
/// files carry `ftyp` at offset 4). The error names the field at fault.
pub fn check_file(media_type: &str, bytes: &[u8]) -> Result<(), FieldError> {
    let Some((_, magic)) = MEDIA_TYPES.iter().find(|(name, _)| *name == media_type) else {
        return Err(err(
            "media_type",
            format!(
                "{media_type:?} is not taken; use one of {}",
                accepted_media_types().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    if bytes.is_empty() {
        return Err(err("file", "empty"));
    }
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(err(
            "file",
            format!(
                "{} bytes, over the limit of {MAX_EVIDENCE_BYTES}",
                bytes.len()
            ),
        ));
    }
    let looks_right = match magic {
        Some(magic) => bytes.starts_with(magic),
        None => looks_like(media_type, bytes),
    };
    if !looks_right {
        return Err(err(
            "media_type",
            format!("the file's bytes do not begin as {media_type} files do"),
        ));
    }
    Ok(())
}

/// Checks a file's original name: at most 255 bytes, no path, no control characters.
pub fn check_name(name: &str) -> Result<(), FieldError> {
    if name.is_empty() || name.len() > 255 {
        return Err(err("name", "1 to 255 bytes"));
    }
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err(err(
            "name",
            "a file name, without a path or control characters",
        ));
    }
    Ok(())
}

impl Capture {
    /// Whether the client stated nothing.
    pub fn is_empty(&self) -> bool {
        *self == Capture::default()
    }

    /// Checks the ranges: a position needs both coordinates, in range; an accuracy needs a
    /// position and lies in (0, 100 km]; the capture time is after 1990 and not more than
    /// five minutes after `received_at`; the device is 1 to 128 characters.
    pub fn check(&self, received_at: Timestamp) -> Result<(), FieldError> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    return Err(err("lat", format!("{lat} is outside -90..90 degrees")));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    return Err(err("lon", format!("{lon} is outside -180..180 degrees")));
                }
            }
            (None, None) => {
                if self.accuracy_m.is_some() {
                    return Err(err("accuracy_m", "an accuracy needs lat and lon"));
                }
            }
            (Some(_), None) => return Err(err("lon", "required with lat")),
            (None, Some(_)) => return Err(err("lat", "required with lon")),
        }
        if let Some(a) = self.accuracy_m
            && !(a > 0.0 && a <= 100_000.0)
        {
            return Err(err(
                "accuracy_m",
                format!("{a} is outside (0, 100000] metres"),
            ));
        }
        if let Some(t) = self.captured_at {
            let earliest = Timestamp::parse("1990-01-01T00:00:00Z").unwrap_or(t);
            if t < earliest {
                return Err(err("captured_at", "before 1990"));
            }
            if t > received_at.plus_seconds(300.0) {
                return Err(err(
                    "captured_at",
                    format!(
                        "{t} is after the file arrived ({received_at}); the device's clock is ahead"
                    ),
                ));
            }
        }
        if let Some(d) = &self.device
            && (d.is_empty() || d.chars().count() > 128 || d.chars().any(char::is_control))
        {
            return Err(err("device", "1 to 128 characters, no control characters"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<(), FieldError>) -> String {
        r.unwrap_err().field
    }

    #[test]
    fn files_must_be_what_they_claim() {
        assert!(check_file("image/jpeg", b"\xFF\xD8\xFF\xE0rest").is_ok());
        assert_eq!(field(check_file("image/jpeg", b"%PDF-1.7")), "media_type");
        assert_eq!(field(check_file("image/gif", b"GIF89a")), "media_type");
        assert_eq!(field(check_file("image/png", b"")), "file");
        assert!(check_file("video/mp4", b"\0\0\0\x18ftypmp42").is_ok());
        assert_eq!(
            field(check_file("video/mp4", b"\0\0\0\x18moov")),
            "media_type"
        );
        assert_eq!(field(check_file("text/csv", b"a,\xFF")), "media_type");
        assert!(check_file("audio/flac", b"fLaC\0").is_ok());
        assert!(check_file("audio/wav", b"RIFF\x24\0\0\0WAVEfmt ").is_ok());
        assert_eq!(
            field(check_file("image/webp", b"RIFF\x24\0\0\0WAVEfmt ")),
            "media_type"
        );
        assert!(check_file("image/tiff", b"II*\0\x08\0").is_ok());
        assert_eq!(field(check_file("image/tiff", b"GIF89a")), "media_type");
        assert!(check_file("audio/mpeg", b"ID3\x04\0").is_ok());
        assert_eq!(
            field(check_file("application/json", b"{\"a\":")),
            "media_type"
        );
    }

    proptest::proptest! {
        /// Any bytes under any of the accepted types, or any type at all: a clear answer,
        /// never a panic; and an accepted file begins as its type's files do.
        #[test]
        fn any_file_gets_an_answer_and_accepted_files_match_their_type(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            pick in 0usize..20,
            prefix in proptest::bool::ANY,
        ) {
            let types: Vec<&str> = accepted_media_types().chain(["image/gif", "", "IMAGE/JPEG"]).collect();
            let media_type = types[pick % types.len()];
            let mut file = bytes.clone();
            if prefix
                && let Some((_, Some(magic))) = MEDIA_TYPES.iter().find(|(n, _)| *n == media_type)
            {
                file = [magic.to_vec(), bytes].concat();
            }
            match check_file(media_type, &file) {
                Ok(()) => {
                    let (_, magic) = MEDIA_TYPES.iter().find(|(n, _)| *n == media_type).unwrap();
                    if let Some(magic) = magic {
                        proptest::prop_assert!(file.starts_with(magic));
                    }
                    proptest::prop_assert!(!file.is_empty());
                }
                Err(e) => proptest::prop_assert!(
                    (e.field == "media_type" || e.field == "file") && !e.message.is_empty()
                ),
            }
        }

        /// Any claims: checked without a panic, and an error names one of the claim's fields.
        #[test]
        fn any_claim_gets_an_answer_naming_its_field(
            lat in proptest::option::of(-200.0f64..200.0),
            lon in proptest::option::of(-400.0f64..400.0),
            accuracy in proptest::option::of(-10.0f64..200_000.0),
            offset_s in proptest::option::of(-4e9f64..4e9),
            device in proptest::option::of("\\PC{0,140}"),
        ) {
            let now = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
            let claim = Capture {
                captured_at: offset_s.map(|s| now.plus_seconds(s)),
                lat,
                lon,
                accuracy_m: accuracy,
                device,
            };
            if let Err(e) = claim.check(now) {
                proptest::prop_assert!(
                    ["lat", "lon", "accuracy_m", "captured_at", "device"].contains(&e.field.as_str())
                );
            }
        }
    }

    #[test]
    fn capture_claims_are_checked_for_range_not_truth() {
        let now = Timestamp::parse("2026-11-20T10:00:00Z").unwrap();
        let ok = Capture {
            captured_at: Timestamp::parse("2026-11-20T09:58:00Z").ok(),
            lat: Some(48.1),
            lon: Some(37.9),
            accuracy_m: Some(8.0),
            device: Some("Pixel 8, ProofMode 2.1".into()),
        };
        assert!(ok.check(now).is_ok());
        let bad = |f: fn(&mut Capture)| {
            let mut c = ok.clone();
            f(&mut c);
            field(c.check(now))
        };
        assert_eq!(bad(|c| c.lat = Some(91.0)), "lat");
        assert_eq!(bad(|c| c.lon = None), "lon");
        assert_eq!(bad(|c| c.accuracy_m = Some(0.0)), "accuracy_m");
        assert_eq!(
            bad(|c| c.captured_at = Timestamp::parse("2026-11-20T10:30:00Z").ok()),
            "captured_at"
        );
        assert_eq!(bad(|c| c.device = Some(String::new())), "device");
        assert!(Capture::default().check(now).is_ok());
        assert_eq!(field(check_name("../x.jpg")), "name");
    }
}
