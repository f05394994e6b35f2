//! Saturation: a report with more incidents in its gates than association can choose among is
//! left alone, says so, and association joins nothing to it.

use super::tests::{RULES, by_incident, near, numbered, obs};
use super::*;

/// `spots` precise reports (95% within 50 m) of separate blasts on a circle of 2 km around the
/// blast point, a second apart, then one vague report (95% within 8 km) at its centre with
/// every one of them in its gates.
fn blasts_then_a_vague_report(spots: usize) -> Vec<ValidObservation> {
    let mut all: Vec<ValidObservation> = (0..spots)
        .map(|i| {
            let a = (i as f64 * 360.0 / spots as f64).to_radians();
            let place = near(2000.0 * a.sin(), 2000.0 * a.cos(), 50.0);
            obs("explosion", i as f64, &place)
        })
        .collect();
    all.push(obs("explosion", 10.0, &near(0.0, 0.0, 8000.0)));
    all
}

#[test]
fn a_report_with_nine_incidents_in_its_gates_is_left_alone_and_says_how_many() {
    let reports = blasts_then_a_vague_report(9);
    let absorbed = Fusion::new(RULES.clone()).absorb(&numbered(&reports, 0));
    let ids = &absorbed.incident_ids;
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 10, "every report its own incident: {ids:?}");
    let revisions = by_incident(&absorbed);
    let vague = &revisions[&ids[9]].estimate;
    assert_eq!(vague.saturated, Some(9), "{vague:?}");
    assert!(
        !vague.unresolved,
        "a report left alone is not a pool of pulses"
    );
    for id in &ids[..9] {
        assert_eq!(revisions[id].estimate.saturated, None);
    }
}

#[test]
fn a_report_with_eight_incidents_in_its_gates_joins_one() {
    let reports = blasts_then_a_vague_report(8);
    let absorbed = Fusion::new(RULES.clone()).absorb(&numbered(&reports, 0));
    let ids = &absorbed.incident_ids;
    assert!(
        ids[..8].contains(&ids[8]),
        "the vague report joins a blast: {ids:?}"
    );
    assert!(
        absorbed
            .revisions
            .iter()
            .all(|r| r.estimate.saturated.is_none())
    );
}

#[test]
fn a_report_left_alone_counts_but_takes_no_one_before_and_after_a_restart() {
    let reports = blasts_then_a_vague_report(9);
    let mut original = Fusion::new(RULES.clone());
    let first = original.absorb(&numbered(&reports, 0));
    let states: Vec<TrackState> = by_incident(&first)
        .into_values()
        .map(|r| TrackState {
            id: r.incident_id,
            revision: r.revision,
            estimate: r.estimate.clone(),
        })
        .collect();
    let mut restored = Fusion::restore(RULES.clone(), states);
    let alone = first.incident_ids[9];
    // Another vague report: the nine blasts and the report left alone are in its gates. A
    // precise one at the first blast: only that blast and the two vague reports are, and it
    // joins the blast.
    let more = [
        obs("explosion", 12.0, &near(0.0, 0.0, 8000.0)),
        obs("explosion", 13.0, &near(0.0, 2000.0, 50.0)),
    ];
    for fusion in [&mut original, &mut restored] {
        let absorbed = fusion.absorb(&numbered(&more, 10));
        let ids = &absorbed.incident_ids;
        let revisions = by_incident(&absorbed);
        assert!(!first.incident_ids.contains(&ids[0]), "{ids:?}");
        assert_eq!(revisions[&ids[0]].estimate.saturated, Some(10));
        assert_eq!(
            ids[1], first.incident_ids[0],
            "the precise report joins its blast"
        );
        assert!(
            !revisions.contains_key(&alone),
            "the report left alone took nothing"
        );
    }
}

#[test]
fn an_analysts_merge_into_a_report_left_alone_makes_it_an_incident_like_any() {
    let reports = blasts_then_a_vague_report(9);
    let mut fusion = Fusion::new(RULES.clone());
    let first = fusion.absorb(&numbered(&reports, 0));
    let (alone, blast) = (first.incident_ids[9], first.incident_ids[0]);
    let merged = fusion
        .merge_incidents(alone, blast, &[ObservationId(1)])
        .unwrap_or_else(|e| panic!("{e}"));
    let revisions = by_incident(&merged);
    assert_eq!(
        revisions[&alone].estimate.saturated, None,
        "two reports, not one left alone"
    );
    assert_eq!(revisions[&blast].estimate.merged_into, Some(alone));
    // Association may join it again: a precise report at the merged blast goes there.
    let more = [obs("explosion", 12.0, &near(0.0, 2000.0, 50.0))];
    let absorbed = fusion.absorb(&numbered(&more, 10));
    assert_eq!(absorbed.incident_ids, [alone]);
}
