//! Acoustic pulses: which round of fire each pulse belongs to, decided one pulse at a time.
//!
//! Under rapid fire every sensor hears every round, rounds a fraction of a second apart, and
//! sound takes tens of seconds to cross a network, so pulses of different rounds arrive
//! interleaved. Greedy joining by misfit fuses them (a fix of the wrong combination fits
//! *somewhere*). Instead:
//!
//! 1. **A located round predicts the pulse.** A round whose position does not hinge on a few
//!    pulses (at least [`STRONG_STATIONS`] sensors, or bearings and reports beside them)
//!    predicts when each sensor hears it. A pulse from a sensor the round has not heard yet,
//!    within [`GATE_SIGMAS`] of the prediction (its spread from the round's covariance and
//!    the pulse's sigma widened by the round's own residual variance, plus the timing
//!    tolerance), joins it. A later pulse of a sensor the round already has is its **echo**; a
//!    pulse up to [`MAX_MULTIPATH_DELAY_S`] late from a sensor it has not heard came by a
//!    **longer path**: either stays with the round, left out of the fit, with the reason. Under
//!    rapid fire the next round's pulses fall in that window: a pulse set aside also asks
//!    whether it starts a next round from a located round's place (as in 2, rounds emitted
//!    within [`BURST_SPAN_S`] only).
//! 2. **Otherwise the pulse waits in the pool** (an incident without a position holding the
//!    area's unresolved pulses), and a **round search** ([`truce_locate::find_round`]) looks
//!    for the position where most sensors agree with it on one emission time, over the pool,
//!    the pulses set aside by rounds, and the pulses of tentative rounds (fewer than
//!    [`STRONG_STATIONS`] sensors). When at least [`MIN_STATIONS`] sensors agree in the
//!    robust fit (the new pulse among them, or set aside by it as late), the agreeing pulses
//!    become one round: a new incident, or the tentative round they extend; unless they are
//!    a located round's echoes (`echo_image`), or a search over the plane found them with
//!    few sensors and another place gathers about as many ([`as_good_elsewhere`]: under
//!    rapid fire, leftover pulses line up by chance at more than one place). A tentative
//!    round loses pulses only to a round more sensors agree on; left with fewer than
//!    [`MIN_STATIONS`], it goes back to the pool.
//! 3. **Every fit is checked.** A round never holds two pulses of one sensor in its fit; a
//!    pulse its robust fit rejects as early or too late leaves it for the pool.
//!
//! Each step depends only on what came before, so a stream absorbed pulse by pulse and the
//! same stream absorbed as one batch give the same incidents.

use super::regroup::BatchLog;
use super::timing::Timing;
use super::{Fusion, MAX_MULTIPATH_DELAY_S, Report, Track, audible_range_m, role};
use crate::measure::{Measure, chi2_gate, joint_fix};
use rstar::AABB;
use std::collections::HashMap;
use truce_core::time::nanos_as_seconds;
use truce_core::{IncidentId, ObservationId, Timestamp};
use truce_geo::{LatLon, LocalFrame, within_m};
use truce_locate::{Pulse, RoundCandidate, RoundSearch, Surface, find_round};

/// Fewest sensors whose pulses make a round (three unknowns and one check, the height taken
/// from the surface where the geometry cannot resolve it).
pub(super) const MIN_STATIONS: usize = 4;
/// Rounds heard by fewer sensors are tentative: a round more sensors agree on may take their
/// pulses, and they do not predict pulses (their position hinges on a few).
pub(super) const STRONG_STATIONS: usize = 6;
/// Timing disagreement allowed beyond the stated sigmas, seconds: the heavy tail of onset
/// picking, sensor survey error, the height the surface gets wrong.
pub(super) const TOLERANCE_S: f64 = 0.02;
/// Relative error of predicted travel times: the temperature's and the wind's share (0.5%:
/// 1.7 m/s of wind along the path, or 3 °C).
pub(super) const SPEED_UNCERTAINTY: f64 = 0.005;
/// Largest residual variance factor a gate trusts: stated sigmas may be three times too
/// small; a fit that looks worse than that is not allowed to widen its gates further (it
/// would swallow other rounds' pulses).
pub(super) const MAX_GATE_VARIANCE: f64 = 9.0;
/// Largest residual variance factor of a new round's fit: beyond the stated sigmas' being
/// three times too small and a heavy tail, the pulses are not one round (two rounds' pulses
/// split between sensors can fit somewhere, badly).
const MAX_ROUND_VARIANCE: f64 = 16.0;
/// Most a client's stated timing sigma understates the true one (what the scenarios span).
const MAX_SIGMA_UNDERSTATEMENT: f64 = 3.0;
/// Timing agreement a round's pulses must keep at the consensus position, beyond three
/// sigmas, seconds.
pub(super) const TIGHT_TOLERANCE_S: f64 = 0.01;
/// Sigmas of a round's predicted arrival within which a pulse joins it.
pub(super) const GATE_SIGMAS: f64 = 4.0;
/// Most cells one round search evaluates (bounds the cost of a pulse).
const MAX_SEARCH_CELLS: usize = 20_000;
/// Most pulses one round keeps set aside (echoes, late paths). Beyond, a pulse waits in the
/// pool: under dense fire the next rounds' pulses arrive within any round's echo window, and
/// a revision entry must stay far below the record's 64 KiB.
pub(super) const MAX_ASIDE: usize = 40;
/// How early a pulse the fit rejects may be and still stay with the round, set aside, seconds.
const EARLY_ASIDE_S: f64 = 0.1;
/// A pool incident gathers pulses for at most this long after its first, seconds, so a
/// sensor that keeps hearing noise does not make one pool grow without end.
const POOL_SPAN_S: f64 = 300.0;

/// A round found by the search over the plane that fewer sensors than this agree on is
/// created only if no position away from it gathers about as many (one fewer): under rapid
/// fire the pulses no round has taken line up, by chance, at more than one place, and the
/// place found first is then as likely a coincidence as a round. Such pulses wait for more
/// sensors.
const CHECKED_FOR_ANOTHER_PLACE_BELOW: usize = 9;
/// How far another place must be from a round found to count as another, metres.
const ANOTHER_PLACE_M: f64 = 200.0;

/// Rounds of one burst are emitted within this of each other, seconds (rapid fire: up to 3 s
/// apart).
pub(super) const BURST_SPAN_S: f64 = 3.5;

/// Where a sensor is: pulses with the same reported place are one station.
pub(super) fn station(m: &Measure) -> Option<(u64, u64)> {
    match m {
        Measure::Arrival { sensor, .. } => Some((sensor.lat.to_bits(), sensor.lon.to_bits())),
        _ => None,
    }
}

pub(super) fn pulse_ns(m: &Measure) -> Option<i128> {
    match m {
        Measure::Arrival { at_ns, .. } => Some(*at_ns),
        _ => None,
    }
}

/// `make()` for `key`, computed once per key kept in `cache`: pulses come from a few sensors,
/// and what depends only on the sensor is found once per search (a short list, searched in
/// order, costs less than hashing).
pub(super) fn once_per_sensor<K: PartialEq + Copy, V: Copy>(
    cache: &mut Vec<(K, V)>,
    key: K,
    make: impl FnOnce() -> V,
) -> V {
    if let Some((_, v)) = cache.iter().find(|(k, _)| *k == key) {
        return *v;
    }
    let v = make();
    cache.push((key, v));
    v
}

/// The pulse (time, sigma) each sensor of a round's fit heard, by sensor: a short list sorted
/// by the sensor's place, looked up by halving (a round is heard by a few sensors, and a map
/// per round costs more than its lookups).
pub(super) struct HeardPulses(Vec<((u64, u64), (i128, f64))>);

impl HeardPulses {
    /// The pulse the sensor at `at` heard, if any.
    pub(super) fn get(&self, at: &(u64, u64)) -> Option<&(i128, f64)> {
        let i = self.0.binary_search_by_key(at, |(k, _)| *k).ok()?;
        self.0.get(i).map(|(_, v)| v)
    }

    /// Each sensor and its pulse, by sensor.
    pub(super) fn iter(&self) -> impl Iterator<Item = &((u64, u64), (i128, f64))> + '_ {
        self.0.iter()
    }
}

/// What started a round search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// A pulse no round took went to the pool.
    Pooled,
    /// A round set the pulse aside as late: it may be a next round from a place nearby.
    SetAside,
}

/// Where a pulse of the search came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Holding {
    /// A pool incident's member.
    Pool,
    /// Set aside by a round (an echo, a longer path).
    Aside,
    /// An active pulse of a tentative round.
    Tentative,
    /// A pulse in the fit of a located round.
    Fitted,
}

/// A pulse the search may use, and where it is now.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) obs: ObservationId,
    pub(super) measure: Measure,
    pub(super) holder: IncidentId,
    pub(super) holding: Holding,
}

/// How a round would take a pulse: into its fit, or set aside with a reason.
pub(super) enum Fit {
    Member,
    Aside(String),
}

impl Track {
    /// The stations of the arrivals the fit uses, sorted.
    pub(super) fn active_stations(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = self
            .used_members()
            .filter_map(|(_, m)| station(m))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The members the fit uses (all of them without a fit).
    pub(super) fn used_members(&self) -> impl Iterator<Item = &(ObservationId, Measure)> + '_ {
        let fitted = self.fix.as_ref().map(|f| f.used(&self.members));
        let unfitted = self.fix.is_none().then(|| self.members.iter());
        fitted
            .into_iter()
            .flatten()
            .chain(unfitted.into_iter().flatten())
    }

    /// Every measurement the incident holds: its members, then what it set aside.
    pub(super) fn held(&self) -> impl Iterator<Item = &Measure> + '_ {
        self.members
            .iter()
            .map(|(_, m)| m)
            .chain(self.aside.iter().map(|(_, m, _)| m))
    }

    /// The time and sigma of the pulse each sensor in the fit heard (the last of a sensor's,
    /// should a fit hold two).
    pub(super) fn heard_pulses(&self) -> HeardPulses {
        let mut heard: Vec<((u64, u64), (i128, f64))> = self
            .used_members()
            .filter_map(|(_, m)| match m {
                Measure::Arrival { at_ns, sigma_s, .. } => Some((station(m)?, (*at_ns, *sigma_s))),
                _ => None,
            })
            .collect();
        // Latest first within a sensor (the sort is stable), then the first of each kept.
        heard.reverse();
        heard.sort_by_key(|(at, _)| *at);
        heard.dedup_by_key(|(at, _)| *at);
        HeardPulses(heard)
    }

    /// Whether anything besides arrivals places the incident (bearings, reports, a prior).
    pub(super) fn placed_otherwise(&self) -> bool {
        self.prior.is_some()
            || self
                .members
                .iter()
                .any(|(_, m)| !matches!(m, Measure::Arrival { .. }))
    }

    pub(super) fn has_arrivals(&self) -> bool {
        self.members
            .iter()
            .any(|(_, m)| matches!(m, Measure::Arrival { .. }))
    }

    /// A round whose fix is too weak to predict pulses: arrivals alone from few sensors.
    pub(super) fn tentative(&self) -> bool {
        !self.pool
            && self.has_arrivals()
            && !self.placed_otherwise()
            && self.active_stations().len() < STRONG_STATIONS
    }

    /// How this located, timed incident would take pulse `m`, with a score (lower is better).
    pub(super) fn predicts(&self, m: &Measure, default_temperature_c: f64) -> Option<(f64, Fit)> {
        let mut timing = Timing::of(self.fix.as_ref()?)?;
        self.predicts_by(
            &mut timing,
            &self.active_stations(),
            m,
            default_temperature_c,
        )
    }

    /// [`Track::predicts`] with this round's `timing` and the sensors it heard
    /// (`active_stations`) made once for many pulses.
    pub(super) fn predicts_by(
        &self,
        timing: &mut Timing,
        heard: &[(u64, u64)],
        m: &Measure,
        default_temperature_c: f64,
    ) -> Option<(f64, Fit)> {
        let (residual, gate) = timing.prediction(m, default_temperature_c)?;
        let heard = station(m).is_some_and(|s| heard.binary_search(&s).is_ok());
        if !heard && residual.abs() <= gate {
            return Some((residual.abs() / gate, Fit::Member));
        }
        if residual > 0.0 && residual <= MAX_MULTIPATH_DELAY_S + gate {
            let reason = if heard {
                format!(
                    "an echo: a second pulse at this sensor, {:.0} ms after the round's predicted arrival",
                    residual * 1e3
                )
            } else {
                format!(
                    "{:.0} ms late: a longer path (no line of sight) or another round",
                    residual * 1e3
                )
            };
            // A sensor's only pulse for this round, late, before a second pulse of a sensor
            // another round has heard: the latter needs the direct pulse and an echo.
            let rank = if heard { 2.0 } else { 1.0 };
            return Some((rank + residual, Fit::Aside(reason)));
        }
        None
    }
}

impl Fusion {
    /// Associates one acoustic pulse (see the module's documentation).
    pub(super) fn absorb_pulse(
        &mut self,
        obs: ObservationId,
        r: &Report,
        m: Measure,
        log: &mut BatchLog,
    ) {
        if let Some((id, how)) = self.round_for(r, &m) {
            match how {
                Fit::Member => {
                    let fix = self
                        .tracks
                        .get(&id)
                        .and_then(|t| t.trial(&m, self.default_temperature_c))
                        .and_then(crate::measure::Trial::fix);
                    // A pulse whose joining makes the fit implausible is not this round's,
                    // however well the prediction matched.
                    if fix.as_ref().is_some_and(sound) {
                        self.join(id, obs, r, m, fix);
                        log.observe(obs, id);
                        self.settle(id, log);
                        self.gather_stragglers(id, log);
                        self.merge_into_neighbour(id, log);
                        self.untangle(id, log);
                        return;
                    }
                }
                Fit::Aside(reason) => {
                    if self
                        .tracks
                        .get(&id)
                        .is_some_and(|t| t.aside.len() < MAX_ASIDE)
                    {
                        self.set_aside(id, obs, r, m.clone(), reason);
                        log.observe(obs, id);
                        // Under rapid fire the next round's pulses fall in this round's echo
                        // window: they may still make a round of their own.
                        self.search_round(obs, r, &m, Trigger::SetAside, log);
                        return;
                    }
                }
            }
        }
        let pool = self.pool_for(obs, r, m.clone());
        log.observe(obs, pool);
        self.search_round(obs, r, &m, Trigger::Pooled, log);
    }

    /// The located incident that best takes pulse `m`, and how.
    fn round_for(&self, r: &Report, m: &Measure) -> Option<(IncidentId, Fit)> {
        let t = r.at.unix_seconds();
        let reach = audible_range_m(r.kind);
        let query = area(m.anchor(), reach, t, t);
        let mut best: Option<(f64, IncidentId, Fit)> = None;
        for item in self.index.locate_in_envelope_intersecting(&query) {
            let Some(track) = self.tracks.get(&item.id) else {
                continue;
            };
            if !self.same_event_class(track, r) || track.closed() || track.tentative() {
                continue;
            }
            let offer = if track.fix.as_ref().is_some_and(|f| f.emission_ns.is_some()) {
                track.predicts(m, self.default_temperature_c)
            } else {
                // Placed by bearings or reports, not yet timed: the reports' time plus the
                // sound's travel must match.
                self.arrival_timed(track, m).then_some((10.0, Fit::Member))
            };
            if let Some((score, how)) = offer
                && best.as_ref().is_none_or(|(b, _, _)| score < *b)
            {
                best = Some((score, item.id, how));
            }
        }
        best.map(|(_, id, how)| (id, how))
    }

    pub(super) fn same_event_class(&self, track: &Track, r: &Report) -> bool {
        if track.kind != r.kind || track.merged_into.is_some() {
            return false;
        }
        match (role(track.subkind), role(r.subkind)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }

    fn set_aside(
        &mut self,
        id: IncidentId,
        obs: ObservationId,
        r: &Report,
        m: Measure,
        why: String,
    ) {
        if let Some(track) = self.tracks.get_mut(&id) {
            track.aside.push((obs, m, why));
            track.last_seen = track.last_seen.max(r.at);
        }
        self.reindex(id);
    }

    /// The pool incident pulse `m` waits in (one is started when none is open nearby).
    pub(super) fn pool_for(&mut self, obs: ObservationId, r: &Report, m: Measure) -> IncidentId {
        let t = r.at.unix_seconds();
        let query = area(m.anchor(), audible_range_m(r.kind), t, t);
        let mut best: Option<(f64, IncidentId)> = None;
        for item in self.index.locate_in_envelope_intersecting(&query) {
            let Some(track) = self.tracks.get(&item.id) else {
                continue;
            };
            if !track.pool || !self.same_event_class(track, r) {
                continue;
            }
            let (first, last) = (
                track.first_seen.unix_seconds(),
                track.last_seen.unix_seconds(),
            );
            if t < first - self.window_s || t > last + self.window_s || t > first + POOL_SPAN_S {
                continue;
            }
            let gap = (t - last).abs();
            if best.is_none_or(|(g, _)| gap < g) {
                best = Some((gap, item.id));
            }
        }
        match best {
            Some((_, id)) => {
                if let Some(track) = self.tracks.get_mut(&id) {
                    track.members.push((obs, m));
                    track.first_seen = track.first_seen.min(r.at);
                    track.last_seen = track.last_seen.max(r.at);
                }
                self.reindex(id);
                id
            }
            None => {
                let id = self.start_track(obs, r, Some(m));
                if let Some(track) = self.tracks.get_mut(&id) {
                    track.pool = true;
                    track.fix = None;
                }
                self.reindex(id);
                id
            }
        }
    }

    /// The pulses a round search for `m` may use: the area's pool, the pulses rounds set
    /// aside, and the pulses of tentative rounds, within the time sound needs to cross the
    /// area.
    fn search_candidates(&self, r: &Report, m: &Measure) -> Vec<Candidate> {
        let Some(t_ns) = pulse_ns(m) else {
            return Vec::new();
        };
        let reach = audible_range_m(r.kind);
        let c_min = truce_locate::speed_of_sound(self.default_temperature_c - 30.0);
        let horizon_s = 2.0 * reach / c_min + 1.0;
        let t = r.at.unix_seconds();
        let query = area(m.anchor(), 2.0 * reach, t - horizon_s, t + horizon_s);
        let mut out = Vec::new();
        let mut heard_within: Vec<((u64, u64), bool)> = Vec::new();
        let mut near = |q: &Measure| {
            pulse_ns(q).is_some_and(|tq| nanos_as_seconds(tq - t_ns).abs() <= horizon_s) && {
                let at = q.anchor();
                once_per_sensor(
                    &mut heard_within,
                    (at.lat.to_bits(), at.lon.to_bits()),
                    || within_m(at, m.anchor(), 2.0 * reach),
                )
            }
        };
        let ids = self.pulse_holders_in(&query);
        for id in ids {
            let Some(track) = self.tracks.get(&id) else {
                continue;
            };
            if !self.same_event_class(track, r) {
                continue;
            }
            let mut add = |obs: ObservationId, q: &Measure, holding: Holding| {
                if near(q) {
                    out.push(Candidate {
                        obs,
                        measure: q.clone(),
                        holder: id,
                        holding,
                    });
                }
            };
            if track.pool {
                for (obs, q) in &track.members {
                    add(*obs, q, Holding::Pool);
                }
                continue;
            }
            for (obs, q, _) in &track.aside {
                add(*obs, q, Holding::Aside);
            }
            if track.tentative() {
                for (obs, q) in &track.members {
                    if matches!(q, Measure::Arrival { .. }) {
                        add(*obs, q, Holding::Tentative);
                    }
                }
            }
        }
        out
    }

    /// Looks for a round the pool's pulse `obs` (measurement `m`) belongs to, and makes it an
    /// incident when enough sensors agree.
    fn search_round(
        &mut self,
        obs: ObservationId,
        r: &Report,
        m: &Measure,
        trigger: Trigger,
        log: &mut BatchLog,
    ) {
        let candidates = self.search_candidates(r, m);
        let Some(required) = candidates.iter().position(|c| c.obs == obs) else {
            return;
        };
        let Some(t_ref) = pulse_ns(m) else { return };
        let measures: Vec<&Measure> = candidates.iter().map(|c| &c.measure).collect();
        let stations: foldhash::HashSet<(u64, u64)> =
            measures.iter().filter_map(|q| station(q)).collect();
        let min_stations = min_stations_for(measures.len(), stations.len());
        // A round the search over the plane found: checked last for another place as good.
        let mut found_on_plane = None;
        let members = match trigger {
            // Rounds of a burst from the place of a round nearby, emitted within a burst's
            // span of it; a search over the plane runs when a pulse no round takes waits.
            Trigger::SetAside => {
                match self.same_source(&candidates, required, r, min_stations, Some(BURST_SPAN_S)) {
                    Some(members) => members,
                    None => return,
                }
            }
            Trigger::Pooled => {
                let Some((pulses, search)) =
                    self.round_search_over(&measures, m.anchor(), t_ref, r.kind)
                else {
                    return;
                };
                match self.same_source(&candidates, required, r, min_stations, None) {
                    Some(members) => members,
                    None => match self.extends_tentative(&candidates, required) {
                        Some(members) => members,
                        None => match consensus(&pulses, required, &search) {
                            Some((members, found)) => {
                                found_on_plane = Some((pulses, search, found));
                                members
                            }
                            None => return,
                        },
                    },
                }
            }
        };
        let reach = audible_range_m(r.kind);
        let mut chosen: Vec<&Candidate> = members.iter().map(|&i| &candidates[i]).collect();
        // Fit; a sensor beyond earshot of the fix cannot have heard it: drop such pulses
        // (they wait in the pool) and fit again, once.
        let mut attempt = 0;
        let (kept, fix) = loop {
            attempt += 1;
            let refs: Vec<&Measure> = chosen.iter().map(|c| &c.measure).collect();
            let Some(fix) = joint_fix(&refs, None, self.default_temperature_c) else {
                return;
            };
            if fix.emission_ns.is_none()
                || fix.uncertainty.residual_variance.is_finite()
                    && fix.uncertainty.residual_variance > MAX_ROUND_VARIANCE
            {
                return;
            }
            let kept: Vec<&Candidate> = fix.used(&chosen).copied().collect();
            let heard = |c: &&Candidate| within_m(c.measure.anchor(), fix.estimate.center, reach);
            if kept.iter().all(heard) {
                break (kept, fix);
            }
            if attempt >= 2 {
                return;
            }
            chosen.retain(|c| heard(c));
        };
        // The new pulse need not be in the fit: pulses that waited for it agree without it (it
        // came late, or the search allowed more than the fit does), and it stays set aside.
        if kept.len() < min_stations {
            return;
        }
        let now = super::echo_image::latest_pulse_ns(candidates.iter().map(|c| &c.measure))
            .unwrap_or(t_ref);
        if self.echo_image(&chosen, &kept, &fix, r, now) {
            return;
        }
        // A tentative round gives up pulses only to a round more sensors agree on; one whose
        // every active pulse is taken is the round itself, extended.
        let mut home = None;
        for c in kept.iter().filter(|c| c.holding == Holding::Tentative) {
            let Some(track) = self.tracks.get(&c.holder) else {
                continue;
            };
            let taken = kept
                .iter()
                .filter(|k| k.holder == c.holder && k.holding == Holding::Tentative)
                .count();
            let active = track.active_stations().len();
            if taken >= active {
                if home.is_none_or(|h| c.holder < h) {
                    home = Some(c.holder);
                }
            } else if kept.len() <= active {
                return;
            }
        }
        // Last, as it costs a second search: is another place about as good?
        if let Some((pulses, search, found)) = &found_on_plane
            && found.members.len() < CHECKED_FOR_ANOTHER_PLACE_BELOW
            && as_good_elsewhere(pulses, required, search, found)
        {
            return;
        }
        // A pool whose every pulse the round takes becomes the round (the incident that
        // gathered them is the one located).
        if home.is_none() {
            home = kept
                .iter()
                .filter(|c| c.holding == Holding::Pool)
                .map(|c| c.holder)
                .filter(|h| {
                    self.tracks.get(h).is_some_and(|t| {
                        t.aside.is_empty()
                            && t.members
                                .iter()
                                .all(|(o, _)| kept.iter().any(|k| k.obs == *o))
                    })
                })
                .min();
            if let Some(h) = home
                && let Some(t) = self.tracks.get_mut(&h)
            {
                t.pool = false;
            }
        }
        let home = home.unwrap_or_else(|| self.new_round(r));
        self.take_pulses(home, &chosen, log);
        self.settle(home, log);
        self.gather_stragglers(home, log);
        self.merge_into_neighbour(home, log);
        self.untangle(home, log);
    }

    /// The pulses among `measures` (timed arrivals) that the branch-and-bound round search
    /// finds agreeing with `required` on one emission time, at the position most sensors
    /// agree on.
    pub(super) fn consensus_over(
        &self,
        measures: &[&Measure],
        required: usize,
        origin: LatLon,
        t_ref: i128,
        kind: truce_core::Kind,
    ) -> Option<Vec<usize>> {
        let (pulses, search) = self.round_search_over(measures, origin, t_ref, kind)?;
        consensus(&pulses, required, &search).map(|(members, _)| members)
    }

    /// The round search over `measures` (all timed arrivals, else `None`): the pulses in a
    /// local frame at `origin`, timed from `t_ref`, and what the search assumes. Consensus by
    /// chance grows with the pulses each sensor reports in the window: where sensors report
    /// several (rapid fire, echoes, noise), a round needs more of them.
    fn round_search_over(
        &self,
        measures: &[&Measure],
        origin: LatLon,
        t_ref: i128,
        kind: truce_core::Kind,
    ) -> Option<(Vec<Pulse>, RoundSearch)> {
        let frame = LocalFrame::at(origin);
        let mut stations: foldhash::HashMap<(u64, u64), u32> = foldhash::HashMap::default();
        let mut temperatures = Vec::new();
        let mut pulses = Vec::with_capacity(measures.len());
        let mut sensors = Vec::new();
        let mut placed: Vec<((u64, u64, u64), [f64; 3])> = Vec::new();
        for m in measures {
            let Measure::Arrival {
                sensor,
                alt_m,
                at_ns,
                sigma_s,
                temperature_c,
            } = m
            else {
                return None;
            };
            let at = (sensor.lat.to_bits(), sensor.lon.to_bits(), alt_m.to_bits());
            let enu = once_per_sensor(&mut placed, at, || frame.to_enu(*sensor, *alt_m));
            let key = (sensor.lat.to_bits(), sensor.lon.to_bits());
            let next = stations.len() as u32;
            let station = *stations.entry(key).or_insert_with(|| {
                sensors.push(enu);
                next
            });
            temperatures.extend(*temperature_c);
            pulses.push(Pulse {
                sensor: enu,
                station,
                time_s: nanos_as_seconds(*at_ns - t_ref),
                sigma_s: *sigma_s,
            });
        }
        let temperature = if temperatures.is_empty() {
            self.default_temperature_c
        } else {
            temperatures.iter().sum::<f64>() / temperatures.len() as f64
        };
        let min_stations = min_stations_for(pulses.len(), stations.len());
        let search = RoundSearch {
            speed_m_s: truce_locate::speed_of_sound(temperature),
            radius_m: audible_range_m(kind),
            tolerance_s: TOLERANCE_S,
            speed_uncertainty: 2.0 * SPEED_UNCERTAINTY,
            min_stations,
            surface: Surface::from_sensors(&sensors),
            max_cells: MAX_SEARCH_CELLS,
            avoid: None,
        };
        Some((pulses, search))
    }

    /// A tentative round among `candidates` that pulse `required` extends: its active pulses
    /// and this one, at a sensor it has not heard, fit one round soundly with the pulse in the
    /// fit. (A round of a few sensors predicts no pulse, and the search over the plane may
    /// find its best cell a little off and drop one of them.)
    fn extends_tentative(&self, candidates: &[Candidate], required: usize) -> Option<Vec<usize>> {
        let p = candidates.get(required)?;
        let at = station(&p.measure)?;
        let mut holders: Vec<IncidentId> = candidates
            .iter()
            .filter(|c| c.holding == Holding::Tentative)
            .map(|c| c.holder)
            .collect();
        holders.sort_unstable();
        holders.dedup();
        let mut best: Option<Vec<usize>> = None;
        for h in holders {
            let Some(track) = self.tracks.get(&h) else {
                continue;
            };
            let heard = track.active_stations();
            let Some(mut timing) = track.fix.as_ref().and_then(Timing::of) else {
                continue;
            };
            // Its fit, however loose, must time the pulse within its gate.
            if heard.contains(&at)
                || !matches!(
                    track.predicts_by(&mut timing, &heard, &p.measure, self.default_temperature_c),
                    Some((_, Fit::Member))
                )
            {
                continue;
            }
            let mut members: Vec<usize> = candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.holder == h && c.holding == Holding::Tentative)
                .map(|(i, _)| i)
                .collect();
            if members.len() < heard.len() {
                continue;
            }
            members.push(required);
            let refs: Vec<&Measure> = members.iter().map(|&i| &candidates[i].measure).collect();
            let newest = refs.len() - 1;
            let Some(fix) = joint_fix(&refs, None, self.default_temperature_c) else {
                continue;
            };
            if sound(&fix)
                && fix.emission_ns.is_some()
                && !fix.excluded.iter().any(|(i, _, _)| *i == newest)
                && best.as_ref().is_none_or(|b| members.len() > b.len())
            {
                best = Some(members);
            }
        }
        best.map(|mut m| {
            m.sort_unstable();
            m
        })
    }

    /// A new, empty round incident of `r`'s kind.
    pub(super) fn new_round(&mut self, r: &Report) -> IncidentId {
        // Without a measurement, `start_track` makes an incident with no members.
        self.start_track(ObservationId(0), r, None)
    }

    /// Moves `chosen` into round `home` (from the pool, from rounds' aside lists, from
    /// tentative rounds), refits it, and settles what the others have left.
    pub(super) fn take_pulses(
        &mut self,
        home: IncidentId,
        chosen: &[&Candidate],
        log: &mut BatchLog,
    ) {
        let mut holders: Vec<IncidentId> = Vec::new();
        for c in chosen {
            if c.holder == home && c.holding != Holding::Aside {
                continue;
            }
            if let Some(holder) = self.tracks.get_mut(&c.holder) {
                holder.members.retain(|(o, _)| *o != c.obs);
                holder.aside.retain(|(o, _, _)| *o != c.obs);
            }
            if !holders.contains(&c.holder) && c.holder != home {
                holders.push(c.holder);
            }
            let at = pulse_ns(&c.measure).and_then(Timestamp::from_unix_nanos);
            if let Some(track) = self.tracks.get_mut(&home) {
                if let Some(at) = at {
                    if track.members.is_empty() && track.aside.is_empty() {
                        track.first_seen = at;
                        track.last_seen = at;
                    }
                    track.first_seen = track.first_seen.min(at);
                    track.last_seen = track.last_seen.max(at);
                }
                track.members.push((c.obs, c.measure.clone()));
            }
            if c.holder != home {
                log.moved(c.obs, c.holder, home);
            }
        }
        self.refit(home);
        self.reindex(home);
        log.touch(home);
        for id in holders {
            self.after_losing(id, home, log);
        }
    }

    /// An incident lost pulses to `taker`: a pool left empty is folded into it; a round left
    /// with fewer than [`MIN_STATIONS`] + 1 sensors, or an unsound fit, goes back to the pool;
    /// any other is refitted.
    pub(super) fn after_losing(&mut self, id: IncidentId, taker: IncidentId, log: &mut BatchLog) {
        let Some(track) = self.tracks.get_mut(&id) else {
            return;
        };
        log.touch(id);
        if track.members.is_empty() && track.aside.is_empty() && track.prior.is_none() {
            track.merged_into = Some(taker);
            track.fix = None;
            self.unindex(id);
            return;
        }
        self.refit(id);
        // A round another round took pulses from formed, in part, from another's: what is
        // left of it stands only with a check to spare beyond the fewest sensors that place
        // a round (four pulses of one degree of freedom, among a burst's, fit by chance).
        self.back_to_pool_if_unplaced(id, MIN_STATIONS + 1);
        self.reindex(id);
    }

    /// A round that arrivals alone placed and that fewer than `fewest` sensors now agree on,
    /// or whose fit no longer fits one round ([`sound`]), is no round: it becomes a pool
    /// again, its set-aside pulses waiting with the rest.
    fn back_to_pool_if_unplaced(&mut self, id: IncidentId, fewest: usize) {
        if let Some(track) = self.tracks.get_mut(&id)
            && !track.pool
            && !track.placed_otherwise()
            && (track.active_stations().len() < fewest
                || track.fix.as_ref().is_some_and(|f| !sound(f)))
        {
            track.pool = true;
            track.fix = None;
            let aside = std::mem::take(&mut track.aside);
            track
                .members
                .extend(aside.into_iter().map(|(o, m, _)| (o, m)));
        }
    }

    pub(super) fn refit(&mut self, id: IncidentId) {
        let temperature = self.default_temperature_c;
        if let Some(track) = self.tracks.get_mut(&id) {
            if track.pool {
                track.fix = None;
                return;
            }
            let refs: Vec<&Measure> = track.members.iter().map(|(_, m)| m).collect();
            // Often just tried (the stragglers it took), or unchanged (it lost only pulses it
            // had set aside).
            let key = track.members.iter().map(|(o, _)| *o).collect();
            track.fix = self
                .cluster_fits
                .fit(key, &refs, track.prior.as_ref(), temperature);
        }
    }

    /// Keeps a round's fit honest: arrivals its robust fit rejects as a little late stay set
    /// aside (a longer path), those rejected as early or far too late leave for the pool, and
    /// a second pulse of a sensor already in the fit is set aside as an echo.
    pub(super) fn settle(&mut self, id: IncidentId, log: &mut BatchLog) {
        for _ in 0..4 {
            let Some(track) = self.tracks.get_mut(&id) else {
                return;
            };
            if track.pool {
                return;
            }
            let mut aside: Vec<(usize, String)> = Vec::new();
            let mut leaving: Vec<usize> = Vec::new();
            if let Some(fix) = &track.fix {
                for (i, reason, late) in &fix.excluded {
                    // A little early is a bad pick (or another round's, which a search can
                    // still take): it stays, set aside. Far off, it is another event's. A
                    // bearing set aside is a misread of this event: it stays.
                    if late.is_none_or(|l| (-EARLY_ASIDE_S..=MAX_MULTIPATH_DELAY_S).contains(&l)) {
                        aside.push((*i, reason.clone()));
                    } else {
                        leaving.push(*i);
                    }
                }
            }
            // One pulse per sensor in the fit: a later one is an echo.
            let mut seen: HashMap<(u64, u64), i128> = HashMap::new();
            let mut order: Vec<(i128, usize)> = track
                .members
                .iter()
                .enumerate()
                .filter(|(i, _)| !aside.iter().any(|(a, _)| a == i) && !leaving.contains(i))
                .filter_map(|(i, (_, m))| pulse_ns(m).map(|t| (t, i)))
                .collect();
            order.sort_unstable();
            for (t, i) in order {
                let Some(key) = station(&track.members[i].1) else {
                    continue;
                };
                match seen.get(&key) {
                    Some(first) => aside.push((
                        i,
                        format!(
                            "an echo: a second pulse at this sensor, {:.0} ms after the first",
                            (t - first) as f64 * 1e-6
                        ),
                    )),
                    None => {
                        seen.insert(key, t);
                    }
                }
            }
            if aside.is_empty() && leaving.is_empty() {
                break;
            }
            let mut gone = Vec::new();
            let mut indices: Vec<usize> = aside
                .iter()
                .map(|(i, _)| *i)
                .chain(leaving.iter().copied())
                .collect();
            indices.sort_unstable();
            indices.dedup();
            for &i in indices.iter().rev() {
                if i >= track.members.len() {
                    continue;
                }
                let (obs, m) = track.members.remove(i);
                match aside.iter().find(|(a, _)| *a == i) {
                    Some((_, reason)) if track.aside.len() < MAX_ASIDE => {
                        track.aside.push((obs, m, reason.clone()));
                    }
                    _ => gone.push((obs, m)),
                }
            }
            let (kind, subkind, weapon) = (track.kind, track.subkind, track.weapon);
            self.refit(id);
            log.touch(id);
            for (obs, m) in gone {
                let Some(at) = pulse_ns(&m).and_then(Timestamp::from_unix_nanos) else {
                    continue;
                };
                let report = Report {
                    kind,
                    subkind,
                    weapon,
                    count: 1,
                    at,
                };
                let pool = self.pool_for(obs, &report, m);
                log.moved(obs, id, pool);
            }
        }
        if self.tracks.get(&id).is_some_and(Track::has_arrivals) {
            self.back_to_pool_if_unplaced(id, MIN_STATIONS);
        }
        self.reindex(id);
    }
}

/// The pulses a branch-and-bound round search finds agreeing with `required`, kept only where
/// they agree closely with the members' median emission time at the consensus position (the
/// search's allowances are wide so it misses no round; the fit must not start from another
/// round's pulse).
fn consensus(
    pulses: &[Pulse],
    required: usize,
    search: &RoundSearch,
) -> Option<(Vec<usize>, RoundCandidate)> {
    let min_stations = search.min_stations;
    let round = find_round(pulses, required, search)?;
    let c = search.speed_m_s;
    let up = search
        .surface
        .map_or(pulses[required].sensor[2], |s| s.up_at(round.at));
    let t0_of = |q: &Pulse| {
        let d = [
            round.at[0] - q.sensor[0],
            round.at[1] - q.sensor[1],
            up - q.sensor[2],
        ];
        let d = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        (q.time_s - d / c, d)
    };
    let mut t0s: Vec<f64> = round.members.iter().map(|&i| t0_of(&pulses[i]).0).collect();
    t0s.sort_by(f64::total_cmp);
    let median = t0s[t0s.len() / 2];
    let members: Vec<usize> = round
        .members
        .iter()
        .copied()
        .filter(|&i| {
            let q = &pulses[i];
            let (t0, d) = t0_of(q);
            (t0 - median).abs()
                <= 3.0 * q.sigma_s * MAX_GATE_VARIANCE.sqrt()
                    + TIGHT_TOLERANCE_S
                    + SPEED_UNCERTAINTY * d / c
        })
        .collect();
    (members.len() >= min_stations && members.contains(&required)).then_some((members, round))
}

/// Whether a position at least [`ANOTHER_PLACE_M`] from the round `found` among `pulses` has
/// about as many sensors agreeing with pulse `required` (one fewer, and at least
/// [`MIN_STATIONS`]).
pub(super) fn as_good_elsewhere(
    pulses: &[Pulse],
    required: usize,
    search: &RoundSearch,
    found: &RoundCandidate,
) -> bool {
    let elsewhere = RoundSearch {
        min_stations: found.members.len().saturating_sub(1).max(MIN_STATIONS),
        avoid: Some((found.at, ANOTHER_PLACE_M)),
        ..*search
    };
    find_round(pulses, required, &elsewhere).is_some()
}

/// Fewest sensors a round found among `pulses` pulses of `stations` sensors needs: consensus
/// by chance grows with the pulses each sensor reports (rapid fire, echoes, noise).
fn min_stations_for(pulses: usize, stations: usize) -> usize {
    let per_station = pulses as f64 / stations.max(1) as f64;
    if per_station <= 1.2 {
        MIN_STATIONS
    } else if per_station <= 2.5 {
        MIN_STATIONS + 1
    } else {
        MIN_STATIONS + 2
    }
}

/// Whether a fit's residuals are plausible for one round: its residual variance factor within
/// [`max_round_variance`] (or no redundancy to tell).
pub(super) fn sound(fix: &crate::measure::JointFix) -> bool {
    let v = fix.uncertainty.residual_variance;
    !(v.is_finite() && fix.dof >= 1 && v > max_round_variance(fix.dof))
}

/// Largest residual variance factor one round's fit with `dof` degrees of freedom may show:
/// [`MAX_ROUND_VARIANCE`] with four or more; with fewer the factor itself is too noisy for
/// that, and only a misfit beyond the 99.9% point of chi² with stated sigmas
/// [`MAX_SIGMA_UNDERSTATEMENT`] times too small is taken for pulses of different rounds.
fn max_round_variance(dof: i32) -> f64 {
    if dof >= 4 {
        MAX_ROUND_VARIANCE
    } else {
        MAX_SIGMA_UNDERSTATEMENT.powi(2) * chi2_gate(dof) / f64::from(dof.max(1))
    }
}

/// The (lon, lat, time) box within `reach_m` of `at` between times `t0` and `t1` (seconds).
pub(super) fn area(at: LatLon, reach_m: f64, t0: f64, t1: f64) -> AABB<[f64; 3]> {
    let (lo, hi) = super::box_around(at, truce_geo::Cov2::circular(reach_m / truce_geo::SCALE_95));
    AABB::from_corners([lo[0], lo[1], t0], [hi[0], hi[1], t1])
}
