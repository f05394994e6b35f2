//! Issued reports on the record: what the center told its readers, provable by hash.

use crate::{Caller, Engine, EngineError, Written};
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::entry::EntryBody;
use truce_store::{AppendBatch, NewEntry, Projection, StoreError};

/// What an issued report's entry says: the request it answered, the file's SHA-256, and the
/// record it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedReport {
    /// `daily`.
    pub report: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`, UTC.
    pub cutoff: String,
    /// `en` or `ru`.
    pub lang: String,
    /// `html`.
    pub format: String,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// The record's size the figures were computed at.
    pub record_size: u64,
    /// The record's root at that size, lowercase hex.
    pub record_root: String,
    /// The latest signed checkpoint then.
    pub checkpoint_size: Option<u64>,
    /// The monitors whose witnesses had cosigned it then, as the report names them.
    pub cosigned_by: Vec<String>,
    /// What made the file.
    pub generator: String,
}

impl Engine {
    /// Runs `read` on the store seeing the record at one size: while this process appends
    /// nothing (every append is made in a turn, held here), and in one snapshot of the store
    /// ([`truce_store::Store::read_at_one_moment`]), so that on a node of several the
    /// sequencer's appends meanwhile are not seen either. For reads that must be remade
    /// exactly later, such as a report's figures; keep them short, intake waits.
    pub fn read_still<T>(
        &self,
        read: impl FnOnce(&dyn truce_store::Store) -> T,
    ) -> Result<T, EngineError> {
        let _still = self.hold_still();
        let store = self.store().as_ref();
        let mut read = Some(read);
        let mut out = None;
        store.read_at_one_moment(&mut || out = read.take().map(|read| read(store)))?;
        out.ok_or_else(|| EngineError::Store(StoreError::Corrupt("a read did not run".into())))
    }

    /// Appends `report` as issued by `caller`, an officer (issuing speaks for a monitor, as a
    /// verdict does). Refused when it claims a record larger than the one there is. Returns
    /// the entry's index.
    pub fn issue_report(
        &self,
        caller: &Caller,
        report: IssuedReport,
        now: Timestamp,
    ) -> Result<u64, EngineError> {
        self.issue_report_answering(caller, report, now, None)
    }

    /// [`Engine::issue_report`], answering intake item `intake` (an issue a node queued) in
    /// the transaction that records the entry ([`Written::issued`]).
    pub(crate) fn issue_report_answering(
        &self,
        caller: &Caller,
        report: IssuedReport,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<u64, EngineError> {
        if caller.role != Role::Officer {
            return Err(EngineError::Forbidden(format!(
                "{} is {}, and only an officer issues a report",
                caller.user,
                caller.role.as_str()
            )));
        }
        if report.sha256.len() != 64 || !report.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(EngineError::invalid("sha256", "not 64 hex digits"));
        }
        if report.report != "daily" {
            return Err(EngineError::invalid(
                "report",
                "only the daily report is issued",
            ));
        }
        if !matches!(report.format.as_str(), "html" | "pdf") {
            return Err(EngineError::invalid("format", "html or pdf"));
        }
        let _seq = self.lock_sequencer()?;
        let head = self.store().head()?;
        if report.record_size > head.size {
            return Err(EngineError::invalid(
                "record_size",
                format!(
                    "{} entries claimed; the record holds {}",
                    report.record_size, head.size
                ),
            ));
        }
        // Rendered on another node: its root must be the record's at the size it names (this
        // process checks what it renders itself when the report is made again).
        if intake.is_some() {
            let root = self.with_tree_hashes(|reader| {
                truce_ledger::tlog::tree_hash(report.record_size, reader)
            })?;
            let root: String = root.0.iter().map(|b| format!("{b:02x}")).collect();
            if root != report.record_root {
                return Err(EngineError::invalid(
                    "record_root",
                    format!(
                        "{} is not the record's root at size {} ({root})",
                        report.record_root, report.record_size
                    ),
                ));
            }
        }
        // Under the sequencer lock nothing else appends: the entry goes at the head.
        let answer = intake
            .map(|id| Written::issued(head.size, &report.sha256, report.record_size).settling(id));
        let body = EntryBody::Report {
            report: report.report,
            date: report.date,
            cutoff: report.cutoff,
            lang: report.lang,
            format: report.format,
            sha256: report.sha256,
            record_size: report.record_size,
            record_root: report.record_root,
            checkpoint_size: report.checkpoint_size,
            cosigned_by: report.cosigned_by,
            generator: report.generator,
            by: caller.user.clone(),
            recorded_at: now,
        };
        let receipt = self.append_answering(
            &AppendBatch {
                entries: vec![NewEntry {
                    bytes: body.canonical_bytes()?,
                    type_name: body.type_name(),
                    projection: Projection::Nothing,
                }],
            },
            answer.as_ref(),
        )?;
        Ok(receipt.first_index)
    }
}
