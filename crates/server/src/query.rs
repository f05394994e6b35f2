//! The incident list's query parameters, validated once into an [`IncidentFilter`].

use crate::error::AppError;
use truce_core::incident::Status;
use truce_core::{Kind, Timestamp};
use truce_store::IncidentFilter;

/// Parses `bbox=W,S,E,N`, `since`, `until` (RFC 3339), `kind`, `status`, `clause`, `side` and
/// `limit`; an unknown parameter or a bad value is a 422 naming it.
pub fn incident_filter(params: &[(String, String)]) -> Result<IncidentFilter, AppError> {
    let mut f = IncidentFilter::default();
    for (key, value) in params {
        match key.as_str() {
            "bbox" => f.bbox = Some(bbox(value)?),
            "since" => f.since = Some(time(key, value)?),
            "until" => f.until = Some(time(key, value)?),
            "kind" => {
                f.kind = Some(Kind::from_name(value).ok_or_else(|| {
                    AppError::invalid("kind", format!("{value:?} is not a kind of the contract"))
                })?)
            }
            "status" => {
                f.status = Some(
                    Status::ALL
                        .into_iter()
                        .find(|s| s.as_str() == value)
                        .ok_or_else(|| {
                            AppError::invalid(
                                "status",
                                format!(
                                    "{value:?} is not one of reported, under_review, \
                                     jointly_confirmed, disputed, undetermined"
                                ),
                            )
                        })?,
                )
            }
            "clause" => f.clause = Some(nonempty(key, value)?),
            "side" => f.side = Some(nonempty(key, value)?),
            "limit" => {
                let n: u32 = value.parse().map_err(|_| {
                    AppError::invalid("limit", format!("{value:?} is not a whole number"))
                })?;
                if n == 0 || n > IncidentFilter::MAX_LIMIT {
                    return Err(AppError::invalid(
                        "limit",
                        format!("must be from 1 to {}", IncidentFilter::MAX_LIMIT),
                    ));
                }
                f.limit = Some(n);
            }
            // The token, for clients that cannot send a header (read by the access check).
            "access_token" => {}
            other => {
                return Err(AppError::invalid(
                    other,
                    "unknown parameter; use bbox, since, until, kind, status, clause, side, limit",
                ));
            }
        }
    }
    if let (Some(s), Some(u)) = (f.since, f.until)
        && s > u
    {
        return Err(AppError::invalid("since", "is after until"));
    }
    Ok(f)
}

fn nonempty(key: &str, value: &str) -> Result<String, AppError> {
    if value.is_empty() || value.len() > 128 {
        return Err(AppError::invalid(key, "must be 1 to 128 characters"));
    }
    Ok(value.to_string())
}

pub(crate) fn time(key: &str, value: &str) -> Result<Timestamp, AppError> {
    Timestamp::parse(value)
        .map_err(|e| AppError::invalid(key, format!("{value:?} is not an RFC 3339 time: {e}")))
}

fn bbox(value: &str) -> Result<[f64; 4], AppError> {
    truce_export::Selection::parse_bbox(value).map_err(|message| AppError::invalid("bbox", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field(pairs: &[(&str, &str)]) -> Option<String> {
        incident_filter(&p(pairs)).err().and_then(|e| e.field)
    }

    #[test]
    fn parses_every_filter() {
        let f = incident_filter(&p(&[
            ("bbox", "46,39,47,40.5"),
            ("since", "2026-11-20T00:00:00Z"),
            ("kind", "muzzle_flash"),
            ("status", "disputed"),
            ("clause", "1"),
            ("side", "a"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(f.bbox, Some([46.0, 39.0, 47.0, 40.5]));
        assert_eq!(f.kind, Some(Kind::MuzzleFlash));
        assert_eq!(f.status, Some(Status::Disputed));
        assert_eq!(f.limit, Some(5));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        assert_eq!(field(&[("bbox", "1,2,3")]).as_deref(), Some("bbox"));
        assert_eq!(field(&[("bbox", "0,50,1,40")]).as_deref(), Some("bbox"));
        assert_eq!(field(&[("since", "yesterday")]).as_deref(), Some("since"));
        assert_eq!(field(&[("kind", "volley")]).as_deref(), Some("kind"));
        assert_eq!(field(&[("status", "done")]).as_deref(), Some("status"));
        assert_eq!(field(&[("limit", "0")]).as_deref(), Some("limit"));
        assert_eq!(field(&[("colour", "red")]).as_deref(), Some("colour"));
        assert_eq!(
            field(&[
                ("since", "2026-11-21T00:00:00Z"),
                ("until", "2026-11-20T00:00:00Z")
            ])
            .as_deref(),
            Some("since")
        );
    }
}
