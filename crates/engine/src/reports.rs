//! Issued reports on the record: what the center told its readers, provable by hash.

use crate::{Caller, Engine, EngineError};
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::entry::EntryBody;
use truce_store::{AppendBatch, NewEntry, Projection};

/// What an issued report's entry says: the request it answered, the file's SHA-256, and the
/// record it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Runs `read` on the store while nothing is appended (every append is made in a turn,
    /// held here): what it reads is the record at one size. For reads that must be remade
    /// exactly later, such as a report's figures; keep them short, intake waits.
    pub fn read_still<T>(&self, read: impl FnOnce(&dyn truce_store::Store) -> T) -> T {
        let _still = self.hold_still();
        read(self.store().as_ref())
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
        let receipt = self.append_outside_intake(&AppendBatch {
            entries: vec![NewEntry {
                bytes: body.canonical_bytes()?,
                type_name: body.type_name(),
                projection: Projection::Nothing,
            }],
        })?;
        Ok(receipt.first_index)
    }
}
