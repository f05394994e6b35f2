//! A round found among pulses that sensors heard a moment after a located round may be that
//! round's echoes and late paths, not a shot.
//!
//! Echoes and longer paths arrive 5–500 ms after the direct pulse, each sensor's delay its
//! own. Among a round's two or three echoes and late pulses, and those of the rounds beside
//! it, four or five can agree on one emission time by chance: an "image" of the round, a
//! little later, placed near it or far from it. A real next round is told apart by who heard
//! it: sound from a place reaches the sensors that heard the round before it from there, so a
//! real round is heard by most of those whose pulse from it is due by now, and an image only
//! by the few whose echo happened to agree.

use super::pulses::{Candidate, pulse_ns, station};
use super::regroup::BatchLog;
use super::timing::{Timing, pulse_speed};
use super::{Fusion, MAX_MULTIPATH_DELAY_S, Report, Track, audible_range_m};
use crate::measure::{JointFix, Measure};
use std::collections::HashSet;
use truce_core::time::nanos_as_seconds;
use truce_core::{IncidentId, ObservationId};

/// Share of the sensors due to have heard a round (they heard the round emitted just before
/// it, and its pulse would have reached them by now) that must have heard it for it to be a
/// round rather than that earlier round's echoes. Sensors miss a round now and then (one in
/// ten is a bad network); echoes that agree by chance are a few of many.
const HEARD_SHARE: f64 = 0.5;
/// Margin on "by now": a pulse due within this of the latest heard may still be on its way
/// (timing noise, wind), seconds.
const DUE_MARGIN_S: f64 = 0.05;

/// A located round as the test sees it: its fit, the pulses the fit uses, and every pulse it
/// holds (in the fit or set aside).
pub(super) struct Heard<'a> {
    pub(super) fix: &'a JointFix,
    pub(super) active: Vec<&'a Measure>,
    pub(super) held: Vec<&'a Measure>,
}

/// Whether round `later` is the echoes and late paths of round `earlier`: emitted after it by
/// no more than [`MAX_MULTIPATH_DELAY_S`], heard mostly (by [`HEARD_SHARE`]) at sensors
/// `earlier` holds a pulse of, and at fewer than [`HEARD_SHARE`] of the sensors in `earlier`'s
/// fit that `later`'s source would have reached by `now_ns` (the latest pulse heard; those no
/// farther from it than its farthest sensor).
pub(super) fn echoes_of(
    later: &Heard,
    earlier: &Heard,
    now_ns: i128,
    default_temperature_c: f64,
) -> bool {
    let (Some(t_later), Some(t_earlier)) = (later.fix.emission_ns, earlier.fix.emission_ns) else {
        return false;
    };
    let after_s = nanos_as_seconds(t_later - t_earlier);
    if !(after_s > 0.0 && after_s <= MAX_MULTIPATH_DELAY_S + DUE_MARGIN_S) {
        return false;
    }
    // Echoes come from the sensors that heard the round: most of the image's must have.
    let around: HashSet<(u64, u64)> = earlier.held.iter().filter_map(|m| station(m)).collect();
    let shared = later
        .active
        .iter()
        .filter(|m| station(m).is_some_and(|s| around.contains(&s)))
        .count();
    if (shared as f64) < HEARD_SHARE * later.active.len() as f64 {
        return false;
    }
    let Some(mut timing) = Timing::of(later.fix) else {
        return false;
    };
    // Sound from the later source reached its farthest sensor: it reached the nearer ones.
    let mut reach_m: f64 = 0.0;
    for m in &later.active {
        let c = pulse_speed(m, default_temperature_c);
        if let Some((_, d, _)) = timing.travel(m, c) {
            reach_m = reach_m.max(d);
        }
    }
    let (mut due, mut counted) = (0usize, HashSet::new());
    for m in &earlier.active {
        let Some(at) = station(m) else { continue };
        if !counted.insert(at) {
            continue;
        }
        let c = pulse_speed(m, default_temperature_c);
        let Some((travel, d, _)) = timing.travel(m, c) else {
            continue;
        };
        // Nanoseconds: seconds since the epoch lose a microsecond's precision in a float.
        let arrives = t_later + (travel * 1e9) as i128;
        if d <= reach_m && arrives <= now_ns - (DUE_MARGIN_S * 1e9) as i128 {
            due += 1;
        }
    }
    let heard: HashSet<(u64, u64)> = later.held.iter().filter_map(|m| station(m)).collect();
    (heard.len() as f64) < HEARD_SHARE * due as f64
}

impl Track {
    /// This round as [`echoes_of`] sees it; `None` without a fit.
    fn heard(&self) -> Option<Heard<'_>> {
        let fix = self.fix.as_ref()?;
        Some(Heard {
            fix,
            active: fix.used(&self.members).map(|(_, m)| m).collect(),
            held: self.held().collect(),
        })
    }
}

impl Fusion {
    /// Folds each round of `burst` (in emission order) that is the echoes of an earlier one
    /// ([`echoes_of`]) into that round: its pulses join the earlier round, whose fit sets
    /// them aside, and it is merged into it. Whether any was.
    pub(super) fn fold_echo_rounds(&mut self, burst: &[IncidentId], log: &mut BatchLog) -> bool {
        let now_ns = latest_pulse_ns(
            burst
                .iter()
                .filter_map(|b| self.tracks.get(b))
                .flat_map(Track::held),
        );
        let Some(now_ns) = now_ns else { return false };
        let temperature = self.default_temperature_c;
        let mut folded = false;
        for (k, &later_id) in burst.iter().enumerate().skip(1) {
            let parent = {
                let Some(later) = self.tracks.get(&later_id).and_then(Track::heard) else {
                    continue;
                };
                burst[..k].iter().copied().find(|j| {
                    self.tracks
                        .get(j)
                        .filter(|t| t.merged_into.is_none())
                        .and_then(Track::heard)
                        .is_some_and(|earlier| echoes_of(&later, &earlier, now_ns, temperature))
                })
            };
            let Some(parent) = parent else { continue };
            let Some(image) = self.tracks.get_mut(&later_id) else {
                continue;
            };
            let mut moved: Vec<(ObservationId, Measure)> = std::mem::take(&mut image.members);
            moved.extend(
                std::mem::take(&mut image.aside)
                    .into_iter()
                    .map(|(o, m, _)| (o, m)),
            );
            for (obs, _) in &moved {
                log.moved(*obs, later_id, parent);
            }
            if let Some(track) = self.tracks.get_mut(&parent) {
                track.members.extend(moved);
            }
            self.refit(parent);
            self.settle(parent, log);
            self.after_losing(later_id, parent, log);
            folded = true;
        }
        folded
    }

    /// Whether a round of the pulses `chosen`, `kept` of them in its fit `fix`, would be the
    /// echoes of a located round nearby ([`echoes_of`]), `now_ns` the latest pulse heard.
    pub(super) fn echo_image(
        &self,
        chosen: &[&Candidate],
        kept: &[&Candidate],
        fix: &JointFix,
        r: &Report,
        now_ns: i128,
    ) -> bool {
        let Some(t_new) = fix.emission_ns else {
            return false;
        };
        let later = Heard {
            fix,
            active: kept.iter().map(|c| &c.measure).collect(),
            held: chosen.iter().map(|c| &c.measure).collect(),
        };
        let t_new_s = nanos_as_seconds(t_new);
        let query = super::pulses::area(
            fix.estimate.center,
            audible_range_m(r.kind),
            t_new_s - MAX_MULTIPATH_DELAY_S - 1.0,
            nanos_as_seconds(now_ns),
        );
        self.index
            .locate_in_envelope_intersecting(&query)
            .filter_map(|item| self.tracks.get(&item.id))
            .filter(|t| !t.closed() && !t.tentative() && t.merged_into.is_none())
            .any(|track| {
                track.heard().is_some_and(|earlier| {
                    echoes_of(&later, &earlier, now_ns, self.default_temperature_c)
                })
            })
    }
}

/// The latest pulse among `measures`, nanoseconds since the Unix epoch.
pub(super) fn latest_pulse_ns<'a>(measures: impl IntoIterator<Item = &'a Measure>) -> Option<i128> {
    measures.into_iter().filter_map(pulse_ns).max()
}
