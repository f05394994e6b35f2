//! How well any association could do on a scenario's pulses: the pulse-pair F1 of an assigner
//! told where and when every round was fired, but not which pulse is whose.
//!
//! Under rapid fire a pulse that came late by a longer path, or an echo, can arrive at a
//! sensor exactly when another round of the burst is due there. Nothing in the pulse tells the
//! two apart, and the likelier reading (the other round's direct pulse) is the wrong one. The
//! ceiling counts those: within a burst fired from one place, each sensor hears every round
//! after the same travel time, estimated as the median over the rounds' direct pulses there; a
//! pulse closer to another round's due time than to its own's, and within three of its
//! sensor's true sigmas (plus 2 ms) of it, goes to that round. An echo comes 20–500 ms after
//! the direct pulse, its delay drawn alike whichever round made it: when several rounds of the
//! burst were due at its sensor that long before it, nothing tells which one it follows, and
//! the assigner gives it to the earliest (any choice is as good). Every other pulse goes to
//! its own round. Bursts from a moving source, pulses of other events and unrelated noise are
//! taken as told apart, so the figure is what an assigner can expect at best on these
//! pulses.

use crate::evaluate::Decided;
use crate::evaluate_rounds::pairs;
use crate::peer_fit::median;
use std::collections::HashMap;
use truce_fusion::measure::Measure;
use truce_geo::{LatLon, LocalFrame};
use truce_sim::{ECHO_DELAY_S, TruthEvent};

/// Rounds of a burst placed within this of each other are taken as fired from one place,
/// metres.
const ONE_PLACE_M: f64 = 1.0;
/// Added to three true sigmas for what the median travel time does not know, seconds.
const SLACK_S: f64 = 0.002;

/// One pulse of a round, as the ceiling sees it.
struct Heard {
    round: usize,
    station: (u64, u64),
    at_ns: i128,
    sigma_s: Option<f64>,
    direct: bool,
    echo: bool,
}

/// The pulse-pair F1 of the assigner described in the module's documentation, over the
/// pulses of rounds that reached the record (echoes included; noise left out), or 1 when
/// there are no pairs.
pub fn pair_f1_ceiling(truth: &[TruthEvent], decided: &HashMap<uuid::Uuid, Decided>) -> f64 {
    // (true class, assigned class) for every pulse scored.
    let mut labels: Vec<(usize, usize)> = Vec::new();
    let mut first_class = 0;
    for t in truth {
        let heard = heard_pulses(t, decided);
        let assigned = assign(t, &heard);
        labels.extend(
            heard
                .iter()
                .zip(assigned)
                .map(|(h, a)| (first_class + h.round, first_class + a)),
        );
        first_class += t.rounds.len();
    }
    pair_f1(&labels)
}

/// The pulses of `t`'s rounds found in the record with their arrival times.
fn heard_pulses(t: &TruthEvent, decided: &HashMap<uuid::Uuid, Decided>) -> Vec<Heard> {
    let mut out = Vec::new();
    for (k, r) in t.rounds.iter().enumerate() {
        let sigmas: HashMap<uuid::Uuid, f64> = r
            .observations
            .iter()
            .copied()
            .zip(r.sigma_s.iter().copied())
            .collect();
        let pulses = r
            .observations
            .iter()
            .map(|u| (u, !r.late.contains(u), false))
            .chain(r.echoes.iter().map(|u| (u, false, true)));
        for (u, direct, echo) in pulses {
            let Some(Measure::Arrival { sensor, at_ns, .. }) =
                decided.get(u).and_then(|d| d.measure.as_ref())
            else {
                continue;
            };
            out.push(Heard {
                round: k,
                station: (sensor.lat.to_bits(), sensor.lon.to_bits()),
                at_ns: *at_ns,
                sigma_s: sigmas.get(u).copied(),
                direct,
                echo,
            });
        }
    }
    out
}

/// For each of `heard`, the round of `t` the assigner gives it to.
fn assign(t: &TruthEvent, heard: &[Heard]) -> Vec<usize> {
    let own: Vec<usize> = heard.iter().map(|h| h.round).collect();
    let Some(first) = t.rounds.first() else {
        return own;
    };
    let frame = LocalFrame::at(LatLon::new(first.lat, first.lon));
    let one_place = t.rounds.iter().all(|r| {
        let (e, n) = frame.to_en(LatLon::new(r.lat, r.lon));
        e.hypot(n) <= ONE_PLACE_M
    });
    if t.rounds.len() < 2 || !one_place {
        return own;
    }
    let fired: Vec<i128> = t.rounds.iter().map(|r| r.time.unix_nanos()).collect();
    // Per sensor: the travel time and the true sigma, from the rounds' direct pulses there.
    let mut travel: HashMap<(u64, u64), (Vec<f64>, Vec<f64>)> = HashMap::new();
    for h in heard.iter().filter(|h| h.direct) {
        let e = travel.entry(h.station).or_default();
        e.0.push((h.at_ns - fired[h.round]) as f64 * 1e-9);
        e.1.extend(h.sigma_s);
    }
    let travel: HashMap<(u64, u64), (f64, f64)> = travel
        .into_iter()
        .filter(|(_, (_, sigmas))| !sigmas.is_empty())
        .map(|(s, (mut times, mut sigmas))| (s, (median(&mut times), median(&mut sigmas))))
        .collect();
    heard
        .iter()
        .map(|h| {
            let Some(&(travel_s, sigma_s)) = travel.get(&h.station) else {
                return h.round;
            };
            let off = |k: usize| ((h.at_ns - fired[k]) as f64 * 1e-9 - travel_s).abs();
            let nearest = (0..fired.len())
                .min_by(|&a, &b| off(a).total_cmp(&off(b)).then(a.cmp(&b)))
                .unwrap_or(h.round);
            if nearest != h.round
                && off(nearest) < off(h.round)
                && off(nearest) <= 3.0 * sigma_s + SLACK_S
            {
                return nearest;
            }
            if !h.echo {
                return h.round;
            }
            let margin = 3.0 * sigma_s + SLACK_S;
            let after = |k: usize| (h.at_ns - fired[k]) as f64 * 1e-9 - travel_s;
            (0..fired.len())
                .filter(|&k| {
                    (ECHO_DELAY_S[0] - margin..=ECHO_DELAY_S[1] + margin).contains(&after(k))
                })
                .min_by_key(|&k| (fired[k], k))
                .unwrap_or(h.round)
        })
        .collect()
}

/// Pair F1 of the assigned classes against the true ones (the second and first of each).
fn pair_f1(labels: &[(usize, usize)]) -> f64 {
    let mut cells: HashMap<(usize, usize), u64> = HashMap::new();
    let mut truth: HashMap<usize, u64> = HashMap::new();
    let mut assigned: HashMap<usize, u64> = HashMap::new();
    for &(t, a) in labels {
        *cells.entry((t, a)).or_default() += 1;
        *truth.entry(t).or_default() += 1;
        *assigned.entry(a).or_default() += 1;
    }
    let together: u64 = cells.values().map(|&n| pairs(n)).sum();
    let actual: u64 = truth.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = assigned.values().map(|&n| pairs(n)).sum();
    if actual + predicted == 0 {
        return 1.0;
    }
    2.0 * together as f64 / (actual + predicted) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::{IncidentId, Kind, ObservationId, Timestamp};
    use truce_sim::RoundTruth;
    use uuid::Uuid;

    const FIRED_S: i64 = 1_700_000_000;

    /// Six sensors 1–6 km from the source; `late` delays round `r`'s pulse at sensor `s`.
    fn burst(
        rounds: usize,
        gap_s: f64,
        extra: &[(usize, usize, f64)],
        echoes: &[(usize, usize, f64)],
    ) -> (TruthEvent, HashMap<Uuid, Decided>) {
        let mut decided = HashMap::new();
        let mut truths = Vec::new();
        let mut next = 1u128;
        for r in 0..rounds {
            let time = Timestamp::from_unix_nanos(
                i128::from(FIRED_S) * 1_000_000_000 + (r as f64 * gap_s * 1e9) as i128,
            )
            .expect("a time in range");
            let mut round = RoundTruth {
                time,
                lat: 40.0,
                lon: 46.0,
                alt_m: 0.0,
                observations: Vec::new(),
                sigma_s: Vec::new(),
                late: Vec::new(),
                echoes: Vec::new(),
            };
            for s in 0..6 {
                let delay = extra
                    .iter()
                    .find(|(er, es, _)| *er == r && *es == s)
                    .map(|e| e.2);
                let u = Uuid::from_u128(next);
                next += 1;
                let travel_s = (s as f64 + 1.0) * 1000.0 / 340.0;
                let at_ns = time.unix_nanos() + ((travel_s + delay.unwrap_or(0.0)) * 1e9) as i128;
                round.observations.push(u);
                round.sigma_s.push(0.002);
                if delay.is_some() {
                    round.late.push(u);
                }
                let mut heard = |u: Uuid, at_ns: i128| {
                    decided.insert(
                        u,
                        Decided {
                            observation_id: ObservationId(u.as_u128() as u64),
                            incident_id: IncidentId(1),
                            measure: Some(Measure::Arrival {
                                sensor: LatLon::new(40.0 + s as f64 * 0.01, 46.0),
                                alt_m: 0.0,
                                at_ns,
                                sigma_s: 0.002,
                                temperature_c: None,
                            }),
                        },
                    );
                };
                heard(u, at_ns);
                for (_, _, after) in echoes.iter().filter(|(er, es, _)| *er == r && *es == s) {
                    let echo = Uuid::from_u128(next);
                    next += 1;
                    heard(echo, at_ns + (after * 1e9) as i128);
                    round.echoes.push(echo);
                }
            }
            truths.push(round);
        }
        let event = TruthEvent {
            event: 1,
            time: truths[0].time,
            lat: 40.0,
            lon: 46.0,
            kind: Kind::Shot,
            subkind: None,
            weapon: None,
            count: rounds as u32,
            impact: false,
            origin: None,
            origin_side: None,
            observations: truths.iter().flat_map(|r| r.observations.clone()).collect(),
            outliers: Vec::new(),
            rounds: truths,
            noise: Vec::new(),
        };
        (event, decided)
    }

    #[test]
    fn rounds_whose_pulses_arrive_when_due_are_told_apart() {
        let (event, decided) = burst(3, 0.1, &[], &[]);
        assert_eq!(pair_f1_ceiling(&[event], &decided), 1.0);
        // Late by 40 ms, far from the next round's time: still its own.
        let (event, decided) = burst(3, 0.1, &[(0, 2, 0.04)], &[]);
        assert_eq!(pair_f1_ceiling(&[event], &decided), 1.0);
    }

    #[test]
    fn a_late_pulse_arriving_when_the_next_round_is_due_caps_what_any_assigner_gets() {
        // Round 0's pulse at sensor 2 comes 100 ms late: exactly when round 1 is due there.
        let (event, decided) = burst(3, 0.1, &[(0, 2, 0.1)], &[]);
        let ceiling = pair_f1_ceiling(&[event], &decided);
        // Classes of 6 pulses each: 45 true pairs; the assigner pairs the stray with round
        // 1's six (6 wrong) and loses its five with round 0: together 40, predicted 46.
        let expected = 2.0 * 40.0 / (45.0 + 46.0);
        assert!(
            (ceiling - expected).abs() < 1e-12,
            "{ceiling} vs {expected}"
        );
        // Rounds three seconds apart leave no doubt.
        let (event, decided) = burst(3, 3.0, &[(0, 2, 0.1)], &[]);
        assert_eq!(pair_f1_ceiling(&[event], &decided), 1.0);
    }

    #[test]
    fn an_echo_several_rounds_could_have_made_goes_to_the_earliest() {
        // Round 0's echo at sensor 3, 150 ms on: round 1 (due 50 ms before it) could have
        // made it as well; the earliest is round 0, its own.
        let (event, decided) = burst(3, 0.1, &[], &[(0, 3, 0.15)]);
        assert_eq!(pair_f1_ceiling(&[event], &decided), 1.0);
        // Round 2's echo, 250 ms on: rounds 0 and 1 were due 450 and 350 ms before it, and
        // echoes come 20–500 ms late whichever round made them. The earliest gets it: wrong.
        let (event, decided) = burst(3, 0.1, &[], &[(2, 3, 0.25)]);
        // Classes of 6, 6 and 7 pulses: 15 + 15 + 21 = 51 true pairs; assigned 7, 6, 6:
        // 51 pairs, of which together 15 + 15 + 15.
        let expected = 2.0 * 45.0 / (51.0 + 51.0);
        let ceiling = pair_f1_ceiling(&[event], &decided);
        assert!(
            (ceiling - expected).abs() < 1e-12,
            "{ceiling} vs {expected}"
        );
    }
}
