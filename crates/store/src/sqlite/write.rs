//! The append path: entries chained and projections written in one transaction.

use crate::error::{Context, StoreError};
use crate::model::{AppendBatch, AppendReceipt, Head, Projection};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use truce_core::entry::{MAX_ENTRY_BYTES, chain_hash, leaf_hash, sha256};
use truce_ledger::Hash as LedgerHash;
use truce_ledger::tree::{Frontier, frontier_indexes};

/// The writer connection, the head it last committed, and the tree's frontier at that head.
pub struct Writer {
    conn: Connection,
    head: Head,
    frontier: Frontier,
}

/// Reads the tree's frontier for a record of `size` entries from the stored hashes.
pub fn load_frontier(conn: &Connection, size: u64) -> Result<Frontier, StoreError> {
    let indexes = frontier_indexes(size);
    let hashes = super::read::tree_hashes(conn, &indexes)?;
    Frontier::from_roots(size, hashes.into_iter().map(LedgerHash).collect()).ok_or_else(|| {
        StoreError::Corrupt(format!("the tree's frontier at size {size} is incomplete"))
    })
}

/// The last entry's index and chain hash, `None` for an empty record.
fn last_entry(conn: &Connection) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let last: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT idx, chain FROM entries ORDER BY idx DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("reading the record's head")?;
    last.map(|(idx, chain)| {
        let chain = chain
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("entry {idx}: chain is not 32 bytes")))?;
        Ok((idx as u64, chain))
    })
    .transpose()
}

/// Reads the record's head from the last entry.
pub fn load_head(conn: &Connection) -> Result<Head, StoreError> {
    match last_entry(conn)? {
        None => Ok(Head {
            size: 0,
            chain: [0; 32],
            root: Frontier::new().root().0,
        }),
        Some((idx, chain)) => {
            let size = idx + 1;
            Ok(Head {
                size,
                chain,
                root: load_frontier(conn, size)?.root().0,
            })
        }
    }
}

impl Writer {
    pub fn new(conn: Connection, head: Head) -> Result<Self, StoreError> {
        let frontier = load_frontier(&conn, head.size)?;
        Ok(Self {
            conn,
            head,
            frontier,
        })
    }

    pub fn head(&self) -> Head {
        self.head
    }

    /// Takes `head` as the record's (a reading store's snapshot), with its frontier.
    pub fn set_head(&mut self, head: Head) -> Result<(), StoreError> {
        self.frontier = load_frontier(&self.conn, head.size)?;
        self.head = head;
        Ok(())
    }

    /// Appends every entry of `batch` and its projection, or nothing.
    pub fn append(&mut self, batch: &AppendBatch) -> Result<AppendReceipt, StoreError> {
        let first_index = self.head.size;
        let mut head = self.head;
        // Appended to a copy: if the transaction fails, the frontier stays at the old head.
        let mut frontier = self.frontier.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting an append")?;
        // The record must end where this writer left it. If another process appended
        // (bypassing the writer's lock), nothing is written, and the head is reloaded so that
        // the next append, made afresh from the store, goes on from the record as it is.
        let stored = last_entry(&tx)?;
        let expected = (head.size > 0).then(|| (head.size - 1, head.chain));
        if stored != expected {
            drop(tx);
            let found = stored.map_or(0, |(idx, _)| idx + 1);
            self.head = load_head(&self.conn)?;
            self.frontier = load_frontier(&self.conn, self.head.size)?;
            return Err(StoreError::Moved(format!(
                "the record holds {found} entries where this server wrote {}: another process changed it. \
                 Nothing of this request was recorded; the server has reloaded the record, send \
                 it again",
                head.size
            )));
        }
        {
            let mut insert_entry = tx
                .prepare_cached(
                    "INSERT INTO entries (idx, type, body, chain) VALUES (?1, ?2, ?3, ?4)",
                )
                .context("preparing the entry insert")?;
            let mut insert_hash = tx
                .prepare_cached("INSERT INTO tree_hashes (idx, hash) VALUES (?1, ?2)")
                .context("preparing the tree hash insert")?;
            let mut insert_obs = tx
                .prepare_cached(
                    "INSERT INTO observations
                       (id, entry, incident_id, kind, observed_ns, client_id, content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .context("preparing the observation insert")?;
            let mut upsert_incident = tx
                .prepare_cached(
                    "INSERT INTO incidents (id, revision, entry, kind, status, side, clauses,
                       first_seen_ns, last_seen_ns, lat, lon)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT(id) DO UPDATE SET revision = excluded.revision,
                       entry = excluded.entry, kind = excluded.kind, status = excluded.status,
                       side = excluded.side, clauses = excluded.clauses,
                       first_seen_ns = excluded.first_seen_ns, last_seen_ns = excluded.last_seen_ns,
                       lat = excluded.lat, lon = excluded.lon",
                )
                .context("preparing the incident upsert")?;
            for entry in &batch.entries {
                if entry.bytes.len() > MAX_ENTRY_BYTES {
                    return Err(StoreError::Corrupt(format!(
                        "entry of {} bytes exceeds {MAX_ENTRY_BYTES}",
                        entry.bytes.len()
                    )));
                }
                let idx = head.size;
                let chain = chain_hash(&head.chain, &leaf_hash(&entry.bytes));
                insert_entry
                    .execute(params![
                        idx as i64,
                        entry.type_name,
                        entry.bytes,
                        &chain[..]
                    ])
                    .context("appending an entry")?;
                for (hash_index, hash) in frontier.append(&entry.bytes) {
                    insert_hash
                        .execute(params![hash_index as i64, &hash.0[..]])
                        .context("storing a tree hash")?;
                }
                match &entry.projection {
                    Projection::Observation {
                        id,
                        client,
                        incident_id,
                        kind,
                        observed_at,
                    } => {
                        insert_obs
                            .execute(params![
                                id.0 as i64,
                                idx as i64,
                                incident_id.0 as i64,
                                kind.as_str(),
                                observed_at.unix_nanos() as i64,
                                client.map(|(c, _)| c.as_bytes().to_vec()),
                                client.map(|(_, h)| h.to_vec()),
                            ])
                            .context("storing an observation")?;
                    }
                    Projection::Incident {
                        id,
                        revision,
                        estimate,
                        moved,
                    } => {
                        // An observation belongs to the incident that added it last.
                        for o in moved {
                            tx.execute(
                                "UPDATE observations SET incident_id = ?1 WHERE id = ?2",
                                params![id.0 as i64, o.0 as i64],
                            )
                            .context("moving an observation to its new incident")?;
                        }
                        let row = crate::model::IncidentRow::from_estimate(
                            id.0, *revision, idx, estimate,
                        );
                        upsert_incident
                            .execute(params![
                                row.id as i64,
                                row.revision,
                                row.entry as i64,
                                row.kind,
                                row.status,
                                row.side,
                                row.clauses,
                                row.first_seen_ns,
                                row.last_seen_ns,
                                row.lat,
                                row.lon,
                            ])
                            .context("storing an incident")?;
                    }
                    Projection::Membership {
                        user,
                        monitor,
                        role,
                        active,
                        token_hash,
                    } => {
                        tx.execute(
                            "INSERT INTO members (user, monitor, role, active, token_hash, entry)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                             ON CONFLICT(user) DO UPDATE SET monitor = ?2, role = ?3,
                               active = ?4, token_hash = ?5, entry = ?6",
                            params![user, monitor, role.as_str(), active, token_hash, idx as i64],
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
                        tx.execute(
                            "INSERT INTO assessments
                               (entry, incident_id, monitor, verdict, reason, user, at_ns)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![
                                idx as i64,
                                incident_id.0 as i64,
                                monitor,
                                verdict.as_str(),
                                reason,
                                user,
                                at.unix_nanos() as i64
                            ],
                        )
                        .context("storing an assessment")?;
                        tx.execute(
                            "UPDATE incidents SET status = ?1 WHERE id = ?2",
                            params![status.as_str(), incident_id.0 as i64],
                        )
                        .context("updating the incident's status")?;
                    }
                    Projection::Evidence { row } => {
                        tx.execute(
                            "INSERT INTO evidence
                               (entry, sha256, size, media_type, user, monitor, received_ns)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![
                                idx as i64,
                                row.sha256,
                                row.size as i64,
                                row.media_type,
                                row.user,
                                row.monitor,
                                row.received_ns
                            ],
                        )
                        .context("storing an evidence hand-in")?;
                    }
                    Projection::Track { row } => {
                        tx.execute(
                            "INSERT INTO tracks
                               (entry, monitor, device, callsign, platform, at_ns, lat, lon)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            params![
                                idx as i64,
                                row.monitor,
                                row.device,
                                row.callsign,
                                row.platform,
                                row.at_ns,
                                row.lat,
                                row.lon
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
                        tx.execute(
                            "INSERT INTO annotations
                               (entry, incident_id, user, text, corrected_kind, at_ns)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![
                                idx as i64,
                                incident_id.0 as i64,
                                user,
                                text,
                                corrected_kind.map(|k| k.as_str()),
                                at.unix_nanos() as i64
                            ],
                        )
                        .context("storing an annotation")?;
                        if let Some(kind) = corrected_kind {
                            tx.execute(
                                "UPDATE incidents SET kind = ?1 WHERE id = ?2",
                                params![kind.as_str(), incident_id.0 as i64],
                            )
                            .context("correcting the incident's kind")?;
                        }
                    }
                    Projection::Nothing => {}
                    Projection::Agreement { version, document } => {
                        let digest = sha256(document);
                        tx.execute(
                            "INSERT OR IGNORE INTO blobs (sha256, bytes) VALUES (?1, ?2)",
                            params![digest.to_vec(), document],
                        )
                        .context("storing the agreement document")?;
                        tx.execute(
                            "INSERT INTO agreements (version, sha256, entry) VALUES (?1, ?2, ?3)",
                            params![version, digest.to_vec(), idx as i64],
                        )
                        .context("recording the agreement version")?;
                    }
                }
                head = Head {
                    size: idx + 1,
                    chain,
                    root: head.root,
                };
            }
        }
        head.root = frontier.root().0;
        tx.commit().context("committing an append")?;
        self.head = head;
        self.frontier = frontier;
        Ok(AppendReceipt { first_index, head })
    }
}

impl Writer {
    /// Records a signed checkpoint; a second one for the same size is refused by the key.
    pub fn add_checkpoint(&self, size: u64, note: &[u8]) -> Result<(), StoreError> {
        if size > self.head.size {
            return Err(StoreError::Corrupt(format!(
                "a checkpoint for {size} entries, but the record has {}",
                self.head.size
            )));
        }
        self.conn
            .execute(
                "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                params![size as i64, note],
            )
            .context("recording a checkpoint")?;
        Ok(())
    }

    /// Records a witness's cosignature line for checkpoint `size`.
    pub fn add_cosignature(&self, size: u64, witness: &str, line: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO cosignatures (size, witness, line) VALUES (?1, ?2, ?3)
                 ON CONFLICT(size, witness) DO UPDATE SET line = excluded.line",
                params![size as i64, witness, line],
            )
            .context("recording a cosignature")?;
        Ok(())
    }
}
