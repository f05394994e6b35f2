//! Coverage from the record: a sensor heard for one hour covers its hearing disc for that hour,
//! and no more; a patrol's track adds its own places and hours; nothing reported, nothing
//! covered.

#![allow(clippy::unwrap_used)]

use truce_core::Timestamp;
use truce_core::agreement::{Agreement, parse_toml};
use truce_core::intake::parse_one;
use truce_core::{IncidentId, ObservationId};
use truce_report::coverage::{Class, RANGES, coverage};
use truce_store::{StoredObservation, TrackRow};

const AGREEMENT_TOML: &str = include_str!("../../cli/demo/agreement.toml");
const ZONES_GEOJSON: &str = include_str!("../../cli/demo/zones.geojson");

fn agreement() -> Agreement {
    parse_toml(AGREEMENT_TOML, "agreement.toml", &|_| {
        Ok(ZONES_GEOJSON.to_string())
    })
    .unwrap()
}

/// An acoustic sensor's arrival at (lat, lon), observed at `t`.
fn arrival(lat: f64, lon: f64, t: &str) -> StoredObservation {
    let text = format!(
        r#"{{"kind":"explosion","observed_at":"{t}","reporter":"s-1","source":"sensor",
        "geometry":{{"type":"arrival","sensor":{{"id":"s-1","lat":{lat},"lon":{lon},"alt_m":300}},
        "arrival_time":"{t}","sigma_s":0.01}}}}"#
    );
    let now = Timestamp::parse("2026-11-21T00:00:00Z").unwrap();
    StoredObservation {
        id: ObservationId(1),
        incident_id: IncidentId(1),
        entry_index: 1,
        recorded_at: now,
        observation: parse_one(&text, now, None).unwrap().into_inner(),
    }
}

fn track(lat: f64, lon: f64, t: &str) -> TrackRow {
    TrackRow {
        entry: 2,
        monitor: "m1".into(),
        device: "patrol-1".into(),
        callsign: "P1".into(),
        platform: "ground".into(),
        at_ns: Timestamp::parse(t).unwrap().unix_nanos() as i64,
        lat,
        lon,
    }
}

/// The area of a zone in km², from its samples' grid (shoelace on a local projection).
fn area_km2(agreement: &Agreement, zone: &str) -> f64 {
    use geo::{Area, Geometry, MapCoords};
    let z = agreement.zones.iter().find(|z| z.id == zone).unwrap();
    let lat0 = 40.2f64.to_radians().cos();
    let projected: Geometry<f64> = z
        .geometry
        .map_coords(|c| geo::coord! { x: c.x * 111.195 * lat0, y: c.y * 111.195 });
    projected.unsigned_area()
}

#[test]
fn one_sensor_for_one_hour_covers_its_disc_for_one_twenty_fourth() {
    let a = agreement();
    let start = Timestamp::parse("2026-11-19T19:30:00Z").unwrap();
    let end = Timestamp::parse("2026-11-20T19:30:00Z").unwrap();
    let quiet = coverage(&a, &[], &[], start, end);
    assert_eq!(quiet.hours, 24);
    assert!(quiet.presences.is_empty());
    assert_eq!(
        quiet.share("aor-m1", Class::Explosions),
        0.0,
        "nothing reported, nothing covered"
    );

    // Deep inside Monitor 1's area, heard three times within one hour.
    let heard: Vec<_> = [
        "2026-11-19T22:40:00Z",
        "2026-11-19T22:50:00Z",
        "2026-11-19T23:20:00Z",
    ]
    .iter()
    .map(|t| arrival(40.3, 46.7, t))
    .collect();
    let one = coverage(&a, &heard, &[], start, end);
    assert_eq!(one.presences.len(), 1, "one place");
    assert_eq!(
        one.presences[0].hours,
        vec![3],
        "22:40 to 23:20 is hour 3 of the period"
    );
    let range_km = RANGES[0].1 / 1000.0;
    let expected = std::f64::consts::PI * range_km * range_km / area_km2(&a, "aor-m1") / 24.0;
    let share = one.share("aor-m1", Class::Explosions);
    assert!(
        (share - expected).abs() < 0.2 * expected,
        "covered {share:.5}, the disc's share of the area for one hour of 24 is {expected:.5}"
    );
    assert!(
        one.share("aor-m1", Class::SmallArms) < share / 10.0,
        "2 km is a smaller disc"
    );
    assert_eq!(
        one.share("aor-m2", Class::Explosions),
        0.0,
        "30 km from the other area"
    );

    // A patrol at the same place in the same hour adds a presence of another kind, not cover;
    // in another hour it doubles it.
    let same = coverage(
        &a,
        &heard,
        &[track(40.3, 46.7, "2026-11-19T22:59:00Z")],
        start,
        end,
    );
    assert_eq!(same.share("aor-m1", Class::Explosions), share);
    let later = coverage(
        &a,
        &heard,
        &[track(40.3, 46.7, "2026-11-20T01:10:00Z")],
        start,
        end,
    );
    assert!((later.share("aor-m1", Class::Explosions) - 2.0 * share).abs() < 1e-12);
    // Outside the period: nothing.
    let outside = coverage(
        &a,
        &[arrival(40.3, 46.7, "2026-11-20T20:00:00Z")],
        &[],
        start,
        end,
    );
    assert!(outside.presences.is_empty());
}
