//! Incidents as CoT for TAK clients: a marker at the estimate and its 95% ellipse, or the
//! deletion of both once the incident was merged into another.
//!
//! - The marker is `a-u-G` (unknown ground: truce names no affiliation on a map), `how="m-f"`
//!   (machine, fused), uid `truce-incident-{id}`. Its `ce` is the 95% ellipse's semi-major axis
//!   over 2.4477: a one-sigma circle no smaller than the ellipse's largest spread. Its remarks
//!   give the status, the findings, the attribution and every monitor's current verdict; a
//!   `<truce>` detail carries the same as attributes for clients that read it.
//! - The ellipse is a drawn shape `u-d-c-e` (uid `truce-incident-{id}-ellipse`) with
//!   `<shape><ellipse major minor angle/></shape>`: **semi**-axes in metres, as ATAK's
//!   importers read the circle's `minor` as its radius (references/tak.md §2.5 notes that
//!   sources disagree; a device check is still owed), the major axis's direction in degrees
//!   from true north.
//! - Both are stale after [`STALE_AFTER_MS`]: ATAK drops them then, and a revision or a
//!   reconnect sends them again.

use truce_core::incident::{Incident, Status};
use truce_cot::{Contact, Detail, Element, Event, Point, UNKNOWN};

/// How long an incident stays on a TAK map after it was last sent, milliseconds (a day).
pub const STALE_AFTER_MS: i64 = 24 * 3600 * 1000;

/// What every uid truce gives an incident's marker or ellipse starts with.
pub const UID_PREFIX: &str = "truce-incident-";

/// The marker's uid for incident `id`.
pub fn marker_uid(id: u64) -> String {
    format!("{UID_PREFIX}{id}")
}

/// The ellipse's uid for incident `id`.
pub fn ellipse_uid(id: u64) -> String {
    format!("{UID_PREFIX}{id}-ellipse")
}

fn base(uid: String, kind: &str, now_ms: i64, point: Point) -> Event {
    Event {
        version: "2.0".into(),
        uid,
        kind: kind.into(),
        how: "m-f".into(),
        time_ms: now_ms,
        start_ms: now_ms,
        stale_ms: now_ms + STALE_AFTER_MS,
        access: None,
        qos: None,
        opex: None,
        point,
        detail: Detail::default(),
    }
}

/// A deletion of `uid` (`t-x-d-d` with `__forcedelete`, so ATAK removes it rather than
/// marking it stale).
pub fn deletion(uid: &str, of_type: &str, now_ms: i64, force: bool) -> Event {
    let mut e = base(
        format!("{uid}-delete-{now_ms}"),
        "t-x-d-d",
        now_ms,
        Point {
            lat: 0.0,
            lon: 0.0,
            hae: 0.0,
            ce: UNKNOWN,
            le: UNKNOWN,
        },
    );
    e.how = "m-g".into();
    e.stale_ms = now_ms + 20_000;
    e.detail.others.push(Element::new(
        "link",
        &[("uid", uid), ("relation", "p-p"), ("type", of_type)],
    ));
    if force {
        e.detail.others.push(Element::new("__forcedelete", &[]));
    }
    e
}

/// What a TAK client should be sent for `incident` now: its marker and ellipse; their
/// deletion once merged; nothing while it has no position.
pub fn incident_events(incident: &Incident, now_ms: i64) -> Vec<Event> {
    let id = incident.id.0;
    let est = &incident.estimate;
    if est.status == Status::Merged || est.merged_into.is_some() {
        // Kept for late joiners as long as the marker could be on a map.
        return [(marker_uid(id), "a-u-G"), (ellipse_uid(id), "u-d-c-e")]
            .into_iter()
            .map(|(uid, of_type)| {
                let mut d = deletion(&uid, of_type, now_ms, true);
                d.stale_ms = now_ms + STALE_AFTER_MS;
                d
            })
            .collect();
    }
    let Some(position) = &est.position else {
        return Vec::new();
    };
    let ellipse = est.ellipse_95;
    let ce = ellipse.map_or(UNKNOWN, |e| e.semi_major_m / crate::ingest::CE_TO_95);
    let point = Point {
        lat: position.lat,
        lon: position.lon,
        hae: UNKNOWN,
        ce,
        le: UNKNOWN,
    };
    let mut marker = base(marker_uid(id), "a-u-G", now_ms, point);
    let title = format!("Incident {id}: {} ×{}", est.kind.as_str(), est.count);
    marker.detail.contact = Some(Contact {
        endpoint: String::new(),
        callsign: title,
    });
    let mut remarks = Element::new("remarks", &[]);
    remarks.text = remarks_text(incident);
    marker.detail.others.push(remarks);
    let mut truce = Element::new(
        "truce",
        &[
            ("incident", &id.to_string()),
            ("revision", &incident.revision.to_string()),
            ("kind", est.kind.as_str()),
            ("count", &est.count.to_string()),
            ("status", est.status.as_str()),
            ("side", &est.attribution.side),
            ("first_seen", &est.first_seen.to_string()),
            ("last_seen", &est.last_seen.to_string()),
            ("mgrs", &position.mgrs),
        ],
    );
    if let Some(w) = est.weapon {
        truce.attributes.push(("weapon".into(), w.as_str().into()));
    }
    marker.detail.others.push(truce);
    let mut out = vec![marker];
    if let Some(e) = ellipse {
        let mut shape = base(ellipse_uid(id), "u-d-c-e", now_ms, point);
        let mut wrapper = Element::new("shape", &[]);
        wrapper.children.push(Element::new(
            "ellipse",
            &[
                ("major", &format!("{:.1}", e.semi_major_m)),
                ("minor", &format!("{:.1}", e.semi_minor_m)),
                ("angle", &format!("{:.1}", e.azimuth_deg)),
            ],
        ));
        shape.detail.others.push(wrapper);
        shape.detail.others.push(Element::new(
            "link",
            &[
                ("uid", &marker_uid(id)),
                ("relation", "p-p"),
                ("type", "a-u-G"),
            ],
        ));
        shape
            .detail
            .others
            .push(Element::new("strokeColor", &[("value", "-256")]));
        shape
            .detail
            .others
            .push(Element::new("fillColor", &[("value", "0")]));
        shape.detail.contact = Some(Contact {
            endpoint: String::new(),
            callsign: format!("Incident {id}: 95% ellipse"),
        });
        out.push(shape);
    }
    out
}

/// The marker's remarks: status, findings, attribution, each monitor's current verdict.
fn remarks_text(incident: &Incident) -> String {
    let est = &incident.estimate;
    let mut lines = vec![format!(
        "Status: {}. {} to {}.",
        est.status.as_str(),
        est.first_seen,
        est.last_seen
    )];
    if let Some(e) = est.ellipse_95 {
        lines.push(format!(
            "95% ellipse {:.0} × {:.0} m, major axis {:.0}°.",
            e.semi_major_m, e.semi_minor_m, e.azimuth_deg
        ));
    }
    for f in &est.findings {
        lines.push(format!("Finding {}: {}", f.clause_id, f.reason));
    }
    lines.push(format!(
        "Attribution: {}. {}",
        est.attribution.side, est.attribution.reason
    ));
    for a in incident.assessments.iter().filter(|a| a.current) {
        lines.push(format!(
            "{}: {} ({}).",
            a.monitor,
            a.verdict.as_str(),
            a.reason
        ));
    }
    let mut text = lines.join("\n");
    // Remarks stay far inside the codec's text limit.
    if text.len() > 8 * 1024 {
        let mut end = 8 * 1024;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(status: &str, merged_into: Option<u64>, position: bool) -> Incident {
        let mut json = serde_json::json!({
            "id": 7, "revision": 3, "kind": "explosion", "count": 2,
            "first_seen": "2026-12-05T14:00:00Z", "last_seen": "2026-12-05T14:00:05Z",
            "position": null, "ellipse_95": null, "covariance_m2": null,
            "zones": [], "findings": [{"clause_id": "c1", "reason": "inside the strip"}],
            "attribution": {"side": "undetermined", "reason": "an impact shows where an effect was"},
            "status": status, "observation_ids": [1, 2],
            "assessments": [
                {"monitor": "m1", "verdict": "confirm", "reason": "seen", "user": "m1-officer",
                 "at": "2026-12-05T15:00:00Z", "current": true, "entry_index": 9},
                {"monitor": "m2", "verdict": "dispute", "reason": "old", "user": "m2-officer",
                 "at": "2026-12-05T15:00:00Z", "current": false, "entry_index": 8}
            ]
        });
        if position {
            json["position"] =
                serde_json::json!({"lat": 40.1, "lon": 46.5, "mgrs": "38TNK0000000000"});
            json["ellipse_95"] = serde_json::json!({"semi_major_m": 244.77, "semi_minor_m": 50.0, "azimuth_deg": 30.0});
        }
        if let Some(m) = merged_into {
            json["merged_into"] = serde_json::json!(m);
        }
        serde_json::from_value(json).expect("a valid incident")
    }

    #[test]
    fn a_located_incident_is_a_marker_and_its_95_ellipse_with_every_current_verdict() {
        let now = 1_796_000_000_000;
        let events = incident_events(&incident("under_review", None, true), now);
        assert_eq!(events.len(), 2);
        let (marker, shape) = (&events[0], &events[1]);
        assert_eq!(
            (marker.kind.as_str(), marker.uid.as_str()),
            ("a-u-G", "truce-incident-7")
        );
        assert!(
            (marker.point.ce - 100.0).abs() < 0.01,
            "semi-major / 2.4477: {}",
            marker.point.ce
        );
        assert_eq!(marker.stale_ms - now, STALE_AFTER_MS);
        let remarks = &marker
            .detail
            .find("remarks")
            .map(|r| r.text.clone())
            .unwrap_or_default();
        assert!(remarks.contains("Status: under_review."), "{remarks}");
        assert!(
            remarks.contains("Finding c1: inside the strip"),
            "{remarks}"
        );
        assert!(remarks.contains("m1: confirm (seen)."), "{remarks}");
        assert!(
            !remarks.contains("m2: dispute"),
            "a superseded verdict is not current: {remarks}"
        );
        let ellipse = shape.detail.find("shape").and_then(|s| s.child("ellipse"));
        let axes = ellipse.map(|e| {
            (
                e.attribute("major"),
                e.attribute("minor"),
                e.attribute("angle"),
            )
        });
        assert_eq!(axes, Some((Some("244.8"), Some("50.0"), Some("30.0"))));
        assert_eq!(shape.uid, "truce-incident-7-ellipse");
    }

    #[test]
    fn a_merged_incident_is_deleted_from_the_map_and_an_unlocated_one_not_sent() {
        let events = incident_events(&incident("merged", Some(3), true), 5);
        let targets: Vec<_> = events
            .iter()
            .map(|e| {
                assert_eq!(e.kind, "t-x-d-d");
                assert!(e.detail.find("__forcedelete").is_some());
                e.detail
                    .find("link")
                    .and_then(|l| l.attribute("uid"))
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(
            targets,
            [
                Some("truce-incident-7".into()),
                Some("truce-incident-7-ellipse".into())
            ]
        );
        assert!(incident_events(&incident("reported", None, false), 5).is_empty());
    }
}
