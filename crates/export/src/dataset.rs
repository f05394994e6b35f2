//! What an export holds: a selection of the record, read once, with the record's state.

use crate::ExportError;
use std::collections::{BTreeSet, HashSet};
use truce_core::agreement::AgreementDoc;
use truce_core::entry::hex;
use truce_core::{Incident, ObservationId, Timestamp};
use truce_store::{IncidentFilter, Store, StoredObservation};

/// Incidents read per store query.
const PAGE: u32 = 5_000;

/// Which incidents to export: those seen in a time window and located in a box.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Selection {
    /// Incidents last seen at or after this.
    pub since: Option<Timestamp>,
    /// Incidents first seen at or before this.
    pub until: Option<Timestamp>,
    /// West, south, east, north in degrees: incidents located inside (W > E crosses the
    /// antimeridian).
    pub bbox: Option<[f64; 4]>,
}

impl Selection {
    /// Reads `W,S,E,N` in degrees: longitudes within ±180, latitudes within ±90, S ≤ N (W > E
    /// is a box across the antimeridian). The error says what is wrong, for a message naming
    /// the option.
    pub fn parse_bbox(value: &str) -> Result<[f64; 4], String> {
        let parts: Vec<&str> = value.split(',').collect();
        let bad = || format!("{value:?} is not W,S,E,N in degrees");
        if parts.len() != 4 {
            return Err(bad());
        }
        let mut v = [0.0; 4];
        for (slot, text) in v.iter_mut().zip(&parts) {
            *slot = text.trim().parse().map_err(|_| bad())?;
        }
        let [w, s, e, n] = v;
        let lon_ok = |x: f64| (-180.0..=180.0).contains(&x);
        let lat_ok = |x: f64| (-90.0..=90.0).contains(&x);
        if !(lon_ok(w) && lon_ok(e) && lat_ok(s) && lat_ok(n)) || s > n {
            return Err(format!(
                "{value:?}: longitudes must be within ±180, latitudes within ±90, S ≤ N"
            ));
        }
        Ok(v)
    }
}

/// The record's state an export shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Entries in the record.
    pub size: u64,
    /// Its Merkle root, lowercase hex.
    pub root: String,
    /// When the last entry was appended (the export's own time: its bytes do not depend on
    /// when it was run).
    pub at: Timestamp,
}

/// A selection of the record, ready to be written in any format.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The agreement's document: its name, whether illustrative, its zones.
    pub agreement: AgreementDoc,
    /// The selected incidents (merged ones left out), in id order.
    pub incidents: Vec<Incident>,
    /// Every observation of the selected incidents, in id order.
    pub observations: Vec<StoredObservation>,
    /// The record's state when read.
    pub anchor: Anchor,
}

impl Dataset {
    /// Reads `selection` from `store` under `agreement`: a bounded selection's observations
    /// by id (when they are few), everything by two scans at once. The anchor is the record's
    /// head read first; a record that grows while it is read (a running server) may show what was
    /// appended meanwhile too. The store keeps each incident's latest state only, so figures
    /// tied exactly to one size come from a record that is not growing (a stopped server, a
    /// copy).
    pub fn load(
        store: &dyn Store,
        agreement: &AgreementDoc,
        selection: &Selection,
    ) -> Result<Self, ExportError> {
        let head = store.head()?;
        let at = match head.size {
            0 => Timestamp::from_unix_nanos(0).unwrap_or_else(Timestamp::now),
            size => last_entry_time(store, size - 1)?,
        };
        let filter = IncidentFilter {
            bbox: selection.bbox,
            since: selection.since,
            until: selection.until,
            ..IncidentFilter::default()
        };
        let (incidents, observations) =
            if selection.since.is_some() || selection.until.is_some() || selection.bbox.is_some() {
                // A bounded selection (a report's day, the coverage window) usually names a small
                // part of the record: its observations are read by id, not by scanning them all.
                let incidents = read_incidents(store, &filter)?;
                let wanted: BTreeSet<u64> = incidents
                    .iter()
                    .flat_map(|i| i.observation_ids.iter().map(|o| o.0))
                    .collect();
                let observations = if wanted.len() <= FEW_OBSERVATIONS {
                    let mut found = Vec::with_capacity(wanted.len());
                    for id in wanted {
                        found.extend(store.observation(ObservationId(id))?);
                    }
                    found
                } else {
                    let mut all = read_all_observations(store)?;
                    all.retain(|o| wanted.contains(&o.id.0));
                    all
                };
                (incidents, observations)
            } else {
                // Everything: incidents and observations are read at once, on two of the store's
                // reader connections; observations are then kept when their incident is.
                let (incidents, observations) = std::thread::scope(|scope| {
                    let observations = scope.spawn(|| read_all_observations(store));
                    let incidents = read_incidents(store, &filter)?;
                    let observations = observations.join().map_err(|_| {
                        ExportError::Reader("the observation reader panicked".into())
                    })??;
                    Ok::<_, ExportError>((incidents, observations))
                })?;
                let wanted: HashSet<u64> = incidents
                    .iter()
                    .flat_map(|i| i.observation_ids.iter().map(|o| o.0))
                    .collect();
                let observations: Vec<StoredObservation> = observations
                    .into_iter()
                    .filter(|o| wanted.contains(&o.id.0))
                    .collect();
                (incidents, observations)
            };
        Ok(Self {
            agreement: agreement.clone(),
            incidents,
            observations,
            anchor: Anchor {
                size: head.size,
                root: hex(&head.root),
                at,
            },
        })
    }
}

/// Observations read one by one, by id, at most; a selection citing more is read by a scan.
const FEW_OBSERVATIONS: usize = 20_000;

/// The incidents `filter` selects, page by page, in id order.
fn read_incidents(
    store: &dyn Store,
    filter: &IncidentFilter,
) -> Result<Vec<Incident>, ExportError> {
    let mut incidents = Vec::new();
    let mut after = 0;
    loop {
        let page = store.incidents_by_id(filter, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id.0;
        incidents.extend(page);
    }
    Ok(incidents)
}

/// Every observation of the record, page by page, in id order.
fn read_all_observations(store: &dyn Store) -> Result<Vec<StoredObservation>, ExportError> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.observations_by_id(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id.0;
        all.extend(page);
    }
    Ok(all)
}

/// When entry `index` was recorded (its `recorded_at`), or the epoch for an entry without one.
fn last_entry_time(store: &dyn Store, index: u64) -> Result<Timestamp, ExportError> {
    let epoch = Timestamp::from_unix_nanos(0).unwrap_or_else(Timestamp::now);
    let Some(entry) = store.entries(index, 1)?.into_iter().next() else {
        return Ok(epoch);
    };
    let value: serde_json::Value = serde_json::from_slice(&entry.bytes).unwrap_or_default();
    Ok(value
        .get("recorded_at")
        .and_then(|v| v.as_str())
        .and_then(|t| Timestamp::parse(t).ok())
        .unwrap_or(epoch))
}
