//! Unit and property tests of association: which observations become one incident, how the
//! fused estimate and revision numbers evolve, and that incremental, batch and restored runs
//! decide alike.
//!
//! Observations are built from contract JSON around 40°N 46°E, at seconds after 10:00:00 UTC;
//! the agreement is a minimal one (one area of responsibility, one ceasefire clause), since
//! what the rules find is tested with the rules.

use super::*;
use crate::estimate::estimate_observation;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use truce_core::agreement::parse_toml;
use truce_core::intake::parse_one;
use truce_geo::{LocalFrame, destination, distance_azimuth};

const AGREEMENT: &str = r#"
name = "Synthetic test agreement"
sides = [{ id = "a", name = "Side A" }, { id = "b", name = "Side B" }]
monitors = [{ id = "m1", name = "Monitor 1" }]

[[clauses]]
id = "1"
title = "Ceasefire"
text = "No fire."
rule = "ceasefire"

[zones]
geojson = '''
{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"aor","kind":"area_of_responsibility","monitor":"m1"},
  "geometry":{"type":"Polygon","coordinates":[[[45.5,39.5],[46.5,39.5],[46.5,40.5],[45.5,40.5],[45.5,39.5]]]}}
]}
'''
"#;

pub(super) static RULES: LazyLock<Rules> = LazyLock::new(|| {
    let agreement = parse_toml(AGREEMENT, "test.toml", &|_| Err("no files here".into()))
        .unwrap_or_else(|e| panic!("the test agreement is invalid: {e}"));
    Rules::new(Arc::new(agreement))
});

/// Where the blasts of these tests happen.
pub(super) const BLAST: LatLon = LatLon::new(40.0, 46.0);

pub(super) fn base_time() -> Timestamp {
    Timestamp::parse("2026-11-20T10:00:00Z").unwrap_or_else(|e| panic!("{e}"))
}

/// A validated observation of `kind` at `secs` seconds after 10:00:00 with `geometry`.
pub(super) fn obs(kind: &str, secs: f64, geometry: &str) -> ValidObservation {
    let text = format!(
        r#"{{"kind":"{kind}","observed_at":"{}","reporter":"op-1","geometry":{geometry}}}"#,
        base_time().plus_seconds(secs)
    );
    parse_one(&text, base_time().plus_seconds(7200.0), None)
        .unwrap_or_else(|e| panic!("fixture {text} is invalid: {e}"))
}

/// A position `east_m`, `north_m` metres from the blast, with a 95% radius of `accuracy_m`.
pub(super) fn near(east_m: f64, north_m: f64, accuracy_m: f64) -> String {
    let p = LocalFrame::at(BLAST).from_en(east_m, north_m);
    format!(
        r#"{{"type":"position","lat":{},"lon":{},"accuracy_m":{accuracy_m}}}"#,
        p.lat, p.lon
    )
}

/// A bearing to the blast from an observer `distance_m` away towards `from_deg`, with a 1°
/// sigma and a range of ±500 m (the bearing is the exact geodesic azimuth to the blast).
fn bearing(from_deg: f64, distance_m: f64) -> String {
    let observer = destination(BLAST, from_deg, distance_m);
    let (_, az) = distance_azimuth(observer, BLAST);
    format!(
        r#"{{"type":"bearing","observer":{{"lat":{},"lon":{},"accuracy_m":10}},"bearing_deg":{az},
            "bearing_sigma_deg":1,"distance_min_m":{},"distance_max_m":{}}}"#,
        observer.lat,
        observer.lon,
        distance_m - 500.0,
        distance_m + 500.0
    )
}

/// A bearing with no distance: it fixes no position on its own.
fn bare_bearing(from_deg: f64, distance_m: f64) -> String {
    let observer = destination(BLAST, from_deg, distance_m);
    let (_, az) = distance_azimuth(observer, BLAST);
    format!(
        r#"{{"type":"bearing","observer":{{"lat":{},"lon":{},"accuracy_m":10}},"bearing_deg":{az},
            "bearing_sigma_deg":1}}"#,
        observer.lat, observer.lon
    )
}

/// An acoustic sensor's arrival time: no position on its own either.
fn arrival(secs: f64) -> String {
    format!(
        r#"{{"type":"arrival","sensor":{{"id":"s1","lat":40.01,"lon":46.0,"alt_m":500}},
            "arrival_time":"{}","sigma_s":0.01}}"#,
        base_time().plus_seconds(secs)
    )
}

/// Observation ids 1, 2, … for `observations`, shifted by `offset`.
pub(super) fn numbered(
    observations: &[ValidObservation],
    offset: u64,
) -> Vec<(ObservationId, &ValidObservation)> {
    (1..)
        .map(|i| ObservationId(i + offset))
        .zip(observations)
        .collect()
}

/// The incidents' revisions keyed by id.
pub(super) fn by_incident(absorbed: &Absorbed) -> BTreeMap<IncidentId, &Revision> {
    absorbed
        .revisions
        .iter()
        .map(|r| (r.incident_id, r))
        .collect()
}

/// The groups of observation indices that share an incident.
pub(super) fn partition(incident_ids: &[IncidentId]) -> BTreeSet<BTreeSet<usize>> {
    let mut groups: BTreeMap<IncidentId, BTreeSet<usize>> = BTreeMap::new();
    for (i, id) in incident_ids.iter().enumerate() {
        groups.entry(*id).or_default().insert(i);
    }
    groups.into_values().collect()
}

/// Absorbs `observations` in one batch and checks which share an incident: `groups` has one
/// letter per observation, equal letters for the same incident.
fn check_groups(observations: &[ValidObservation], groups: &str) -> Absorbed {
    assert_eq!(
        observations.len(),
        groups.len(),
        "one letter per observation"
    );
    let absorbed = Fusion::new(RULES.clone()).absorb(&numbered(observations, 0));
    let labels: Vec<IncidentId> = groups.chars().map(|c| IncidentId(u64::from(c))).collect();
    let expected = partition(&labels);
    assert_eq!(
        partition(&absorbed.incident_ids),
        expected,
        "incidents {:?}, expected grouping {groups:?}",
        absorbed.incident_ids
    );
    absorbed
}

fn semi_major(o: &ValidObservation) -> f64 {
    estimate_observation(o)
        .map(|e| e.cov.ellipse_95().semi_major_m)
        .unwrap_or_else(|| panic!("{o:?} fixes no position"))
}

#[test]
fn three_reports_of_one_blast_become_one_incident_with_a_smaller_ellipse() {
    let reports = [
        obs("explosion", 0.0, &near(30.0, -20.0, 150.0)),
        obs("explosion", 4.0, &bearing(270.0, 3000.0)),
        obs("explosion", 9.0, &bearing(180.0, 2500.0)),
    ];
    let absorbed = check_groups(&reports, "aaa");
    assert_eq!(absorbed.revisions.len(), 1, "{absorbed:#?}");
    let revision = &absorbed.revisions[0];
    assert_eq!(revision.incident_id, IncidentId(1));
    assert_eq!(revision.revision, 1);
    assert_eq!(
        revision.added,
        [ObservationId(1), ObservationId(2), ObservationId(3)]
    );
    let estimate = &revision.estimate;
    assert_eq!(estimate.first_seen, base_time());
    assert_eq!(estimate.last_seen, base_time().plus_seconds(9.0));
    let fused = estimate.ellipse_95.map(|e| e.semi_major_m);
    let smallest_input = reports.iter().map(semi_major).fold(f64::INFINITY, f64::min);
    assert!(
        fused.is_some_and(|f| f < smallest_input),
        "fused {fused:?} m should be below every input's ({smallest_input} m and up)"
    );
    let position = estimate
        .position
        .as_ref()
        .map(|p| LatLon::new(p.lat, p.lon));
    let miss = position.map(|p| distance_azimuth(BLAST, p).0);
    assert!(
        miss.is_some_and(|d| d < 60.0),
        "fused position {position:?} is {miss:?} m off"
    );
}

#[test]
fn two_blasts_under_a_minute_and_a_kilometre_apart_are_two_incidents() {
    check_groups(
        &[
            obs("explosion", 0.0, &near(0.0, 0.0, 50.0)),
            obs("explosion", 50.0, &near(1000.0, 0.0, 50.0)),
            obs("explosion", 53.0, &near(1010.0, 10.0, 50.0)),
            obs("explosion", 56.0, &near(5.0, -5.0, 50.0)),
        ],
        "abba",
    );
}

#[test]
fn the_same_place_ten_minutes_later_is_a_new_incident() {
    check_groups(
        &[
            obs("explosion", 0.0, &near(0.0, 0.0, 50.0)),
            obs("explosion", 600.0, &near(0.0, 0.0, 50.0)),
        ],
        "ab",
    );
}

#[test]
fn the_same_place_within_the_window_is_the_same_incident() {
    // The window runs from the first to the last report, widened by a minute each way.
    check_groups(
        &[
            obs("shot", 0.0, &near(0.0, 0.0, 50.0)),
            obs("shot", 55.0, &near(0.0, 0.0, 50.0)),
            obs("shot", 110.0, &near(0.0, 0.0, 50.0)),
            obs("shot", 175.0, &near(0.0, 0.0, 50.0)),
        ],
        "aaab",
    );
}

#[test]
fn different_kinds_at_the_same_place_and_time_are_different_incidents() {
    check_groups(
        &[
            obs("explosion", 0.0, &near(0.0, 0.0, 100.0)),
            obs("muzzle_flash", 0.0, &near(0.0, 0.0, 100.0)),
            obs("shot", 1.0, &near(0.0, 0.0, 100.0)),
            obs("explosion", 2.0, &near(10.0, 0.0, 100.0)),
        ],
        "abca",
    );
}

#[test]
fn a_report_joins_the_nearest_of_two_overlapping_incidents() {
    // Two blasts 300 m apart; a vague report (1 km) overlaps both. Whichever incident the
    // index offers first, the report goes to the one it lies nearer.
    for (east_m, groups) in [
        (250.0, "abb"),
        (50.0, "aba"),
        (-40.0, "aba"),
        (340.0, "abb"),
    ] {
        check_groups(
            &[
                obs("explosion", 0.0, &near(0.0, 0.0, 50.0)),
                obs("explosion", 1.0, &near(300.0, 0.0, 50.0)),
                obs("explosion", 2.0, &near(east_m, 0.0, 1000.0)),
            ],
            groups,
        );
    }
}

#[test]
fn bearings_from_two_observers_that_cross_make_one_located_incident() {
    let reports = [
        obs("explosion", 0.0, &bare_bearing(270.0, 3000.0)),
        obs("explosion", 1.0, &bare_bearing(180.0, 2500.0)),
    ];
    let absorbed = check_groups(&reports, "aa");
    let estimate = &absorbed.revisions[0].estimate;
    let p = estimate.position.as_ref().unwrap();
    let miss = distance_azimuth(BLAST, LatLon::new(p.lat, p.lon)).0;
    assert!(miss < 5.0, "the rays cross {miss} m from the blast");
    assert_eq!(estimate.method.as_deref(), Some("bearings"));
}

#[test]
fn a_lone_bearing_or_arrival_has_no_position_and_is_undetermined() {
    let reports = [
        obs("explosion", 0.0, &bare_bearing(270.0, 3000.0)),
        obs("shot", 2.0, &arrival(3.0)),
    ];
    let absorbed = check_groups(&reports, "ab");
    for r in &absorbed.revisions {
        let estimate = &r.estimate;
        assert!(estimate.position.is_none() && estimate.ellipse_95.is_none());
        assert!(estimate.covariance_m2.is_none() && estimate.zones.is_empty());
        assert_eq!(estimate.attribution.side, "undetermined");
    }
}

/// An arrival at a sensor `east_m`, `north_m` from the blast, of sound emitted at `t0` seconds
/// (the speed of sound at the agreement's default 15 °C), `late_s` late.
fn arrival_at(east_m: f64, north_m: f64, t0: f64, late_s: f64) -> String {
    let s = LocalFrame::at(BLAST).from_en(east_m, north_m);
    let c = truce_locate::speed_of_sound(15.0);
    let t = t0 + east_m.hypot(north_m) / c + late_s;
    format!(
        r#"{{"type":"arrival","sensor":{{"id":"s{east_m}","lat":{},"lon":{},"alt_m":0}},
            "arrival_time":"{}","sigma_s":0.002}}"#,
        s.lat,
        s.lon,
        base_time().plus_seconds(t)
    )
}

#[test]
fn arrivals_of_one_blast_gather_into_one_incident_that_is_located_once_they_suffice() {
    let sensors = [
        (2000.0, 0.0),
        (0.0, 2500.0),
        (-1800.0, -300.0),
        (300.0, -2200.0),
        (1500.0, 1500.0),
    ];
    let reports: Vec<ValidObservation> = sensors
        .iter()
        .map(|&(e, n)| obs("explosion", 0.0, &arrival_at(e, n, 0.0, 0.0)))
        .collect();
    let mut fusion = Fusion::new(RULES.clone());
    let first = fusion.absorb(&numbered(&reports[..3], 0));
    assert_eq!(partition(&first.incident_ids).len(), 1, "{first:#?}");
    assert!(
        first.revisions[0].estimate.position.is_none()
            || first.revisions[0].estimate.method.is_some()
    );
    let later = fusion.absorb(&numbered(&reports[3..], 3));
    assert_eq!(
        later.incident_ids, [first.incident_ids[0]; 2],
        "a later batch joins it"
    );
    let estimate = &later.revisions[0].estimate;
    let p = estimate.position.as_ref().unwrap();
    let miss = distance_azimuth(BLAST, LatLon::new(p.lat, p.lon)).0;
    assert!(miss < 5.0, "{miss} m off");
    assert_eq!(estimate.method.as_deref(), Some("arrivals"));
}

#[test]
fn an_arrival_of_another_blast_does_not_join() {
    let sensors = [
        (2000.0, 0.0),
        (0.0, 2500.0),
        (-1800.0, -300.0),
        (300.0, -2200.0),
        (1500.0, 1500.0),
    ];
    let mut reports: Vec<ValidObservation> = sensors
        .iter()
        .map(|&(e, n)| obs("explosion", 0.0, &arrival_at(e, n, 0.0, 0.0)))
        .collect();
    // The same sensors hear a second blast 40 s later, far off the first's timing.
    reports.push(obs("explosion", 40.0, &arrival_at(2000.0, 0.0, 40.0, 0.0)));
    let absorbed = check_groups(&reports, "aaaaab");
    assert!(
        absorbed
            .revisions
            .iter()
            .all(|r| r.estimate.excluded.is_empty())
    );
}

#[test]
fn revision_numbers_rise_by_one_per_batch_that_touches_an_incident() {
    let mut fusion = Fusion::new(RULES.clone());
    let mut next_obs = 0;
    let mut feed = |fusion: &mut Fusion, batch: &[ValidObservation]| {
        let absorbed = fusion.absorb(&numbered(batch, next_obs));
        next_obs += batch.len() as u64;
        absorbed
            .revisions
            .iter()
            .map(|r| {
                (
                    r.incident_id.0,
                    r.revision,
                    r.added.iter().map(|o| o.0).collect(),
                )
            })
            .collect::<Vec<(u64, u32, Vec<u64>)>>()
    };
    let here = |secs| obs("explosion", secs, &near(0.0, 0.0, 100.0));
    let there = |secs| obs("explosion", secs, &near(5000.0, 0.0, 100.0));
    assert_eq!(feed(&mut fusion, &[here(0.0)]), [(1, 1, vec![1])]);
    assert_eq!(feed(&mut fusion, &[here(5.0)]), [(1, 2, vec![2])]);
    assert_eq!(feed(&mut fusion, &[there(6.0)]), [(2, 1, vec![3])]);
    assert_eq!(
        feed(&mut fusion, &[here(7.0), there(8.0), here(9.0)]),
        [(1, 3, vec![4, 6]), (2, 2, vec![5])]
    );
}

#[test]
fn incremental_and_batch_association_agree() {
    let reports = [
        obs("explosion", 0.0, &near(0.0, 0.0, 150.0)),
        obs("explosion", 2.0, &bearing(270.0, 3000.0)),
        obs("explosion", 3.0, &bare_bearing(90.0, 2000.0)),
        obs("explosion", 30.0, &near(1500.0, 0.0, 80.0)),
        obs("explosion", 31.0, &bearing(0.0, 2000.0)),
        obs("shot", 32.0, &near(1500.0, 0.0, 80.0)),
        obs("explosion", 35.0, &near(1520.0, 20.0, 120.0)),
        obs("explosion", 36.0, &arrival(36.5)),
        obs("explosion", 200.0, &near(0.0, 0.0, 150.0)),
        obs("explosion", 205.0, &bearing(200.0, 4000.0)),
    ];
    check_incremental_equals_batch(&reports);
}

pub(super) fn check_incremental_equals_batch(reports: &[ValidObservation]) {
    let batch = Fusion::new(RULES.clone()).absorb(&numbered(reports, 0));
    let mut fusion = Fusion::new(RULES.clone());
    // Later calls may move earlier observations (a split or a merge): follow the moves.
    let mut one_by_one: Vec<IncidentId> = Vec::new();
    for item in numbered(reports, 0) {
        let absorbed = fusion.absorb(&[item]);
        one_by_one.extend(&absorbed.incident_ids);
        for r in &absorbed.revisions {
            for o in &r.moved {
                one_by_one[(o.0 - 1) as usize] = r.incident_id;
            }
        }
    }
    assert_eq!(partition(&one_by_one), partition(&batch.incident_ids));
}

#[test]
fn a_restored_index_of_any_size_takes_insertions() {
    // rstar 0.12's bulk load left leaves at uneven depths for some sizes (georust/rstar#239),
    // and the insertions that followed a restore panicked inside rstar. The index is built the
    // way `restore` builds it, from boxes like incidents' (degrees and seconds), then grown.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut boxed = |i: u64| {
        let (lon, lat, t) = (46.0 + next(), 40.0 + next(), 1.79e9 + next() * 3600.0);
        Indexed {
            id: IncidentId(i),
            env: AABB::from_corners([lon, lat, t - 60.0], [lon + 0.01, lat + 0.01, t + 60.0]),
        }
    };
    for n in 1..400u64 {
        let mut fusion = Fusion::restore(RULES.clone(), Vec::new());
        fusion.index = restored_index((0..n).map(&mut boxed).collect());
        for i in 0..60 {
            fusion.index.insert(boxed(n + i));
        }
        assert_eq!(fusion.index.size() as u64, n + 60);
    }
}

#[test]
fn a_restored_state_goes_on_as_the_original_would() {
    let history = [
        vec![
            obs("explosion", 0.0, &near(0.0, 0.0, 150.0)),
            obs("explosion", 3.0, &near(4000.0, 0.0, 150.0)),
        ],
        vec![obs("explosion", 5.0, &bearing(270.0, 3000.0))],
        // The last incident started has no position: restore keeps its number in use.
        vec![obs("shot", 6.0, &bare_bearing(0.0, 3000.0))],
    ];
    let mut original = Fusion::new(RULES.clone());
    let mut latest: BTreeMap<IncidentId, TrackState> = BTreeMap::new();
    let mut offset = 0;
    for batch in &history {
        for r in original.absorb(&numbered(batch, offset)).revisions {
            let state = TrackState {
                id: r.incident_id,
                revision: r.revision,
                estimate: r.estimate,
            };
            latest.insert(r.incident_id, state);
        }
        offset += batch.len() as u64;
    }
    assert_eq!(latest.keys().map(|id| id.0).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(latest[&IncidentId(1)].revision, 2);

    let mut restored = Fusion::restore(RULES.clone(), latest.into_values());
    assert_eq!(restored.next_incident_id(), IncidentId(4));
    let more = [
        obs("explosion", 20.0, &near(10.0, 10.0, 100.0)),
        obs("explosion", 21.0, &near(-9000.0, 0.0, 100.0)),
    ];
    let after_restore = restored.absorb(&numbered(&more, offset));
    assert_eq!(after_restore.incident_ids, [IncidentId(1), IncidentId(4)]);
    let revisions = by_incident(&after_restore);
    assert_eq!(revisions[&IncidentId(1)].revision, 3);
    assert_eq!(revisions[&IncidentId(4)].revision, 1);
    // The restored incident goes on from its estimate rather than its measurements: the same
    // decisions, and the same estimate to first order (the bearing's linearisation point moves).
    let went_on = original.absorb(&numbered(&more, offset));
    assert_eq!(after_restore.incident_ids, went_on.incident_ids);
    for (a, b) in after_restore.revisions.iter().zip(&went_on.revisions) {
        assert_eq!(
            (a.incident_id, a.revision, &a.added),
            (b.incident_id, b.revision, &b.added)
        );
        assert_eq!(a.estimate.method, b.estimate.method);
        let (pa, pb) = (
            a.estimate.position.as_ref().unwrap(),
            b.estimate.position.as_ref().unwrap(),
        );
        let d = distance_azimuth(LatLon::new(pa.lat, pa.lon), LatLon::new(pb.lat, pb.lon)).0;
        assert!(d < 0.5, "restored estimate {d} m from the original's");
        let (ea, eb) = (
            a.estimate.ellipse_95.unwrap(),
            b.estimate.ellipse_95.unwrap(),
        );
        assert!((ea.semi_major_m - eb.semi_major_m).abs() < 0.01 * eb.semi_major_m);
    }
}

/// A random report around one of three places and times, of one of two kinds, in one of the
/// four geometry forms the estimators know.
fn any_report() -> impl Strategy<Value = ValidObservation> {
    let place = prop::sample::select(vec![(0.0, 0.0, 0.0), (800.0, 0.0, 30.0), (0.0, 0.0, 400.0)]);
    (
        place,
        -300.0f64..300.0,
        -300.0f64..300.0,
        0.0f64..90.0,
        10.0f64..800.0,
        prop::sample::select(vec!["explosion", "shot"]),
        0usize..4,
    )
        .prop_map(|((east, north, t0), de, dn, dt, size, kind, form)| {
            let geometry = match form {
                0 | 1 => near(east + de, north + dn, size),
                2 => bearing(
                    de.atan2(dn).to_degrees().rem_euclid(360.0),
                    1000.0 + 10.0 * size,
                ),
                _ => bare_bearing(45.0, 2000.0),
            };
            obs(kind, t0 + dt, &geometry)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Feeding observations one per call or all in one call groups them the same way.
    #[test]
    fn incremental_and_batch_agree_on_random_streams(
        reports in prop::collection::vec(any_report(), 1..25),
    ) {
        check_incremental_equals_batch(&reports);
    }
}

#[test]
fn an_arrival_shown_to_be_another_blasts_is_left_apart() {
    // Two sensors hear blast A; a third hears blast B, 2.5 s after A's sound would have
    // reached it: with three arrivals and no position nothing tells them apart, so they wait
    // together, unlocated. An observer's bearing and range then fix A, time A's arrivals and
    // show the third to be another event's: all three first move to the observer's incident
    // (the reports' time and the sound's travel allow each), its fit then rejects the third,
    // which leaves for an incident of its own; the emptied incident is folded. Each move is
    // an explicit revision.
    let reports = [
        obs("explosion", 0.0, &arrival_at(2000.0, 0.0, 0.0, 0.0)),
        obs("explosion", 0.0, &arrival_at(0.0, 2500.0, 0.0, 0.0)),
        obs("explosion", 0.0, &arrival_at(-1800.0, -300.0, 0.0, 2.5)),
        obs("explosion", 0.0, &bearing(270.0, 3000.0)),
    ];
    let mut fusion = Fusion::new(RULES.clone());
    let first = fusion.absorb(&numbered(&reports[..3], 0));
    assert_eq!(first.incident_ids, [IncidentId(1); 3], "{first:#?}");
    assert!(first.revisions[0].estimate.position.is_none());
    let later = fusion.absorb(&numbered(&reports[3..], 3));
    assert_eq!(later.incident_ids, [IncidentId(2)]);
    let revisions = by_incident(&later);
    let fixed = &revisions[&IncidentId(2)];
    assert_eq!(
        fixed.moved,
        [ObservationId(1), ObservationId(2)],
        "A's arrivals move by a revision"
    );
    assert_eq!(
        fixed.added,
        [ObservationId(4), ObservationId(1), ObservationId(2)]
    );
    assert!(
        fixed.estimate.excluded.is_empty(),
        "{:?}",
        fixed.estimate.excluded
    );
    assert_eq!(fixed.estimate.method.as_deref(), Some("bearings+arrivals"));
    let p = fixed.estimate.position.as_ref().unwrap();
    let miss = distance_azimuth(BLAST, LatLon::new(p.lat, p.lon)).0;
    assert!(miss < 20.0, "{miss} m off");
    let emptied = &revisions[&IncidentId(1)];
    assert_eq!(emptied.estimate.merged_into, Some(IncidentId(2)));
    let apart = &revisions[&IncidentId(3)];
    assert_eq!(apart.moved, [ObservationId(3)], "B's arrival is split off");
    assert!(
        apart.estimate.position.is_none(),
        "B's arrival alone fixes nothing"
    );
}

#[test]
fn incidents_found_to_be_one_event_are_merged_into_the_older() {
    // An observer notes the blast 25 s late: the sensors' arrivals cannot be timed against
    // that report and gather on their own; once four of them fix the blast, the two incidents
    // are seen to be one.
    let mut reports = vec![obs("explosion", 25.0, &bearing(270.0, 3000.0))];
    for (e, n) in [
        (2000.0, 0.0),
        (0.0, 2500.0),
        (-1800.0, -300.0),
        (300.0, -2200.0),
    ] {
        reports.push(obs("explosion", 0.0, &arrival_at(e, n, 0.0, 0.0)));
    }
    let mut fusion = Fusion::new(RULES.clone());
    let first = fusion.absorb(&numbered(&reports[..4], 0));
    assert_eq!(
        partition(&first.incident_ids).len(),
        2,
        "before the fourth arrival: {first:#?}"
    );
    let last = fusion.absorb(&numbered(&reports[4..], 4));
    let revisions = by_incident(&last);
    let kept = &revisions[&IncidentId(1)];
    assert_eq!(
        kept.moved,
        [
            ObservationId(2),
            ObservationId(3),
            ObservationId(4),
            ObservationId(5)
        ]
    );
    assert_eq!(kept.estimate.method.as_deref(), Some("bearings+arrivals"));
    let folded = &revisions[&IncidentId(2)];
    assert_eq!(folded.estimate.status, Status::Merged);
    assert_eq!(folded.estimate.merged_into, Some(IncidentId(1)));
    assert!(folded.added.is_empty());
    // Nothing joins a merged incident again; the next arrival goes to the survivor.
    let more = [obs("explosion", 0.0, &arrival_at(1500.0, 1500.0, 0.0, 0.0))];
    assert_eq!(
        fusion.absorb(&numbered(&more, 5)).incident_ids,
        [IncidentId(1)]
    );
}

#[test]
fn a_report_seen_long_after_the_sound_was_emitted_is_another_event() {
    // Four arrivals fix a blast and its emission time; a bearing to the same place noted 40 s
    // later (more than three report-time sigmas) is a second event there.
    let mut reports: Vec<ValidObservation> = [
        (2000.0, 0.0),
        (0.0, 2500.0),
        (-1800.0, -300.0),
        (300.0, -2200.0),
    ]
    .iter()
    .map(|&(e, n)| obs("explosion", 0.0, &arrival_at(e, n, 0.0, 0.0)))
    .collect();
    reports.push(obs("explosion", 40.0, &bearing(270.0, 3000.0)));
    check_groups(&reports, "aaaab");
    reports[4] = obs("explosion", 5.0, &bearing(270.0, 3000.0));
    check_groups(&reports, "aaaaa");
}

#[test]
fn incidents_quiet_for_hours_are_let_go_and_a_report_there_starts_anew() {
    let mut fusion = Fusion::new(RULES.clone());
    let first = fusion.absorb(&numbered(
        &[obs("explosion", -7.0 * 3600.0, &near(0.0, 0.0, 100.0))],
        0,
    ));
    assert_eq!(fusion.len(), 1);
    // Ten thousand reports far away, seven hours later, trigger a sweep.
    let later: Vec<ValidObservation> = (0..EVICTION_EVERY)
        .map(|k| {
            obs(
                "shot",
                k as f64 * 0.01,
                &near(50_000.0, k as f64 * 10.0, 100.0),
            )
        })
        .collect();
    fusion.absorb(&numbered(&later, 1));
    assert!(
        !fusion.tracks.contains_key(&first.incident_ids[0]),
        "the quiet incident is let go"
    );
    let restored = Fusion::restore(
        RULES.clone(),
        [
            TrackState {
                id: IncidentId(1),
                revision: 1,
                estimate: first.revisions[0].estimate.clone(),
            },
            TrackState {
                id: IncidentId(2),
                revision: 1,
                estimate: IncidentEstimate {
                    first_seen: base_time(),
                    last_seen: base_time(),
                    ..first.revisions[0].estimate.clone()
                },
            },
        ],
    );
    assert_eq!(
        restored.len(),
        1,
        "a restart keeps only the recent incident"
    );
    assert_eq!(restored.next_incident_id(), IncidentId(3));
}
