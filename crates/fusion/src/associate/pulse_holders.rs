//! The incidents that hold acoustic pulses, in an index of their own.
//!
//! Most searches about pulses (a round's candidate pulses, the located rounds that time a
//! pulse, stragglers, a burst's rounds and pools) want only the incidents that hold some:
//! pools, rounds, rounds with pulses set aside. (Finding the located incident that takes a
//! pulse does not: one placed by bearings or reports may take it.) Under dense
//! fire they are about one in ten of the incidents the main index returns for the same box, so
//! walking the main index costs ten times what the answer needs. Here each such incident is
//! kept under a box padded around its own ([`PAD_S`], [`PAD_DEG`]), and moved only when its box
//! outgrows the padded one: a pool grows with every pulse, and moving it in an R-tree each time
//! would cost more than the walk it saves. A query then checks each incident's own box, so it
//! answers exactly as the main index would, restricted to these incidents.

use super::{Fusion, Indexed, Track};
use rstar::{AABB, Envelope, RTree};
use truce_core::IncidentId;

/// Seconds a holder's box is padded by at its later end (a pool grows forward in time), and a
/// tenth of that at its earlier end.
const PAD_S: f64 = 120.0;

/// Degrees a holder's box is padded by on every side (about 2 km; a round's ellipse moves and
/// shrinks as it refines).
const PAD_DEG: f64 = 0.02;

/// The incidents that held pulses when last indexed, each under a padded box that holds the
/// box it had then in the main index (an incident since taken out of the main index keeps its
/// entry here, and queries pass over it, until it is let go of or merged).
#[derive(Debug, Default)]
pub(super) struct PulseHolders {
    tree: RTree<Indexed>,
    /// By id (the sequencer's numbers: a fast hash serves).
    padded: foldhash::HashMap<IncidentId, AABB<[f64; 3]>>,
}

impl PulseHolders {
    /// Notes that incident `id` is now indexed under `env`; `holds` says whether it holds
    /// pulses, asked only of an incident not kept here already (one that held pulses once
    /// stays until it is let go of: a superset is as exact, queries checking each one).
    pub(super) fn note(
        &mut self,
        id: IncidentId,
        env: AABB<[f64; 3]>,
        holds: impl FnOnce() -> bool,
    ) {
        match self.padded.get(&id) {
            Some(padded) if padded.contains_envelope(&env) => return,
            Some(padded) => {
                self.tree.remove(&Indexed { id, env: *padded });
            }
            None if !holds() => return,
            None => {}
        }
        let (lo, hi) = (env.lower(), env.upper());
        let padded = AABB::from_corners(
            [lo[0] - PAD_DEG, lo[1] - PAD_DEG, lo[2] - 0.1 * PAD_S],
            [hi[0] + PAD_DEG, hi[1] + PAD_DEG, hi[2] + PAD_S],
        );
        self.tree.insert(Indexed { id, env: padded });
        self.padded.insert(id, padded);
    }

    /// Forgets incident `id` (let go of, or merged into another).
    pub(super) fn forget(&mut self, id: IncidentId) {
        if let Some(env) = self.padded.remove(&id) {
            self.tree.remove(&Indexed { id, env });
        }
    }
}

impl Track {
    /// Whether it holds pulses: a pool, a round, or an incident with pulses set aside.
    pub(super) fn holds_pulses(&self) -> bool {
        self.pool || !self.aside.is_empty() || self.has_arrivals()
    }
}

impl Fusion {
    /// The incidents holding pulses that are indexed under a box meeting `query`, in id
    /// order: what [`Fusion::ids_in`] returns, less incidents that held no pulses whenever
    /// they were indexed. Debug builds check that no incident now holding pulses is missing.
    pub(super) fn pulse_holders_in(&self, query: &AABB<[f64; 3]>) -> Vec<IncidentId> {
        let mut ids: Vec<IncidentId> = self
            .pulse_holders
            .tree
            .locate_in_envelope_intersecting(query)
            .map(|item| item.id)
            .filter(|id| {
                self.tracks
                    .get(id)
                    .and_then(|t| t.indexed)
                    .is_some_and(|env| env.intersects(query))
            })
            .collect();
        ids.sort_unstable();
        #[cfg(debug_assertions)]
        for id in self.ids_in(query) {
            debug_assert!(
                ids.binary_search(&id).is_ok()
                    || !self.tracks.get(&id).is_some_and(Track::holds_pulses),
                "incident {id:?} holds pulses but is not among the pulse holders"
            );
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::super::pulses::area;
    use super::super::tests::RULES;
    use super::super::tests_gates::dense_stream;
    use super::super::{Fusion, KEEP_QUIET_S, Track};
    use truce_core::{IncidentId, ObservationId, ValidObservation};

    /// Under dense fire, each pulse's search box holds in the pulse index every incident the
    /// main index holds there that holds pulses, and no incident the main index does not hold
    /// there, however pools grew past their padding; and incidents let go of leave it.
    #[test]
    fn the_pulse_index_answers_as_the_main_index_does_for_incidents_holding_pulses() {
        let stream = dense_stream(2_500, 0.086, 2020);
        let mut fusion = Fusion::new(RULES.clone());
        let mut compared = 0;
        for chunk in stream.chunks(100) {
            let items: Vec<(ObservationId, &ValidObservation)> =
                chunk.iter().map(|(id, o)| (*id, o)).collect();
            fusion.absorb(&items);
            for (_, obs) in chunk {
                let Some(m) = crate::measure::Measure::of(obs) else {
                    continue;
                };
                if !matches!(m, crate::measure::Measure::Arrival { .. }) {
                    continue;
                }
                let t = obs.observed_at.unix_seconds();
                let query = area(m.anchor(), 40_000.0, t - 200.0, t + 200.0);
                let all = fusion.ids_in(&query);
                let holders = fusion.pulse_holders_in(&query);
                let holding: Vec<IncidentId> = all
                    .iter()
                    .copied()
                    .filter(|id| fusion.tracks.get(id).is_some_and(Track::holds_pulses))
                    .collect();
                assert!(holders.iter().all(|id| all.contains(id)), "outside the box");
                assert!(holding.iter().all(|id| holders.contains(id)), "one missing");
                compared += holding.len();
            }
        }
        assert!(compared > 10_000, "few pulse holders compared: {compared}");
        assert!(!fusion.pulse_holders.padded.is_empty());
        fusion.latest_s += KEEP_QUIET_S + 3600.0;
        fusion.let_go_of_quiet_incidents();
        assert!(fusion.pulse_holders.padded.is_empty());
        assert_eq!(fusion.pulse_holders.tree.size(), 0);
    }
}
