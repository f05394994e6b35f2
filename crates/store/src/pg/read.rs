//! Queries on PostgreSQL. Each runs on whichever connection it is given (a pooled reader, or
//! the writer when the sequencer must see its own latest commit). Rows become values through
//! [`crate::assemble`], as for SQLite.

use crate::assemble::{
    NoteRow, Parts, VerdictRow, clamp, decode_estimate, decode_observation, hash_of, nanos,
};
use crate::error::{Context, StoreError};
use crate::model::{
    AgreementVersion, AssessmentRow, ClientRecord, EvidenceRow, IncidentFilter, IncidentRow,
    Member, ObservationRow, StoredCheckpoint, StoredEntry, StoredObservation, TrackRow,
};
use postgres::Client;
use postgres::types::ToSql;
use truce_core::access::Role;
use truce_core::agreement::AgreementDoc;
use truce_core::entry::Hash;
use truce_core::incident::IncidentEstimate;
use truce_core::{Incident, IncidentId, Kind, ObservationId};
use uuid::Uuid;

/// Query arguments built up with the SQL that names them.
type Args = Vec<Box<dyn ToSql + Sync>>;

fn refs(args: &Args) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a.as_ref()).collect()
}

/// The record's head as the head row holds it (what the sequencer last committed).
pub fn head(client: &mut Client) -> Result<crate::model::Head, StoreError> {
    let r = client
        .query_one("SELECT size, chain, root FROM log_head WHERE id = 1", &[])
        .context("reading the record's head")?;
    Ok(crate::model::Head {
        size: r.get::<_, i64>(0) as u64,
        chain: hash_of(r.get(1), "the head's chain")?,
        root: hash_of(r.get(2), "the head's root")?,
    })
}

/// The first incident whose PostGIS columns are not what its row's position and its revision
/// entry's ellipse make (the bits PostGIS keeps, and SRID 4326), as `(id, column)`.
pub fn geometry_fault(client: &mut Client) -> Result<Option<(u64, &'static str)>, StoreError> {
    use super::geometry::{ellipse_ring, point_wkb, polygon_wkb};
    let mut after = 0i64;
    loop {
        let rows = client
            .query(
                "SELECT i.id, i.lat, i.lon, ST_AsBinary(i.location, 'NDR'), ST_SRID(i.location),
                        ST_AsBinary(i.ellipse95, 'NDR'), ST_SRID(i.ellipse95), e.body
                 FROM incidents i JOIN entries e ON e.idx = i.entry
                 WHERE i.id > $1 ORDER BY i.id LIMIT 10000",
                &[&after],
            )
            .context("reading incident geometry")?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        after = last.get(0);
        for r in &rows {
            let id: i64 = r.get(0);
            let (lat, lon): (Option<f64>, Option<f64>) = (r.get(1), r.get(2));
            let location = (r.get::<_, Option<Vec<u8>>>(3), r.get::<_, Option<i32>>(4));
            let want = lat.zip(lon).map(|(lat, lon)| (point_wkb(lon, lat), 4326));
            if location.0.zip(location.1) != want {
                return Ok(Some((id as u64, "location")));
            }
            let ellipse = (r.get::<_, Option<Vec<u8>>>(5), r.get::<_, Option<i32>>(6));
            let estimate = decode_estimate(id, r.get(7))?;
            let want = estimate
                .position
                .as_ref()
                .zip(estimate.ellipse_95.as_ref())
                .and_then(|(at, e)| ellipse_ring(at.lat, at.lon, e))
                .map(|ring| (polygon_wkb(&ring), 4326));
            if ellipse.0.zip(ellipse.1) != want {
                return Ok(Some((id as u64, "ellipse95")));
            }
        }
    }
}

pub fn client_records(client: &mut Client, ids: &[Uuid]) -> Result<Vec<ClientRecord>, StoreError> {
    let keys: Vec<Vec<u8>> = ids.iter().map(|u| u.as_bytes().to_vec()).collect();
    let rows = client
        .query(
            "SELECT client_id, id, incident_id, content_hash FROM observations
             WHERE client_id = ANY($1)",
            &[&keys],
        )
        .context("looking up client ids")?;
    let mut found = std::collections::HashMap::new();
    for row in rows {
        let key: Vec<u8> = row.get(0);
        let obs: i64 = row.get(1);
        let incident: i64 = row.get(2);
        let hash: Option<Vec<u8>> = row.get(3);
        found.insert(key, (obs, incident, hash));
    }
    // In the order asked, as the SQLite store answers.
    let mut out = Vec::new();
    for id in ids {
        if let Some((obs, incident, hash)) = found.get(id.as_bytes().as_slice()) {
            out.push(ClientRecord {
                client_id: *id,
                content_hash: hash_of(hash.clone().unwrap_or_default(), "a content hash")?,
                observation_id: ObservationId(*obs as u64),
                incident_id: IncidentId(*incident as u64),
            });
        }
    }
    Ok(out)
}

pub fn observation(
    client: &mut Client,
    id: ObservationId,
) -> Result<Option<StoredObservation>, StoreError> {
    let row = client
        .query_opt(
            "SELECT o.entry, o.incident_id, e.body FROM observations o
             JOIN entries e ON e.idx = o.entry WHERE o.id = $1",
            &[&clamp(id.0)],
        )
        .context("reading an observation")?;
    row.map(|r| decode_observation(clamp(id.0), r.get(0), r.get(1), r.get(2)))
        .transpose()
}

/// The parts of incidents `lo..=hi` in four queries.
fn read_parts(client: &mut Client, lo: i64, hi: i64) -> Result<Parts, StoreError> {
    let observations: Vec<(i64, i64)> = client
        .query(
            "SELECT id, incident_id FROM observations WHERE incident_id BETWEEN $1 AND $2
             ORDER BY id",
            &[&lo, &hi],
        )
        .context("reading incidents' observations")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let verdicts: Vec<VerdictRow> = client
        .query(
            "SELECT incident_id, entry, monitor, verdict, reason, username, at_ns
             FROM assessments WHERE incident_id BETWEEN $1 AND $2 ORDER BY entry",
            &[&lo, &hi],
        )
        .context("reading assessments")?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect();
    let notes: Vec<NoteRow> = client
        .query(
            "SELECT incident_id, entry, username, text, corrected_kind, at_ns
             FROM annotations WHERE incident_id BETWEEN $1 AND $2 ORDER BY entry",
            &[&lo, &hi],
        )
        .context("reading annotations")?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect();
    let statuses: Vec<(i64, String)> = client
        .query(
            "SELECT id, status FROM incidents WHERE id BETWEEN $1 AND $2",
            &[&lo, &hi],
        )
        .context("reading incidents' statuses")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Parts::from_rows(observations, verdicts, notes, statuses)
}

pub fn incident(client: &mut Client, id: IncidentId) -> Result<Option<Incident>, StoreError> {
    let row = client
        .query_opt(
            "SELECT i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry
             WHERE i.id = $1",
            &[&clamp(id.0)],
        )
        .context("reading an incident")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let id = clamp(id.0);
    let revision: i64 = row.get(0);
    let body: Vec<u8> = row.get(1);
    read_parts(client, id, id)?
        .assemble(id, revision as u32, &body)
        .map(Some)
}

/// The query's `SELECT … WHERE …` for filter `f`, and its arguments (without order or limit).
///
/// Where and when go through the GiST index on (whole days seen, location) — `&&` on day
/// ranges and on bounding boxes, which PostGIS keeps in single precision, rounded outward — and
/// are then checked exactly on the nanosecond and double-precision columns, so the answer is
/// the SQLite store's to the last bit.
fn incident_query(f: &IncidentFilter) -> (String, Args) {
    let mut sql = String::from(
        "SELECT i.id, i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry
         WHERE true",
    );
    let mut args: Args = Vec::new();
    let arg = |args: &mut Args, v: Box<dyn ToSql + Sync>| {
        args.push(v);
        format!("${}", args.len())
    };
    if let Some([w, s, e, n]) = f.bbox {
        let (pw, ps, pe, pn) = (
            arg(&mut args, Box::new(w)),
            arg(&mut args, Box::new(s)),
            arg(&mut args, Box::new(e)),
            arg(&mut args, Box::new(n)),
        );
        if w <= e {
            sql.push_str(&format!(
                " AND i.location && ST_MakeEnvelope({pw}, {ps}, {pe}, {pn}, 4326)
                  AND i.lat BETWEEN {ps} AND {pn} AND i.lon BETWEEN {pw} AND {pe}"
            ));
        } else {
            // A box across the antimeridian: two envelopes.
            sql.push_str(&format!(
                " AND (i.location && ST_MakeEnvelope({pw}, {ps}, 180, {pn}, 4326)
                       OR i.location && ST_MakeEnvelope(-180, {ps}, {pe}, {pn}, 4326))
                  AND i.lat BETWEEN {ps} AND {pn} AND (i.lon >= {pw} OR i.lon <= {pe})"
            ));
        }
    }
    if f.since.is_some() || f.until.is_some() {
        // Whole days, as the index `incidents_when_where` has them (the expression must be
        // the index's, word for word); an absent bound leaves that side open.
        let lo = f.since.map(nanos);
        let hi = f.until.map(nanos);
        let (plo, phi) = (arg(&mut args, Box::new(lo)), arg(&mut args, Box::new(hi)));
        sql.push_str(&format!(
            " AND int8range(least(i.first_seen_ns, i.last_seen_ns) / 86400000000000,
                            greatest(i.first_seen_ns, i.last_seen_ns) / 86400000000000, '[]')
                  && int8range({plo}::int8 / 86400000000000, {phi}::int8 / 86400000000000, '[]')"
        ));
    }
    if let Some(since) = f.since {
        let p = arg(&mut args, Box::new(nanos(since)));
        sql.push_str(&format!(" AND i.last_seen_ns >= {p}"));
    }
    if let Some(until) = f.until {
        let p = arg(&mut args, Box::new(nanos(until)));
        sql.push_str(&format!(" AND i.first_seen_ns <= {p}"));
    }
    if let Some(kind) = f.kind {
        let p = arg(&mut args, Box::new(kind.as_str().to_string()));
        sql.push_str(&format!(" AND i.kind = {p}"));
    }
    if let Some(status) = f.status {
        let p = arg(&mut args, Box::new(status.as_str().to_string()));
        sql.push_str(&format!(" AND i.status = {p}"));
    } else {
        // A merged incident lives on in the one it was folded into; list it only when asked.
        sql.push_str(" AND i.status <> 'merged'");
    }
    if let Some(clause) = &f.clause {
        let p = arg(&mut args, Box::new(format!(",{clause},")));
        sql.push_str(&format!(" AND strpos(i.clauses, {p}) > 0"));
    }
    if let Some(side) = &f.side {
        let p = arg(&mut args, Box::new(side.clone()));
        sql.push_str(&format!(" AND i.side = {p}"));
    }
    (sql, args)
}

/// Id, revision and entry bytes of the incidents `sql` selects.
fn incident_rows_of(
    client: &mut Client,
    sql: &str,
    args: &Args,
) -> Result<Vec<(i64, u32, Vec<u8>)>, StoreError> {
    Ok(client
        .query(sql, &refs(args))
        .context("listing incidents")?
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u32, r.get(2)))
        .collect())
}

/// The ids [`incidents`] would list for `f`, in its order, without reading their entries: the
/// index path alone (what a GIS client's query costs).
pub fn incident_ids(client: &mut Client, f: &IncidentFilter) -> Result<Vec<u64>, StoreError> {
    if empty_by_time(f) {
        return Ok(Vec::new());
    }
    let (sql, mut args) = incident_query(f);
    let limit = f.limit.unwrap_or(1000).min(IncidentFilter::MAX_LIMIT);
    args.push(Box::new(i64::from(limit)));
    let sql = sql.replacen(
        "SELECT i.id, i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry",
        "SELECT i.id FROM incidents i",
        1,
    ) + &format!(
        " ORDER BY i.last_seen_ns DESC, i.id DESC LIMIT ${}",
        args.len()
    );
    Ok(client
        .query(&sql, &refs(&args))
        .context("listing incident ids")?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u64)
        .collect())
}

/// Whether `f` can match nothing for its times alone (a `since` after its `until`): such a
/// range is an error to PostgreSQL and an empty answer to SQLite.
fn empty_by_time(f: &IncidentFilter) -> bool {
    matches!((f.since, f.until), (Some(s), Some(u)) if s > u)
}

pub fn incidents(client: &mut Client, f: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
    if empty_by_time(f) {
        return Ok(Vec::new());
    }
    let (mut sql, mut args) = incident_query(f);
    let limit = f.limit.unwrap_or(1000).min(IncidentFilter::MAX_LIMIT);
    args.push(Box::new(i64::from(limit)));
    sql.push_str(&format!(
        " ORDER BY i.last_seen_ns DESC, i.id DESC LIMIT ${}",
        args.len()
    ));
    let rows = incident_rows_of(client, &sql, &args)?;
    rows.into_iter()
        .map(|(id, rev, body)| read_parts(client, id, id)?.assemble(id, rev, &body))
        .collect()
}

pub fn incidents_by_id(
    client: &mut Client,
    f: &IncidentFilter,
    after: u64,
    limit: u32,
) -> Result<Vec<Incident>, StoreError> {
    if empty_by_time(f) {
        return Ok(Vec::new());
    }
    let (mut sql, mut args) = incident_query(f);
    args.push(Box::new(clamp(after)));
    args.push(Box::new(i64::from(limit)));
    sql.push_str(&format!(
        " AND i.id > ${} ORDER BY i.id LIMIT ${}",
        args.len() - 1,
        args.len()
    ));
    let rows = incident_rows_of(client, &sql, &args)?;
    // In id order: the page's parts come in four range queries, not four per incident.
    let (Some(lo), Some(hi)) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0)) else {
        return Ok(Vec::new());
    };
    let mut parts = read_parts(client, lo, hi)?;
    rows.into_iter()
        .map(|(id, rev, body)| parts.assemble(id, rev, &body))
        .collect()
}

pub fn observations_by_id(
    client: &mut Client,
    after: u64,
    limit: u32,
) -> Result<Vec<StoredObservation>, StoreError> {
    client
        .query(
            "SELECT o.id, o.entry, o.incident_id, e.body FROM observations o
             JOIN entries e ON e.idx = o.entry WHERE o.id > $1 ORDER BY o.id LIMIT $2",
            &[&clamp(after), &i64::from(limit)],
        )
        .context("listing observations")?
        .iter()
        .map(|r| decode_observation(r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

pub fn latest_estimates(
    client: &mut Client,
) -> Result<Vec<(IncidentId, u32, IncidentEstimate)>, StoreError> {
    client
        .query(
            "SELECT i.id, i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry
             ORDER BY i.id",
            &[],
        )
        .context("reading estimates")?
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let rev: i64 = r.get(1);
            Ok((
                IncidentId(id as u64),
                rev as u32,
                decode_estimate(id, r.get(2))?,
            ))
        })
        .collect()
}

pub fn agreement(client: &mut Client) -> Result<Option<(u32, AgreementDoc)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT a.version, b.bytes FROM agreements a JOIN blobs b ON b.sha256 = a.sha256
             ORDER BY a.version DESC LIMIT 1",
            &[],
        )
        .context("reading the agreement")?;
    row.map(|r| {
        let version = r.get::<_, i64>(0) as u32;
        serde_json::from_slice(r.get::<_, &[u8]>(1))
            .map(|doc| (version, doc))
            .map_err(|e| StoreError::Corrupt(format!("agreement version {version}: {e}")))
    })
    .transpose()
}

pub fn entries(client: &mut Client, from: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError> {
    if from > i64::MAX as u64 {
        return Ok(Vec::new());
    }
    client
        .query(
            "SELECT idx, body, chain FROM entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[&clamp(from), &clamp(limit)],
        )
        .context("reading entries")?
        .into_iter()
        .map(|r| {
            let idx: i64 = r.get(0);
            Ok(StoredEntry {
                index: idx as u64,
                bytes: r.get(1),
                chain: hash_of(r.get(2), &format!("entry {idx}'s chain"))?,
            })
        })
        .collect()
}

pub fn max_ids(client: &mut Client) -> Result<(ObservationId, IncidentId), StoreError> {
    let r = client
        .query_one(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM observations),
                    (SELECT COALESCE(MAX(id), 0) FROM incidents)",
            &[],
        )
        .context("reading the highest ids")?;
    Ok((
        ObservationId(r.get::<_, i64>(0) as u64),
        IncidentId(r.get::<_, i64>(1) as u64),
    ))
}

pub fn tree_hashes(client: &mut Client, indexes: &[i64]) -> Result<Vec<Hash>, StoreError> {
    let rows = client
        .query(
            "SELECT idx, hash FROM tree_hashes WHERE idx = ANY($1)",
            &[&indexes],
        )
        .context("reading tree hashes")?;
    let found: std::collections::HashMap<i64, Vec<u8>> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    indexes
        .iter()
        .map(|i| {
            let bytes = found
                .get(i)
                .ok_or_else(|| StoreError::Corrupt(format!("tree hash {i} is missing")))?;
            hash_of(bytes.clone(), &format!("tree hash {i}"))
        })
        .collect()
}

/// The latest checkpoint cosigned by every one of `witnesses` (the latest when none).
pub fn agreed_checkpoint(
    client: &mut Client,
    witnesses: &[String],
) -> Result<Option<StoredCheckpoint>, StoreError> {
    if witnesses.is_empty() {
        return Ok(checkpoints(client, true)?.pop());
    }
    // Every witness cosigned it, so the lagging one (the smallest latest) did: walk down its
    // own cosignatures (index cosignatures_by_witness) to the first the others all have.
    let row = client
        .query_opt(
            "WITH w AS (SELECT DISTINCT name FROM unnest($1::text[]) AS name),
             tops AS (SELECT name, (SELECT MAX(size) FROM cosignatures s WHERE s.witness = w.name)
                        AS top FROM w),
             lag AS (SELECT name, top FROM tops ORDER BY top IS NOT NULL, top LIMIT 1)
             SELECT c.size FROM lag JOIN cosignatures c ON c.witness = lag.name AND c.size <= lag.top
             WHERE (SELECT COUNT(*) FROM cosignatures s
                    WHERE s.size = c.size AND s.witness IN (SELECT name FROM w)) =
                   (SELECT COUNT(*) FROM w)
             ORDER BY c.size DESC LIMIT 1",
            &[&witnesses],
        )
        .context("reading the agreed checkpoint")?;
    match row {
        Some(row) => checkpoint_of(client, row.get::<_, i64>(0) as u64),
        None => Ok(None),
    }
}

/// The checkpoint of `size` with its cosignatures, if one is stored.
pub fn checkpoint_of(
    client: &mut Client,
    size: u64,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let size = size as i64;
    let Some(row) = client
        .query_opt("SELECT note FROM checkpoints WHERE size = $1", &[&size])
        .context("reading a checkpoint")?
    else {
        return Ok(None);
    };
    let lines = client
        .query(
            "SELECT witness, line FROM cosignatures WHERE size = $1 ORDER BY witness COLLATE \"C\"",
            &[&size],
        )
        .context("reading cosignatures")?;
    Ok(Some(StoredCheckpoint {
        size: size as u64,
        note: row.get(0),
        cosignatures: lines.iter().map(|l| (l.get(0), l.get(1))).collect(),
    }))
}

/// The size of the latest checkpoint `witness` cosigned.
pub fn latest_cosigned(client: &mut Client, witness: &str) -> Result<Option<u64>, StoreError> {
    let row = client
        .query_one(
            "SELECT MAX(size) FROM cosignatures WHERE witness = $1",
            &[&witness],
        )
        .context("reading a witness's latest cosignature")?;
    Ok(row.get::<_, Option<i64>>(0).map(|s| s as u64))
}

pub fn checkpoints(
    client: &mut Client,
    latest_only: bool,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let sql = if latest_only {
        "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
    } else {
        "SELECT size, note FROM checkpoints ORDER BY size"
    };
    let rows = client.query(sql, &[]).context("reading checkpoints")?;
    let lines = match rows.first() {
        Some(latest) if latest_only => client.query(
            "SELECT size, witness, line FROM cosignatures WHERE size = $1 ORDER BY witness COLLATE \"C\"",
            &[&latest.get::<_, i64>(0)],
        ),
        _ => client.query(
            "SELECT size, witness, line FROM cosignatures ORDER BY size, witness COLLATE \"C\"",
            &[],
        ),
    }
    .context("reading cosignatures")?;
    let mut out: Vec<StoredCheckpoint> = rows
        .iter()
        .map(|r| StoredCheckpoint {
            size: r.get::<_, i64>(0) as u64,
            note: r.get(1),
            cosignatures: Vec::new(),
        })
        .collect();
    for l in lines {
        let size = l.get::<_, i64>(0) as u64;
        if let Ok(i) = out.binary_search_by_key(&size, |c| c.size) {
            out[i].cosignatures.push((l.get(1), l.get(2)));
        }
    }
    Ok(out)
}

/// How many cosignatures are stored for no stored checkpoint.
pub fn orphan_cosignatures(client: &mut Client) -> Result<u64, StoreError> {
    client
        .query_one(
            "SELECT COUNT(*) FROM cosignatures
             WHERE size NOT IN (SELECT size FROM checkpoints)",
            &[],
        )
        .map(|r| r.get::<_, i64>(0) as u64)
        .context("counting cosignatures of no checkpoint")
}

pub fn entry_types(
    client: &mut Client,
    from: u64,
    limit: u64,
) -> Result<Vec<(u64, String)>, StoreError> {
    Ok(client
        .query(
            "SELECT idx, type FROM entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[&clamp(from), &clamp(limit)],
        )
        .context("reading entry types")?
        .into_iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
        .collect())
}

pub fn tree_hash_page(
    client: &mut Client,
    from: u64,
    limit: u64,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    client
        .query(
            "SELECT idx, hash FROM tree_hashes WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[&clamp(from), &clamp(limit)],
        )
        .context("reading tree hashes")?
        .into_iter()
        .map(|r| {
            let i: i64 = r.get(0);
            Ok((i as u64, hash_of(r.get(1), &format!("tree hash {i}"))?))
        })
        .collect()
}

pub fn observation_rows(
    client: &mut Client,
    after: u64,
    limit: u64,
) -> Result<Vec<ObservationRow>, StoreError> {
    Ok(client
        .query(
            "SELECT id, entry, incident_id, kind, observed_ns, client_id, content_hash
             FROM observations WHERE id > $1 ORDER BY id LIMIT $2",
            &[&clamp(after), &clamp(limit)],
        )
        .context("reading observation rows")?
        .iter()
        .map(|r| ObservationRow {
            id: r.get::<_, i64>(0) as u64,
            entry: r.get::<_, i64>(1) as u64,
            incident_id: r.get::<_, i64>(2) as u64,
            kind: r.get(3),
            observed_ns: r.get(4),
            client_id: r.get(5),
            content_hash: r.get(6),
        })
        .collect())
}

pub fn incident_rows(
    client: &mut Client,
    after: u64,
    limit: u64,
) -> Result<Vec<IncidentRow>, StoreError> {
    Ok(client
        .query(
            "SELECT id, revision, entry, kind, status, side, clauses, first_seen_ns,
                    last_seen_ns, lat, lon
             FROM incidents WHERE id > $1 ORDER BY id LIMIT $2",
            &[&clamp(after), &clamp(limit)],
        )
        .context("reading incident rows")?
        .iter()
        .map(|r| IncidentRow {
            id: r.get::<_, i64>(0) as u64,
            revision: r.get::<_, i64>(1) as u32,
            entry: r.get::<_, i64>(2) as u64,
            kind: r.get(3),
            status: r.get(4),
            side: r.get(5),
            clauses: r.get(6),
            first_seen_ns: r.get(7),
            last_seen_ns: r.get(8),
            lat: r.get(9),
            lon: r.get(10),
        })
        .collect())
}

pub fn agreement_versions(client: &mut Client) -> Result<Vec<AgreementVersion>, StoreError> {
    Ok(client
        .query(
            "SELECT a.version, a.entry, b.bytes FROM agreements a
             LEFT JOIN blobs b ON b.sha256 = a.sha256 ORDER BY a.version",
            &[],
        )
        .context("reading agreement versions")?
        .iter()
        .map(|r| AgreementVersion {
            version: r.get::<_, i64>(0) as u32,
            entry: r.get::<_, i64>(1) as u64,
            document: r.get::<_, Option<Vec<u8>>>(2).unwrap_or_default(),
        })
        .collect())
}

/// Members selected by `clause` (a `WHERE … ORDER BY …` naming `$1` when `arg` is given).
fn members_where(
    client: &mut Client,
    clause: &str,
    arg: Option<&str>,
) -> Result<Vec<Member>, StoreError> {
    let sql =
        format!("SELECT username, monitor, role, active, token_hash, entry FROM members {clause}");
    let rows = match arg {
        Some(a) => client.query(&sql, &[&a]),
        None => client.query(&sql, &[]),
    }
    .context("reading members")?;
    rows.iter()
        .map(|r| {
            let user: String = r.get(0);
            let role: String = r.get(2);
            let role = Role::from_name(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("member {user}: role {role:?}")))?;
            Ok(Member {
                user,
                monitor: r.get(1),
                role,
                active: r.get(3),
                token_hash: r.get(4),
                entry: r.get::<_, i64>(5) as u64,
            })
        })
        .collect()
}

pub fn member(client: &mut Client, user: &str) -> Result<Option<Member>, StoreError> {
    Ok(members_where(client, "WHERE username = $1", Some(user))?
        .into_iter()
        .next())
}

pub fn members(client: &mut Client, monitor: Option<&str>) -> Result<Vec<Member>, StoreError> {
    match monitor {
        Some(m) => members_where(
            client,
            "WHERE monitor = $1 ORDER BY username COLLATE \"C\"",
            Some(m),
        ),
        None => members_where(client, "ORDER BY username COLLATE \"C\"", None),
    }
}

pub fn annotation_rows(
    client: &mut Client,
    after: i64,
    limit: u64,
) -> Result<Vec<crate::model::AnnotationRow>, StoreError> {
    Ok(client
        .query(
            "SELECT entry, incident_id, username, text, corrected_kind, at_ns
             FROM annotations WHERE entry > $1 ORDER BY entry LIMIT $2",
            &[&after, &clamp(limit)],
        )
        .context("reading annotations")?
        .iter()
        .map(|r| crate::model::AnnotationRow {
            entry: r.get::<_, i64>(0) as u64,
            incident_id: r.get::<_, i64>(1) as u64,
            user: r.get(2),
            text: r.get(3),
            corrected_kind: r.get(4),
            at_ns: r.get(5),
        })
        .collect())
}

pub fn assessment_rows(
    client: &mut Client,
    after: i64,
    limit: u64,
) -> Result<Vec<AssessmentRow>, StoreError> {
    Ok(client
        .query(
            "SELECT entry, incident_id, monitor, verdict, reason, username, at_ns
             FROM assessments WHERE entry > $1 ORDER BY entry LIMIT $2",
            &[&after, &clamp(limit)],
        )
        .context("reading assessments")?
        .iter()
        .map(|r| AssessmentRow {
            entry: r.get::<_, i64>(0) as u64,
            incident_id: r.get::<_, i64>(1) as u64,
            monitor: r.get(2),
            verdict: r.get(3),
            reason: r.get(4),
            user: r.get(5),
            at_ns: r.get(6),
        })
        .collect())
}

pub fn track_rows(
    client: &mut Client,
    after: i64,
    since_ns: i64,
    until_ns: i64,
    limit: u64,
) -> Result<Vec<TrackRow>, StoreError> {
    Ok(client
        .query(
            "SELECT entry, monitor, device, callsign, platform, at_ns, lat, lon FROM tracks
             WHERE entry > $1 AND at_ns >= $2 AND at_ns < $3 ORDER BY entry LIMIT $4",
            &[&after, &since_ns, &until_ns, &clamp(limit)],
        )
        .context("reading tracks")?
        .iter()
        .map(|r| TrackRow {
            entry: r.get::<_, i64>(0) as u64,
            monitor: r.get(1),
            device: r.get(2),
            callsign: r.get(3),
            platform: r.get(4),
            at_ns: r.get(5),
            lat: r.get(6),
            lon: r.get(7),
        })
        .collect())
}

pub fn evidence_rows(
    client: &mut Client,
    sha256: Option<&str>,
    after: i64,
    limit: u64,
) -> Result<Vec<EvidenceRow>, StoreError> {
    Ok(client
        .query(
            "SELECT entry, sha256, size, media_type, username, monitor, received_ns
             FROM evidence WHERE entry > $1 AND ($2::text IS NULL OR sha256 = $2)
             ORDER BY entry LIMIT $3",
            &[&after, &sha256, &clamp(limit)],
        )
        .context("reading evidence")?
        .iter()
        .map(|r| EvidenceRow {
            entry: r.get::<_, i64>(0) as u64,
            sha256: r.get(1),
            size: r.get::<_, i64>(2) as u64,
            media_type: r.get(3),
            user: r.get(4),
            monitor: r.get(5),
            received_ns: r.get(6),
        })
        .collect())
}

pub fn corrected_kinds(client: &mut Client) -> Result<Vec<(IncidentId, Kind)>, StoreError> {
    client
        .query(
            "SELECT incident_id, corrected_kind FROM annotations
             WHERE corrected_kind IS NOT NULL ORDER BY entry",
            &[],
        )
        .context("reading kind corrections")?
        .iter()
        .map(|r| {
            let kind: String = r.get(1);
            let kind = Kind::from_name(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("annotation kind {kind:?}")))?;
            Ok((IncidentId(r.get::<_, i64>(0) as u64), kind))
        })
        .collect()
}
