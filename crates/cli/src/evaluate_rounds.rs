//! Scoring fire round by round (`truce eval` on scenarios with `[fire]`): which incident each
//! round's pulses ended in, whether that incident is the round's alone, how far its position
//! is from where the round was fired, against the Cramér–Rao bound computed with the true
//! noise, and whether its 95% ellipse holds the truth.

use crate::evaluate::{Decided, cov2};
use crate::peer_fit::{PeerPulse, median};
use std::collections::{BTreeMap, HashMap};
use truce_core::IncidentId;
use truce_core::incident::IncidentEstimate;
use truce_fusion::measure::{Measure, crlb};
use truce_geo::{D2_95, LatLon, LocalFrame};
use truce_sim::TruthEvent;

/// A round counts as heard when at least this many sensors' pulses of it were reported.
pub const HEARD_BY: usize = 5;
/// A located round's error is gross when it exceeds three semi-major axes of its ellipse and
/// this many metres.
pub const GROSS_M: f64 = 20.0;

/// How well rounds were resolved and located.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundScore {
    /// Rounds in the truth.
    pub rounds: usize,
    /// Rounds heard by at least [`HEARD_BY`] sensors.
    pub heard: usize,
    /// Of those, rounds whose pulses' incident is theirs alone and has a position.
    pub located: usize,
    /// Pulse pairs put in one incident that are of one round (noise pulses are rounds of one;
    /// a pulse left in an incident marked `unresolved` is paired with none).
    pub pair_precision: f64,
    /// Pulse pairs of one round put in one incident.
    pub pair_recall: f64,
    /// Harmonic mean of the two.
    pub pair_f1: f64,
    /// The best `pair_f1` an assigner told where and when each round was fired could reach
    /// ([`crate::evaluate_ceiling`]): late paths and echoes due when another round is.
    pub pair_f1_ceiling: f64,
    /// Root mean square position error of located rounds, metres.
    pub rmse_m: f64,
    /// Root mean trace of the Cramér–Rao bound with the true noise, metres.
    pub crlb_m: f64,
    /// Root mean square over located rounds of each one's error over its own bound
    /// (`√(mean(error² / trace CRLB))`): 1 for an efficient estimator, and not swamped, as
    /// `rmse_m / crlb_m` is, by a few rounds heard by poorly placed sensors whose bound is huge.
    pub normalised_rmse: f64,
    /// Located rounds whose truth lies in the incident's 95% ellipse, as a fraction.
    pub coverage95: f64,
    /// Located rounds off by more than three semi-major axes and [`GROSS_M`].
    pub gross: usize,
    /// Mean over fire events of |rounds heard − rounds located|.
    pub count_error: f64,
    /// Root mean square error of every located incident holding fire pulses, to the round
    /// most of its pulses came from, metres.
    pub incident_rmse_m: f64,
    /// Located incidents holding fire pulses.
    pub incidents: usize,
    /// Of those, the ones off the round most of their pulses came from by more than three
    /// semi-major axes and [`GROSS_M`]: what a reader of the map is misled by, including
    /// incidents that are no round's main one (pulses of several rounds fitted together).
    pub incident_gross: usize,
    /// Median position error of located rounds, metres.
    pub median_m: f64,
    /// The comparison peer ([`crate::peer_fit`], told which pulses are each round's) on the
    /// same located rounds: root mean square error, metres.
    pub peer_rmse_m: f64,
    /// The peer's median error on the same located rounds, metres.
    pub peer_median_m: f64,
    /// Heard rounds the peer places more than [`GROSS_M`] off.
    pub peer_far: usize,
    /// Pulses of rounds (their own pulses and echoes) left in incidents marked `unresolved`.
    pub unresolved: usize,
}

/// Fewest of a round's own pulses in its incident's fit for the Cramér–Rao bound to count:
/// a position and an emission time from arrival times need four.
const MIN_BOUND_PULSES: usize = 4;

/// Pairs among `n` pulses.
pub(crate) fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores the rounds of `truth` against what the center decided of each pulse and the
/// incidents' latest estimates.
pub fn evaluate_rounds(
    truth: &[TruthEvent],
    decided: &HashMap<uuid::Uuid, Decided>,
    incidents: &HashMap<IncidentId, IncidentEstimate>,
    default_temperature_c: f64,
) -> RoundScore {
    let mut score = RoundScore::default();
    // Classes: each round (its pulses and echoes), each noise pulse alone.
    let mut class_of: HashMap<uuid::Uuid, usize> = HashMap::new();
    // Classes 0..rounds are the rounds; noise pulses come after.
    let rounds: Vec<(&TruthEvent, usize)> = truth
        .iter()
        .flat_map(|t| (0..t.rounds.len()).map(move |k| (t, k)))
        .collect();
    for (class, (t, k)) in rounds.iter().enumerate() {
        let r = &t.rounds[*k];
        for u in r.observations.iter().chain(&r.echoes) {
            class_of.insert(*u, class);
        }
    }
    for (class, u) in (rounds.len()..).zip(truth.iter().flat_map(|t| &t.noise)) {
        class_of.insert(*u, class);
    }
    score.rounds = rounds.len();
    if rounds.is_empty() {
        return score;
    }
    score.pair_f1_ceiling = crate::evaluate_ceiling::pair_f1_ceiling(truth, decided);
    let mut cells: HashMap<(usize, IncidentId), u64> = HashMap::new();
    let mut per_class: HashMap<usize, u64> = HashMap::new();
    let mut per_incident: HashMap<IncidentId, u64> = HashMap::new();
    let unresolved = |inc: &IncidentId| incidents.get(inc).is_some_and(|e| e.unresolved);
    for (u, class) in &class_of {
        let Some(d) = decided.get(u) else { continue };
        *per_class.entry(*class).or_default() += 1;
        // A pulse left among the unresolved is claimed by no round: a class of its own.
        if unresolved(&d.incident_id) {
            if *class < rounds.len() {
                score.unresolved += 1;
            }
            continue;
        }
        *cells.entry((*class, d.incident_id)).or_default() += 1;
        *per_incident.entry(d.incident_id).or_default() += 1;
    }
    let together: u64 = cells.values().map(|&n| pairs(n)).sum();
    let predicted: u64 = per_incident.values().map(|&n| pairs(n)).sum();
    let actual: u64 = per_class.values().map(|&n| pairs(n)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    score.pair_precision = ratio(together, predicted);
    score.pair_recall = ratio(together, actual);
    if std::env::var_os("TRUCE_EVAL_DEBUG").is_some() {
        eprintln!(
            "pulse pairs: precision {:.4} recall {:.4}",
            score.pair_precision, score.pair_recall
        );
        let kinds = PulseKinds {
            echoes: rounds
                .iter()
                .flat_map(|(t, k)| t.rounds[*k].echoes.iter().copied())
                .collect(),
            late: rounds
                .iter()
                .flat_map(|(t, k)| t.rounds[*k].late.iter().copied())
                .collect(),
            noise: truth.iter().flat_map(|t| t.noise.iter().copied()).collect(),
        };
        print_wrong_pairs(
            &class_of,
            &kinds,
            decided,
            incidents,
            &cells,
            predicted,
            score.unresolved,
        );
    }
    score.pair_f1 = if score.pair_precision + score.pair_recall > 0.0 {
        2.0 * score.pair_precision * score.pair_recall / (score.pair_precision + score.pair_recall)
    } else {
        0.0
    };
    // Each incident's majority class, and each round's majority incident.
    let mut incident_class: HashMap<IncidentId, (u64, usize)> = HashMap::new();
    for (&(class, inc), &n) in &cells {
        let e = incident_class.entry(inc).or_insert((0, usize::MAX));
        if n > e.0 || (n == e.0 && class < e.1) {
            *e = (n, class);
        }
    }
    let class_incident = majority_incidents(&cells);
    let (mut err2, mut bound2, mut inside) = (0.0, 0.0, 0usize);
    let (mut normalised2, mut bounded) = (0.0, 0usize);
    let (mut misses, mut peer_misses) = (Vec::new(), Vec::new());
    let mut per_event: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for (class, (t, k)) in rounds.iter().enumerate() {
        let r = &t.rounds[*k];
        let heard = r
            .observations
            .iter()
            .filter(|u| decided.contains_key(u))
            .count()
            >= HEARD_BY;
        let entry = per_event.entry(t.event).or_default();
        if !heard {
            continue;
        }
        score.heard += 1;
        entry.0 += 1;
        let peer_miss = peer_miss(r, decided, default_temperature_c);
        if peer_miss.is_none_or(|m| m > GROSS_M) {
            score.peer_far += 1;
        }
        let Some(&(_, inc)) = class_incident.get(&class) else {
            continue;
        };
        if incident_class.get(&inc).map(|(_, c)| *c) != Some(class) {
            continue;
        }
        let Some(est) = incidents.get(&inc) else {
            continue;
        };
        let (Some(p), Some(c)) = (&est.position, &est.covariance_m2) else {
            continue;
        };
        score.located += 1;
        entry.1 += 1;
        let here = LatLon::new(r.lat, r.lon);
        let (e, n) = LocalFrame::at(here).to_en(LatLon::new(p.lat, p.lon));
        let cov = cov2(c);
        let d2 = cov.mahalanobis2((e, n)).unwrap_or(f64::INFINITY);
        inside += usize::from(d2 <= D2_95);
        let miss = e.hypot(n);
        if miss > GROSS_M && miss > 3.0 * cov.ellipse_95().semi_major_m {
            score.gross += 1;
            if std::env::var_os("TRUCE_EVAL_DEBUG").is_some() {
                let mut spread: Vec<_> = cells
                    .iter()
                    .filter(|((c, i), _)| *c == class || *i == inc)
                    .map(|((c, i), n)| format!("class {c} in {i}: {n}"))
                    .collect();
                spread.sort();
                eprintln!(
                    "gross {}:{} (class {class}): {}; the peer's fit of its pulses misses by {}",
                    t.event,
                    k,
                    spread.join(", "),
                    peer_miss.map_or("-".to_string(), |m| format!("{m:.1} m"))
                );
                debug_pulses(r, decided, est, default_temperature_c);
                debug_own_pulses_fit(r, decided, default_temperature_c);
            }
        }
        err2 += miss * miss;
        misses.push(miss);
        if let Some(m) = peer_miss {
            peer_misses.push(m);
        }
        if std::env::var_os("TRUCE_EVAL_DEBUG").is_some() {
            eprintln!(
                "round {}:{} inc {inc} miss {miss:.1} m, ellipse {:.1} m, d2 {d2:.1}, excluded {}, obs {}, unc {:?}, h {:?} (true {:.1})",
                t.event,
                k,
                cov.ellipse_95().semi_major_m,
                est.excluded.len(),
                r.observations.len(),
                est.uncertainty,
                est.source_height,
                r.alt_m
            );
        }
        // The bound with the true noise, over the pulses of this round the incident used.
        let excluded: Vec<_> = est.excluded.iter().map(|x| x.observation_id).collect();
        let used: Vec<Measure> = r
            .observations
            .iter()
            .zip(r.sigma_s.iter().chain(std::iter::repeat(&f64::NAN)))
            .filter_map(|(u, true_sigma)| {
                let d = decided.get(u)?;
                if d.incident_id != inc || excluded.contains(&d.observation_id) {
                    return None;
                }
                match d.measure.clone()? {
                    Measure::Arrival {
                        sensor,
                        alt_m,
                        at_ns,
                        sigma_s,
                        temperature_c,
                    } => Some(Measure::Arrival {
                        sensor,
                        alt_m,
                        at_ns,
                        sigma_s: if true_sigma.is_finite() {
                            *true_sigma
                        } else {
                            sigma_s
                        },
                        temperature_c,
                    }),
                    other => Some(other),
                }
            })
            .collect();
        let refs: Vec<&Measure> = used.iter().collect();
        // Fewer than four of its own pulses bound nothing but through the priors (a round
        // whose incident is mostly other rounds' pulses once gave a bound of 43 km and took
        // the pooled ratio to 0.03): its error counts, with no bound beside it.
        let bound = (refs.len() >= MIN_BOUND_PULSES)
            .then(|| crlb(&refs, here, default_temperature_c))
            .flatten();
        if let Some(b) = bound {
            bound2 += b.ee + b.nn;
            if b.ee + b.nn > 0.0 {
                normalised2 += miss * miss / (b.ee + b.nn);
                bounded += 1;
            }
        }
    }
    let k = score.located.max(1) as f64;
    score.rmse_m = (err2 / k).sqrt();
    score.crlb_m = (bound2 / k).sqrt();
    score.normalised_rmse = (normalised2 / bounded.max(1) as f64).sqrt();
    score.coverage95 = inside as f64 / k;
    score.median_m = median(&mut misses);
    score.peer_median_m = median(&mut peer_misses);
    score.peer_rmse_m =
        (peer_misses.iter().map(|m| m * m).sum::<f64>() / peer_misses.len().max(1) as f64).sqrt();
    let fire_events = per_event.len().max(1) as f64;
    score.count_error = per_event
        .values()
        .map(|(heard, located)| heard.abs_diff(*located) as f64)
        .sum::<f64>()
        / fire_events;
    // Per incident: every located incident whose pulses are mostly of one round.
    let mut inc_err2 = 0.0;
    for (inc, (_, class)) in &incident_class {
        let Some((t, k)) = rounds.get(*class) else {
            continue;
        };
        let Some(p) = incidents.get(inc).and_then(|e| e.position.as_ref()) else {
            continue;
        };
        let r = &t.rounds[*k];
        let (e, n) = LocalFrame::at(LatLon::new(r.lat, r.lon)).to_en(LatLon::new(p.lat, p.lon));
        inc_err2 += e * e + n * n;
        score.incidents += 1;
        let semi_major = incidents
            .get(inc)
            .and_then(|est| est.covariance_m2.as_ref())
            .map_or(f64::INFINITY, |c| cov2(c).ellipse_95().semi_major_m);
        let off = e.hypot(n);
        if off > GROSS_M && off > 3.0 * semi_major {
            score.incident_gross += 1;
        }
        if std::env::var_os("TRUCE_EVAL_DEBUG").is_some() && off > 30.0 {
            let members: Vec<String> = cells
                .iter()
                .filter(|((_, i), _)| i == inc)
                .map(|((c, _), n)| format!("class {c}: {n}"))
                .collect();
            let est = incidents.get(inc);
            eprintln!(
                "incident {inc} off {off:.0} m from round {}:{}; holds {members:?}; excluded {}; ellipse {:?}; basis {:?}",
                t.event,
                k,
                est.map_or(0, |e| e.excluded.len()),
                est.and_then(|e| e.ellipse_95.map(|x| x.semi_major_m.round())),
                est.and_then(|e| e.uncertainty.as_ref().map(|u| (u.basis.clone(), u.dof)))
            );
        }
    }
    score.incident_rmse_m = (inc_err2 / score.incidents.max(1) as f64).sqrt();
    score
}

/// The pulse pairs `cells` ((class, incident) → pulses) put together wrongly, over the
/// incidents `keep` admits.
fn wrong_pairs(
    cells: &HashMap<(usize, IncidentId), u64>,
    keep: impl Fn(&IncidentId) -> bool,
) -> u64 {
    let mut sizes: HashMap<IncidentId, u64> = HashMap::new();
    let mut right = 0;
    for (&(_, inc), &n) in cells {
        if keep(&inc) {
            *sizes.entry(inc).or_default() += n;
            right += pairs(n);
        }
    }
    sizes.values().map(|&n| pairs(n)).sum::<u64>() - right
}

/// For each class in `cells` (class, incident → pulses), the incident holding most of its
/// pulses (the lowest numbered among equals), with how many.
fn majority_incidents(
    cells: &HashMap<(usize, IncidentId), u64>,
) -> HashMap<usize, (u64, IncidentId)> {
    let mut out: HashMap<usize, (u64, IncidentId)> = HashMap::new();
    for (&(class, inc), &n) in cells {
        let e = out.entry(class).or_insert((0, inc));
        if n > e.0 || (n == e.0 && inc < e.1) {
            *e = (n, inc);
        }
    }
    out
}

/// What the truth says of the pulses that are not a round's direct ones.
struct PulseKinds {
    echoes: std::collections::HashSet<uuid::Uuid>,
    late: std::collections::HashSet<uuid::Uuid>,
    noise: std::collections::HashSet<uuid::Uuid>,
}

/// Under `TRUCE_EVAL_DEBUG`: where the wrongly paired pulses are, in located incidents (within
/// their fits, or among what they set aside) or in unlocated ones.
fn print_wrong_pairs(
    class_of: &HashMap<uuid::Uuid, usize>,
    kinds: &PulseKinds,
    decided: &HashMap<uuid::Uuid, Decided>,
    incidents: &HashMap<IncidentId, IncidentEstimate>,
    cells: &HashMap<(usize, IncidentId), u64>,
    predicted: u64,
    unresolved: usize,
) {
    let located = |inc: &IncidentId| incidents.get(inc).is_some_and(|e| e.position.is_some());
    let aside: std::collections::HashSet<truce_core::ObservationId> = incidents
        .values()
        .flat_map(|e| e.excluded.iter().map(|x| x.observation_id))
        .collect();
    let mut fit_cells: HashMap<(usize, IncidentId), u64> = HashMap::new();
    // The sensors each located incident's fit heard.
    let mut heard = std::collections::HashSet::new();
    for (u, class) in class_of {
        let Some(d) = decided.get(u) else { continue };
        if located(&d.incident_id) && !aside.contains(&d.observation_id) {
            *fit_cells.entry((*class, d.incident_id)).or_default() += 1;
            heard.extend(arrival_station(d).map(|s| (d.incident_id, s)));
        }
    }
    // Set-aside pulses of another class: is that class's round placed elsewhere?
    let mut home: HashMap<usize, (IncidentId, u64)> = HashMap::new();
    for (&(c, inc), &n) in &fit_cells {
        let e = home.entry(c).or_insert((inc, 0));
        if n > e.1 {
            *e = (inc, n);
        }
    }
    let (mut elsewhere, mut echoes_elsewhere, mut nowhere, mut own) = (0, 0, 0, 0);
    // Of the direct pulses set aside elsewhere: at a sensor their own round never heard.
    let mut unheard = 0;
    for (u, class) in class_of {
        let Some(d) = decided.get(u) else { continue };
        if !(located(&d.incident_id) && aside.contains(&d.observation_id)) {
            continue;
        }
        match home.get(class) {
            Some((h, _)) if *h == d.incident_id => own += 1,
            Some(_) if kinds.echoes.contains(u) => echoes_elsewhere += 1,
            Some((h, _)) => {
                elsewhere += 1;
                if arrival_station(d).is_some_and(|s| !heard.contains(&(*h, s))) {
                    unheard += 1;
                }
            }
            None => nowhere += 1,
        }
    }
    eprintln!(
        "set aside: {own} of the incident's own round, {elsewhere} of a round placed elsewhere \
         ({unheard} at a sensor that round did not hear; and {echoes_elsewhere} of its echoes), \
         {nowhere} of a round placed nowhere"
    );
    // Pulses of a round away from the incident holding most of them: where they went.
    let majority = majority_incidents(cells);
    let mut strays: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for (u, class) in class_of {
        let (Some(d), Some((_, h))) = (decided.get(u), majority.get(class)) else {
            continue;
        };
        let unresolved = incidents.get(&d.incident_id).is_some_and(|e| e.unresolved);
        if d.incident_id == *h || unresolved {
            continue;
        }
        let what = match (
            kinds.echoes.contains(u),
            located(&d.incident_id),
            aside.contains(&d.observation_id),
        ) {
            (false, true, false) => "direct, in another round's fit",
            (false, true, true) => "direct, set aside by another round",
            (false, false, _) => "direct, in an unlocated incident",
            (true, true, false) => "echo, in another round's fit",
            (true, true, true) => "echo, set aside by another round",
            (true, false, _) => "echo, in an unlocated incident",
        };
        *strays.entry(what).or_default() += 1;
    }
    eprintln!("strays (pulses away from their round's incident, unresolved aside): {strays:?}");
    let unresolved_pulses =
        unresolved_kinds(class_of, kinds, decided, incidents, &majority, &heard);
    eprintln!("unresolved: {unresolved_pulses:?}");
    eprintln!(
        "wrong pairs: {} in located incidents ({} within their fits), {} in unlocated ones, of \
         {predicted} pairs; {unresolved} round pulses left unresolved",
        wrong_pairs(cells, located),
        wrong_pairs(&fit_cells, |_| true),
        wrong_pairs(cells, |inc| !located(inc)),
    );
}

/// Under `TRUCE_EVAL_DEBUG`: the pulses of rounds left unresolved, counted by what they are
/// (direct, late, echo, noise) and by whether their round's incident (the one holding most of
/// its pulses) is located and heard their sensor.
fn unresolved_kinds(
    class_of: &HashMap<uuid::Uuid, usize>,
    kinds: &PulseKinds,
    decided: &HashMap<uuid::Uuid, Decided>,
    incidents: &HashMap<IncidentId, IncidentEstimate>,
    majority: &HashMap<usize, (u64, IncidentId)>,
    heard: &std::collections::HashSet<(IncidentId, (u64, u64))>,
) -> std::collections::BTreeMap<String, u64> {
    let located = |inc: &IncidentId| incidents.get(inc).is_some_and(|e| e.position.is_some());
    let mut unres: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for (u, class) in class_of {
        let Some(d) = decided.get(u) else { continue };
        if !incidents.get(&d.incident_id).is_some_and(|e| e.unresolved) {
            continue;
        }
        let kind = if kinds.echoes.contains(u) {
            "echo"
        } else if kinds.late.contains(u) {
            "late"
        } else if kinds.noise.contains(u) {
            "noise"
        } else {
            "direct"
        };
        let homed = match majority.get(class) {
            Some((_, h)) if located(h) => {
                let heard_there = arrival_station(d).is_some_and(|s| heard.contains(&(*h, s)));
                if heard_there {
                    "home heard sensor"
                } else {
                    "home not at sensor"
                }
            }
            Some(_) => "home unlocated",
            None => "no home",
        };
        *unres.entry(format!("{kind}/{homed}")).or_default() += 1;
    }
    unres
}

/// The sensor of a pulse (its latitude's and longitude's bits).
fn arrival_station(d: &Decided) -> Option<(u64, u64)> {
    match &d.measure {
        Some(Measure::Arrival { sensor, .. }) => Some((sensor.lat.to_bits(), sensor.lon.to_bits())),
        _ => None,
    }
}

/// How far the comparison peer places round `r` from where it was fired, metres, given the
/// round's own pulses (not its echoes) that reached the record; `None` when it cannot fit them.
fn peer_miss(
    r: &truce_sim::RoundTruth,
    decided: &HashMap<uuid::Uuid, Decided>,
    default_temperature_c: f64,
) -> Option<f64> {
    let frame = LocalFrame::at(LatLon::new(r.lat, r.lon));
    let t0 = r.time.unix_nanos();
    let mut temperatures = Vec::new();
    let pulses: Vec<PeerPulse> = r
        .observations
        .iter()
        .filter_map(|u| match decided.get(u)?.measure.as_ref()? {
            Measure::Arrival {
                sensor,
                alt_m,
                at_ns,
                temperature_c,
                ..
            } => {
                temperatures.extend(*temperature_c);
                let (e, n) = frame.to_en(*sensor);
                Some(PeerPulse {
                    at: [e, n, *alt_m],
                    t_s: (*at_ns - t0) as f64 * 1e-9,
                })
            }
            _ => None,
        })
        .collect();
    let temperature = if temperatures.is_empty() {
        default_temperature_c
    } else {
        temperatures.iter().sum::<f64>() / temperatures.len() as f64
    };
    let at = crate::peer_fit::fit(&pulses, truce_locate::speed_of_sound(temperature))?;
    Some(at[0].hypot(at[1]))
}

/// Under `TRUCE_EVAL_DEBUG`: the center's own estimator on round `r`'s direct pulses, and
/// on all its pulses (late ones too, not its echoes), told which they are: whether a gross
/// round is association's failure or the estimator's.
fn debug_own_pulses_fit(
    r: &truce_sim::RoundTruth,
    decided: &HashMap<uuid::Uuid, Decided>,
    default_temperature_c: f64,
) {
    let frame = LocalFrame::at(LatLon::new(r.lat, r.lon));
    let measure = |u: &uuid::Uuid| decided.get(u)?.measure.clone();
    let direct: Vec<Measure> = r
        .observations
        .iter()
        .filter(|u| !r.late.contains(u))
        .filter_map(measure)
        .collect();
    let all: Vec<Measure> = r.observations.iter().filter_map(measure).collect();
    for (name, set) in [("direct", &direct), ("all", &all)] {
        let refs: Vec<&Measure> = set.iter().collect();
        let Some(f) = truce_fusion::measure::joint_fix(&refs, None, default_temperature_c) else {
            continue;
        };
        let (e, n) = frame.to_en(f.estimate.center);
        eprintln!(
            "  its {name} pulses alone ({}): miss {:.1} m, ellipse {:.1} m, {} excluded, residual variance {:.2}",
            set.len(),
            e.hypot(n),
            f.estimate.cov.ellipse_95().semi_major_m,
            f.excluded.len(),
            f.uncertainty.residual_variance
        );
    }
}

/// Under `TRUCE_EVAL_DEBUG`: each pulse of round `r`, where it went, whether the fit left it
/// out, what the truth says of it and its residual at the true source.
fn debug_pulses(
    r: &truce_sim::RoundTruth,
    decided: &HashMap<uuid::Uuid, Decided>,
    est: &IncidentEstimate,
    default_temperature_c: f64,
) {
    let excluded: Vec<_> = est.excluded.iter().map(|x| x.observation_id).collect();
    let here = LatLon::new(r.lat, r.lon);
    let frame = LocalFrame::at(here);
    let t0 = r.time.unix_nanos();
    for (i, u) in r.observations.iter().chain(&r.echoes).enumerate() {
        let Some(d) = decided.get(u) else { continue };
        let Some(Measure::Arrival {
            sensor,
            alt_m,
            at_ns,
            sigma_s,
            temperature_c,
        }) = &d.measure
        else {
            continue;
        };
        let c = truce_locate::speed_of_sound(temperature_c.unwrap_or(default_temperature_c));
        let (e, n) = frame.to_en(*sensor);
        let dist = e.hypot(n).hypot(alt_m - r.alt_m);
        let residual = (*at_ns - t0) as f64 * 1e-9 - dist / c;
        let truth = if r.echoes.contains(u) {
            "echo"
        } else if r.late.contains(u) {
            "late"
        } else {
            ""
        };
        eprintln!(
            "  pulse {} in {}{} {truth:4} residual {:7.1} ms, stated {:.1} ms, true {:.1} ms, {:.0} m",
            d.observation_id.0,
            d.incident_id.0,
            if excluded.contains(&d.observation_id) {
                " excluded"
            } else {
                ""
            },
            residual * 1e3,
            sigma_s * 1e3,
            r.sigma_s.get(i).copied().unwrap_or(f64::NAN) * 1e3,
            dist
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truce_core::incident::{Attribution, CovarianceEn, IncidentPosition, Status};
    use truce_core::{Kind, ObservationId, Timestamp};
    use truce_sim::RoundTruth;
    use uuid::Uuid;

    fn t() -> Timestamp {
        Timestamp::parse("2026-11-20T10:00:00Z").unwrap_or_else(|e| panic!("{e}"))
    }

    fn round(first: u128, n: u128, lon: f64) -> RoundTruth {
        RoundTruth {
            time: t(),
            lat: 40.0,
            lon,
            alt_m: 0.0,
            observations: (first..first + n).map(Uuid::from_u128).collect(),
            sigma_s: Vec::new(),
            late: Vec::new(),
            echoes: Vec::new(),
        }
    }

    fn event(rounds: Vec<RoundTruth>) -> TruthEvent {
        TruthEvent {
            event: 1,
            time: t(),
            lat: 40.0,
            lon: 46.0,
            kind: Kind::Shot,
            subkind: None,
            weapon: None,
            count: rounds.len() as u32,
            impact: false,
            origin: None,
            origin_side: None,
            observations: rounds.iter().flat_map(|r| r.observations.clone()).collect(),
            outliers: Vec::new(),
            rounds,
            noise: vec![Uuid::from_u128(999)],
        }
    }

    fn estimate(lon: f64, sigma_m: f64) -> IncidentEstimate {
        IncidentEstimate {
            kind: Kind::Shot,
            subkind: None,
            weapon: None,
            count: 1,
            first_seen: t(),
            last_seen: t(),
            position: Some(IncidentPosition {
                lat: 40.0,
                lon,
                mgrs: String::new(),
            }),
            ellipse_95: None,
            covariance_m2: Some(CovarianceEn {
                ee: sigma_m * sigma_m,
                en: 0.0,
                nn: sigma_m * sigma_m,
            }),
            zones: Vec::new(),
            findings: Vec::new(),
            attribution: Attribution {
                side: "undetermined".into(),
                reason: String::new(),
            },
            status: Status::Reported,
            method: Some("arrivals".into()),
            excluded: Vec::new(),
            merged_into: None,
            uncertainty: None,
            source_height: None,
            emitted_at: None,
            saturated: None,
            unresolved: false,
        }
    }

    /// `decided` with each round's pulses heard by sensors 1 km around the rounds' place
    /// (the k-th pulse of a round at the k-th of six bearings), 2 ms each.
    fn heard_by_sensors(mut decided: HashMap<Uuid, Decided>) -> HashMap<Uuid, Decided> {
        for (u, d) in &mut decided {
            let a = (u.as_u128() % 10) as f64 * std::f64::consts::TAU / 6.0;
            d.measure = Some(Measure::Arrival {
                sensor: LatLon::new(40.0 + 0.009 * a.cos(), 46.0 + 0.0117 * a.sin()),
                alt_m: 0.0,
                at_ns: 0,
                sigma_s: 0.002,
                temperature_c: None,
            });
        }
        decided
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
                        measure: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_round_whose_incident_fitted_fewer_than_four_of_its_pulses_has_no_bound() {
        let truth = [event(vec![round(1, 6, 46.0)])];
        let incidents = HashMap::from([(IncidentId(1), estimate(46.0001, 2.0))]);
        let all: Vec<(u128, u64)> = (1..7).map(|u| (u, 1)).collect();
        let s = evaluate_rounds(&truth, &heard_by_sensors(decided(&all)), &incidents, 15.0);
        assert!(s.crlb_m > 0.0, "six of its pulses bound it: {s:?}");
        // Three of its pulses went elsewhere: its incident fitted three of them.
        let mut three = all.clone();
        for p in &mut three[3..] {
            p.1 = 2;
        }
        let s = evaluate_rounds(&truth, &heard_by_sensors(decided(&three)), &incidents, 15.0);
        assert_eq!(s.located, 1);
        assert!(s.rmse_m > 8.0, "its error still counts: {s:?}");
        assert_eq!(s.crlb_m, 0.0, "three pulses bound nothing: {s:?}");
    }

    #[test]
    fn rounds_resolved_one_to_one_score_perfectly_and_mixing_is_seen() {
        let truth = [event(vec![round(1, 6, 46.0), round(11, 6, 46.0)])];
        let incidents = HashMap::from([
            (IncidentId(1), estimate(46.0, 2.0)),
            (IncidentId(2), estimate(46.0001, 2.0)),
            (IncidentId(3), estimate(46.0, 2.0)),
        ]);
        let mut good: Vec<(u128, u64)> = (1..7).map(|u| (u, 1)).collect();
        good.extend((11..17).map(|u| (u, 2)));
        good.push((999, 3));
        let s = evaluate_rounds(&truth, &decided(&good), &incidents, 15.0);
        assert_eq!((s.rounds, s.heard, s.located), (2, 2, 2));
        assert_eq!(s.pair_f1, 1.0);
        assert_eq!(s.gross, 0);
        // Round 2 is 8.5 m off (0.0001° of longitude at 40° N) with a 2 m sigma: outside.
        assert!((s.coverage95 - 0.5).abs() < 1e-12, "{s:?}");
        // Each round's error over its own bound (the pulses heard by six sensors around it):
        // round 1's is nothing, round 2's is its 8.5 m over a bound of a few metres.
        let heard = heard_by_sensors(decided(&good));
        let s = evaluate_rounds(&truth, &heard, &incidents, 15.0);
        assert!(s.crlb_m > 0.0, "{s:?}");
        let expected = (s.rmse_m * s.rmse_m / (s.crlb_m * s.crlb_m)).sqrt();
        assert!((s.normalised_rmse - expected).abs() < 1e-9, "{s:?}");
        let mut exact = incidents.clone();
        exact.insert(IncidentId(2), estimate(46.0, 2.0));
        let e = evaluate_rounds(&truth, &heard, &exact, 15.0);
        assert!(e.normalised_rmse < 1e-6, "{e:?}");
        // Two pulses of round 2 put with round 1: precision falls, round 2 is still its own.
        let mut mixed = good.clone();
        mixed[6].1 = 1;
        mixed[7].1 = 1;
        let s = evaluate_rounds(&truth, &decided(&mixed), &incidents, 15.0);
        assert!(s.pair_precision < 1.0 && s.pair_recall < 1.0, "{s:?}");
        assert_eq!(s.located, 2);
        assert_eq!(
            s.peer_far, 2,
            "no pulse carries a measure the peer could fit"
        );
    }

    #[test]
    fn an_incident_far_from_the_round_most_of_its_pulses_came_from_is_a_gross_incident() {
        let truth = [event(vec![round(1, 6, 46.0), round(11, 6, 46.0)])];
        // Incident 3 holds two pulses of round 1 and sits 1.7 km away, claiming 2 m.
        let incidents = HashMap::from([
            (IncidentId(1), estimate(46.0, 2.0)),
            (IncidentId(2), estimate(46.0, 2.0)),
            (IncidentId(3), estimate(46.02, 2.0)),
        ]);
        let mut pairs: Vec<(u128, u64)> = (1..5).map(|u| (u, 1)).collect();
        pairs.extend([(5, 3), (6, 3)]);
        pairs.extend((11..17).map(|u| (u, 2)));
        let s = evaluate_rounds(&truth, &decided(&pairs), &incidents, 15.0);
        // Every round's own incident is right: the round-level count misses it.
        assert_eq!((s.located, s.gross), (2, 0), "{s:?}");
        assert_eq!((s.incidents, s.incident_gross), (3, 1), "{s:?}");
        // The same incident claiming a kilometre is honest.
        let mut honest = incidents.clone();
        honest.insert(IncidentId(3), estimate(46.02, 1000.0));
        let h = evaluate_rounds(&truth, &decided(&pairs), &honest, 15.0);
        assert_eq!(h.incident_gross, 0, "{h:?}");
    }

    #[test]
    fn pulses_left_unresolved_are_paired_with_none() {
        let truth = [event(vec![round(1, 6, 46.0), round(11, 6, 46.0)])];
        let mut pool = estimate(46.0, 2.0);
        pool.position = None;
        pool.covariance_m2 = None;
        pool.unresolved = true;
        let incidents = HashMap::from([
            (IncidentId(1), estimate(46.0, 2.0)),
            (IncidentId(2), estimate(46.0, 2.0)),
            (IncidentId(3), pool.clone()),
        ]);
        // Round 1 whole; round 2's last pulse and the noise pulse wait together in the pool.
        let mut assigned: Vec<(u128, u64)> = (1..7).map(|u| (u, 1)).collect();
        assigned.extend((11..16).map(|u| (u, 2)));
        assigned.push((16, 3));
        assigned.push((999, 3));
        let s = evaluate_rounds(&truth, &decided(&assigned), &incidents, 15.0);
        assert_eq!(s.pair_precision, 1.0, "the pool claims no pair: {s:?}");
        assert!(
            s.pair_recall < 1.0,
            "round 2's pulse in the pool is not with its round"
        );
        assert_eq!((s.unresolved, s.located), (1, 2), "{s:?}");
        // The same pool not marked unresolved is one incident of two classes.
        let mut unmarked = incidents.clone();
        pool.unresolved = false;
        unmarked.insert(IncidentId(3), pool);
        let s = evaluate_rounds(&truth, &decided(&assigned), &unmarked, 15.0);
        assert!(s.pair_precision < 1.0 && s.unresolved == 0, "{s:?}");
    }

    #[test]
    fn the_peer_places_rounds_from_their_own_pulses() {
        let truth = [event(vec![round(1, 6, 46.0)])];
        let incidents = HashMap::from([(IncidentId(1), estimate(46.0001, 2.0))]);
        let good: Vec<(u128, u64)> = (1..7).map(|u| (u, 1)).collect();
        // Exact arrivals at six sensors 1 km around the round.
        let frame = LocalFrame::at(LatLon::new(40.0, 46.0));
        let c = truce_locate::speed_of_sound(15.0);
        let mut heard = heard_by_sensors(decided(&good));
        for d in heard.values_mut() {
            if let Some(Measure::Arrival { sensor, at_ns, .. }) = &mut d.measure {
                let (e, n) = frame.to_en(*sensor);
                *at_ns = t().unix_nanos() + (e.hypot(n) / c * 1e9).round() as i128;
            }
        }
        let s = evaluate_rounds(&truth, &heard, &incidents, 15.0);
        assert_eq!((s.heard, s.located, s.peer_far), (1, 1, 0), "{s:?}");
        assert!(s.peer_rmse_m < 0.5, "{s:?}");
        // Truce's incident is 8.5 m off; the peer's fix is not.
        assert!(s.median_m > 8.0 && s.peer_median_m < 0.5, "{s:?}");
    }
}
