//! Scoring the center's incidents against ground truth (`truce eval`): position error against
//! the Cramér–Rao bound per estimator, 95% ellipse coverage, pairwise association precision and
//! recall, and attribution against the side that really acted.

use std::collections::{BTreeMap, HashMap};
use truce_core::incident::{Attribution, CovarianceEn, IncidentEstimate};
use truce_core::{IncidentId, ObservationId};
use truce_fusion::measure::{Measure, crlb};
use truce_geo::{Cov2, D2_95, LatLon, LocalFrame};
use truce_sim::TruthEvent;
use uuid::Uuid;

/// What the center decided about one observation of the truth.
#[derive(Debug, Clone)]
pub struct Decided {
    /// Its number in the record.
    pub observation_id: ObservationId,
    /// The incident it joined.
    pub incident_id: IncidentId,
    /// Its measurement, when it gives one.
    pub measure: Option<Measure>,
}

/// One estimator's accuracy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstimatorScore {
    /// Events located by it.
    pub events: usize,
    /// Root mean square position error, metres.
    pub rmse_m: f64,
    /// Root mean trace of the Cramér–Rao bound, metres (the best any unbiased estimator does).
    pub crlb_m: f64,
    /// Events whose truth lies inside the 95% ellipse, as a fraction.
    pub coverage95: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Per estimator (`bearings`, `arrivals`, `points`, mixes).
    pub by_method: BTreeMap<String, EstimatorScore>,
    /// The bearing and acoustic estimators together: RMSE over CRLB.
    pub rmse_crlb_ratio: f64,
    /// All located events: truth inside the 95% ellipse, as a fraction.
    pub coverage95: f64,
    /// Pairs of observations put in one incident that are of one event, as a fraction.
    pub precision: f64,
    /// Pairs of observations of one event put in one incident, as a fraction.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// (true acting side or `none`, attributed side or `undetermined`) → events.
    pub attribution: BTreeMap<(String, String), usize>,
    /// Events attributed to a side other than the one that acted.
    pub wrong_attributions: usize,
    /// The first few of them: (event, incident, acting side, attributed side).
    pub wrong_examples: Vec<(u64, IncidentId, String, String)>,
    /// Truth events, and how many have a located incident.
    pub events: usize,
    /// Truth events whose incident has a position.
    pub located: usize,
    /// Bearings the incidents' fits set aside, by what the truth says they were.
    pub bearings_set_aside: SetAside,
}

/// Bearings set aside, by what they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAside {
    /// Of an event other than the one most of the incident's reports are of.
    pub another_event: usize,
    /// Of the incident's event, misread by construction (the truth's outliers).
    pub misread: usize,
    /// Of the incident's event and not misread: set aside wrongly.
    pub sound: usize,
}

/// Scores `truth` against what the center decided of each observation (by client id) and the
/// incidents' latest estimates.
pub fn evaluate(
    truth: &[TruthEvent],
    decided: &HashMap<Uuid, Decided>,
    incidents: &HashMap<IncidentId, IncidentEstimate>,
    default_temperature_c: f64,
) -> Evaluation {
    let mut ev = Evaluation {
        events: truth.len(),
        ..Evaluation::default()
    };
    // Association: the contingency of (event, incident) over observations.
    let mut cells: HashMap<(u64, IncidentId), u64> = HashMap::new();
    let mut per_incident: HashMap<IncidentId, u64> = HashMap::new();
    let mut true_pairs = 0u64;
    let mut sums: BTreeMap<String, (usize, f64, f64, usize)> = BTreeMap::new();
    let (mut covered, mut ratio_err2, mut ratio_crlb) = (0usize, 0.0, 0.0);
    for t in truth {
        let mine: Vec<&Decided> = t
            .observations
            .iter()
            .filter_map(|c| decided.get(c))
            .collect();
        let n = mine.len() as u64;
        true_pairs += n * n.saturating_sub(1) / 2;
        for d in &mine {
            *cells.entry((t.event, d.incident_id)).or_default() += 1;
            *per_incident.entry(d.incident_id).or_default() += 1;
        }
        // The event's incident: the one holding most of its reports (ties: lowest number).
        let mut votes: BTreeMap<IncidentId, usize> = BTreeMap::new();
        for d in &mine {
            *votes.entry(d.incident_id).or_default() += 1;
        }
        let Some((&incident, _)) = votes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        else {
            continue;
        };
        let Some(est) = incidents.get(&incident) else {
            continue;
        };
        let truth_side = t.origin_side.clone().unwrap_or_else(|| "none".into());
        let said = est.attribution.side.clone();
        if said != Attribution::UNDETERMINED && Some(&said) != t.origin_side.as_ref() {
            ev.wrong_attributions += 1;
            if ev.wrong_examples.len() < 10 {
                ev.wrong_examples
                    .push((t.event, incident, truth_side.clone(), said.clone()));
            }
        }
        *ev.attribution.entry((truth_side, said)).or_default() += 1;
        let (Some(p), Some(c)) = (&est.position, &est.covariance_m2) else {
            continue;
        };
        ev.located += 1;
        let here = LatLon::new(t.lat, t.lon);
        let (e, n) = LocalFrame::at(here).to_en(LatLon::new(p.lat, p.lon));
        let err2 = e * e + n * n;
        let cov = cov2(c);
        let inside = cov.mahalanobis2((e, n)).is_some_and(|d2| d2 <= D2_95);
        covered += usize::from(inside);
        // The bound from the reports of this event the incident used.
        let excluded: Vec<ObservationId> = est.excluded.iter().map(|x| x.observation_id).collect();
        let used: Vec<&Measure> = mine
            .iter()
            .filter(|d| d.incident_id == incident && !excluded.contains(&d.observation_id))
            .filter_map(|d| d.measure.as_ref())
            .collect();
        let Some(bound) = crlb(&used, here, default_temperature_c) else {
            continue;
        };
        let method = est.method.clone().unwrap_or_else(|| "none".into());
        let s = sums.entry(method.clone()).or_default();
        s.0 += 1;
        s.1 += err2;
        s.2 += bound.ee + bound.nn;
        s.3 += usize::from(inside);
        if !method.contains("points") {
            ratio_err2 += err2;
            ratio_crlb += bound.ee + bound.nn;
        }
    }
    for (method, (n, err2, trace, inside)) in sums {
        let k = n.max(1) as f64;
        ev.by_method.insert(
            method,
            EstimatorScore {
                events: n,
                rmse_m: (err2 / k).sqrt(),
                crlb_m: (trace / k).sqrt(),
                coverage95: inside as f64 / k,
            },
        );
    }
    ev.rmse_crlb_ratio = if ratio_crlb > 0.0 {
        (ratio_err2 / ratio_crlb).sqrt()
    } else {
        f64::NAN
    };
    ev.coverage95 = covered as f64 / ev.located.max(1) as f64;
    ev.bearings_set_aside = bearings_set_aside(truth, decided, incidents, &cells);
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let together: u64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = per_incident.values().map(|&n| pairs(n)).sum();
    ev.precision = ratio_or_one(together, predicted);
    ev.recall = ratio_or_one(together, true_pairs);
    ev.f1 = if ev.precision + ev.recall > 0.0 {
        2.0 * ev.precision * ev.recall / (ev.precision + ev.recall)
    } else {
        0.0
    };
    ev
}

/// Sorts the bearings the incidents set aside by what the truth says of them: another event's
/// (the incident's event being the one most of its reports are of), misread, or sound.
fn bearings_set_aside(
    truth: &[TruthEvent],
    decided: &HashMap<Uuid, Decided>,
    incidents: &HashMap<IncidentId, IncidentEstimate>,
    cells: &HashMap<(u64, IncidentId), u64>,
) -> SetAside {
    let mut of_observation: HashMap<ObservationId, (u64, bool)> = HashMap::new();
    for t in truth {
        for c in &t.observations {
            if let Some(d) = decided.get(c)
                && matches!(d.measure, Some(Measure::Bearing { .. }))
            {
                of_observation.insert(d.observation_id, (t.event, t.outliers.contains(c)));
            }
        }
    }
    let mut majority: HashMap<IncidentId, (u64, u64)> = HashMap::new();
    for (&(event, incident), &n) in cells {
        let m = majority.entry(incident).or_insert((n, event));
        if n > m.0 || (n == m.0 && event < m.1) {
            *m = (n, event);
        }
    }
    let mut out = SetAside::default();
    for (incident, est) in incidents {
        for x in &est.excluded {
            let Some(&(event, misread)) = of_observation.get(&x.observation_id) else {
                continue;
            };
            if majority.get(incident).map(|m| m.1) != Some(event) {
                out.another_event += 1;
            } else if misread {
                out.misread += 1;
            } else {
                out.sound += 1;
            }
        }
    }
    out
}

fn ratio_or_one(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// An incident's east-north covariance as the geometry crate's.
pub(crate) fn cov2(c: &CovarianceEn) -> Cov2 {
    Cov2 {
        ee: c.ee,
        en: c.en,
        nn: c.nn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::incident::{CovarianceEn, IncidentPosition, Status};
    use truce_core::{Kind, Timestamp};

    fn truth(event: u64, lon: f64, side: Option<&str>, obs: &[u128]) -> TruthEvent {
        TruthEvent {
            event,
            time: Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
            lat: 40.0,
            lon,
            kind: Kind::Shot,
            subkind: None,
            weapon: None,
            count: 1,
            impact: false,
            origin: None,
            origin_side: side.map(String::from),
            observations: obs.iter().map(|&u| Uuid::from_u128(u)).collect(),
            outliers: Vec::new(),
            rounds: Vec::new(),
            noise: Vec::new(),
        }
    }

    fn estimate(lon: f64, side: &str) -> IncidentEstimate {
        IncidentEstimate {
            kind: Kind::Shot,
            subkind: None,
            weapon: None,
            count: 1,
            first_seen: Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
            last_seen: Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
            position: Some(IncidentPosition {
                lat: 40.0,
                lon,
                mgrs: String::new(),
            }),
            ellipse_95: None,
            covariance_m2: Some(CovarianceEn {
                ee: 100.0,
                en: 0.0,
                nn: 100.0,
            }),
            zones: Vec::new(),
            findings: Vec::new(),
            attribution: Attribution {
                side: side.into(),
                reason: String::new(),
            },
            status: Status::Reported,
            method: Some("points".into()),
            excluded: Vec::new(),
            merged_into: None,
            uncertainty: None,
            source_height: None,
            emitted_at: None,
            saturated: None,
            unresolved: false,
        }
    }

    fn decided(pairs: &[(u128, u64)]) -> HashMap<Uuid, Decided> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, &(u, inc))| {
                (
                    Uuid::from_u128(u),
                    Decided {
                        observation_id: ObservationId(i as u64 + 1),
                        incident_id: IncidentId(inc),
                        measure: Some(Measure::Point {
                            at: LatLon::new(40.0, 46.0),
                            cov: Cov2::circular(10.0),
                        }),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn bearings_set_aside_are_sorted_by_what_they_were() {
        // Event 1: reports 1–4 in incident 1; report 4 misread. Event 2: report 5, which
        // joined incident 1. Incident 1 sets aside 3 (sound), 4 (misread) and 5 (another's).
        let mut t1 = truth(1, 46.0, None, &[1, 2, 3, 4]);
        t1.outliers = vec![Uuid::from_u128(4)];
        let t = [t1, truth(2, 46.1, None, &[5])];
        let mut d = decided(&[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]);
        for v in d.values_mut() {
            v.measure = Some(Measure::Bearing {
                observer: LatLon::new(40.05, 46.0),
                observer_sigma_m: 10.0,
                azimuth_deg: 180.0,
                sigma_deg: 3.0,
                range: None,
            });
        }
        let mut e = estimate(46.0, "undetermined");
        e.excluded = [3, 4, 5]
            .into_iter()
            .map(|i| truce_core::incident::ExcludedObservation {
                observation_id: ObservationId(i),
                reason: String::new(),
            })
            .collect();
        let ev = evaluate(&t, &d, &HashMap::from([(IncidentId(1), e)]), 15.0);
        assert_eq!(
            ev.bearings_set_aside,
            SetAside {
                another_event: 1,
                misread: 1,
                sound: 1
            }
        );
    }

    #[test]
    fn a_perfect_center_scores_perfectly() {
        let t = [
            truth(1, 46.0, Some("a"), &[1, 2]),
            truth(2, 46.1, Some("b"), &[3]),
        ];
        let inc = HashMap::from([
            (IncidentId(1), estimate(46.0, "a")),
            (IncidentId(2), estimate(46.1, "undetermined")),
        ]);
        let ev = evaluate(&t, &decided(&[(1, 1), (2, 1), (3, 2)]), &inc, 15.0);
        assert_eq!((ev.precision, ev.recall, ev.f1), (1.0, 1.0, 1.0));
        assert_eq!(ev.wrong_attributions, 0);
        assert_eq!((ev.located, ev.coverage95), (2, 1.0));
        assert_eq!(ev.attribution[&("a".to_string(), "a".to_string())], 1);
    }

    #[test]
    fn merged_events_a_miss_and_a_wrong_side_are_counted() {
        let t = [
            truth(1, 46.0, Some("a"), &[1, 2]),
            truth(2, 46.0, Some("b"), &[3, 4]),
        ];
        // All four in one incident placed 1 km off (about 0.0117° of longitude at 40° N),
        // attributed to side a.
        let inc = HashMap::from([(IncidentId(1), estimate(46.0117, "a"))]);
        let ev = evaluate(&t, &decided(&[(1, 1), (2, 1), (3, 1), (4, 1)]), &inc, 15.0);
        assert_eq!(ev.recall, 1.0);
        assert!((ev.precision - 2.0 / 6.0).abs() < 1e-12, "{}", ev.precision);
        assert_eq!(ev.wrong_attributions, 1, "event 2 was side b's");
        assert_eq!(ev.coverage95, 0.0, "1 km off a 10 m sigma");
        let s = &ev.by_method["points"];
        assert!((s.rmse_m - 1000.0).abs() < 20.0, "{s:?}");
    }
}
