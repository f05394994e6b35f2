//! The append path on PostgreSQL: entries chained, tree hashes and projections written in one
//! transaction that first locks the head row and checks the sequencer's epoch.
//!
//! Rows are sent in bulk (`INSERT … SELECT FROM unnest(…)`, one statement per table per batch)
//! rather than one round trip per row. Statements that depend on earlier rows of the same batch
//! (moving observations, a verdict's status, a corrected kind) first flush what is pending, so
//! the outcome is exactly that of applying the entries one by one.

use super::geometry::ellipse_wkt;
use crate::assemble::{clamp, hash_of};
use crate::error::{Context, StoreError};
use crate::model::{AppendBatch, AppendReceipt, Head, IncidentRow, IntakeSettle, Projection};
use postgres::{Client, Transaction};
use std::collections::HashMap;
use truce_core::Timestamp;
use truce_core::entry::{MAX_ENTRY_BYTES, chain_hash, leaf_hash, sha256};
use truce_ledger::Hash as LedgerHash;
use truce_ledger::tree::{Frontier, frontier_indexes};

/// The connection that appends, the head it last committed, the tree's frontier there, and the
/// epoch it sequences under.
pub struct Writer {
    client: Client,
    head: Head,
    frontier: Frontier,
    epoch: i64,
}

/// Rows of one batch not yet sent.
#[derive(Default)]
struct Pending {
    entry_idx: Vec<i64>,
    entry_type: Vec<&'static str>,
    entry_body: Vec<Vec<u8>>,
    entry_chain: Vec<Vec<u8>>,
    hash_idx: Vec<i64>,
    hash: Vec<Vec<u8>>,
    observations: Observations,
    incidents: Incidents,
}

#[derive(Default)]
struct Observations {
    id: Vec<i64>,
    entry: Vec<i64>,
    incident: Vec<i64>,
    kind: Vec<&'static str>,
    observed_ns: Vec<i64>,
    client_id: Vec<Option<Vec<u8>>>,
    content_hash: Vec<Option<Vec<u8>>>,
}

/// Incident rows to upsert; a later revision of the same incident in one batch replaces the
/// earlier one (an upsert of both gives the same final row).
#[derive(Default)]
struct Incidents {
    at: HashMap<u64, usize>,
    rows: Vec<(IncidentRow, Option<String>)>,
}

impl Incidents {
    fn push(&mut self, row: IncidentRow, ellipse: Option<String>) {
        match self.at.get(&row.id) {
            Some(&i) => self.rows[i] = (row, ellipse),
            None => {
                self.at.insert(row.id, self.rows.len());
                self.rows.push((row, ellipse));
            }
        }
    }
}

/// Reads the frontier for a record of `size` entries from the stored hashes.
fn load_frontier(client: &mut Client, size: u64) -> Result<Frontier, StoreError> {
    let indexes: Vec<i64> = frontier_indexes(size).into_iter().map(clamp).collect();
    let hashes = super::read::tree_hashes(client, &indexes)?;
    Frontier::from_roots(size, hashes.into_iter().map(LedgerHash).collect()).ok_or_else(|| {
        StoreError::Corrupt(format!("the tree's frontier at size {size} is incomplete"))
    })
}

/// The head row as stored: (size, chain, root, epoch).
fn read_head(tx: &mut Transaction<'_>, lock: &str) -> Result<(Head, i64), StoreError> {
    let row = tx
        .query_one(
            &format!("SELECT size, chain, root, epoch FROM log_head WHERE id = 1 {lock}"),
            &[],
        )
        .context("reading the record's head")?;
    let size: i64 = row.get(0);
    Ok((
        Head {
            size: size as u64,
            chain: hash_of(row.get(1), "the head's chain")?,
            root: hash_of(row.get(2), "the head's root")?,
        },
        row.get(3),
    ))
}

/// Reads the head row (locked as `lock` says) and checks that no other sequencer moved it since
/// this one, at `epoch`, left it at `current`.
fn check_fence(
    tx: &mut Transaction<'_>,
    lock: &str,
    epoch: i64,
    current: Head,
) -> Result<Head, StoreError> {
    let (stored, stored_epoch) = read_head(tx, lock)?;
    if stored_epoch != epoch || stored.size != current.size || stored.chain != current.chain {
        return Err(StoreError::Fenced(format!(
            "this sequencer's epoch is {epoch} at size {}; the store's head is epoch \
             {stored_epoch} at size {}",
            current.size, stored.size
        )));
    }
    Ok(stored)
}

impl Writer {
    /// Takes the sequencer's role on `client`: increments the epoch (fencing out any earlier
    /// sequencer) and loads the head and frontier.
    pub fn take_over(mut client: Client) -> Result<Self, StoreError> {
        let mut tx = client.transaction().context("starting to sequence")?;
        let (head, _) = read_head(&mut tx, "FOR UPDATE")?;
        let epoch: i64 = tx
            .query_one(
                "UPDATE log_head SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch",
                &[],
            )
            .context("starting a new epoch")?
            .get(0);
        tx.commit().context("starting a new epoch")?;
        let frontier = load_frontier(&mut client, head.size)?;
        if frontier.root().0 != head.root {
            return Err(StoreError::Corrupt(format!(
                "the head row's root at size {} is not the root of the stored tree",
                head.size
            )));
        }
        Ok(Self {
            client,
            head,
            frontier,
            epoch,
        })
    }

    /// Carries on over `client` after the last connection was lost (the database restarted, or
    /// the session was ended), first reading the head row again:
    /// - another sequencer's epoch there: [`StoreError::Fenced`] (it took over; this one must
    ///   not append);
    /// - this epoch but another head: the lost connection's last commit went through unseen.
    ///   Only this writer appends under its epoch, so the head is its own: it is reloaded, and
    ///   [`StoreError::Moved`] tells the caller to rebuild what it derived from the record;
    /// - otherwise nothing changed, and appends go on.
    pub fn reconnect(&mut self, client: Client) -> Result<(), StoreError> {
        self.client = client;
        let mut tx = self
            .client
            .transaction()
            .context("reading the head again")?;
        let (stored, epoch) = read_head(&mut tx, "")?;
        tx.commit().context("reading the head again")?;
        if epoch != self.epoch {
            return Err(StoreError::Fenced(format!(
                "while the connection was lost, epoch {epoch} began (this sequencer's is {})",
                self.epoch
            )));
        }
        if stored != self.head {
            let frontier = load_frontier(&mut self.client, stored.size)?;
            let was = self.head.size;
            self.head = stored;
            self.frontier = frontier;
            return Err(StoreError::Moved(format!(
                "the last append before the connection was lost was committed after all \
                 (the record has {} entries, not {was}); nothing of this request was recorded",
                stored.size
            )));
        }
        Ok(())
    }

    /// The connection, for reads that must see this writer's latest commit.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The head as of the last commit.
    pub fn head(&self) -> Head {
        self.head
    }

    /// Appends every entry of `batch` and its projection, or nothing.
    pub fn append(
        &mut self,
        batch: &AppendBatch,
        settle: Option<&IntakeSettle>,
    ) -> Result<AppendReceipt, StoreError> {
        for entry in &batch.entries {
            if entry.bytes.len() > MAX_ENTRY_BYTES {
                return Err(StoreError::Corrupt(format!(
                    "entry of {} bytes exceeds {MAX_ENTRY_BYTES}",
                    entry.bytes.len()
                )));
            }
        }
        let first_index = self.head.size;
        let mut head = self.head;
        let mut frontier = self.frontier.clone();
        let epoch = self.epoch;
        let current = self.head;
        let mut tx = self.client.transaction().context("starting an append")?;
        check_fence(&mut tx, "FOR UPDATE", epoch, current)?;
        let mut p = Pending::default();
        for entry in &batch.entries {
            let idx = head.size;
            let chain = chain_hash(&head.chain, &leaf_hash(&entry.bytes));
            p.entry_idx.push(clamp(idx));
            p.entry_type.push(entry.type_name);
            p.entry_body.push(entry.bytes.clone());
            p.entry_chain.push(chain.to_vec());
            for (hash_index, hash) in frontier.append(&entry.bytes) {
                p.hash_idx.push(clamp(hash_index));
                p.hash.push(hash.0.to_vec());
            }
            project(&mut tx, &mut p, idx, &entry.projection)?;
            head = Head {
                size: idx + 1,
                chain,
                root: head.root,
            };
        }
        head.root = frontier.root().0;
        flush_entries(&mut tx, &mut p)?;
        flush_observations(&mut tx, &mut p.observations)?;
        flush_incidents(&mut tx, &mut p.incidents)?;
        tx.execute(
            "UPDATE log_head SET size = $1, chain = $2, root = $3 WHERE id = 1 AND epoch = $4",
            &[
                &clamp(head.size),
                &head.chain.to_vec(),
                &head.root.to_vec(),
                &epoch,
            ],
        )
        .context("advancing the record's head")?;
        if let Some(s) = settle {
            settle_in(&mut tx, s)?;
        }
        tx.commit().context("committing an append")?;
        self.head = head;
        self.frontier = frontier;
        Ok(AppendReceipt { first_index, head })
    }

    /// Records a signed checkpoint, if this writer still sequences and the record has at least
    /// `size` entries; a second one for the same size is refused by the key.
    pub fn add_checkpoint(&mut self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        let current = self.head;
        let epoch = self.epoch;
        let mut tx = self
            .client
            .transaction()
            .context("starting to record a checkpoint")?;
        let stored = check_fence(&mut tx, "FOR SHARE", epoch, current)?;
        if size > stored.size {
            return Err(StoreError::Corrupt(format!(
                "a checkpoint for {size} entries, but the record has {}",
                stored.size
            )));
        }
        tx.execute(
            "INSERT INTO checkpoints (size, note) VALUES ($1, $2)",
            &[&clamp(size), &note],
        )
        .context("recording a checkpoint")?;
        tx.commit().context("recording a checkpoint")
    }

    /// Records intake item `s.id`'s answer when no entries come with it, if this writer still
    /// sequences and the item has no answer yet.
    pub fn settle(&mut self, s: &IntakeSettle) -> Result<(), StoreError> {
        let (epoch, current) = (self.epoch, self.head);
        let mut tx = self
            .client
            .transaction()
            .context("answering an intake item")?;
        check_fence(&mut tx, "FOR SHARE", epoch, current)?;
        settle_in(&mut tx, s)?;
        tx.commit().context("answering an intake item")
    }

    /// Checks the fence without changing anything: whether this writer still sequences.
    pub fn still_sequencing(&mut self) -> Result<(), StoreError> {
        let (epoch, current) = (self.epoch, self.head);
        let mut tx = self.client.transaction().context("checking the fence")?;
        check_fence(&mut tx, "", epoch, current)?;
        Ok(())
    }
}

/// Writes (or queues) what entry `idx` projects.
fn project(
    tx: &mut Transaction<'_>,
    p: &mut Pending,
    idx: u64,
    projection: &Projection,
) -> Result<(), StoreError> {
    let entry = clamp(idx);
    match projection {
        Projection::Observation {
            id,
            client,
            incident_id,
            kind,
            observed_at,
        } => {
            let o = &mut p.observations;
            o.id.push(clamp(id.0));
            o.entry.push(entry);
            o.incident.push(clamp(incident_id.0));
            o.kind.push(kind.as_str());
            o.observed_ns.push(observed_at.unix_nanos() as i64);
            o.client_id.push(client.map(|(c, _)| c.as_bytes().to_vec()));
            o.content_hash.push(client.map(|(_, h)| h.to_vec()));
        }
        Projection::Incident {
            id,
            revision,
            estimate,
            moved,
        } => {
            if !moved.is_empty() {
                // An observation belongs to the incident that added it last.
                flush_observations(tx, &mut p.observations)?;
                let ids: Vec<i64> = moved.iter().map(|o| clamp(o.0)).collect();
                tx.execute(
                    "UPDATE observations SET incident_id = $1 WHERE id = ANY($2)",
                    &[&clamp(id.0), &ids],
                )
                .context("moving an observation to its new incident")?;
            }
            let row = IncidentRow::from_estimate(id.0, *revision, idx, estimate);
            let ellipse = match (&estimate.position, &estimate.ellipse_95) {
                (Some(at), Some(e)) => ellipse_wkt(at.lat, at.lon, e),
                _ => None,
            };
            p.incidents.push(row, ellipse);
        }
        Projection::Membership {
            user,
            monitor,
            role,
            active,
            token_hash,
        } => {
            tx.execute(
                "INSERT INTO members (username, monitor, role, active, token_hash, entry)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (username) DO UPDATE SET monitor = $2, role = $3, active = $4,
                   token_hash = $5, entry = $6",
                &[user, monitor, &role.as_str(), active, token_hash, &entry],
            )
            .context("storing a member")?;
        }
        Projection::Assessment {
            incident_id,
            monitor,
            verdict,
            reason,
            user,
            at,
            status,
        } => {
            flush_incidents(tx, &mut p.incidents)?;
            tx.execute(
                "INSERT INTO assessments
                   (entry, incident_id, monitor, verdict, reason, username, at_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &entry,
                    &clamp(incident_id.0),
                    monitor,
                    &verdict.as_str(),
                    reason,
                    user,
                    &(at.unix_nanos() as i64),
                ],
            )
            .context("storing an assessment")?;
            tx.execute(
                "UPDATE incidents SET status = $1 WHERE id = $2",
                &[&status.as_str(), &clamp(incident_id.0)],
            )
            .context("updating the incident's status")?;
        }
        Projection::Evidence { row } => {
            tx.execute(
                "INSERT INTO evidence
                   (entry, sha256, size, media_type, username, monitor, received_ns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &entry,
                    &row.sha256,
                    &clamp(row.size),
                    &row.media_type,
                    &row.user,
                    &row.monitor,
                    &row.received_ns,
                ],
            )
            .context("storing an evidence hand-in")?;
        }
        Projection::Track { row } => {
            tx.execute(
                "INSERT INTO tracks
                   (entry, monitor, device, callsign, platform, at_ns, lat, lon)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &entry,
                    &row.monitor,
                    &row.device,
                    &row.callsign,
                    &row.platform,
                    &row.at_ns,
                    &row.lat,
                    &row.lon,
                ],
            )
            .context("storing a track point")?;
        }
        Projection::Annotation {
            incident_id,
            user,
            text,
            corrected_kind,
            at,
        } => {
            flush_incidents(tx, &mut p.incidents)?;
            tx.execute(
                "INSERT INTO annotations
                   (entry, incident_id, username, text, corrected_kind, at_ns)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &entry,
                    &clamp(incident_id.0),
                    user,
                    text,
                    &corrected_kind.map(|k| k.as_str()),
                    &(at.unix_nanos() as i64),
                ],
            )
            .context("storing an annotation")?;
            if let Some(kind) = corrected_kind {
                tx.execute(
                    "UPDATE incidents SET kind = $1 WHERE id = $2",
                    &[&kind.as_str(), &clamp(incident_id.0)],
                )
                .context("correcting the incident's kind")?;
            }
        }
        Projection::Nothing => {}
        Projection::Agreement { version, document } => {
            let digest = sha256(document).to_vec();
            tx.execute(
                "INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&digest, document],
            )
            .context("storing the agreement document")?;
            tx.execute(
                "INSERT INTO agreements (version, sha256, entry) VALUES ($1, $2, $3)",
                &[&i64::from(*version), &digest, &entry],
            )
            .context("recording the agreement version")?;
        }
    }
    Ok(())
}

fn flush_entries(tx: &mut Transaction<'_>, p: &mut Pending) -> Result<(), StoreError> {
    if !p.entry_idx.is_empty() {
        tx.execute(
            "INSERT INTO entries (idx, type, body, chain)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::bytea[], $4::bytea[])",
            &[&p.entry_idx, &p.entry_type, &p.entry_body, &p.entry_chain],
        )
        .context("appending an entry")?;
    }
    if !p.hash_idx.is_empty() {
        tx.execute(
            "INSERT INTO tree_hashes (idx, hash) SELECT * FROM unnest($1::int8[], $2::bytea[])",
            &[&p.hash_idx, &p.hash],
        )
        .context("storing a tree hash")?;
    }
    Ok(())
}

fn flush_observations(tx: &mut Transaction<'_>, o: &mut Observations) -> Result<(), StoreError> {
    if o.id.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO observations
           (id, entry, incident_id, kind, observed_ns, client_id, content_hash)
         SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::int8[],
                              $6::bytea[], $7::bytea[])",
        &[
            &o.id,
            &o.entry,
            &o.incident,
            &o.kind,
            &o.observed_ns,
            &o.client_id,
            &o.content_hash,
        ],
    )
    .context("storing an observation")?;
    *o = Observations::default();
    Ok(())
}

fn flush_incidents(tx: &mut Transaction<'_>, pending: &mut Incidents) -> Result<(), StoreError> {
    if pending.rows.is_empty() {
        return Ok(());
    }
    let rows = std::mem::take(&mut pending.rows);
    pending.at.clear();
    let col = |f: fn(&IncidentRow) -> i64| rows.iter().map(|(r, _)| f(r)).collect::<Vec<i64>>();
    let text = |f: fn(&IncidentRow) -> &str| rows.iter().map(|(r, _)| f(r)).collect::<Vec<&str>>();
    let ids = col(|r| clamp(r.id));
    let revisions = col(|r| i64::from(r.revision));
    let entries = col(|r| clamp(r.entry));
    let first = col(|r| r.first_seen_ns);
    let last = col(|r| r.last_seen_ns);
    let kinds = text(|r| &r.kind);
    let statuses = text(|r| &r.status);
    let sides = text(|r| &r.side);
    let clauses = text(|r| &r.clauses);
    let lats: Vec<Option<f64>> = rows.iter().map(|(r, _)| r.lat).collect();
    let lons: Vec<Option<f64>> = rows.iter().map(|(r, _)| r.lon).collect();
    let ellipses: Vec<Option<&str>> = rows.iter().map(|(_, e)| e.as_deref()).collect();
    tx.execute(
        "INSERT INTO incidents (id, revision, entry, kind, status, side, clauses, first_seen_ns,
           last_seen_ns, lat, lon, location, ellipse95)
         SELECT u.id, u.revision, u.entry, u.kind, u.status, u.side, u.clauses, u.first_ns,
           u.last_ns, u.lat, u.lon,
           CASE WHEN u.lat IS NULL OR u.lon IS NULL THEN NULL
                ELSE ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) END,
           ST_GeomFromText(u.ellipse, 4326)
         FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::int8[], $9::int8[], $10::float8[], $11::float8[],
                     $12::text[])
           AS u(id, revision, entry, kind, status, side, clauses, first_ns, last_ns, lat, lon,
                ellipse)
         ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, entry = excluded.entry,
           kind = excluded.kind, status = excluded.status, side = excluded.side,
           clauses = excluded.clauses, first_seen_ns = excluded.first_seen_ns,
           last_seen_ns = excluded.last_seen_ns, lat = excluded.lat, lon = excluded.lon,
           location = excluded.location, ellipse95 = excluded.ellipse95",
        &[
            &ids, &revisions, &entries, &kinds, &statuses, &sides, &clauses, &first, &last, &lats,
            &lons, &ellipses,
        ],
    )
    .context("storing an incident")?;
    Ok(())
}

/// Records a witness's cosignature line for checkpoint `size` (a newer line replaces the old).
pub fn add_cosignature(
    client: &mut Client,
    size: u64,
    witness: &str,
    line: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO cosignatures (size, witness, line) VALUES ($1, $2, $3)
             ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line",
            &[&clamp(size), &witness, &line],
        )
        .context("recording a cosignature")?;
    Ok(())
}

/// Records intake item `s.id`'s answer, if it has none yet; else refuses (it was sequenced).
pub fn settle_in(tx: &mut Transaction<'_>, s: &IntakeSettle) -> Result<(), StoreError> {
    let now = crate::assemble::nanos(Timestamp::now());
    let changed = tx
        .execute(
            "UPDATE intake SET status = $2, outcome = $3, settled_ns = $4
             WHERE id = $1 AND status IS NULL",
            &[&clamp(s.id), &i32::from(s.status), &s.outcome, &now],
        )
        .context("answering an intake item")?;
    if changed != 1 {
        return Err(StoreError::Fenced(format!(
            "intake item {} was answered already (or does not exist)",
            s.id
        )));
    }
    Ok(())
}
