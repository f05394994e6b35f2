//! The report's figures, computed from the record.

use crate::{Lang, ReportError, Request};
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};
use truce_core::agreement::{Agreement, ZoneKind};
use truce_core::entry::hex;
use truce_core::observation::Subkind;
use truce_core::{Incident, Kind, Timestamp};
use truce_export::{Dataset, Selection};
use truce_store::Store;

const DAY_S: f64 = 86_400.0;

/// One row of the violations-by-area table: counts of what was seen (a burst of ten rounds
/// counts ten, as mission reports count), in incidents with a finding against a clause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaRow {
    /// The area's name.
    pub name: String,
    /// The area's zone id (none for the rows outside every area and for all areas).
    pub zone: Option<String>,
    /// How much of the area and the period the monitors covered, in thousandths: for
    /// explosions, then for small arms (see [`crate::coverage`]).
    pub covered_permille: Option<[u32; 2]>,
    /// Violations (every count of every incident with a finding).
    pub violations: u64,
    /// Incidents with a finding.
    pub incidents: u64,
    /// Explosions: impacts, airbursts, undetermined.
    pub explosions: [u64; 3],
    /// Projectiles in flight.
    pub projectiles: u64,
    /// Muzzle flashes.
    pub muzzle_flashes: u64,
    /// Flares.
    pub flares: u64,
    /// Bursts and shots.
    pub bursts_shots: u64,
    /// Violations in the previous period.
    pub previous: u64,
}

impl AreaRow {
    fn add(&mut self, i: &Incident) {
        let e = &i.estimate;
        let n = u64::from(e.count);
        self.violations += n;
        self.incidents += 1;
        match e.kind {
            Kind::Explosion => {
                let slot = match e.subkind {
                    Some(Subkind::Impact) => 0,
                    Some(Subkind::Airburst) => 1,
                    _ => 2,
                };
                self.explosions[slot] += n;
            }
            Kind::Projectile => self.projectiles += n,
            Kind::MuzzleFlash => self.muzzle_flashes += n,
            Kind::Flare => self.flares += n,
            Kind::Burst | Kind::Shot => self.bursts_shots += n,
            _ => {}
        }
    }
}

/// Incidents of the period attributed to one side (or to none) under one clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideRow {
    /// The side's name, or "not attributable".
    pub side: String,
    /// The clause's id and title.
    pub clause: String,
    /// Incidents.
    pub incidents: u64,
    /// Of them, disputed by a monitor.
    pub disputed: u64,
}

/// One incident as the annex lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnexRow {
    /// The incident's number.
    pub id: u64,
    /// First and last seen.
    pub first: Timestamp,
    /// Last seen.
    pub last: Timestamp,
    /// MGRS, latitude, longitude, when located.
    pub place: Option<(String, f64, f64)>,
    /// Semi-major, semi-minor (metres) and azimuth (degrees) of the 95% ellipse.
    pub ellipse: Option<(f64, f64, f64)>,
    /// Kind, count and weapon.
    pub what: String,
    /// Reports, and the kinds of source they came from.
    pub reports: String,
    /// Zones' names.
    pub zones: String,
    /// Side's name, or "undetermined".
    pub side: String,
    /// Clauses with a finding.
    pub clauses: String,
    /// Verification status.
    pub status: String,
}

/// The checkpoint the report's figures are anchored to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Entries in the record when the report was made.
    pub size: u64,
    /// Its Merkle root, hex.
    pub root: String,
    /// The latest signed checkpoint: its size and root (hex), and the monitors that cosigned.
    pub checkpoint: Option<(u64, String, Vec<String>)>,
}

/// A daily report's content.
#[derive(Debug, Clone)]
pub struct Report {
    /// The language.
    pub lang: Lang,
    /// The report's number (days since the agreement took effect, from 1) and year.
    pub number: (u64, i32),
    /// The period: from the previous cut-off (exclusive) to this one (inclusive).
    pub period: (Timestamp, Timestamp),
    /// When the agreement took effect (its first entry).
    pub effective: Timestamp,
    /// The agreement.
    pub agreement: Agreement,
    /// The record's state.
    pub anchor: Anchor,
    /// Violations by area of responsibility, then those outside every area.
    pub areas: Vec<AreaRow>,
    /// All areas together.
    pub total: AreaRow,
    /// Attribution by side and clause.
    pub sides: Vec<SideRow>,
    /// Incidents of the period with no side named.
    pub not_attributable: u64,
    /// Each monitor's current verdicts on the period's incidents: name, confirmed,
    /// disputed, undetermined, none yet.
    pub verdicts: Vec<(String, [u64; 4])>,
    /// Access denials of the period.
    pub access: Vec<AnnexRow>,
    /// Incidents by kind since the agreement took effect, and violations among them.
    pub totals: (Vec<(String, u64)>, u64),
    /// Every incident of the period.
    pub annex: Vec<AnnexRow>,
    /// The period's incidents themselves, for the map.
    pub incidents: Vec<Incident>,
    /// Where and when the monitors could have recorded events (the map's coverage layer).
    pub coverage: crate::coverage::Coverage,
}

/// The incidents first seen in `(start, end]`, with their observations.
fn period(
    store: &dyn Store,
    agreement: &Agreement,
    start: Timestamp,
    end: Timestamp,
) -> Result<Dataset, ReportError> {
    let mut data = Dataset::load(
        store,
        &agreement.doc,
        &Selection {
            since: Some(start),
            until: Some(end),
            bbox: None,
        },
    )?;
    data.incidents
        .retain(|i| i.estimate.first_seen > start && i.estimate.first_seen <= end);
    Ok(data)
}

fn area_rows(agreement: &Agreement, lang: Lang, incidents: &[Incident]) -> Vec<AreaRow> {
    let areas: Vec<(&str, &str)> = agreement
        .zones
        .iter()
        .filter(|z| z.kind == ZoneKind::AreaOfResponsibility)
        .map(|z| (z.id.as_str(), z.name.as_str()))
        .collect();
    let mut rows: Vec<AreaRow> = areas
        .iter()
        .map(|(id, name)| AreaRow {
            name: (*name).to_owned(),
            zone: Some((*id).to_owned()),
            ..AreaRow::default()
        })
        .chain(std::iter::once(AreaRow {
            name: lang.t("outside_areas").to_owned(),
            ..AreaRow::default()
        }))
        .collect();
    for i in incidents.iter().filter(|i| !i.estimate.findings.is_empty()) {
        let mut placed = false;
        for (n, (id, _)) in areas.iter().enumerate() {
            if i.estimate.zones.iter().any(|z| z == id) {
                rows[n].add(i);
                placed = true;
            }
        }
        if !placed {
            rows[areas.len()].add(i);
        }
    }
    rows
}

fn annex_row(i: &Incident, data: &Dataset, agreement: &Agreement, lang: Lang) -> AnnexRow {
    let e = &i.estimate;
    let mut sources = BTreeSet::new();
    let mut reports = 0;
    for o in data
        .observations
        .iter()
        .filter(|o| i.observation_ids.contains(&o.id))
    {
        reports += 1;
        sources.insert(source_name(o));
    }
    let zone_names: Vec<&str> = e
        .zones
        .iter()
        .filter_map(|z| agreement.zones.iter().find(|x| &x.id == z))
        .filter(|z| z.kind != ZoneKind::AreaOfResponsibility)
        .map(|z| z.name.as_str())
        .collect();
    let side = agreement
        .doc
        .sides
        .iter()
        .find(|s| s.id == e.attribution.side)
        .map_or(lang.t("not_attributable").to_owned(), |s| s.name.clone());
    let clauses: Vec<&str> = e.findings.iter().map(|f| f.clause_id.as_str()).collect();
    AnnexRow {
        id: i.id.0,
        first: e.first_seen,
        last: e.last_seen,
        place: e.position.as_ref().map(|p| (p.mgrs.clone(), p.lat, p.lon)),
        ellipse: e
            .ellipse_95
            .map(|x| (x.semi_major_m, x.semi_minor_m, x.azimuth_deg)),
        what: format!(
            "{} ×{}{}",
            lang.kind(e.kind.as_str()),
            e.count,
            e.weapon
                .map(|w| format!(", {}", w.as_str()))
                .unwrap_or_default()
        ),
        reports: format!(
            "{reports} ({})",
            sources.into_iter().collect::<Vec<_>>().join(", ")
        ),
        zones: zone_names.join(", "),
        side,
        clauses: clauses.join(", "),
        status: lang.status(e.status.as_str()).to_owned(),
    }
}

/// The name of an observation's source (`observer`, `sensor`…).
fn source_name(o: &truce_store::StoredObservation) -> &'static str {
    match o.observation.source {
        truce_core::Source::Observer => "observer",
        truce_core::Source::Patrol => "patrol",
        truce_core::Source::Uav => "uav",
        truce_core::Source::Sensor => "sensor",
        truce_core::Source::Camera => "camera",
        truce_core::Source::Import => "import",
    }
}

/// Which checkpoint the report's header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointChoice {
    /// The store's latest, with the monitors that have cosigned it so far.
    Latest,
    /// The one an issued report named (size, root hex, cosigning monitors), or none: to make
    /// that report again.
    Given(Option<(u64, String, Vec<String>)>),
}

/// A signed note's root line as hex (empty when it has none).
fn note_root(note: &[u8]) -> String {
    String::from_utf8_lossy(note)
        .lines()
        .nth(2)
        .and_then(|l| base64::engine::general_purpose::STANDARD.decode(l).ok())
        .map(|b| hex(&b))
        .unwrap_or_default()
}

/// The root (hex) of `store`'s checkpoint of `size`, if it holds one.
pub fn checkpoint_root(store: &dyn Store, size: u64) -> Result<Option<String>, ReportError> {
    Ok(store.checkpoint(size)?.map(|c| note_root(&c.note)))
}

/// The latest checkpoint: size, root (hex) and the monitors whose witnesses cosigned it.
fn checkpoint(
    store: &dyn Store,
    agreement: &Agreement,
) -> Result<Option<(u64, String, Vec<String>)>, ReportError> {
    let Some(c) = store.latest_checkpoint()? else {
        return Ok(None);
    };
    let root = note_root(&c.note);
    // Cosignatures are kept under the monitor whose witness key verified them.
    let mut cosigners: Vec<String> = c
        .cosignatures
        .iter()
        .filter_map(|(monitor, _)| {
            agreement
                .doc
                .monitors
                .iter()
                .find(|m| &m.id == monitor)
                .map(|m| m.name.clone())
        })
        .collect();
    cosigners.sort();
    cosigners.dedup();
    Ok(Some((c.size, root, cosigners)))
}

/// Builds the report `request` asks for from `store`, naming its latest checkpoint.
pub fn build(store: &dyn Store, request: &Request) -> Result<Report, ReportError> {
    build_with(store, request, CheckpointChoice::Latest)
}

/// Builds the report `request` asks for from `store`, naming the checkpoint `choice` says.
pub fn build_with(
    store: &dyn Store,
    request: &Request,
    choice: CheckpointChoice,
) -> Result<Report, ReportError> {
    let lang = request.lang;
    let (_, doc) = store
        .agreement()?
        .ok_or_else(|| ReportError::Agreement("the record holds none".into()))?;
    let agreement = Agreement::from_doc(doc, "the record")
        .map_err(|e| ReportError::Agreement(e.to_string()))?;
    let effective = store
        .agreement_versions()?
        .first()
        .and_then(|v| store.entries(v.entry, 1).ok())
        .and_then(|e| e.into_iter().next())
        .and_then(|e| truce_core::entry::EntryBody::decode(&e.bytes).ok())
        .and_then(|b| match b {
            truce_core::entry::EntryBody::Agreement { recorded_at, .. } => Some(recorded_at),
            _ => None,
        })
        .unwrap_or_else(|| request.period_end().plus_seconds(-DAY_S));
    let end = request.period_end();
    let start = end.plus_seconds(-DAY_S);
    let now = period(store, &agreement, start, end)?;
    let before = period(store, &agreement, start.plus_seconds(-DAY_S), start)?;

    let mut areas = area_rows(&agreement, lang, &now.incidents);
    let previous = area_rows(&agreement, lang, &before.incidents);
    for (row, prev) in areas.iter_mut().zip(&previous) {
        row.previous = prev.violations;
    }
    let coverage = crate::coverage::of_period(store, &agreement, &now.observations, start, end)?;
    for row in &mut areas {
        if let Some(zone) = &row.zone {
            let permille = |class| (coverage.share(zone, class) * 1000.0).round() as u32;
            row.covered_permille = Some([
                permille(crate::coverage::Class::Explosions),
                permille(crate::coverage::Class::SmallArms),
            ]);
        }
    }
    let mut total = AreaRow {
        name: lang.t("all_areas").to_owned(),
        ..AreaRow::default()
    };
    for i in now
        .incidents
        .iter()
        .filter(|i| !i.estimate.findings.is_empty())
    {
        total.add(i);
    }
    total.previous = before
        .incidents
        .iter()
        .filter(|i| !i.estimate.findings.is_empty())
        .map(|i| u64::from(i.estimate.count))
        .sum();

    let mut by_side: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut not_attributable = 0;
    for i in &now.incidents {
        let e = &i.estimate;
        let side = agreement
            .doc
            .sides
            .iter()
            .find(|s| s.id == e.attribution.side);
        if side.is_none() {
            not_attributable += 1;
        }
        let side_name = side.map_or(lang.t("not_attributable").to_owned(), |s| s.name.clone());
        for f in &e.findings {
            let title = agreement
                .doc
                .clauses
                .iter()
                .find(|c| c.id == f.clause_id)
                .map_or(String::new(), |c| format!(" {}", c.title));
            let slot = by_side
                .entry((side_name.clone(), format!("{}{title}", f.clause_id)))
                .or_default();
            slot.0 += 1;
            if e.status == truce_core::incident::Status::Disputed {
                slot.1 += 1;
            }
        }
    }
    let sides = by_side
        .into_iter()
        .map(|((side, clause), (incidents, disputed))| SideRow {
            side,
            clause,
            incidents,
            disputed,
        })
        .collect();

    let verdicts = agreement
        .doc
        .monitors
        .iter()
        .map(|m| {
            let mut counts = [0u64; 4];
            for i in &now.incidents {
                let slot = match i
                    .assessments
                    .iter()
                    .find(|a| a.current && a.monitor == m.id)
                    .map(|a| a.verdict.as_str())
                {
                    Some("confirm") => 0,
                    Some("dispute") => 1,
                    Some(_) => 2,
                    None => 3,
                };
                counts[slot] += 1;
            }
            (m.name.clone(), counts)
        })
        .collect();

    let annex: Vec<AnnexRow> = now
        .incidents
        .iter()
        .map(|i| annex_row(i, &now, &agreement, lang))
        .collect();
    let access = now
        .incidents
        .iter()
        .filter(|i| i.estimate.kind == Kind::AccessDenial)
        .map(|i| annex_row(i, &now, &agreement, lang))
        .collect();

    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut violations = 0;
    let mut after = 0;
    let effective_ns = effective.unix_nanos() as i64;
    let end_ns = end.unix_nanos() as i64;
    loop {
        let rows = store.incident_rows(after, 10_000)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in rows.iter().filter(|r| {
            r.status != "merged" && r.first_seen_ns >= effective_ns && r.first_seen_ns <= end_ns
        }) {
            *kinds.entry(r.kind.clone()).or_default() += 1;
            if !r.clauses.trim_matches(',').is_empty() {
                violations += 1;
            }
        }
    }

    let days = (end.seconds_since(effective) / DAY_S).ceil().max(1.0) as u64;
    Ok(Report {
        lang,
        number: (days, request.date.0),
        period: (start, end),
        effective,
        anchor: Anchor {
            size: now.anchor.size,
            root: now.anchor.root.clone(),
            checkpoint: match choice {
                CheckpointChoice::Latest => checkpoint(store, &agreement)?,
                CheckpointChoice::Given(given) => given,
            },
        },
        areas,
        total,
        sides,
        not_attributable,
        verdicts,
        access,
        totals: (kinds.into_iter().collect(), violations),
        annex,
        incidents: now.incidents,
        coverage,
        agreement,
    })
}
