//! Splits and merges: association decides one observation at a time, and a later observation
//! can show an earlier decision wrong. Both corrections are explicit revisions in the record.
//!
//! - **Split.** When an incident's fix leaves an arrival out as another event's sound (early,
//!   or later than any longer path makes it), that arrival leaves the incident and starts its
//!   own. The incident it left gets a revision with its new estimate.
//! - **Merge.** When two located incidents of the same kind, role and time turn out to fit one
//!   joint fix (the chi-square rise of fixing them together passes the gate), the younger is
//!   folded into the older: its observations move (the older's revision adds them) and it gets
//!   a last revision with status `merged` and `merged_into`.

use super::{Fusion, MAX_MULTIPATH_DELAY_S, REPORT_TIME_SIGMA_S, Report, Track, role};
use crate::measure::{Measure, Trial, chi2_gate, joint_fix, joint_trial};
use std::collections::HashMap;
use truce_core::time::nanos_as_seconds;
use truce_core::{IncidentId, ObservationId};

/// What a batch did, kept while it is absorbed.
#[derive(Debug, Default)]
pub(super) struct BatchLog {
    /// For each observation of the batch, in order, the incident it ended in.
    pub incident_ids: Vec<IncidentId>,
    /// Incidents touched, in order of first touch.
    pub touched: Vec<IncidentId>,
    /// Observations each touched incident gained in the batch.
    pub added: HashMap<IncidentId, Vec<ObservationId>>,
    /// Observations each incident gained from another incident.
    pub moved_in: HashMap<IncidentId, Vec<ObservationId>>,
    /// Where each observation of the batch sits in `incident_ids`.
    position: HashMap<ObservationId, usize>,
}

impl BatchLog {
    /// A new observation of the batch joined or started `incident`.
    pub fn observe(&mut self, obs: ObservationId, incident: IncidentId) {
        self.position.insert(obs, self.incident_ids.len());
        self.incident_ids.push(incident);
        self.add(incident, obs);
    }

    /// `incident` changed without gaining anything.
    pub fn touch(&mut self, incident: IncidentId) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.added.entry(incident) {
            e.insert(Vec::new());
            self.touched.push(incident);
        }
    }

    fn add(&mut self, incident: IncidentId, obs: ObservationId) {
        self.touch(incident);
        if let Some(list) = self.added.get_mut(&incident) {
            list.push(obs);
        }
    }

    /// `obs` moved from `from` to `to`.
    pub(super) fn moved(&mut self, obs: ObservationId, from: IncidentId, to: IncidentId) {
        if let Some(list) = self.added.get_mut(&from) {
            list.retain(|o| *o != obs);
        }
        self.touch(from);
        self.add(to, obs);
        self.moved_in.entry(to).or_default().push(obs);
        if let Some(&k) = self.position.get(&obs) {
            self.incident_ids[k] = to;
        }
    }
}

impl Fusion {
    /// Moves out of `id` every arrival its fix sets aside as another event's (into the pool of
    /// unresolved pulses), and keeps those a little late, or echoes, set aside within it.
    pub(super) fn split_other_events(&mut self, id: IncidentId, log: &mut BatchLog) {
        if self.tracks.get(&id).is_some_and(|t| {
            t.members
                .iter()
                .any(|(_, m)| matches!(m, Measure::Arrival { .. }))
        }) {
            self.settle(id, log);
        }
    }

    /// Folds a located incident that fits one joint fix with `id` into the older of the two.
    pub(super) fn merge_into_neighbour(&mut self, id: IncidentId, log: &mut BatchLog) {
        let Some(track) = self.tracks.get(&id) else {
            return;
        };
        let Some(fix) = &track.fix else {
            return;
        };
        let Some(env) = track.indexed else {
            return;
        };
        let mut best: Option<(f64, IncidentId, Trial)> = None;
        for item in self.index.locate_in_envelope_intersecting(&env) {
            if item.id == id {
                continue;
            }
            let Some(other) = self.tracks.get(&item.id) else {
                continue;
            };
            let Some(other_fix) = &other.fix else {
                continue;
            };
            if other.kind != track.kind
                || other.closed()
                || !roles_agree(track, other)
                || !times_overlap(track, other, self.window_s)
                || (track.prior.is_some() && other.prior.is_some())
                || !one_round(track, other)
            {
                continue;
            }
            let members: Vec<&Measure> = track
                .members
                .iter()
                .chain(&other.members)
                .map(|(_, m)| m)
                .collect();
            let prior = track.prior.as_ref().or(other.prior.as_ref());
            let Some(union) = joint_trial(&members, prior, self.default_temperature_c) else {
                continue;
            };
            if union.excluded.iter().any(|(_, _, late)| {
                late.is_some_and(|l| !(0.0..=MAX_MULTIPATH_DELAY_S).contains(&l))
            }) {
                continue;
            }
            let (sum, n) = (
                track.report_times.0 + other.report_times.0,
                track.report_times.1 + other.report_times.1,
            );
            if let Some(t0) = union.emission_ns
                && n > 0
                && (sum / f64::from(n) - nanos_as_seconds(t0)).abs() > 3.0 * REPORT_TIME_SIGMA_S
            {
                continue; // the sound was emitted too far from when the event was seen
            }
            let rise = union.chi2 - fix.chi2 - other_fix.chi2;
            let added_dof = (union.dof - fix.dof - other_fix.dof).max(1);
            if rise <= chi2_gate(added_dof) && best.as_ref().is_none_or(|(b, _, _)| rise < *b) {
                best = Some((rise, item.id, union));
            }
        }
        let Some((_, other, union)) = best else {
            return;
        };
        let (keep, fold) = if id < other { (id, other) } else { (other, id) };
        let Some(folded) = self.tracks.get_mut(&fold) else {
            return;
        };
        let members = std::mem::take(&mut folded.members);
        let aside = std::mem::take(&mut folded.aside);
        let prior = folded.prior.take();
        let prior_method = folded.prior_method.take();
        let (first, last) = (folded.first_seen, folded.last_seen);
        let count = folded.count;
        let report_times = folded.report_times;
        folded.merged_into = Some(keep);
        folded.fix = None;
        self.unindex(fold);
        log.touch(fold);
        let Some(kept) = self.tracks.get_mut(&keep) else {
            return;
        };
        let moved: Vec<ObservationId> = members
            .iter()
            .map(|(o, _)| *o)
            .chain(aside.iter().map(|(o, _, _)| *o))
            .collect();
        // The union's measurements are the kept incident's first, then the folded one's.
        kept.members.extend(members);
        kept.aside.extend(aside);
        kept.prior = kept.prior.or(prior);
        kept.prior_method = kept.prior_method.take().or(prior_method);
        kept.first_seen = kept.first_seen.min(first);
        kept.last_seen = kept.last_seen.max(last);
        kept.count = kept.count.max(count);
        kept.report_times.0 += report_times.0;
        kept.report_times.1 += report_times.1;
        kept.fix = union.fix();
        self.reindex(keep);
        for obs in moved {
            log.moved(obs, fold, keep);
        }
        self.settle(keep, log);
    }

    /// Puts `id` back in the index under its current box.
    pub(super) fn reindex(&mut self, id: IncidentId) {
        self.unindex(id);
        let window = self.window_s;
        if let Some(track) = self.tracks.get_mut(&id)
            && !(track.members.is_empty() && track.prior.is_none() && track.aside.is_empty())
            && track.merged_into.is_none()
        {
            let env = super::envelope(track, window);
            self.index.insert(super::Indexed { id, env });
            track.indexed = Some(env);
            self.pulse_holders.note(id, env, || track.holds_pulses());
        }
    }

    /// The incidents indexed under a box meeting `query`, in id order: what debug builds check
    /// [`Fusion::pulse_holders_in`] against.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn ids_in(&self, query: &rstar::AABB<[f64; 3]>) -> Vec<IncidentId> {
        let mut ids: Vec<IncidentId> = self
            .index
            .locate_in_envelope_intersecting(query)
            .map(|i| i.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    pub(super) fn unindex(&mut self, id: IncidentId) {
        if let Some(track) = self.tracks.get_mut(&id)
            && let Some(env) = track.indexed.take()
        {
            self.index.remove(&super::Indexed { id, env });
        }
    }
}

/// Whether two incidents could be one round of fire: when both are timed by arrivals, their
/// emission times agree within 50 ms and no sensor is in both fits (a sensor hears a round
/// once; two timed fits a fraction of a second apart are two rounds).
fn one_round(a: &Track, b: &Track) -> bool {
    let (Some(fa), Some(fb)) = (&a.fix, &b.fix) else {
        return true;
    };
    if let (Some(ta), Some(tb)) = (fa.emission_ns, fb.emission_ns)
        && nanos_as_seconds((ta - tb).abs()) > 0.05
    {
        return false;
    }
    let sa = a.active_stations();
    b.active_stations().iter().all(|s| !sa.contains(s))
}

fn roles_agree(a: &Track, b: &Track) -> bool {
    match (role(a.subkind), role(b.subkind)) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

fn times_overlap(a: &Track, b: &Track, window_s: f64) -> bool {
    let (a0, a1) = (a.first_seen.unix_seconds(), a.last_seen.unix_seconds());
    let (b0, b1) = (b.first_seen.unix_seconds(), b.last_seen.unix_seconds());
    a0 - window_s <= b1 && b0 - window_s <= a1
}

/// Why an analyst's merge or split cannot be done; names the incident or observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegroupError(pub String);

impl std::fmt::Display for RegroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegroupError {}

impl Fusion {
    /// An analyst folds incident `fold` into `keep`: `fold_observations` (every observation the
    /// record lists for `fold`) move to `keep`, whose estimate joins both; `fold` gets a last
    /// revision, `merged`. Returns the revisions to record.
    pub fn merge_incidents(
        &mut self,
        keep: IncidentId,
        fold: IncidentId,
        fold_observations: &[ObservationId],
    ) -> Result<super::Absorbed, RegroupError> {
        if keep == fold {
            return Err(RegroupError(format!(
                "incident {keep} cannot be merged into itself"
            )));
        }
        for id in [keep, fold] {
            if !self.tracks.contains_key(&id) {
                return Err(RegroupError(format!(
                    "incident {id} is not open for regrouping (merged, or without a position \
                     since a restart)"
                )));
            }
        }
        let mut log = BatchLog::default();
        let Some(folded) = self.tracks.get_mut(&fold) else {
            return Err(RegroupError(format!("no incident {fold}")));
        };
        let members = std::mem::take(&mut folded.members);
        let aside = std::mem::take(&mut folded.aside);
        let prior = folded.prior.take();
        let prior_method = folded.prior_method.take();
        let (first, last, count, report_times) = (
            folded.first_seen,
            folded.last_seen,
            folded.count,
            folded.report_times,
        );
        folded.merged_into = Some(keep);
        folded.fix = None;
        self.unindex(fold);
        log.touch(fold);
        let temperature = self.default_temperature_c;
        let Some(kept) = self.tracks.get_mut(&keep) else {
            return Err(RegroupError(format!("no incident {keep}")));
        };
        kept.members.extend(members);
        kept.aside.extend(aside);
        kept.pool = false;
        // The analyst says these reports are one event: no longer a report left alone.
        kept.saturated = None;
        kept.prior = match (kept.prior, prior) {
            (Some(a), Some(b)) => Some(combine(&a, &b)),
            (a, b) => a.or(b),
        };
        kept.prior_method = kept.prior_method.take().or(prior_method);
        kept.first_seen = kept.first_seen.min(first);
        kept.last_seen = kept.last_seen.max(last);
        kept.count = kept.count.max(count);
        kept.report_times.0 += report_times.0;
        kept.report_times.1 += report_times.1;
        let refs: Vec<&Measure> = kept.members.iter().map(|(_, m)| m).collect();
        kept.fix = joint_fix(&refs, kept.prior.as_ref(), temperature);
        self.reindex(keep);
        for obs in fold_observations {
            log.moved(*obs, fold, keep);
        }
        Ok(self.revisions_of(log))
    }

    /// An analyst moves `leaving` out of incident `id` into a new incident. They must be
    /// measurements the incident holds (not those folded into its estimate before a restart).
    pub fn split_incident(
        &mut self,
        id: IncidentId,
        leaving: &[ObservationId],
    ) -> Result<super::Absorbed, RegroupError> {
        let track = self
            .tracks
            .get(&id)
            .ok_or_else(|| RegroupError(format!("incident {id} is not open for regrouping")))?;
        if leaving.is_empty() {
            return Err(RegroupError(
                "name at least one observation to split off".into(),
            ));
        }
        let held: Vec<ObservationId> = track.members.iter().map(|(o, _)| *o).collect();
        let missing: Vec<String> = leaving
            .iter()
            .filter(|o| !held.contains(o))
            .map(|o| o.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(RegroupError(format!(
                "observations {} are not held individually by incident {id}",
                missing.join(", ")
            )));
        }
        if leaving.len() == track.members.len() && track.prior.is_none() {
            return Err(RegroupError(format!(
                "that would leave incident {id} with nothing: split off fewer"
            )));
        }
        let report = Report {
            kind: track.kind,
            subkind: track.subkind,
            weapon: track.weapon,
            count: track.count,
            at: track.first_seen,
        };
        let temperature = self.default_temperature_c;
        let mut moving = Vec::new();
        if let Some(track) = self.tracks.get_mut(&id) {
            let (go, stay): (Vec<_>, Vec<_>) = std::mem::take(&mut track.members)
                .into_iter()
                .partition(|(o, _)| leaving.contains(o));
            track.members = stay;
            let refs: Vec<&Measure> = track.members.iter().map(|(_, m)| m).collect();
            track.fix = joint_fix(&refs, track.prior.as_ref(), temperature);
            moving = go;
        }
        self.reindex(id);
        let mut log = BatchLog::default();
        log.touch(id);
        let mut rest = moving.into_iter();
        let Some((first_obs, first_m)) = rest.next() else {
            return Ok(self.revisions_of(log));
        };
        let new = self.start_track(first_obs, &report, Some(first_m));
        log.moved(first_obs, id, new);
        if let Some(track) = self.tracks.get_mut(&new) {
            for (obs, m) in rest {
                track.members.push((obs, m));
                log.moved(obs, id, new);
            }
            let refs: Vec<&Measure> = track.members.iter().map(|(_, m)| m).collect();
            track.fix = joint_fix(&refs, None, temperature);
        }
        self.reindex(new);
        Ok(self.revisions_of(log))
    }
}

/// The information-weighted combination of two independent Gaussian estimates, in the plane
/// tangent at the first.
fn combine(
    a: &crate::estimate::Estimate,
    b: &crate::estimate::Estimate,
) -> crate::estimate::Estimate {
    let frame = truce_geo::LocalFrame::at(a.center);
    let xb = frame.to_en(b.center);
    match (a.cov.inverse(), b.cov.inverse()) {
        (Some(ia), Some(ib)) => {
            let Some(cov) = ia.plus(ib).inverse() else {
                return *a;
            };
            let (e, n) = cov.apply(ib.apply(xb));
            crate::estimate::Estimate {
                center: frame.from_en(e, n),
                cov,
            }
        }
        _ => *a,
    }
}
