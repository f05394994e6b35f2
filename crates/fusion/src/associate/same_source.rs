//! Rapid fire from one place: a pulse timed against the source of a located round nearby.
//!
//! At a sensor the round heard, a later round from its source arrives later by exactly the
//! difference of emission times (no travel time, so none of the round's position error);
//! elsewhere the round's model times it. Rounds a tenth of a second apart are told apart where
//! a search with a generic allowance for wind and temperature would blur them.

use super::pulses::{
    Candidate, MAX_GATE_VARIANCE, SPEED_UNCERTAINTY, TIGHT_TOLERANCE_S, area, once_per_sensor,
    pulse_ns, station,
};
use super::timing::{Timing, gate_variance, pulse_speed};
use super::{Fusion, Report, audible_range_m};
use crate::measure::Measure;
use truce_core::time::nanos_as_seconds;
use truce_geo::{LocalFrame, within_m};

/// Largest share of the speed of sound a fit's wind may have (a gale of 34 m/s): bounds how
/// much wind can change the difference of two travel times.
const WIND_SHARE: f64 = 0.1;

/// How much later than a located round a pulse would have left its source, seconds, and
/// how sure that is: from the round's own pulse at the same sensor (no travel time), or from
/// the round's model (`travel_m` the modelled path).
struct Delay {
    s: f64,
    sigma_s: f64,
    travel_m: Option<f64>,
}

impl Delay {
    /// Pulse `m`'s delay after the round timed by `timing`: against `heard` (the time and
    /// sigma of the round's own pulse at `m`'s sensor) when it heard one, else against the
    /// travel time `travel` (seconds, and the path in metres) its model gives.
    fn of(
        m: &Measure,
        heard: Option<(i128, f64)>,
        travel: Option<(f64, f64)>,
        timing: &Timing,
    ) -> Option<Delay> {
        let Measure::Arrival { at_ns, sigma_s, .. } = m else {
            return None;
        };
        if let Some((at_ref, sigma_ref)) = heard {
            return Some(Delay {
                s: nanos_as_seconds(*at_ns - at_ref),
                sigma_s: (sigma_s * sigma_s + sigma_ref * sigma_ref).sqrt(),
                travel_m: None,
            });
        }
        let (t, d) = travel?;
        Some(Delay {
            s: timing.since_emission(m)? - t,
            sigma_s: *sigma_s,
            travel_m: Some(d),
        })
    }
}

/// The sensors of some candidate pulses, each once: by place (where a round heard it) and by
/// place and height (what a travel time depends on).
struct Sensors {
    /// Each place (the sensor's latitude's and longitude's bits).
    places: Vec<(u64, u64)>,
    /// Each place and height: the place's index, the height's bits, and a pulse heard there.
    sensors: Vec<(usize, u64, usize)>,
    /// Each pulse (an index into the candidates) with its place's and sensor's index.
    sensed: Vec<(usize, usize, usize)>,
}

impl Sensors {
    /// The sensors of `candidates` at indices `among` (pulses only).
    fn of(candidates: &[Candidate], among: &[usize]) -> Sensors {
        let mut places: Vec<(u64, u64)> = Vec::new();
        let mut sensors: Vec<(usize, u64, usize)> = Vec::new();
        let mut sensed: Vec<(usize, usize, usize)> = Vec::new();
        for &i in among {
            let q = &candidates[i].measure;
            let (Some(key), Measure::Arrival { alt_m, .. }) = (station(q), q) else {
                continue;
            };
            let place = places.iter().position(|k| *k == key).unwrap_or_else(|| {
                places.push(key);
                places.len() - 1
            });
            let at = (place, alt_m.to_bits());
            let sensor = sensors
                .iter()
                .position(|(k, a, _)| (*k, *a) == at)
                .unwrap_or_else(|| {
                    sensors.push((place, at.1, i));
                    sensors.len() - 1
                });
            sensed.push((i, place, sensor));
        }
        Sensors {
            places,
            sensors,
            sensed,
        }
    }
}

impl Fusion {
    /// Rapid fire from one place: the pulses that agree with `required` on one emission time
    /// as heard from the source of a located round nearby (its position, height and wind),
    /// when at least `min_stations` sensors do; with `within_s`, only rounds whose emission
    /// time `required` would follow or precede by no more than that. Timed against a round's
    /// own pulses (at the sensors it heard) and model (elsewhere), rounds a tenth of a second
    /// apart are told apart where a search with a generic allowance for wind and temperature
    /// would blur them.
    pub(super) fn same_source(
        &self,
        candidates: &[Candidate],
        required: usize,
        r: &Report,
        min_stations: usize,
        within_s: Option<f64>,
    ) -> Option<Vec<usize>> {
        let p = candidates.get(required)?;
        let Measure::Arrival { sigma_s: sp, .. } = &p.measure else {
            return None;
        };
        let reach = audible_range_m(r.kind);
        let c_min = truce_locate::speed_of_sound(self.default_temperature_c - 30.0);
        let t = r.at.unix_seconds();
        let query = area(p.measure.anchor(), reach, t - reach / c_min - 60.0, t);
        let c = pulse_speed(&p.measure, self.default_temperature_c);
        // Located rounds nearby, timed by arrivals: a pulse with none needs nothing more.
        let rounds: Vec<&super::Track> =
            self.pulse_holders_in(&query)
                .into_iter()
                .filter_map(|id| self.tracks.get(&id))
                .filter(|track| {
                    self.same_event_class(track, r)
                        && !track.closed()
                        && !track.tentative()
                        && track.has_arrivals()
                        && track.fix.as_ref().is_some_and(|fix| {
                            within_m(p.measure.anchor(), fix.estimate.center, reach)
                        })
                })
                .collect();
        if rounds.is_empty() {
            return None;
        }
        // Whatever the round, two of its pulses are no further apart in time than sound needs
        // between their sensors (the allowances below at their widest, and wind): a cheap,
        // exact gate before any travel time is computed.
        let here = LocalFrame::at(p.measure.anchor());
        let tp = pulse_ns(&p.measure)?;
        let p_alt = match &p.measure {
            Measure::Arrival { alt_m, .. } => *alt_m,
            _ => 0.0,
        };
        let mut placed: Vec<((u64, u64), (f64, f64))> = Vec::new();
        let possible: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, q)| {
                let Measure::Arrival {
                    sensor,
                    alt_m,
                    at_ns,
                    sigma_s: sq,
                    ..
                } = &q.measure
                else {
                    return false;
                };
                let (e, n) = once_per_sensor(
                    &mut placed,
                    (sensor.lat.to_bits(), sensor.lon.to_bits()),
                    || here.to_en(*sensor),
                );
                let separation = (e * e + n * n + (alt_m - p_alt) * (alt_m - p_alt)).sqrt();
                let widest = 3.0 * MAX_GATE_VARIANCE.sqrt() * (sq * sq + sp * sp).sqrt()
                    + TIGHT_TOLERANCE_S
                    + separation / c * (1.0 + 0.4 * SPEED_UNCERTAINTY + WIND_SHARE);
                nanos_as_seconds(*at_ns - tp).abs() <= widest
            })
            .map(|(i, _)| i)
            .collect();
        let Sensors {
            places,
            sensors,
            sensed,
        } = Sensors::of(candidates, &possible);
        let &(_, p_place, _) = sensed.iter().find(|(i, _, _)| *i == required)?;
        // Each place's pulses, in the candidates' order.
        let mut by_place: Vec<Vec<(usize, usize)>> = vec![Vec::new(); places.len()];
        for &(i, place, sensor) in &sensed {
            by_place[place].push((i, sensor));
        }
        let mut best: Option<(usize, Vec<usize>)> = None;
        for track in rounds {
            let Some(fix) = &track.fix else { continue };
            let scale = gate_variance(fix).sqrt();
            let Some(mut timing) = Timing::of(fix) else {
                continue;
            };
            // At a sensor the round heard, a later round from its source arrives later by
            // exactly the difference of emission times, whatever the round's position error:
            // the two pulses' difference needs no travel time. Elsewhere the round's model
            // times the pulse, from its travel time to each sensor, found once.
            let heard = track.heard_pulses();
            // The required pulse first: most rounds nearby are not its burst's.
            let p_heard = heard.get(&places[p_place]).copied();
            let p_travel = if p_heard.is_none() {
                timing.travel(&p.measure, c).map(|(t, d, _)| (t, d))
            } else {
                None
            };
            let Some(dp) = Delay::of(&p.measure, p_heard, p_travel, &timing) else {
                continue;
            };
            if within_s.is_some_and(|w| dp.s.abs() > w) {
                continue;
            }
            // Places one by one, each one's pulses in the candidates' order; a round that can
            // no longer gather enough places (more than the best so far) is left there.
            let needed = best
                .as_ref()
                .map_or(min_stations, |(n, _)| min_stations.max(n + 1));
            let mut travel: Vec<Option<Option<(f64, f64)>>> = vec![None; sensors.len()];
            // The nearest pulse per place (the required one wherever it agrees).
            let mut per_place: Vec<Option<(f64, usize)>> = vec![None; places.len()];
            let mut agreeing = 0;
            for (place, pulses) in by_place.iter().enumerate() {
                if agreeing + (places.len() - place) < needed {
                    break;
                }
                let heard_here = heard.get(&places[place]).copied();
                for &(i, sensor) in pulses {
                    let travel_here = *travel[sensor].get_or_insert_with(|| {
                        heard_here
                            .is_none()
                            .then(|| timing.travel(&candidates[sensors[sensor].2].measure, c))
                            .flatten()
                            .map(|(t, d, _)| (t, d))
                    });
                    let Some(dq) =
                        Delay::of(&candidates[i].measure, heard_here, travel_here, &timing)
                    else {
                        continue;
                    };
                    let off = (dq.s - dp.s).abs();
                    let modelled = match (dq.travel_m, dp.travel_m) {
                        (Some(a), Some(b)) => (a - b).abs(),
                        (Some(a), None) | (None, Some(a)) => a,
                        (None, None) => 0.0,
                    };
                    let allowed =
                        3.0 * scale * (dq.sigma_s * dq.sigma_s + dp.sigma_s * dp.sigma_s).sqrt()
                            + TIGHT_TOLERANCE_S
                            + 0.4 * SPEED_UNCERTAINTY * modelled / c;
                    if off > allowed {
                        continue;
                    }
                    match &mut per_place[place] {
                        Some(e) if off < e.0 || i == required => *e = (off, i),
                        Some(_) => {}
                        slot @ None => *slot = Some((off, i)),
                    }
                }
                if per_place[place].is_some() {
                    agreeing += 1;
                }
            }
            let members: Vec<usize> = per_place.iter().flatten().map(|(_, i)| *i).collect();
            if members.len() >= needed && members.contains(&required) {
                best = Some((members.len(), members));
            }
        }
        best.map(|(_, mut m)| {
            m.sort_unstable();
            m
        })
    }
}
