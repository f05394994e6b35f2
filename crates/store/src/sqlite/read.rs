//! Queries. Each runs on whichever connection it is given (a pooled reader, or the writer when
//! the sequencer must see its own latest commit).

use crate::assemble::{
    NoteRow, Parts, VerdictRow, clamp, decode_estimate, decode_observation, hash_of, nanos,
};
use crate::error::{Context, StoreError};
use crate::model::{
    AssessmentRow, ClientRecord, EvidenceRow, IncidentFilter, Member, StoredEntry,
    StoredObservation, TrackRow,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use truce_core::access::Role;
use truce_core::agreement::AgreementDoc;
use truce_core::entry::Hash;
use truce_core::incident::IncidentEstimate;
use truce_core::{Incident, IncidentId, Kind, ObservationId};
use uuid::Uuid;

pub fn client_records(conn: &Connection, ids: &[Uuid]) -> Result<Vec<ClientRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One statement for the whole batch (the ids as a JSON array of hex strings), each id an
    // index probe: a thousand separate lookups cost more in binding and stepping than in
    // searching.
    let mut list = String::with_capacity(ids.len() * 35 + 2);
    list.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push('"');
        list.push_str(id.simple().encode_lower(&mut Uuid::encode_buffer()));
        list.push('"');
    }
    list.push(']');
    let mut stmt = conn
        .prepare_cached(
            "SELECT client_id, id, incident_id, content_hash FROM observations
             WHERE client_id IN (SELECT unhex(value) FROM json_each(?1))",
        )
        .context("preparing the client id lookup")?;
    let rows = stmt
        .query_map(params![list], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })
        .context("looking up client ids")?;
    let mut found = std::collections::HashMap::new();
    for row in rows {
        let (client, obs, incident, hash) = row.context("looking up client ids")?;
        found.insert(client, (obs, incident, hash));
    }
    // In the order asked (an id asked twice answered twice), as one lookup per id would.
    let mut out = Vec::new();
    for id in ids {
        if let Some((obs, incident, hash)) = found.get(id.as_bytes().as_slice()) {
            out.push(ClientRecord {
                client_id: *id,
                content_hash: hash_of(hash.clone(), "a content hash")?,
                observation_id: ObservationId(*obs as u64),
                incident_id: IncidentId(*incident as u64),
            });
        }
    }
    Ok(out)
}

pub fn observation(
    conn: &Connection,
    id: ObservationId,
) -> Result<Option<StoredObservation>, StoreError> {
    let row: Option<(i64, i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT o.entry, o.incident_id, e.body FROM observations o
             JOIN entries e ON e.idx = o.entry WHERE o.id = ?1",
        )
        .context("preparing the observation query")?
        .query_row(params![id.0 as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .context("reading an observation")?;
    let Some((entry, incident, body)) = row else {
        return Ok(None);
    };
    decode_observation(id.0 as i64, entry, incident, &body).map(Some)
}

/// (observation id, incident) of incidents `lo..=hi`, in id order.
fn observation_ids_in(conn: &Connection, lo: i64, hi: i64) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, incident_id FROM observations WHERE incident_id BETWEEN ?1 AND ?2 ORDER BY id",
        )
        .context("preparing the incidents' observations query")?;
    stmt.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("reading incidents' observations")?
        .collect::<Result<_, _>>()
        .context("reading incidents' observations")
}

fn build_incident(
    conn: &Connection,
    id: i64,
    revision: u32,
    entry: &[u8],
) -> Result<Incident, StoreError> {
    read_parts(conn, id, id)?.assemble(id, revision, entry)
}

/// The parts of incidents `lo..=hi` in four queries.
fn read_parts(conn: &Connection, lo: i64, hi: i64) -> Result<Parts, StoreError> {
    Parts::from_rows(
        observation_ids_in(conn, lo, hi)?,
        assessments_in(conn, lo, hi)?,
        annotations_in(conn, lo, hi)?,
        statuses_in(conn, lo, hi)?,
    )
}

/// Every verdict on incidents `lo..=hi`, in entry order.
fn assessments_in(conn: &Connection, lo: i64, hi: i64) -> Result<Vec<VerdictRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT incident_id, entry, monitor, verdict, reason, user, at_ns FROM assessments
             WHERE incident_id BETWEEN ?1 AND ?2 ORDER BY entry",
        )
        .context("reading assessments")?;
    stmt.query_map(params![lo, hi], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .context("reading assessments")?
    .collect::<Result<_, _>>()
    .context("reading assessments")
}

/// The status the incidents table holds for incidents `lo..=hi` (it counts the verdicts).
fn statuses_in(conn: &Connection, lo: i64, hi: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, status FROM incidents WHERE id BETWEEN ?1 AND ?2")
        .context("reading incidents' statuses")?;
    stmt.query_map(params![lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("reading incidents' statuses")?
        .collect::<Result<_, _>>()
        .context("reading incidents' statuses")
}

/// Analysts' notes on incidents `lo..=hi`, in entry order.
fn annotations_in(conn: &Connection, lo: i64, hi: i64) -> Result<Vec<NoteRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT incident_id, entry, user, text, corrected_kind, at_ns FROM annotations
             WHERE incident_id BETWEEN ?1 AND ?2 ORDER BY entry",
        )
        .context("reading annotations")?;
    stmt.query_map(params![lo, hi], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .context("reading annotations")?
    .collect::<Result<_, _>>()
    .context("reading annotations")
}

/// One member by name.
pub fn member(conn: &Connection, user: &str) -> Result<Option<Member>, StoreError> {
    Ok(members_where(conn, "WHERE user = ?1", &[&user])?
        .into_iter()
        .next())
}

/// Members, of one monitor or all.
pub fn members(conn: &Connection, monitor: Option<&str>) -> Result<Vec<Member>, StoreError> {
    match monitor {
        Some(m) => members_where(conn, "WHERE monitor = ?1 ORDER BY user", &[&m]),
        None => members_where(conn, "ORDER BY user", &[]),
    }
}

fn members_where(
    conn: &Connection,
    clause: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Member>, StoreError> {
    let sql =
        format!("SELECT user, monitor, role, active, token_hash, entry FROM members {clause}");
    let mut stmt = conn.prepare_cached(&sql).context("reading members")?;
    let rows = stmt
        .query_map(args, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .context("reading members")?;
    let mut out = Vec::new();
    for row in rows {
        let (user, monitor, role, active, token_hash, entry) = row.context("reading members")?;
        let role = Role::from_name(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("member {user}: role {role:?}")))?;
        out.push(Member {
            user,
            monitor,
            role,
            active,
            token_hash,
            entry: entry as u64,
        });
    }
    Ok(out)
}

/// Every `annotations` row after entry `after`, in entry order, at most `limit`.
pub fn annotation_rows(
    conn: &Connection,
    after: i64,
    limit: u64,
) -> Result<Vec<crate::model::AnnotationRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT entry, incident_id, user, text, corrected_kind, at_ns FROM annotations
             WHERE entry > ?1 ORDER BY entry LIMIT ?2",
        )
        .context("reading annotations")?;
    stmt.query_map(params![after, clamp(limit)], |r| {
        Ok(crate::model::AnnotationRow {
            entry: r.get::<_, i64>(0)? as u64,
            incident_id: r.get::<_, i64>(1)? as u64,
            user: r.get(2)?,
            text: r.get(3)?,
            corrected_kind: r.get(4)?,
            at_ns: r.get(5)?,
        })
    })
    .context("reading annotations")?
    .collect::<Result<_, _>>()
    .context("reading annotations")
}

/// Every `assessments` row after entry `after`, in entry order, at most `limit`.
pub fn assessment_rows(
    conn: &Connection,
    after: i64,
    limit: u64,
) -> Result<Vec<AssessmentRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT entry, incident_id, monitor, verdict, reason, user, at_ns FROM assessments
             WHERE entry > ?1 ORDER BY entry LIMIT ?2",
        )
        .context("reading assessments")?;
    let rows = stmt
        .query_map(params![after, limit as i64], |r| {
            Ok(AssessmentRow {
                entry: r.get::<_, i64>(0)? as u64,
                incident_id: r.get::<_, i64>(1)? as u64,
                monitor: r.get(2)?,
                verdict: r.get(3)?,
                reason: r.get(4)?,
                user: r.get(5)?,
                at_ns: r.get(6)?,
            })
        })
        .context("reading assessments")?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("reading assessments")
}

/// `evidence` rows with entry > `after` and, when `sha256` is given, that hash; in entry
/// order, at most `limit`.
pub fn evidence_rows(
    conn: &Connection,
    sha256: Option<&str>,
    after: i64,
    limit: u64,
) -> Result<Vec<EvidenceRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT entry, sha256, size, media_type, user, monitor, received_ns FROM evidence
             WHERE entry > ?1 AND (?2 IS NULL OR sha256 = ?2) ORDER BY entry LIMIT ?3",
        )
        .context("reading evidence")?;
    let rows = stmt
        .query_map(params![after, sha256, limit as i64], |r| {
            Ok(EvidenceRow {
                entry: r.get::<_, i64>(0)? as u64,
                sha256: r.get(1)?,
                size: r.get::<_, i64>(2)? as u64,
                media_type: r.get(3)?,
                user: r.get(4)?,
                monitor: r.get(5)?,
                received_ns: r.get(6)?,
            })
        })
        .context("reading evidence")?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("reading evidence")
}

/// `tracks` rows with `since_ns <= at_ns < until_ns` and entry > `after`, in entry order, at
/// most `limit`.
pub fn track_rows(
    conn: &Connection,
    after: i64,
    since_ns: i64,
    until_ns: i64,
    limit: u64,
) -> Result<Vec<TrackRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT entry, monitor, device, callsign, platform, at_ns, lat, lon FROM tracks
             WHERE entry > ?1 AND at_ns >= ?2 AND at_ns < ?3 ORDER BY entry LIMIT ?4",
        )
        .context("reading tracks")?;
    let rows = stmt
        .query_map(params![after, since_ns, until_ns, limit as i64], |r| {
            Ok(TrackRow {
                entry: r.get::<_, i64>(0)? as u64,
                monitor: r.get(1)?,
                device: r.get(2)?,
                callsign: r.get(3)?,
                platform: r.get(4)?,
                at_ns: r.get(5)?,
                lat: r.get(6)?,
                lon: r.get(7)?,
            })
        })
        .context("reading tracks")?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("reading tracks")
}

pub fn incident(conn: &Connection, id: IncidentId) -> Result<Option<Incident>, StoreError> {
    let row: Option<(u32, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry
             WHERE i.id = ?1",
        )
        .context("preparing the incident query")?
        .query_row(params![id.0 as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .context("reading an incident")?;
    row.map(|(rev, json)| build_incident(conn, id.0 as i64, rev, &json))
        .transpose()
}

/// The query's `SELECT … WHERE …` for filter `f`, and its arguments (without order or limit).
fn incident_query(f: &IncidentFilter) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT i.id, i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry WHERE 1=1",
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some([w, s, e, n]) = f.bbox {
        sql.push_str(" AND lat BETWEEN ? AND ?");
        args.extend([Value::Real(s), Value::Real(n)]);
        if w <= e {
            sql.push_str(" AND lon BETWEEN ? AND ?");
            args.extend([Value::Real(w), Value::Real(e)]);
        } else {
            // A box across the antimeridian.
            sql.push_str(" AND (lon >= ? OR lon <= ?)");
            args.extend([Value::Real(w), Value::Real(e)]);
        }
    }
    if let Some(since) = f.since {
        sql.push_str(" AND last_seen_ns >= ?");
        args.push(Value::Integer(nanos(since)));
    }
    if let Some(until) = f.until {
        sql.push_str(" AND first_seen_ns <= ?");
        args.push(Value::Integer(nanos(until)));
    }
    if let Some(kind) = f.kind {
        sql.push_str(" AND kind = ?");
        args.push(Value::Text(kind.as_str().into()));
    }
    if let Some(status) = f.status {
        sql.push_str(" AND status = ?");
        args.push(Value::Text(status.as_str().into()));
    } else {
        // A merged incident lives on in the one it was folded into; list it only when asked.
        sql.push_str(" AND status != 'merged'");
    }
    if let Some(clause) = &f.clause {
        sql.push_str(" AND instr(clauses, ?) > 0");
        args.push(Value::Text(format!(",{clause},")));
    }
    if let Some(side) = &f.side {
        sql.push_str(" AND side = ?");
        args.push(Value::Text(side.clone()));
    }
    (sql, args)
}

pub fn incidents(conn: &Connection, f: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
    let (mut sql, mut args) = incident_query(f);
    let limit = f.limit.unwrap_or(1000).min(IncidentFilter::MAX_LIMIT);
    sql.push_str(" ORDER BY last_seen_ns DESC, id DESC LIMIT ?");
    args.push(Value::Integer(limit.into()));
    fetch_incidents(conn, &sql, args)
}

/// Incidents matching `f` (its limit aside) with id > `after`, in id order, at most `limit`.
pub fn incidents_by_id(
    conn: &Connection,
    f: &IncidentFilter,
    after: u64,
    limit: u32,
) -> Result<Vec<Incident>, StoreError> {
    let (mut sql, mut args) = incident_query(f);
    sql.push_str(" AND i.id > ? ORDER BY i.id LIMIT ?");
    args.push(Value::Integer(clamp(after)));
    args.push(Value::Integer(limit.into()));
    let rows = incident_rows_of(conn, &sql, args)?;
    // In id order: the page's parts come in four range queries, not four per incident.
    let (Some(lo), Some(hi)) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0)) else {
        return Ok(Vec::new());
    };
    let mut parts = read_parts(conn, lo, hi)?;
    rows.into_iter()
        .map(|(id, rev, json)| parts.assemble(id, rev, &json))
        .collect()
}

/// The incidents an [`incident_query`] with its order and limit selects, built whole.
fn fetch_incidents(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
) -> Result<Vec<Incident>, StoreError> {
    incident_rows_of(conn, sql, args)?
        .into_iter()
        .map(|(id, rev, json)| build_incident(conn, id, rev, &json))
        .collect()
}

/// Id, revision and entry bytes of the incidents `sql` selects.
fn incident_rows_of(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
) -> Result<Vec<(i64, u32, Vec<u8>)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .context("preparing the incident list")?;
    stmt.query_map(params_from_iter(args), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
    .context("listing incidents")?
    .collect::<Result<_, _>>()
    .context("listing incidents")
}

/// Observations with id > `after`, in id order, at most `limit`.
pub fn observations_by_id(
    conn: &Connection,
    after: u64,
    limit: u32,
) -> Result<Vec<StoredObservation>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT o.id, o.entry, o.incident_id, e.body FROM observations o
             JOIN entries e ON e.idx = o.entry WHERE o.id > ?1 ORDER BY o.id LIMIT ?2",
        )
        .context("preparing the observation list")?;
    let rows: Vec<(i64, i64, i64, Vec<u8>)> = stmt
        .query_map(params![clamp(after), i64::from(limit)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .context("listing observations")?
        .collect::<Result<_, _>>()
        .context("listing observations")?;
    rows.into_iter()
        .map(|(id, entry, incident, body)| decode_observation(id, entry, incident, &body))
        .collect()
}

pub fn latest_estimates(
    conn: &Connection,
) -> Result<Vec<(IncidentId, u32, IncidentEstimate)>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT i.id, i.revision, e.body FROM incidents i JOIN entries e ON e.idx = i.entry
             ORDER BY i.id",
        )
        .context("preparing the estimates query")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .context("reading estimates")?;
    let mut out = Vec::new();
    for row in rows {
        let (id, rev, body) = row.context("reading estimates")?;
        out.push((IncidentId(id as u64), rev, decode_estimate(id, &body)?));
    }
    Ok(out)
}

pub fn agreement(conn: &Connection) -> Result<Option<(u32, AgreementDoc)>, StoreError> {
    let row: Option<(u32, Vec<u8>)> = conn
        .query_row(
            "SELECT a.version, b.bytes FROM agreements a JOIN blobs b ON b.sha256 = a.sha256
             ORDER BY a.version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("reading the agreement")?;
    row.map(|(version, bytes)| {
        serde_json::from_slice(&bytes)
            .map(|doc| (version, doc))
            .map_err(|e| StoreError::Corrupt(format!("agreement version {version}: {e}")))
    })
    .transpose()
}

fn bytes_of(v: rusqlite::types::ValueRef<'_>) -> Vec<u8> {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(f) => f.to_string().into_bytes(),
        ValueRef::Null => Vec::new(),
    }
}

pub fn entries(conn: &Connection, from: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError> {
    // Indexes are stored as i64: a start beyond that is past the end, not a negative number.
    if from > i64::MAX as u64 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT idx, body, chain FROM entries WHERE idx >= ?1 ORDER BY idx LIMIT ?2",
        )
        .context("preparing the entries query")?;
    let rows = stmt
        .query_map(
            params![from as i64, limit.min(i64::MAX as u64) as i64],
            // Bytes whatever the stored type: a value rewritten as TEXT by hand must reach the
            // chain check (and fail there, with its index), not a type error.
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    bytes_of(r.get_ref(1)?),
                    bytes_of(r.get_ref(2)?),
                ))
            },
        )
        .context("reading entries")?;
    let mut out = Vec::new();
    for row in rows {
        let (idx, bytes, chain) = row.context("reading entries")?;
        out.push(StoredEntry {
            index: idx as u64,
            bytes,
            chain: hash_of(chain, &format!("entry {idx}'s chain"))?,
        });
    }
    Ok(out)
}

pub fn max_ids(conn: &Connection) -> Result<(ObservationId, IncidentId), StoreError> {
    conn.query_row(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM observations),
                (SELECT COALESCE(MAX(id), 0) FROM incidents)",
        [],
        |r| {
            Ok((
                ObservationId(r.get::<_, i64>(0)? as u64),
                IncidentId(r.get::<_, i64>(1)? as u64),
            ))
        },
    )
    .context("reading the highest ids")
}

pub fn tree_hashes(conn: &Connection, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM tree_hashes WHERE idx = ?1")
        .context("preparing the tree hash query")?;
    indexes
        .iter()
        .map(|&i| {
            let bytes: Option<Vec<u8>> = stmt
                .query_row(params![i.min(i64::MAX as u64) as i64], |r| r.get(0))
                .optional()
                .context("reading a tree hash")?;
            let bytes =
                bytes.ok_or_else(|| StoreError::Corrupt(format!("tree hash {i} is missing")))?;
            hash_of(bytes, &format!("tree hash {i}"))
        })
        .collect()
}

fn cosignatures(conn: &Connection, size: u64) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT witness, line FROM cosignatures WHERE size = ?1 ORDER BY witness")
        .context("preparing the cosignature query")?;
    let rows = stmt
        .query_map(params![size as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("reading cosignatures")?;
    rows.collect::<Result<_, _>>()
        .context("reading cosignatures")
}

pub fn checkpoints(
    conn: &Connection,
    latest_only: bool,
) -> Result<Vec<crate::model::StoredCheckpoint>, StoreError> {
    let sql = if latest_only {
        "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
    } else {
        "SELECT size, note FROM checkpoints ORDER BY size"
    };
    let mut stmt = conn
        .prepare_cached(sql)
        .context("preparing the checkpoint query")?;
    let rows: Vec<(i64, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .context("reading checkpoints")?
        .collect::<Result<_, _>>()
        .context("reading checkpoints")?;
    rows.into_iter()
        .map(|(size, note)| {
            Ok(crate::model::StoredCheckpoint {
                size: size as u64,
                note,
                cosignatures: cosignatures(conn, size as u64)?,
            })
        })
        .collect()
}

/// The latest checkpoint cosigned by every one of `witnesses` (the latest when none).
pub fn agreed_checkpoint(
    conn: &Connection,
    witnesses: &[String],
) -> Result<Option<crate::model::StoredCheckpoint>, StoreError> {
    if witnesses.is_empty() {
        return Ok(checkpoints(conn, true)?.pop());
    }
    let names = serde_json::Value::from(witnesses.to_vec()).to_string();
    // Every witness cosigned it, so the lagging one (the smallest latest) did: walk down its
    // own cosignatures (index cosignatures_by_witness) to the first the others all have.
    let mut stmt = conn
        .prepare_cached(
            "WITH w(name) AS (SELECT DISTINCT value FROM json_each(?1)),
             tops AS (SELECT name, (SELECT MAX(size) FROM cosignatures s WHERE s.witness = w.name)
                        AS top FROM w),
             lag AS (SELECT name, top FROM tops ORDER BY top IS NOT NULL, top LIMIT 1)
             SELECT c.size FROM lag JOIN cosignatures c ON c.witness = lag.name AND c.size <= lag.top
             WHERE (SELECT COUNT(*) FROM cosignatures s
                    WHERE s.size = c.size AND s.witness IN (SELECT name FROM w)) =
                   (SELECT COUNT(*) FROM w)
             ORDER BY c.size DESC LIMIT 1",
        )
        .context("preparing the agreed checkpoint query")?;
    let size: Option<i64> = stmt
        .query_row(params![names], |r| r.get(0))
        .optional()
        .context("reading the agreed checkpoint")?;
    match size {
        Some(size) => checkpoint_of(conn, size as u64),
        None => Ok(None),
    }
}

/// The checkpoint of `size` with its cosignatures, if one is stored.
pub fn checkpoint_of(
    conn: &Connection,
    size: u64,
) -> Result<Option<crate::model::StoredCheckpoint>, StoreError> {
    let note: Option<Vec<u8>> = conn
        .query_row(
            "SELECT note FROM checkpoints WHERE size = ?1",
            params![size as i64],
            |r| r.get(0),
        )
        .optional()
        .context("reading a checkpoint")?;
    note.map(|note| {
        Ok(crate::model::StoredCheckpoint {
            size,
            note,
            cosignatures: cosignatures(conn, size)?,
        })
    })
    .transpose()
}

/// The size of the latest checkpoint `witness` cosigned.
pub fn latest_cosigned(conn: &Connection, witness: &str) -> Result<Option<u64>, StoreError> {
    conn.query_row(
        "SELECT MAX(size) FROM cosignatures WHERE witness = ?1",
        params![witness],
        |r| r.get::<_, Option<i64>>(0),
    )
    .map(|s| s.map(|s| s as u64))
    .context("reading a witness's latest cosignature")
}

/// How many cosignatures are stored for no stored checkpoint.
pub fn orphan_cosignatures(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row(
        "SELECT COUNT(*) FROM cosignatures
         WHERE size NOT IN (SELECT size FROM checkpoints)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .context("counting cosignatures of no checkpoint")
}

pub fn entry_types(
    conn: &Connection,
    from: u64,
    limit: u64,
) -> Result<Vec<(u64, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT idx, type FROM entries WHERE idx >= ?1 ORDER BY idx LIMIT ?2")
        .context("preparing the entry types page")?;
    let rows: Vec<(i64, String)> = stmt
        .query_map(params![clamp(from), clamp(limit)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .context("reading entry types")?
        .collect::<Result<_, _>>()
        .context("reading entry types")?;
    Ok(rows.into_iter().map(|(i, t)| (i as u64, t)).collect())
}

pub fn tree_hash_page(
    conn: &Connection,
    from: u64,
    limit: u64,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT idx, hash FROM tree_hashes WHERE idx >= ?1 ORDER BY idx LIMIT ?2")
        .context("preparing the tree hash page")?;
    let rows: Vec<(i64, Vec<u8>)> = stmt
        .query_map(params![clamp(from), clamp(limit)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .context("reading tree hashes")?
        .collect::<Result<_, _>>()
        .context("reading tree hashes")?;
    rows.into_iter()
        .map(|(i, h)| Ok((i as u64, hash_of(h, &format!("tree hash {i}"))?)))
        .collect()
}

pub fn observation_rows(
    conn: &Connection,
    after: u64,
    limit: u64,
) -> Result<Vec<crate::model::ObservationRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, entry, incident_id, kind, observed_ns, client_id, content_hash
             FROM observations WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .context("preparing the observation rows")?;
    let rows = stmt
        .query_map(params![clamp(after), clamp(limit)], |r| {
            Ok(crate::model::ObservationRow {
                id: r.get::<_, i64>(0)? as u64,
                entry: r.get::<_, i64>(1)? as u64,
                incident_id: r.get::<_, i64>(2)? as u64,
                kind: r.get(3)?,
                observed_ns: r.get(4)?,
                client_id: r.get(5)?,
                content_hash: r.get(6)?,
            })
        })
        .context("reading observation rows")?;
    rows.collect::<Result<_, _>>()
        .context("reading observation rows")
}

pub fn incident_rows(
    conn: &Connection,
    after: u64,
    limit: u64,
) -> Result<Vec<crate::model::IncidentRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, revision, entry, kind, status, side, clauses, first_seen_ns,
                    last_seen_ns, lat, lon
             FROM incidents WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .context("preparing the incident rows")?;
    let rows = stmt
        .query_map(params![clamp(after), clamp(limit)], |r| {
            Ok(crate::model::IncidentRow {
                id: r.get::<_, i64>(0)? as u64,
                revision: r.get(1)?,
                entry: r.get::<_, i64>(2)? as u64,
                kind: r.get(3)?,
                status: r.get(4)?,
                side: r.get(5)?,
                clauses: r.get(6)?,
                first_seen_ns: r.get(7)?,
                last_seen_ns: r.get(8)?,
                lat: r.get(9)?,
                lon: r.get(10)?,
            })
        })
        .context("reading incident rows")?;
    rows.collect::<Result<_, _>>()
        .context("reading incident rows")
}

pub fn agreement_versions(
    conn: &Connection,
) -> Result<Vec<crate::model::AgreementVersion>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT a.version, a.entry, b.bytes FROM agreements a
             LEFT JOIN blobs b ON b.sha256 = a.sha256 ORDER BY a.version",
        )
        .context("preparing the agreement versions")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(crate::model::AgreementVersion {
                version: r.get(0)?,
                entry: r.get::<_, i64>(1)? as u64,
                document: r.get::<_, Option<Vec<u8>>>(2)?.unwrap_or_default(),
            })
        })
        .context("reading agreement versions")?;
    rows.collect::<Result<_, _>>()
        .context("reading agreement versions")
}

/// Every kind correction, in entry order.
pub fn corrected_kinds(conn: &Connection) -> Result<Vec<(IncidentId, Kind)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT incident_id, corrected_kind FROM annotations
             WHERE corrected_kind IS NOT NULL ORDER BY entry",
        )
        .context("reading kind corrections")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .context("reading kind corrections")?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind) = row.context("reading kind corrections")?;
        let kind = Kind::from_name(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("annotation kind {kind:?}")))?;
        out.push((IncidentId(id as u64), kind));
    }
    Ok(out)
}
