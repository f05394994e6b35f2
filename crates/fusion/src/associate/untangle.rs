//! Rounds of one burst whose pulses crossed.
//!
//! Under rapid fire from one place, the sensors nearest the source hear the second round
//! before the farthest hear the first. A round that forms while its pulses are still arriving
//! can take, at some sensors, the next round's pulse instead of its own: a fix a few hundred
//! metres off, with one emission time that fits both halves badly but "plausibly". Its
//! neighbour then holds the rest, crossed the same way.
//!
//! Such rounds share one source, and so, at each sensor, one travel time: a sensor's pulses
//! are the burst's emission times shifted by it. So whenever a round forms or grows, the
//! rounds of its burst (same event class, located within [`BURST_RADIUS_M`] and emitted within
//! [`BURST_SPAN_S`], or heard by the same sensors within [`BURST_SPAN_S`]) are looked at
//! together, and their pulses are labelled by round in several ways:
//! - without a position: the sensor with the most pulses is the template, each other sensor's
//!   pulse sequence is shifted to line up with it (by no more than the sensors' separation
//!   allows, plus a longer path);
//! - from a source: each round's, and where the round search over the burst's pulses finds
//!   most sensors agreeing when the rounds disagree on their place; each pulse's emission
//!   time from there (a regular burst lines up two ways without a position);
//! - when none does better and a round fits badly with enough pulses left out for another
//!   round: from the place near it where most pulses group on emission times (a grid);
//! - once more from the best labelling's strongest round.
//!
//! Pulses waiting in pools nearby that the burst's sensors heard within its span are labelled
//! with the burst's own.
//!
//! The times cluster by round, one pulse per sensor. When the best labelling puts more sensors
//! into sound fits (and fits no worse per sensor) than the rounds hold now, the pulses are
//! dealt out again: each cluster to the incident that held most of its pulses, the rest in
//! emission order; what no cluster takes waits in the pool.
//!
//! It depends only on the rounds' state, so live and batch absorption stay equal.

use super::echo_image::{Heard, echoes_of, latest_pulse_ns};
use super::pulses::{BURST_SPAN_S, MIN_STATIONS, SPEED_UNCERTAINTY, pulse_ns, sound, station};
use super::regroup::BatchLog;
use super::timing::{Timing, gate_variance, pulse_speed};
use super::{Fusion, Report};
use crate::measure::{JointFix, Measure};
use std::collections::HashMap;
use truce_core::time::nanos_as_seconds;
use truce_core::{IncidentId, ObservationId, Timestamp};
use truce_geo::{LocalFrame, distance_azimuth, within_m};

/// Rounds of one burst are placed within this of the round looked at, metres.
const BURST_RADIUS_M: f64 = 1000.0;
/// Most neighbours looked at with a round (the nearest in emission time): crossing happens
/// between rounds close in time, and the cost stays bounded under long bursts.
const MAX_NEIGHBOURS: usize = 4;
/// Most clusters one partition makes.
const MAX_CLUSTERS: usize = 12;
/// Rounds of one burst placed further apart than their 95% ellipses allow, by more than
/// this, disagree on their source, metres.
const DISAGREE_MARGIN_M: f64 = 20.0;
/// Residual variance beyond which a burst's round is suspected crossed: stated sigmas up to
/// three times too small give up to 9 legitimately; crossed rounds fit far worse.
const CROSSED_VARIANCE: f64 = 2.0;
/// Most pulses per sensor a burst may hold for the grid to look for its source: a few rounds
/// and their echoes. Denser fire (many rounds overlapping) would make the grid's cost grow
/// with the square of the pulses, and its groups ambiguous.
const MAX_GRID_PULSES_PER_SENSOR: usize = 4;
/// How far from a badly fitting round the grid looks for the burst's source, metres.
const GRID_REACH_M: f64 = 600.0;
/// Most pulses waiting in pools that one untangling looks at with a burst.
const MAX_WAITING: usize = 64;

/// A pulse of the burst and the round holding it now.
struct Held {
    obs: ObservationId,
    measure: Measure,
    holder: IncidentId,
}

/// Pulses dealt out into rounds, with their fits.
struct Partition {
    /// For each round, indices into the burst's pulses, and its fit.
    rounds: Vec<(Vec<usize>, JointFix)>,
    /// Sensors in the fits (pulses not excluded).
    active: usize,
    /// Sum of the fits' chi².
    chi2: f64,
}

/// The search for a better labelling of a burst's pulses.
struct Labelling {
    /// The rounds as they are: for each, the indices of the pulses its fit uses.
    current: Vec<Vec<usize>>,
    /// What the rounds as they are hold: sensors in their fits, and the fits' chi².
    now: (usize, f64),
    /// Labellings already fitted.
    tried: Vec<Vec<Vec<usize>>>,
    /// The best labelling that beats the rounds as they are.
    best: Option<Partition>,
}

impl Fusion {
    /// Deals the pulses of `id`'s burst out again when that puts more sensors into sound
    /// fits (see the module's documentation).
    pub(super) fn untangle(&mut self, id: IncidentId, log: &mut BatchLog) {
        let Some(mut burst) = self.burst_of(id) else {
            return;
        };
        // A round that turned out to be another's echoes is folded into it first.
        if self.fold_echo_rounds(&burst, log) {
            match self.burst_of(id) {
                Some(b) => burst = b,
                None => return,
            }
        }
        let mut pulses: Vec<Held> = Vec::new();
        let (mut active, mut chi2) = (0usize, 0.0);
        for &b in &burst {
            let Some(track) = self.tracks.get(&b) else {
                return;
            };
            let Some(fix) = &track.fix else { return };
            active += track.active_stations().len();
            chi2 += fix.chi2;
            let held = track
                .members
                .iter()
                .map(|(o, m)| (o, m))
                .chain(track.aside.iter().map(|(o, m, _)| (o, m)));
            for (obs, measure) in held {
                pulses.push(Held {
                    obs: *obs,
                    measure: measure.clone(),
                    holder: b,
                });
            }
        }
        self.add_waiting(id, &mut pulses);
        let current = self.current_rounds(&burst, &pulses);
        // Position-free: a sensor hears every round of a burst after the same travel time, so
        // its pulses are the burst's emission times shifted; aligning the sensors' sequences
        // labels the rounds even when every current fit is a crossed one. With a source
        // position (each round's, then the best new round's), the pulses' emission times
        // cluster by round directly: regular bursts, whose sequences line up two ways, need it.
        let mut proposals = vec![aligned_clusters(&pulses)];
        for b in &burst {
            if let Some(fix) = self.tracks.get(b).and_then(|t| t.fix.as_ref()) {
                proposals.push(self.emitted_clusters(&pulses, fix));
            }
        }
        // Rounds of one burst that disagree on where they came from are crossed (or two
        // firers): ask the pulses themselves where most sensors agree on one emission time.
        if self.positions_disagree(&burst)
            && let Some(fix) = self.searched_source(&burst, &pulses)
        {
            proposals.push(self.emitted_clusters(&pulses, &fix));
        }
        let explained: usize = current.iter().map(Vec::len).sum();
        let mut labelling = Labelling {
            current,
            now: (active, chi2),
            tried: Vec::new(),
            best: None,
        };
        for clusters in proposals {
            self.try_partition(clusters, &pulses, &mut labelling);
        }
        // When nothing above did better, rounds that fit badly, with enough of the burst's
        // pulses left out to make another round, may all be crossed alike: look around them
        // for the place from which most of the burst's pulses fall into rounds.
        let stations: std::collections::HashSet<StationKey> =
            pulses.iter().filter_map(|p| station(&p.measure)).collect();
        if labelling.best.is_none()
            && pulses.len() >= explained + MIN_STATIONS
            && pulses.len() <= MAX_GRID_PULSES_PER_SENSOR * stations.len()
            && let Some(worst) = self.badly_fitting(&burst)
        {
            let fix = self.gridded_source(&pulses, &worst);
            let clusters = self.emitted_clusters(&pulses, &fix);
            self.try_partition(clusters, &pulses, &mut labelling);
        }
        // The new rounds' strongest fix places the source better than any round did: cluster
        // once more from there.
        let again = labelling.best.as_ref().and_then(|p| {
            let (_, fix) = p
                .rounds
                .iter()
                .max_by_key(|(idx, f)| idx.len() - f.excluded.len())?;
            Some(self.emitted_clusters(&pulses, fix))
        });
        if let Some(clusters) = again {
            self.try_partition(clusters, &pulses, &mut labelling);
        }
        if let Some(p) = labelling.best {
            self.deal_out(&burst, pulses, p, log);
        }
    }

    /// Whether two rounds of `burst` are placed further apart than their ellipses allow.
    fn positions_disagree(&self, burst: &[IncidentId]) -> bool {
        let fixes: Vec<&JointFix> = burst
            .iter()
            .filter_map(|b| self.tracks.get(b)?.fix.as_ref())
            .collect();
        fixes.iter().enumerate().any(|(i, a)| {
            fixes[i + 1..].iter().any(|b| {
                let apart = distance_azimuth(a.estimate.center, b.estimate.center).0;
                let allowed = a
                    .estimate
                    .cov
                    .ellipse_95()
                    .semi_major_m
                    .hypot(b.estimate.cov.ellipse_95().semi_major_m);
                apart > allowed + DISAGREE_MARGIN_M
            })
        })
    }

    /// The fix of the burst's round that fits worst, when its residual variance is beyond
    /// [`CROSSED_VARIANCE`] (stated sigmas several times too small are legitimate; crossed
    /// rounds fit worse).
    fn badly_fitting(&self, burst: &[IncidentId]) -> Option<JointFix> {
        burst
            .iter()
            .filter_map(|b| self.tracks.get(b)?.fix.as_ref())
            .filter(|f| f.uncertainty.residual_variance > CROSSED_VARIANCE)
            .max_by(|a, b| {
                a.uncertainty
                    .residual_variance
                    .total_cmp(&b.uncertainty.residual_variance)
            })
            .cloned()
    }

    /// `fix` moved to the place within [`GRID_REACH_M`] of it from which most of `pulses`
    /// agree, most tightly, in groups of at least [`MIN_STATIONS`] on an emission time (travel
    /// times in the fix's local plane, its height and wind): a coarse grid, then finer ones
    /// around the best point.
    fn gridded_source(&self, pulses: &[Held], fix: &JointFix) -> JointFix {
        let frame = LocalFrame::at(fix.estimate.center);
        let up = fix.height.map(|h| h.up_m);
        let w = fix.wind_m_s.unwrap_or([0.0, 0.0]);
        let t_ref = fix.emission_ns.unwrap_or(0);
        // Each arrival: east, north, height, time from the fix's emission, allowance, speed.
        let heard: Vec<[f64; 6]> = pulses
            .iter()
            .filter_map(|p| match &p.measure {
                Measure::Arrival {
                    sensor,
                    alt_m,
                    at_ns,
                    sigma_s,
                    ..
                } => {
                    let (e, n) = frame.to_en(*sensor);
                    let c = pulse_speed(&p.measure, self.default_temperature_c);
                    let t = nanos_as_seconds(*at_ns - t_ref);
                    Some([e, n, *alt_m, t, 3.0 * sigma_s + ALIGN_TOLERANCE_S, c])
                }
                _ => None,
            })
            .collect();
        let mut emitted: Vec<(f64, f64)> = Vec::with_capacity(heard.len());
        let mut agreeing_at = |e0: f64, n0: f64, slack: f64| -> (usize, usize) {
            emitted.clear();
            for &[e, n, alt, t, allowed, c] in &heard {
                let (de, dn) = (e - e0, n - n0);
                let d = de.hypot(dn).hypot(up.unwrap_or(alt) - alt);
                let travel = d / c - (w[0] * de + w[1] * dn) / (c * c);
                emitted.push((t - travel, allowed + slack));
            }
            emitted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (mut count, mut tightness) = (0, 0);
            let (mut lo, mut hi) = (0, 0);
            for i in 0..emitted.len() {
                let (x, tol) = emitted[i];
                while emitted[lo].0 < x - tol {
                    lo += 1;
                }
                hi = hi.max(i);
                while hi + 1 < emitted.len() && emitted[hi + 1].0 <= x + tol {
                    hi += 1;
                }
                // Pulses in groups first; among equals, tight groups (each pulse counts its
                // neighbours) before loose ones.
                if hi + 1 - lo >= MIN_STATIONS {
                    count += 1;
                    tightness += hi + 1 - lo;
                }
            }
            (count, tightness)
        };
        let mut best = (0.0, 0.0);
        let mut best_count = (0, 0);
        let stages = [
            (GRID_REACH_M, GRID_REACH_M / 12.0),
            (GRID_REACH_M / 10.0, 10.0),
            (10.0, 2.0),
        ];
        for (reach, step) in stages {
            let (e0, n0) = best;
            let k = (reach / step).round() as i32;
            // A point stands for its cell: half a diagonal's travel-time change allowed.
            let slack = step * std::f64::consts::FRAC_1_SQRT_2 / SLOWEST_SOUND_M_S;
            for i in -k..=k {
                for j in -k..=k {
                    let (e, n) = (e0 + f64::from(i) * step, n0 + f64::from(j) * step);
                    let got = agreeing_at(e, n, slack);
                    if got > best_count || got == best_count && e.hypot(n) < best.0.hypot(best.1) {
                        best_count = got;
                        best = (e, n);
                    }
                }
            }
        }
        let mut f = fix.clone();
        f.estimate.center = frame.from_en(best.0, best.1);
        f.estimate.cov = truce_geo::Cov2::circular(2.0 / truce_geo::SCALE_95);
        f
    }

    /// Where the most sensors agree on one emission time with the burst's earliest pulse
    /// (the branch-and-bound round search over the burst's pulses), fitted.
    fn searched_source(&mut self, burst: &[IncidentId], pulses: &[Held]) -> Option<JointFix> {
        let kind = self.tracks.get(burst.first()?)?.kind;
        let arrivals: Vec<&Held> = pulses
            .iter()
            .filter(|p| matches!(p.measure, Measure::Arrival { .. }))
            .collect();
        let (required, earliest) = arrivals
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, pulse_ns(&p.measure)?)))
            .min_by_key(|(_, t)| *t)?;
        let measures: Vec<&Measure> = arrivals.iter().map(|p| &p.measure).collect();
        let at = arrivals[required].measure.anchor();
        let members = self.consensus_over(&measures, required, at, earliest, kind)?;
        let key: Vec<ObservationId> = members.iter().map(|&i| arrivals[i].obs).collect();
        let refs: Vec<&Measure> = members.iter().map(|&i| measures[i]).collect();
        let fix = self
            .cluster_fits
            .fit(key, &refs, None, self.default_temperature_c);
        fix.filter(|f| f.emission_ns.is_some() && sound(f))
    }

    /// Fits `clusters` (unless they are the rounds as they are, or were tried) and keeps them
    /// as `l`'s best when they beat it and the rounds as they are.
    fn try_partition(&mut self, mut clusters: Vec<Vec<usize>>, pulses: &[Held], l: &mut Labelling) {
        clusters.iter_mut().for_each(|c| c.sort_unstable());
        clusters.sort();
        if clusters.is_empty()
            || same_partition(&clusters, &l.current)
            || l.tried.contains(&clusters)
        {
            return;
        }
        l.tried.push(clusters.clone());
        let Some(p) = self.fit_partition(clusters, pulses, l.now.0) else {
            return;
        };
        if better(&p, l.now)
            && l.best
                .as_ref()
                .is_none_or(|b| better(&p, (b.active, b.chi2)))
        {
            l.best = Some(p);
        }
    }

    /// The burst's pulses labelled by round as heard from `fix`'s source: each pulse's
    /// emission time from that place (the fix's height and wind), clustered one pulse per
    /// sensor within three sigmas (widened by the fit's residual variance, capped), the
    /// position's share (up to 0.1 s) and the speed's (with the wind estimated, what is left
    /// of it is the temperature's).
    fn emitted_clusters(&self, pulses: &[Held], fix: &JointFix) -> Vec<Vec<usize>> {
        let Some(mut timing) = Timing::of(fix) else {
            return Vec::new();
        };
        let scale = gate_variance(fix).sqrt();
        let position_s = fix.estimate.cov.ellipse_95().semi_major_m / SLOWEST_SOUND_M_S;
        let mut emitted: Vec<(usize, StationKey, f64, f64)> = Vec::new();
        for (i, p) in pulses.iter().enumerate() {
            let Measure::Arrival { sigma_s, .. } = &p.measure else {
                continue;
            };
            let Some(key) = station(&p.measure) else {
                continue;
            };
            let c = pulse_speed(&p.measure, self.default_temperature_c);
            let Some((residual, d, _)) = timing.residual(&p.measure, c) else {
                continue;
            };
            let allowed = 3.0 * scale * sigma_s
                + ALIGN_TOLERANCE_S
                + position_s.min(0.1)
                + 0.4 * SPEED_UNCERTAINTY * d / c;
            emitted.push((i, key, residual, allowed));
        }
        emitted.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        clusters_of(&emitted)
    }

    /// Adds to the burst's `pulses` those waiting in pools nearby that the burst's sensors
    /// heard within its span (a round that formed crossed leaves its own pulses there).
    fn add_waiting(&self, id: IncidentId, pulses: &mut Vec<Held>) {
        let Some(env) = self.tracks.get(&id).and_then(|t| t.indexed) else {
            return;
        };
        let times = pulses.iter().filter_map(|p| pulse_ns(&p.measure));
        let (Some(lo), Some(hi)) = (times.clone().min(), times.max()) else {
            return;
        };
        let span = (BURST_SPAN_S * 1e9) as i128;
        let stations: Vec<StationKey> = pulses.iter().filter_map(|p| station(&p.measure)).collect();
        let mut pools: Vec<IncidentId> = self.pulse_holders_in(&env);
        pools.retain(|p| self.tracks.get(p).is_some_and(|t| t.pool));
        let mut added = 0;
        for pool in pools {
            let Some(track) = self.tracks.get(&pool) else {
                continue;
            };
            for (obs, m) in &track.members {
                let close = pulse_ns(m).is_some_and(|t| t >= lo - span && t <= hi + span);
                let heard = station(m).is_some_and(|k| stations.contains(&k));
                if close && heard && added < MAX_WAITING {
                    pulses.push(Held {
                        obs: *obs,
                        measure: m.clone(),
                        holder: pool,
                    });
                    added += 1;
                }
            }
        }
    }

    /// `id` and the located arrival-only rounds of its burst, in emission order; `None` when
    /// it has no such neighbour.
    fn burst_of(&self, id: IncidentId) -> Option<Vec<IncidentId>> {
        let track = self.tracks.get(&id)?;
        if !arrival_round(track) {
            return None;
        }
        let fix = track.fix.as_ref()?;
        let t0 = fix.emission_ns?;
        let env = track.indexed?;
        let mut near: Vec<(i128, IncidentId)> = Vec::new();
        for other_id in self.pulse_holders_in(&env) {
            if other_id == id {
                continue;
            }
            let Some(other) = self.tracks.get(&other_id) else {
                continue;
            };
            if other.kind != track.kind || other.merged_into.is_some() || !arrival_round(other) {
                continue;
            }
            let Some(of) = &other.fix else { continue };
            let Some(t) = of.emission_ns else { continue };
            let gap = (t - t0).abs();
            let placed_together = nanos_as_seconds(gap) <= BURST_SPAN_S
                && within_m(of.estimate.center, fix.estimate.center, BURST_RADIUS_M);
            // Crossed rounds can be placed far apart, with emission times seconds off; their
            // pulses still tell: the same sensors heard both within a burst's span.
            if !(placed_together || heard_together(track, other))
                || super::role(other.subkind) != super::role(track.subkind)
            {
                continue;
            }
            near.push((gap, other_id));
        }
        if near.is_empty() {
            return None;
        }
        near.sort_unstable();
        near.truncate(MAX_NEIGHBOURS);
        let mut burst: Vec<(i128, IncidentId)> = near
            .into_iter()
            .filter_map(|(_, b)| {
                let t = self.tracks.get(&b)?.fix.as_ref()?.emission_ns?;
                Some((t, b))
            })
            .collect();
        burst.push((t0, id));
        burst.sort_unstable();
        Some(burst.into_iter().map(|(_, b)| b).collect())
    }

    /// The burst's rounds as they are: for each, the indices of the pulses its fit uses.
    fn current_rounds(&self, burst: &[IncidentId], pulses: &[Held]) -> Vec<Vec<usize>> {
        burst
            .iter()
            .filter_map(|b| {
                let track = self.tracks.get(b)?;
                let fix = track.fix.as_ref()?;
                let active: Vec<ObservationId> =
                    fix.used(&track.members).map(|(o, _)| *o).collect();
                let mut idx: Vec<usize> = pulses
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.holder == *b && active.contains(&p.obs))
                    .map(|(i, _)| i)
                    .collect();
                idx.sort_unstable();
                Some(idx)
            })
            .collect()
    }

    /// Fits each cluster; `None` when any fit is not one sound, timed round, or as soon as the
    /// fits can no longer hold `at_least` sensors (what the rounds hold now; as many sensors
    /// with a better fit still wins): each fit can only leave pulses out.
    fn fit_partition(
        &mut self,
        clusters: Vec<Vec<usize>>,
        pulses: &[Held],
        at_least: usize,
    ) -> Option<Partition> {
        let mut rounds = Vec::with_capacity(clusters.len());
        let (mut active, mut chi2) = (0, 0.0);
        let mut possible: usize = clusters.iter().map(Vec::len).sum();
        for idx in clusters {
            if possible < at_least {
                return None;
            }
            let key: Vec<ObservationId> = idx.iter().map(|&i| pulses[i].obs).collect();
            let refs: Vec<&Measure> = idx.iter().map(|&i| &pulses[i].measure).collect();
            let fix = self
                .cluster_fits
                .fit(key, &refs, None, self.default_temperature_c)?;
            if fix.emission_ns.is_none() || !sound(&fix) {
                return None;
            }
            active += idx.len() - fix.excluded.len();
            possible -= fix.excluded.len();
            chi2 += fix.chi2;
            rounds.push((idx, fix));
        }
        rounds.sort_by_key(|(_, f)| f.emission_ns);
        let (image_active, image_chi2) =
            fold_echo_clusters(&mut rounds, pulses, self.default_temperature_c);
        active -= image_active;
        chi2 -= image_chi2;
        Some(Partition {
            rounds,
            active,
            chi2,
        })
    }

    /// Puts partition `p` in place: each of its rounds to the burst's incident that held most
    /// of its pulses (the others in emission order, new rounds for any beyond), the pulses no
    /// round takes to the pool.
    fn deal_out(
        &mut self,
        burst: &[IncidentId],
        pulses: Vec<Held>,
        p: Partition,
        log: &mut BatchLog,
    ) {
        let Some(first) = burst.first().and_then(|b| self.tracks.get(b)) else {
            return;
        };
        let report = Report {
            kind: first.kind,
            subkind: first.subkind,
            weapon: first.weapon,
            count: 1,
            at: first.first_seen,
        };
        for b in burst {
            if let Some(track) = self.tracks.get_mut(b) {
                track.members.clear();
                track.aside.clear();
            }
        }
        // Each round goes to the incident that held most of its pulses (largest overlaps
        // first); the rest, in emission order, to the burst's other incidents, then new ones.
        let mut overlaps: Vec<(usize, usize, IncidentId)> = Vec::new();
        for (k, (idx, _)) in p.rounds.iter().enumerate() {
            for b in burst {
                let n = idx.iter().filter(|&&i| pulses[i].holder == *b).count();
                if n > 0 {
                    overlaps.push((n, k, *b));
                }
            }
        }
        overlaps.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        let mut chosen: Vec<Option<IncidentId>> = vec![None; p.rounds.len()];
        for (_, k, b) in overlaps {
            if chosen[k].is_none() && !chosen.contains(&Some(b)) {
                chosen[k] = Some(b);
            }
        }
        let mut spare = burst.iter().filter(|b| !chosen.contains(&Some(**b)));
        let mut home: HashMap<usize, IncidentId> = HashMap::new();
        let mut targets: Vec<IncidentId> = Vec::new();
        for (k, (idx, _)) in p.rounds.iter().enumerate() {
            let target = match chosen[k].or_else(|| spare.next().copied()) {
                Some(b) => b,
                None => self.new_round(&report),
            };
            targets.push(target);
            for &i in idx {
                home.insert(i, target);
            }
        }
        let mut pools: Vec<IncidentId> = Vec::new();
        for (i, held) in pulses.into_iter().enumerate() {
            let Some(at) = pulse_ns(&held.measure).and_then(Timestamp::from_unix_nanos) else {
                continue;
            };
            // A waiting pulse no round takes stays where it waits.
            if !burst.contains(&held.holder) {
                let Some(&target) = home.get(&i) else {
                    continue;
                };
                if let Some(pool) = self.tracks.get_mut(&held.holder) {
                    pool.members.retain(|(o, _)| *o != held.obs);
                }
                if !pools.contains(&held.holder) {
                    pools.push(held.holder);
                }
                if let Some(track) = self.tracks.get_mut(&target) {
                    track.members.push((held.obs, held.measure));
                }
                log.moved(held.obs, held.holder, target);
                continue;
            }
            let to = match home.get(&i) {
                Some(&target) => {
                    if let Some(track) = self.tracks.get_mut(&target) {
                        track.members.push((held.obs, held.measure));
                    }
                    target
                }
                None => self.pool_for(held.obs, &Report { at, ..report }, held.measure),
            };
            if to != held.holder {
                log.moved(held.obs, held.holder, to);
            }
        }
        for &b in burst.iter().chain(&targets) {
            self.reset_times(b);
            log.touch(b);
        }
        let taker = targets.first().copied();
        for b in burst.iter().filter(|b| !targets.contains(b)).chain(&pools) {
            if let Some(taker) = taker {
                self.after_losing(*b, taker, log);
            }
        }
        for &t in &targets {
            self.refit(t);
            self.settle(t, log);
        }
        for &t in &targets {
            self.gather_stragglers(t, log);
        }
    }

    /// A round's first and last times from the pulses it holds.
    fn reset_times(&mut self, id: IncidentId) {
        let Some(track) = self.tracks.get_mut(&id) else {
            return;
        };
        let times: Vec<Timestamp> = track
            .held()
            .filter_map(|m| pulse_ns(m).and_then(Timestamp::from_unix_nanos))
            .collect();
        if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
            track.first_seen = *lo;
            track.last_seen = *hi;
        }
    }
}

/// Folds each round of `rounds` (in emission order) that is the echoes of an earlier one
/// ([`echoes_of`]) into that round's pulses (its fit sets them aside once dealt out); the
/// sensors and chi² the folded fits held.
fn fold_echo_clusters(
    rounds: &mut Vec<(Vec<usize>, JointFix)>,
    pulses: &[Held],
    default_temperature_c: f64,
) -> (usize, f64) {
    let Some(now_ns) = latest_pulse_ns(pulses.iter().map(|p| &p.measure)) else {
        return (0, 0.0);
    };
    fn heard<'a>((idx, fix): &'a (Vec<usize>, JointFix), pulses: &'a [Held]) -> Heard<'a> {
        Heard {
            fix,
            active: fix.used(idx).map(|&i| &pulses[i].measure).collect(),
            held: idx.iter().map(|&i| &pulses[i].measure).collect(),
        }
    }
    let (mut active, mut chi2) = (0, 0.0);
    let mut k = 1;
    while k < rounds.len() {
        let parent = {
            let later = heard(&rounds[k], pulses);
            (0..k).find(|&j| {
                echoes_of(
                    &later,
                    &heard(&rounds[j], pulses),
                    now_ns,
                    default_temperature_c,
                )
            })
        };
        match parent {
            Some(j) => {
                let (idx, fix) = rounds.remove(k);
                active += idx.len() - fix.excluded.len();
                chi2 += fix.chi2;
                rounds[j].0.extend(idx);
            }
            None => k += 1,
        }
    }
    (active, chi2)
}

/// Whether partition `p` beats one holding `active` sensors with `chi2`: more sensors in the
/// fits and no worse a fit per sensor, or as many, fitting better.
fn better(p: &Partition, (active, chi2): (usize, f64)) -> bool {
    let per_sensor = |chi2: f64, n: usize| chi2 / n.max(1) as f64;
    let more = p.active > active && per_sensor(p.chi2, p.active) <= per_sensor(chi2, active);
    more || p.active == active && p.chi2 < chi2
}

/// Whether rounds `a` and `b` were heard as one burst: at least [`MIN_STATIONS`] sensors in
/// both fits, and at most of them the two pulses within a burst's span of each other.
fn heard_together(a: &super::Track, b: &super::Track) -> bool {
    let heard = a.heard_pulses();
    let (mut shared, mut close) = (0, 0);
    for (key, (t, _)) in b.heard_pulses().iter() {
        if let Some((u, _)) = heard.get(key) {
            shared += 1;
            if nanos_as_seconds(t - u).abs() <= BURST_SPAN_S {
                close += 1;
            }
        }
    }
    close >= MIN_STATIONS && 2 * close > shared
}

/// Whether `track` is a located round placed by arrivals alone.
fn arrival_round(track: &super::Track) -> bool {
    !track.pool
        && track.prior.is_none()
        && !track.members.is_empty()
        && track
            .members
            .iter()
            .all(|(_, m)| matches!(m, Measure::Arrival { .. }))
        && track.fix.as_ref().is_some_and(|f| f.emission_ns.is_some())
}

/// The untaken pulses (indices into `heard`, sorted by time, of which those from `from` on
/// are looked at until one lies beyond `centre` by more than any allowance) within their
/// allowance of `centre`, one per sensor: the nearest to it (the first of equals).
fn agreeing(
    heard: &[(usize, StationKey, f64, f64)],
    taken: &[bool],
    centre: f64,
    from: usize,
    widest: f64,
) -> Vec<usize> {
    let mut per_station: Vec<(StationKey, f64, usize)> = Vec::new();
    for (k, (_, key, residual, allowed)) in heard.iter().enumerate().skip(from) {
        if *residual > centre + widest {
            break;
        }
        let off = (residual - centre).abs();
        if taken[k] || off > *allowed {
            continue;
        }
        match per_station.iter_mut().find(|(s, _, _)| s == key) {
            Some(e) if off < e.1 => (e.1, e.2) = (off, k),
            Some(_) => {}
            None => per_station.push((*key, off, k)),
        }
    }
    let mut out: Vec<usize> = per_station.iter().map(|(_, _, k)| *k).collect();
    out.sort_unstable();
    out
}

/// Whether `clusters` are the rounds as they are (the same pulses, round for round).
fn same_partition(clusters: &[Vec<usize>], current: &[Vec<usize>]) -> bool {
    let mut a: Vec<&Vec<usize>> = clusters.iter().collect();
    let mut b: Vec<&Vec<usize>> = current.iter().filter(|r| !r.is_empty()).collect();
    a.sort();
    b.sort();
    a == b
}

/// Where a sensor is (its reported latitude's and longitude's bits).
type StationKey = (u64, u64);
/// A sensor's pulses: time (seconds from the burst's first) and index among the burst's.
type Sequence = Vec<(f64, usize)>;

/// How far a pulse's aligned time may be from its round's and still be that round's, beyond
/// three of its stated sigmas, seconds: the reference sensor's own error, a moving source.
const ALIGN_TOLERANCE_S: f64 = 0.03;
/// Slowest sound a burst's travel times allow for (−30 °C), metres per second.
const SLOWEST_SOUND_M_S: f64 = 312.0;

/// The burst's pulses labelled by round without a position: the sensor with the most pulses
/// is the template; each other sensor's pulses are shifted by the one travel-time difference
/// (no larger than the sensors' separation allows, plus a longer path) that lines most of them
/// up with the template; then the aligned times cluster by round, one pulse per sensor.
fn aligned_clusters(pulses: &[Held]) -> Vec<Vec<usize>> {
    let mut by_station: HashMap<StationKey, Sequence> = HashMap::new();
    let Some(t_ref) = pulses.iter().filter_map(|p| pulse_ns(&p.measure)).min() else {
        return Vec::new();
    };
    for (i, p) in pulses.iter().enumerate() {
        if let (Some(key), Some(t)) = (station(&p.measure), pulse_ns(&p.measure)) {
            by_station
                .entry(key)
                .or_default()
                .push((nanos_as_seconds(t - t_ref), i));
        }
    }
    let mut stations: Vec<(StationKey, Sequence)> = by_station.into_iter().collect();
    stations.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let Some((_, template)) = stations.first() else {
        return Vec::new();
    };
    let template: Vec<f64> = template.iter().map(|(t, _)| *t).collect();
    let Some(reference) = stations.first().and_then(|(_, v)| v.first()) else {
        return Vec::new();
    };
    let at = pulses[reference.1].measure.anchor();
    let tolerance = |i: usize| match &pulses[i].measure {
        Measure::Arrival { sigma_s, .. } => 3.0 * sigma_s + ALIGN_TOLERANCE_S,
        _ => ALIGN_TOLERANCE_S,
    };
    // Each pulse's time minus its sensor's shift.
    let mut aligned: Vec<(usize, (u64, u64), f64, f64)> = Vec::new();
    for (key, list) in &stations {
        let Some(&(_, first)) = list.first() else {
            continue;
        };
        let separation = distance_azimuth(at, pulses[first].measure.anchor()).0;
        let bound = separation / SLOWEST_SOUND_M_S + super::MAX_MULTIPATH_DELAY_S;
        let Some(shift) = best_shift(list, &template, bound, &tolerance) else {
            continue;
        };
        for &(q, i) in list {
            aligned.push((i, *key, q - shift, tolerance(i)));
        }
    }
    aligned.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    clusters_of(&aligned)
}

/// The shift of a sensor's pulses (`list`: time, index) by which most of them line up with
/// `template` (each within `tolerance(index)` of a template time), among the differences of
/// one of its pulses and a template time no larger than `bound`; of equals the smallest, then
/// the first (its pulses in order, each against the template in order). Counted in one sweep
/// over the shifts at which each pulse lines up, not by trying every pulse at every shift.
fn best_shift(
    list: &[(f64, usize)],
    template: &[f64],
    bound: f64,
    tolerance: &impl Fn(usize) -> f64,
) -> Option<f64> {
    let shifts: Vec<f64> = list
        .iter()
        .flat_map(|&(p, _)| template.iter().map(move |u| p - u))
        .filter(|s| s.abs() <= bound)
        .collect();
    if shifts.is_empty() {
        return None;
    }
    /// What happens at a point of the sweep; at one point, in this order (the intervals are
    /// closed).
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Sweep {
        /// Pulse `k` starts lining up with a template time.
        Starts,
        /// Shift `k` counts the pulses lined up.
        Counted,
        /// Pulse `k` stops lining up with that template time.
        Stops,
    }
    let mut events: Vec<(f64, Sweep, usize)> = Vec::with_capacity(shifts.len() * 3);
    for (k, &(q, i)) in list.iter().enumerate() {
        let tol = tolerance(i);
        for u in template {
            let centre = q - u;
            if centre + tol >= -bound && centre - tol <= bound {
                events.push((centre - tol, Sweep::Starts, k));
                events.push((centre + tol, Sweep::Stops, k));
            }
        }
    }
    events.extend(
        shifts
            .iter()
            .enumerate()
            .map(|(k, &s)| (s, Sweep::Counted, k)),
    );
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // How many of each pulse's intervals hold the sweep, and how many pulses are held.
    let mut holding = vec![0u32; list.len()];
    let mut held = 0usize;
    let mut lined_up = vec![0usize; shifts.len()];
    for (_, what, k) in events {
        match what {
            Sweep::Starts => {
                holding[k] += 1;
                held += usize::from(holding[k] == 1);
            }
            Sweep::Counted => lined_up[k] = held,
            Sweep::Stops => {
                holding[k] -= 1;
                held -= usize::from(holding[k] == 0);
            }
        }
    }
    let mut best: Option<(usize, f64)> = None;
    for (&s, &n) in shifts.iter().zip(&lined_up) {
        if best.is_none_or(|(bn, bs)| n > bn || (n == bn && s.abs() < bs.abs())) {
            best = Some((n, s));
        }
    }
    best.map(|(_, s)| s)
}

/// Greedy clusters of times (`(pulse, sensor, time, allowance)`, sorted by time): the largest
/// set of one pulse per sensor within each one's allowance of a centre, then the next, while
/// at least [`MIN_STATIONS`] sensors agree.
fn clusters_of(aligned: &[(usize, StationKey, f64, f64)]) -> Vec<Vec<usize>> {
    // Only times within the widest allowance of a centre can agree with it.
    let widest = aligned.iter().map(|a| a.3).fold(0.0, f64::max);
    greedy_clusters(aligned, widest, |taken, centre| {
        let from = aligned.partition_point(|a| a.2 < centre - widest);
        agreeing(aligned, taken, centre, from, widest)
    })
}

/// The greedy clustering of [`clusters_of`], with `members(taken, centre)` the untaken times
/// that agree with a centre, one per sensor (indices into `aligned`, sorted), which depends
/// only on what is taken within `widest` of the centre. Each centre's count is remembered
/// until a pulse within `widest` of it is taken: the same clusters as counting every centre
/// afresh for every cluster, without the cost that grows with the square of a burst's pulses.
fn greedy_clusters(
    aligned: &[(usize, StationKey, f64, f64)],
    widest: f64,
    members: impl Fn(&[bool], f64) -> Vec<usize>,
) -> Vec<Vec<usize>> {
    let mut taken = vec![false; aligned.len()];
    let mut counts: Vec<Option<usize>> = vec![None; aligned.len()];
    let mut clusters = Vec::new();
    while clusters.len() < MAX_CLUSTERS {
        let mut best: Option<(usize, usize)> = None;
        for j in 0..aligned.len() {
            if taken[j] {
                continue;
            }
            let n = *counts[j].get_or_insert_with(|| members(&taken, aligned[j].2).len());
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((j, n));
            }
        }
        let Some((j, _)) = best.filter(|(_, n)| *n >= MIN_STATIONS) else {
            break;
        };
        let found = members(&taken, aligned[j].2);
        // A little wider than `widest`, so that rounding cannot leave a centre stale.
        let reach = widest + 1e-9;
        for &k in &found {
            taken[k] = true;
            let t = aligned[k].2;
            let from = aligned.partition_point(|a| a.2 < t - reach);
            for (c, a) in counts.iter_mut().zip(aligned).skip(from) {
                if a.2 > t + reach {
                    break;
                }
                *c = None;
            }
        }
        let mut idx: Vec<usize> = found.iter().map(|&k| aligned[k].0).collect();
        idx.sort_unstable();
        clusters.push(idx);
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::associate::tests::RULES;
    use crate::measure::joint_fix;
    use proptest::prelude::*;
    use truce_geo::LatLon;

    /// [`clusters_of`] as first written: every time against every other, a map per sensor.
    fn clusters_by_every_pair(aligned: &[(usize, StationKey, f64, f64)]) -> Vec<Vec<usize>> {
        // Every time against every other: nothing is remembered across clusters.
        greedy_clusters(aligned, f64::INFINITY, |taken, centre| {
            let mut per_station: HashMap<StationKey, (f64, usize)> = HashMap::new();
            for (k, (_, key, time, allowed)) in aligned.iter().enumerate() {
                let off = (time - centre).abs();
                if taken[k] || off > *allowed {
                    continue;
                }
                let e = per_station.entry(*key).or_insert((off, k));
                if off < e.0 {
                    *e = (off, k);
                }
            }
            let mut members: Vec<usize> = per_station.values().map(|(_, k)| *k).collect();
            members.sort_unstable();
            members
        })
    }

    /// [`best_shift`] as first written: every candidate shift, every pulse against every
    /// template time.
    fn best_shift_by_every_pair(
        list: &[(f64, usize)],
        template: &[f64],
        bound: f64,
        tolerance: &impl Fn(usize) -> f64,
    ) -> Option<f64> {
        let mut best: Option<(usize, f64)> = None;
        for &(p, _) in list {
            for &u in template {
                let shift = p - u;
                if shift.abs() > bound {
                    continue;
                }
                let lined_up = list
                    .iter()
                    .filter(|&&(q, i)| {
                        template
                            .iter()
                            .any(|u| (q - shift - u).abs() <= tolerance(i))
                    })
                    .count();
                if best
                    .is_none_or(|(n, s)| lined_up > n || (lined_up == n && shift.abs() < s.abs()))
                {
                    best = Some((lined_up, shift));
                }
            }
        }
        best.map(|(_, s)| s)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// The sweep finds the shift trying every pair finds.
        #[test]
        fn the_swept_shift_is_that_of_every_pair(
            template in prop::collection::vec(0.0f64..6.0, 1..25),
            list in prop::collection::vec((0.0f64..8.0, 0usize..4), 0..25),
            bound in 0.1f64..4.0,
        ) {
            let tolerance = |i: usize| 0.01 + 0.02 * i as f64;
            prop_assert_eq!(
                best_shift(&list, &template, bound, &tolerance),
                best_shift_by_every_pair(&list, &template, bound, &tolerance)
            );
        }

        /// Looking only within the widest allowance of each centre finds the same clusters.
        #[test]
        fn clusters_looked_for_near_each_time_are_those_of_every_pair(
            times in prop::collection::vec((0u64..12, 0.0f64..3.0, 0.005f64..0.08), 0..120),
        ) {
            let mut aligned: Vec<(usize, StationKey, f64, f64)> = times
                .iter()
                .enumerate()
                .map(|(i, &(s, t, allowed))| (i, (s, s * 7), (t * 20.0).round() / 20.0 + t * 1e-3, allowed))
                .collect();
            aligned.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
            prop_assert_eq!(clusters_of(&aligned), clusters_by_every_pair(&aligned));
        }
    }

    /// Three rounds a second apart from one place, heard by sixteen sensors (the first round
    /// missed by four): the pulses, and the source (east, north) in a frame at `origin`.
    fn burst(origin: LatLon) -> (Vec<Held>, [f64; 2]) {
        let frame = LocalFrame::at(origin);
        let source = [250.0, -150.0, 50.0];
        let c = truce_locate::speed_of_sound(15.0);
        let mut pulses = Vec::new();
        for k in 0..3 {
            for i in 0..16 {
                if k == 0 && i < 4 {
                    continue;
                }
                let a = f64::from(i) * 2.4;
                let r = 900.0 + 190.0 * f64::from(i);
                let (e, n, up) = (r * a.sin(), r * a.cos(), 40.0 + f64::from(i % 5) * 10.0);
                let d = (e - source[0]).hypot(n - source[1]).hypot(up - source[2]);
                let at_s = 1_000.0 + f64::from(k) + d / c;
                pulses.push(Held {
                    obs: ObservationId(pulses.len() as u64 + 1),
                    measure: Measure::Arrival {
                        sensor: frame.from_en(e, n),
                        alt_m: up,
                        at_ns: (at_s * 1e9) as i128,
                        sigma_s: 0.002,
                        temperature_c: Some(15.0),
                    },
                    holder: IncidentId(1),
                });
            }
        }
        (pulses, [source[0], source[1]])
    }

    #[test]
    fn the_grid_finds_a_regular_burst_source_from_a_fix_hundreds_of_metres_off() {
        let origin = LatLon::new(40.0, 46.0);
        let (pulses, truth) = burst(origin);
        let fusion = Fusion::new(RULES.clone());
        let first: Vec<&Measure> = pulses.iter().take(12).map(|p| &p.measure).collect();
        let mut fix =
            joint_fix(&first, None, 15.0).unwrap_or_else(|| panic!("the first round fits"));
        let frame = LocalFrame::at(origin);
        // Crossed: the round placed 360 m from its source.
        fix.estimate.center = frame.from_en(truth[0] + 300.0, truth[1] + 200.0);
        let before = frame.to_en(fix.estimate.center);
        let moved = fusion.gridded_source(&pulses, &fix);
        let (e, n) = frame.to_en(moved.estimate.center);
        let miss = (e - truth[0]).hypot(n - truth[1]);
        assert!(
            miss < 20.0,
            "the grid's source is {miss:.0} m from the truth (the fix was {:.0} m off)",
            (before.0 - truth[0]).hypot(before.1 - truth[1])
        );
        // From there, the pulses fall into the three rounds.
        let clusters = fusion.emitted_clusters(&pulses, &moved);
        let mut sizes: Vec<usize> = clusters.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![12, 16, 16]);
    }
}
