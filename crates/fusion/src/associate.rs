//! Association: which incident each observation belongs to, kept incrementally.
//!
//! An observation may join an incident of the same kind (and the same role: launch and impact
//! are kept apart) whose time window (first to last seen, widened by the association window,
//! 60 s by default) contains its time. It joins when adding its measurement to the incident's
//! own keeps the joint maximum-likelihood fix consistent: the rise in misfit (chi-square) must
//! pass the 99.9% gate for the constraints it adds, and an arrival the fix would leave out as an
//! outlier does not join. So rays from different observers that cross, arrivals consistent with
//! one source and positions within each other's ellipses make one incident; two blasts a minute
//! and a kilometre apart do not. Among several incidents the smallest rise wins; with none, the
//! observation starts an incident, which has no position until its measurements fix one.
//!
//! Candidates come from an R-tree over (longitude, latitude, time) boxes, so the cost of one
//! observation does not grow with the number of incidents.

use crate::estimate::Estimate;
use crate::measure::{
    JointFix, MAX_PERCEPTION_RANGE_M, Measure, Trial, chi2_gate, joint_fix, joint_trial,
};
use crate::rules::Rules;
use rstar::{AABB, RTree, RTreeObject};
use truce_core::incident::{
    CovarianceEn, Ellipse95, ExcludedObservation, IncidentEstimate, IncidentPosition, SourceHeight,
    Status, UncertaintyBasis,
};
use truce_core::{IncidentId, Kind, ObservationId, Subkind, Timestamp, ValidObservation, Weapon};
use truce_geo::{Cov2, LatLon, distance_azimuth, to_mgrs};
use truce_locate::HeightSource;

/// Default association window, seconds: reports of one event give times within a minute of
/// each other (observers note the flash to seconds; sound reaches sensors 20 km off in 60 s).
pub const DEFAULT_WINDOW_S: f64 = 60.0;

/// Incidents whose last report is this long before the latest one seen are let go from memory,
/// seconds (six hours: far beyond any association window or late report).
pub const KEEP_QUIET_S: f64 = 6.0 * 3600.0;

/// Observations absorbed between two sweeps for quiet incidents.
const EVICTION_EVERY: usize = 10_000;

/// Most an echo or a non-line-of-sight path delays an arrival, seconds (paths around
/// buildings: up to ~300 ms; echoes: up to ~500 ms).
const MAX_MULTIPATH_DELAY_S: f64 = 0.5;

/// Sigmas beyond which a candidate is ruled out before solving (well outside any gate).
const PREFILTER_SIGMAS: f64 = 8.0;

/// Standard deviation of a report's time, seconds: ranks incidents that fit equally in space.
const REPORT_TIME_SIGMA_S: f64 = 10.0;

/// Most observation ids one revision lists (about 20 KiB of an entry's 64 KiB).
pub const MAX_ADDED_PER_REVISION: usize = 2_000;

/// Measurements an incident keeps individually; beyond this its fix is carried on as a prior
/// and new measurements are added to it (the Gaussian combination is the same to first order).
const MAX_MEMBERS: usize = 64;

/// How far an arrival may be from the time a located incident's reports imply, seconds:
/// reported times are good to a few seconds.
const ARRIVAL_TIME_GATE_S: f64 = 12.0;

/// More incidents than this in a report's gates (its kind, role and time window agree, and the
/// prefilter's bearing or position gate passes; an unlocated incident passes it), and
/// association does not choose among them: events come faster than the reports can tell them
/// apart (see [`Track::saturated`]). Reports left alone count too, so saturation lasts while
/// reports keep coming that fast. At the demo's rate a report meets at most 3; at 100 times
/// it, up to 40.
const SATURATION_CANDIDATES: usize = 8;

/// Metres per degree of latitude, a lower bound (WGS84 meridian arc at the equator is 110,574 m),
/// used only to size search boxes generously.
const M_PER_DEG_LAT_MIN: f64 = 110_000.0;

/// An incident as the engine keeps it between restarts: its number, revision and estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackState {
    /// The incident's number.
    pub id: IncidentId,
    /// Its latest revision.
    pub revision: u32,
    /// Its latest estimate.
    pub estimate: IncidentEstimate,
}

/// One incident revision produced by a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// The incident.
    pub incident_id: IncidentId,
    /// Its new revision number (1 for a new incident).
    pub revision: u32,
    /// Observations that joined it in this batch, in batch order (an observation belongs to
    /// the incident whose revision added it last).
    pub added: Vec<ObservationId>,
    /// Those of `added` that were another incident's before (a split or a merge moved them).
    pub moved: Vec<ObservationId>,
    /// The estimate after the batch.
    pub estimate: IncidentEstimate,
}

/// What absorbing a batch decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Absorbed {
    /// For each observation of the batch, in order, the incident it joined or started.
    pub incident_ids: Vec<IncidentId>,
    /// One revision per touched incident, in order of first touch.
    pub revisions: Vec<Revision>,
}

/// Which incident a report should join.
// One lives on the stack per report, as the `Option<(IncidentId, Trial)>` it replaced did;
// boxing the trial would allocate for every join.
#[allow(clippy::large_enum_variant)]
enum Matched {
    /// This one, with the joint fit after joining.
    Join(IncidentId, Trial),
    /// None: it starts one.
    None,
    /// None is chosen: this many are in its gates (more than [`SATURATION_CANDIDATES`]).
    Saturated(u32),
}

/// What association needs of an observation besides its measurement.
#[derive(Debug, Clone, Copy)]
struct Report {
    kind: Kind,
    subkind: Option<Subkind>,
    weapon: Option<Weapon>,
    count: u32,
    at: Timestamp,
}

impl Report {
    fn of(obs: &ValidObservation) -> Self {
        Self {
            kind: obs.kind,
            subkind: obs.subkind,
            weapon: obs.weapon,
            count: obs.count,
            at: obs.observed_at,
        }
    }
}

/// Whether an event's location is where something was launched or where it landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Launch,
    Impact,
}

fn role(subkind: Option<Subkind>) -> Option<Role> {
    match subkind {
        Some(Subkind::Outgoing) => Some(Role::Launch),
        Some(Subkind::Impact | Subkind::Airburst | Subkind::Incoming) => Some(Role::Impact),
        Some(Subkind::Undetermined) | None => None,
    }
}

#[derive(Debug, Clone)]
struct Track {
    revision: u32,
    kind: Kind,
    subkind: Option<Subkind>,
    weapon: Option<Weapon>,
    count: u32,
    first_seen: Timestamp,
    last_seen: Timestamp,
    status: Status,
    /// A fix carried over (from a restart, or collapsed members), taken as a point.
    prior: Option<Estimate>,
    /// The measurement kinds that made the prior.
    prior_method: Option<String>,
    /// Measurements since the prior, with their observations.
    members: Vec<(ObservationId, Measure)>,
    /// The joint fix of prior and members, when they determine one.
    fix: Option<JointFix>,
    /// The box under which the track is in the index, if it is.
    indexed: Option<AABB<[f64; 3]>>,
    /// The incident it was merged into, once it was.
    merged_into: Option<IncidentId>,
    /// Sum and number of the report times (seconds) of its members that are not arrivals.
    report_times: (f64, u32),
    /// Whether it only holds pulses not yet resolved into a round (it is never fixed from
    /// them directly: a round search over the pool is what locates pulses).
    pool: bool,
    /// Observations of the incident left out of its fit, each with the reason: echoes,
    /// pulses by a longer path. They stay the incident's unless a round claims them.
    aside: Vec<(ObservationId, Measure, String)>,
    /// Pulses this round turned down as stragglers (their fit with it was not sound), each
    /// with how many pulses the round held then: weighed again only once that has changed.
    turned_down: foldhash::HashMap<ObservationId, usize>,
    /// When association did not place this report with others: how many incidents were in its
    /// gates (more than [`SATURATION_CANDIDATES`]). Such an incident is the report alone, and
    /// association neither joins nor merges anything into it; an analyst's merge does, and
    /// clears this.
    saturated: Option<u32>,
}

impl Track {
    /// Whether association keeps reports and pulses from joining it and it from merging: a
    /// pool, or a report left alone in saturation.
    fn closed(&self) -> bool {
        self.pool || self.saturated.is_some()
    }

    fn estimate(&self) -> Option<Estimate> {
        self.fix.as_ref().map(|f| f.estimate).or(self.prior)
    }

    /// The fit with `m` added, of the members in order (the new one last); its fix is sized
    /// only for the candidate that is kept ([`Trial::fix`]).
    fn trial(&self, m: &Measure, default_temperature_c: f64) -> Option<Trial> {
        let mut all: Vec<&Measure> = self.members.iter().map(|(_, m)| m).collect();
        all.push(m);
        joint_trial(&all, self.prior.as_ref(), default_temperature_c)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Indexed {
    id: IncidentId,
    env: AABB<[f64; 3]>,
}

impl RTreeObject for Indexed {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        self.env
    }
}

/// The incidents observations may join, and the rules their estimates are tested against.
#[derive(Debug)]
pub struct Fusion {
    rules: Rules,
    window_s: f64,
    default_temperature_c: f64,
    /// By id (numbers the sequencer gives, so a fast hash serves: no client chooses them).
    tracks: foldhash::HashMap<IncidentId, Track>,
    index: RTree<Indexed>,
    /// The incidents that hold pulses, in an index of their own.
    pulse_holders: pulse_holders::PulseHolders,
    next_id: u64,
    /// The latest observation time seen, Unix seconds: incidents quiet for
    /// [`KEEP_QUIET_S`] before it are let go.
    latest_s: f64,
    /// Observations absorbed since incidents were last let go.
    since_eviction: usize,
    /// Fits of pulses already tried (the clusters `untangle` labels, the stragglers a round
    /// weighed), so the rounds of a burst that did not change are not fitted again each time
    /// one of them grows.
    cluster_fits: fit_memo::FitMemo,
    /// Whether the conservative gates ([`gates`]) run before joint fits; off only in the test
    /// that shows they change no decision.
    gated: bool,
    /// How many candidates the conservative gates turned down (for that test).
    #[cfg(test)]
    gate_hits: std::sync::atomic::AtomicUsize,
}

impl Fusion {
    /// An empty fusion state (no incidents yet).
    pub fn new(rules: Rules) -> Self {
        let default_temperature_c = rules.agreement().doc.default_temperature_c;
        Self {
            rules,
            window_s: DEFAULT_WINDOW_S,
            default_temperature_c,
            tracks: foldhash::HashMap::default(),
            index: RTree::new(),
            pulse_holders: Default::default(),
            next_id: 1,
            latest_s: f64::NEG_INFINITY,
            since_eviction: 0,
            cluster_fits: fit_memo::FitMemo::default(),
            gated: true,
            #[cfg(test)]
            gate_hits: Default::default(),
        }
    }

    /// The state after a restart: `tracks` are the stored incidents' latest revisions. A located
    /// incident goes on from its estimate (taken as a prior); incidents with no position are not
    /// kept, since their measurements are not reloaded; nor are those quiet for
    /// [`KEEP_QUIET_S`] before the latest.
    pub fn restore(rules: Rules, tracks: impl IntoIterator<Item = TrackState>) -> Self {
        let mut fusion = Self::new(rules);
        let tracks: Vec<TrackState> = tracks.into_iter().collect();
        fusion.latest_s = tracks
            .iter()
            .map(|t| t.estimate.last_seen.unix_seconds())
            .fold(f64::NEG_INFINITY, f64::max);
        let horizon = fusion.latest_s - KEEP_QUIET_S;
        let mut items = Vec::new();
        for t in tracks {
            fusion.next_id = fusion.next_id.max(t.id.0 + 1);
            // Merged incidents are done, and quiet ones are let go as in a running center.
            if t.estimate.merged_into.is_some() || t.estimate.last_seen.unix_seconds() < horizon {
                continue;
            }
            let Some(est) = estimate_of(&t.estimate) else {
                continue;
            };
            let mut track = Track {
                revision: t.revision,
                kind: t.estimate.kind,
                subkind: t.estimate.subkind,
                weapon: t.estimate.weapon,
                count: t.estimate.count,
                first_seen: t.estimate.first_seen,
                last_seen: t.estimate.last_seen,
                status: t.estimate.status,
                prior: Some(est),
                prior_method: t.estimate.method.clone(),
                members: Vec::new(),
                fix: None,
                indexed: None,
                merged_into: None,
                report_times: (0.0, 0),
                pool: false,
                aside: Vec::new(),
                turned_down: foldhash::HashMap::default(),
                saturated: t.estimate.saturated,
            };
            let env = envelope(&track, fusion.window_s);
            track.indexed = Some(env);
            items.push(Indexed { id: t.id, env });
            fusion.tracks.insert(t.id, track);
        }
        fusion.index = restored_index(items);
        fusion
    }

    /// The rules estimates are tested against.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The number the next new incident will get.
    pub fn next_incident_id(&self) -> IncidentId {
        IncidentId(self.next_id)
    }

    /// Incidents held for association.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether no incident is held.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Associates each observation of `batch` (in order) and re-estimates every incident it
    /// touches. The state is updated in place: if the caller cannot record the result, it must
    /// rebuild the state with [`Fusion::restore`] from what was recorded.
    pub fn absorb(&mut self, batch: &[(ObservationId, &ValidObservation)]) -> Absorbed {
        let mut log = BatchLog::default();
        for (obs_id, obs) in batch {
            let measure = Measure::of(obs);
            let report = Report::of(obs);
            if let Some(m @ Measure::Arrival { .. }) = measure {
                self.absorb_pulse(*obs_id, &report, m, &mut log);
                continue;
            }
            let matched = measure
                .as_ref()
                .map_or(Matched::None, |m| self.best_match(&report, m));
            let joined = matches!(matched, Matched::Join(..));
            let id = match (matched, measure) {
                (Matched::Join(id, trial), Some(m)) => {
                    self.join(id, *obs_id, &report, m, trial.fix());
                    id
                }
                (Matched::Saturated(n), measure) => {
                    let id = self.start_track(*obs_id, &report, measure);
                    if let Some(track) = self.tracks.get_mut(&id) {
                        track.saturated = Some(n);
                    }
                    log.observe(*obs_id, id);
                    continue;
                }
                (_, measure) => self.start_track(*obs_id, &report, measure),
            };
            log.observe(*obs_id, id);
            if joined {
                self.split_other_events(id, &mut log);
                self.merge_into_neighbour(id, &mut log);
            }
            // A placed incident may time pulses waiting in the pool.
            self.gather_stragglers(id, &mut log);
        }
        self.since_eviction += batch.len();
        if let Some(t) = batch
            .iter()
            .map(|(_, o)| o.observed_at.unix_seconds())
            .reduce(f64::max)
        {
            self.latest_s = self.latest_s.max(t);
        }
        let absorbed = self.revisions_of(log);
        if self.since_eviction >= EVICTION_EVERY {
            self.let_go_of_quiet_incidents();
        }
        absorbed
    }

    /// Drops from memory the incidents whose last report is more than [`KEEP_QUIET_S`] before
    /// the latest seen: no report can join them any more (the window is a minute), so memory
    /// stays bounded however long the center runs. They stay in the record; an analyst can no
    /// longer regroup them (refused, 422).
    fn let_go_of_quiet_incidents(&mut self) {
        self.since_eviction = 0;
        let horizon = self.latest_s - KEEP_QUIET_S;
        let mut quiet: Vec<IncidentId> = self
            .tracks
            .iter()
            .filter(|(_, t)| t.last_seen.unix_seconds() < horizon)
            .map(|(id, _)| *id)
            .collect();
        // In order: the R-tree's shape after removals (and so the order of what a query
        // returns) then depends on the incidents alone, not on the map's.
        quiet.sort_unstable();
        for id in quiet {
            self.pulse_holders.forget(id);
            if let Some(t) = self.tracks.remove(&id)
                && let Some(env) = t.indexed
            {
                self.index.remove(&Indexed { id, env });
            }
        }
    }

    /// One revision per incident the batch touched (chunked), in order of first touch.
    fn revisions_of(&mut self, mut log: BatchLog) -> Absorbed {
        let mut revisions = Vec::with_capacity(log.touched.len());
        for id in std::mem::take(&mut log.touched) {
            let Some(track) = self.tracks.get_mut(&id) else {
                continue;
            };
            let estimate = incident_estimate(&self.rules, track);
            let all = log.added.remove(&id).unwrap_or_default();
            let moved = log.moved_in.remove(&id).unwrap_or_default();
            // One revision per chunk keeps every revision entry well under the record's entry
            // size limit, however many observations of one event a batch carries; an incident
            // that only lost observations gets one revision adding none.
            let chunks: Vec<&[ObservationId]> = if all.is_empty() {
                vec![&[]]
            } else {
                all.chunks(MAX_ADDED_PER_REVISION).collect()
            };
            for chunk in chunks {
                track.revision += 1;
                revisions.push(Revision {
                    incident_id: id,
                    revision: track.revision,
                    added: chunk.to_vec(),
                    moved: chunk
                        .iter()
                        .filter(|o| moved.contains(o))
                        .copied()
                        .collect(),
                    estimate: estimate.clone(),
                });
            }
        }
        // Merged incidents are done: nothing joins them again.
        let pulse_holders = &mut self.pulse_holders;
        self.tracks.retain(|id, t| {
            let merged = t.merged_into.is_some();
            if merged {
                pulse_holders.forget(*id);
            }
            !merged
        });
        Absorbed {
            incident_ids: log.incident_ids,
            revisions,
        }
    }

    /// The incident `obs` should join, with the joint fit after joining; none; or none because
    /// too many are in its gates.
    fn best_match(&self, obs: &Report, m: &Measure) -> Matched {
        let t = obs.at.unix_seconds();
        let (lo, hi) = footprint(m);
        let query = AABB::from_corners([lo[0], lo[1], t], [hi[0], hi[1], t]);
        let mut open: Vec<(IncidentId, &Track)> = Vec::new();
        let mut in_gates = 0usize;
        let probe = gates::Probe::new(m);
        for item in self.index.locate_in_envelope_intersecting(&query) {
            let Some(track) = self.tracks.get(&item.id) else {
                continue;
            };
            if track.kind != obs.kind || track.pool {
                continue;
            }
            if let (Some(a), Some(b)) = (role(track.subkind), role(obs.subkind))
                && a != b
            {
                continue;
            }
            let lo = track.first_seen.unix_seconds() - self.window_s;
            let hi = track.last_seen.unix_seconds() + self.window_s;
            if t < lo || t > hi || !self.could_fit(track, &probe) {
                continue;
            }
            in_gates += 1;
            if track.saturated.is_none() {
                open.push((item.id, track));
            }
        }
        if in_gates > SATURATION_CANDIDATES {
            return Matched::Saturated(u32::try_from(in_gates).unwrap_or(u32::MAX));
        }
        let mut best: Option<(f64, IncidentId, Trial)> = None;
        for (id, track) in open {
            let mid = 0.5 * (track.first_seen.unix_seconds() + track.last_seen.unix_seconds());
            let lag = ((t - mid) / REPORT_TIME_SIGMA_S).powi(2);
            if let Some((score, fix)) = self.score(track, m, t).map(|(s, f)| (s + lag, f))
                && best.as_ref().is_none_or(|(b, _, _)| score < *b)
            {
                best = Some((score, id, fix));
            }
        }
        match best {
            Some((_, id, trial)) => Matched::Join(id, trial),
            None => Matched::None,
        }
    }

    /// How well `m` fits `track` (lower is better) and the fit after joining, or `None` when
    /// it does not fit; `track` passed [`Self::could_fit`].
    fn score(&self, track: &Track, m: &Measure, report_time_s: f64) -> Option<(f64, Trial)> {
        if self.too_late_for_its_sound(track, report_time_s) {
            return None;
        }
        let trial = track.trial(m, self.default_temperature_c)?;
        if let Some(t0) = trial.emission_ns {
            // The sound's emission time must agree with when observers saw the event.
            let t0 = nanos_as_seconds(t0);
            if (report_time_s - t0).abs() > gates::EMISSION_GATE_S {
                return None;
            }
        }
        let (chi2_before, dof_before) = match (&track.fix, &track.prior) {
            (Some(f), _) => (f.chi2, f.dof),
            (None, Some(_)) => (0.0, 0),
            // No fix yet: the whole misfit of the first fix is what joining adds.
            (None, None) => (0.0, 0),
        };
        let added_dof = trial.dof - dof_before;
        let rise = trial.chi2 - chi2_before;
        if added_dof >= 1 {
            if rise > chi2_gate(added_dof) {
                return None;
            }
        } else if !plausible(trial.center, track, m) {
            // An exactly determined fix (two crossing rays) always fits: ask that it lies
            // where every member could have perceived it.
            return None;
        }
        Some((rise - f64::from(added_dof.max(0)), trial))
    }

    /// Whether the arrival `m` matches the located `track`'s time and place: it reached its
    /// sensor within [`ARRIVAL_TIME_GATE_S`] of the track's mid time plus the travel time.
    fn arrival_timed(&self, track: &Track, m: &Measure) -> bool {
        let (Measure::Arrival { sensor, at_ns, .. }, Some(est)) = (m, track.estimate()) else {
            return false;
        };
        let reach = audible_range_m(track.kind);
        let mid = 0.5 * (track.first_seen.unix_seconds() + track.last_seen.unix_seconds());
        let c = truce_locate::speed_of_sound(self.default_temperature_c);
        let since_s = nanos_as_seconds(*at_ns) - mid;
        // Whatever the distance within earshot, the sound takes 0 to reach/c: a pulse outside
        // that (with the gate, and a second for rounding) fails below, so the geodesic is
        // spared.
        if since_s < -ARRIVAL_TIME_GATE_S - 1.0 || since_s > reach / c + ARRIVAL_TIME_GATE_S + 1.0 {
            return false;
        }
        let d = distance_azimuth(*sensor, est.center).0;
        if d > reach {
            return false;
        }
        let expected = mid + d / c;
        (nanos_as_seconds(*at_ns) - expected).abs() <= ARRIVAL_TIME_GATE_S
    }

    /// A new incident of one observation.
    fn start_track(
        &mut self,
        obs_id: ObservationId,
        r: &Report,
        measure: Option<Measure>,
    ) -> IncidentId {
        let id = IncidentId(self.next_id);
        self.next_id += 1;
        let members: Vec<(ObservationId, Measure)> =
            measure.into_iter().map(|m| (obs_id, m)).collect();
        let fix = {
            let refs: Vec<&Measure> = members.iter().map(|(_, m)| m).collect();
            joint_fix(&refs, None, self.default_temperature_c)
        };
        let mut track = Track {
            revision: 0,
            kind: r.kind,
            subkind: r.subkind,
            weapon: r.weapon,
            count: r.count,
            first_seen: r.at,
            last_seen: r.at,
            status: Status::Reported,
            prior: None,
            prior_method: None,
            members,
            fix,
            indexed: None,
            merged_into: None,
            report_times: (0.0, 0),
            pool: false,
            aside: Vec::new(),
            turned_down: foldhash::HashMap::default(),
            saturated: None,
        };
        if let Some((_, m)) = track.members.first()
            && !matches!(m, Measure::Arrival { .. })
        {
            track.report_times = (r.at.unix_seconds(), 1);
        }
        if !track.members.is_empty() {
            let env = envelope(&track, self.window_s);
            self.index.insert(Indexed { id, env });
            track.indexed = Some(env);
            self.pulse_holders.note(id, env, || track.holds_pulses());
        }
        self.tracks.insert(id, track);
        id
    }

    fn join(
        &mut self,
        id: IncidentId,
        obs_id: ObservationId,
        obs: &Report,
        m: Measure,
        fix: Option<JointFix>,
    ) {
        let window = self.window_s;
        let Some(track) = self.tracks.get_mut(&id) else {
            return;
        };
        track.count = track.count.max(obs.count);
        track.first_seen = track.first_seen.min(obs.at);
        track.last_seen = track.last_seen.max(obs.at);
        track.subkind = track.subkind.or(obs.subkind);
        track.weapon = track.weapon.or(obs.weapon);
        if !matches!(m, Measure::Arrival { .. }) {
            track.report_times.0 += obs.at.unix_seconds();
            track.report_times.1 += 1;
        }
        track.members.push((obs_id, m));
        track.fix = fix;
        let has_arrivals = track
            .members
            .iter()
            .any(|(_, m)| matches!(m, Measure::Arrival { .. }));
        if track.members.len() > MAX_MEMBERS
            && !has_arrivals
            && let Some(f) = track.fix.take()
        {
            track.prior = Some(f.estimate);
            track.prior_method = Some(merge_methods(track.prior_method.as_deref(), &f.method));
            track.members.clear();
        }
        if let Some(old_env) = track.indexed.take() {
            self.index.remove(&Indexed { id, env: old_env });
        }
        let env = envelope(track, window);
        self.index.insert(Indexed { id, env });
        track.indexed = Some(env);
        self.pulse_holders.note(id, env, || track.holds_pulses());
    }
}

/// Farthest a sensor hears an event of `kind`, metres: blasts carry far (20 km), small arms
/// a few kilometres — 10 km is taken, so that a network of that size can place a shot it all
/// heard, while sites 35 km apart stay apart.
fn audible_range_m(kind: Kind) -> f64 {
    match kind {
        Kind::Explosion | Kind::Projectile | Kind::Flare => MAX_PERCEPTION_RANGE_M,
        _ => 0.5 * MAX_PERCEPTION_RANGE_M,
    }
}

/// Whether the fix lies within reach of every member (and of `m`): an exactly determined fix
/// is only believed where each observer or sensor could have perceived the event.
fn plausible(fix: LatLon, track: &Track, m: &Measure) -> bool {
    track
        .members
        .iter()
        .map(|(_, m)| m)
        .chain(std::iter::once(m))
        .all(|m| distance_azimuth(m.anchor(), fix).0 <= m.reach_m().max(1.0) * 1.05)
}

/// The (lon, lat) box where a measurement's event can be.
fn footprint(m: &Measure) -> ([f64; 2], [f64; 2]) {
    let reach = m.reach_m().min(MAX_PERCEPTION_RANGE_M) * 1.01 + 1.0;
    match m {
        Measure::Point { at, cov } => box_around(*at, *cov),
        _ => box_around(m.anchor(), Cov2::circular(reach / truce_geo::SCALE_95)),
    }
}

/// The (lon, lat) box around a 95% ellipse.
fn box_around(center: LatLon, cov: Cov2) -> ([f64; 2], [f64; 2]) {
    let half_e = cov.half_width_95((1.0, 0.0)) * 1.01 + 1.0;
    let half_n = cov.half_width_95((0.0, 1.0)) * 1.01 + 1.0;
    let dlat = half_n / M_PER_DEG_LAT_MIN;
    let coslat = center.lat.to_radians().cos().max(0.01);
    let dlon = half_e / (M_PER_DEG_LAT_MIN * coslat);
    (
        [center.lon - dlon, center.lat - dlat],
        [center.lon + dlon, center.lat + dlat],
    )
}

/// The box a track is indexed under: its estimate's ellipse when it has one, else the union of
/// its members' footprints; widened in time by the association window.
/// The index over restored incidents, built one by one, not with `RTree::bulk_load`: rstar
/// 0.12's bulk load can leave leaves at different depths (georust/rstar#239, open), and a
/// later insert then panics ("This is a bug in rstar."): a sequencer died on its first batch
/// after taking over a record.
fn restored_index(items: Vec<Indexed>) -> RTree<Indexed> {
    let mut index = RTree::new();
    for item in items {
        index.insert(item);
    }
    index
}

fn envelope(track: &Track, window_s: f64) -> AABB<[f64; 3]> {
    let (mut lo, mut hi) = match track.estimate() {
        Some(e) => box_around(e.center, e.cov),
        None => ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]),
    };
    if track.estimate().is_none() {
        for (_, m) in &track.members {
            let (l, h) = footprint(m);
            lo = [lo[0].min(l[0]), lo[1].min(l[1])];
            hi = [hi[0].max(h[0]), hi[1].max(h[1])];
        }
    }
    AABB::from_corners(
        [lo[0], lo[1], track.first_seen.unix_seconds() - window_s],
        [hi[0], hi[1], track.last_seen.unix_seconds() + window_s],
    )
}

/// The union of two `+`-joined method names, in the canonical order.
fn merge_methods(a: Option<&str>, b: &str) -> String {
    let has = |name: &str| {
        a.is_some_and(|a| a.split('+').any(|x| x == name)) || b.split('+').any(|x| x == name)
    };
    ["bearings", "arrivals", "points"]
        .into_iter()
        .filter(|n| has(n))
        .collect::<Vec<_>>()
        .join("+")
}

fn estimate_of(e: &IncidentEstimate) -> Option<Estimate> {
    let p = e.position.as_ref()?;
    let c = e.covariance_m2?;
    Some(Estimate {
        center: LatLon::new(p.lat, p.lon),
        cov: Cov2 {
            ee: c.ee,
            en: c.en,
            nn: c.nn,
        },
    })
}

fn incident_estimate(rules: &Rules, t: &Track) -> IncidentEstimate {
    let est = t.estimate();
    let assessed = rules.assess(t.kind, t.subkind, t.weapon, est.as_ref());
    let (position, ellipse_95, covariance_m2) = match &est {
        Some(e) => {
            let el = e.cov.ellipse_95();
            (
                Some(IncidentPosition {
                    lat: e.center.lat,
                    lon: e.center.lon,
                    mgrs: to_mgrs(e.center).unwrap_or_default(),
                }),
                Some(Ellipse95 {
                    semi_major_m: el.semi_major_m,
                    semi_minor_m: el.semi_minor_m,
                    azimuth_deg: el.azimuth_deg,
                }),
                Some(CovarianceEn {
                    ee: e.cov.ee,
                    en: e.cov.en,
                    nn: e.cov.nn,
                }),
            )
        }
        None => (None, None, None),
    };
    let excluded = t
        .fix
        .iter()
        .flat_map(|f| f.excluded.iter())
        .filter_map(|(i, reason, _)| {
            t.members.get(*i).map(|(id, _)| ExcludedObservation {
                observation_id: *id,
                reason: reason.clone(),
            })
        })
        .chain(t.aside.iter().map(|(id, _, reason)| ExcludedObservation {
            observation_id: *id,
            reason: reason.clone(),
        }))
        .collect();
    let uncertainty = t.fix.as_ref().map(|f| {
        let u = f.uncertainty;
        UncertaintyBasis {
            basis: if u.ambiguous {
                "ambiguous"
            } else if u.unchecked {
                "unchecked"
            } else if u.scale > 1.0 {
                "residuals"
            } else {
                "stated"
            }
            .to_string(),
            dof: f.dof,
            residual_variance: u
                .residual_variance
                .is_finite()
                .then_some(u.residual_variance),
            scale: u.scale,
        }
    });
    let source_height = t.fix.as_ref().and_then(|f| f.height).and_then(|h| {
        let basis = match h.source {
            HeightSource::Estimated => "estimated",
            HeightSource::Surface => "surface",
            HeightSource::Given => return None,
        };
        Some(SourceHeight {
            alt_m: h.up_m,
            sigma_m: h.sigma_m,
            basis: basis.to_string(),
        })
    });
    let emitted_at = t
        .fix
        .as_ref()
        .and_then(|f| f.emission_ns)
        .and_then(Timestamp::from_unix_nanos);
    let method = match (&t.fix, &t.prior) {
        (Some(f), _) => Some(merge_methods(t.prior_method.as_deref(), &f.method)),
        (None, Some(_)) => t.prior_method.clone(),
        (None, None) => None,
    };
    IncidentEstimate {
        kind: t.kind,
        subkind: t.subkind,
        weapon: t.weapon,
        count: t.count,
        first_seen: t.first_seen,
        last_seen: t.last_seen,
        position,
        ellipse_95,
        covariance_m2,
        zones: assessed.zones,
        findings: assessed.findings,
        attribution: assessed.attribution,
        status: if t.merged_into.is_some() {
            Status::Merged
        } else {
            t.status
        },
        method,
        excluded,
        merged_into: t.merged_into,
        uncertainty,
        source_height,
        emitted_at,
        unresolved: t.pool,
        saturated: t.saturated,
    }
}

mod echo_image;
mod fit_memo;
mod gates;
mod pulse_holders;
mod pulses;
mod regroup;
mod same_source;
mod stragglers;
mod timing;
mod untangle;
use regroup::BatchLog;
pub use regroup::RegroupError;
use truce_core::time::nanos_as_seconds;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_gates;
#[cfg(test)]
mod tests_pulses;
#[cfg(test)]
mod tests_saturation;
