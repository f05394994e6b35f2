//! The sequencer: the one place where accepted observations become entries of the record.
//!
//! [`Engine::submit`] takes a validated batch and, holding the sequencer lock, resolves client
//! ids (idempotency), numbers the new observations, lets fusion associate them, and appends the
//! observation entries and the incident revisions they cause in **one** store transaction. Only
//! after that commit does it answer and notify subscribers, so an acknowledged observation is
//! always in the record with its entry, and a refused batch leaves no trace.
//!
//! If the store refuses an append, fusion state (which was updated in memory) is rebuilt from
//! the store, so memory never runs ahead of the record.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod audit;
mod commit_order;
mod error;
mod events;
mod evidence;
mod init;
mod ledger;
mod listener;
mod members;
mod migrate;
pub mod queued;
mod replay;
mod reports;
mod sequencer;
mod tracks;
mod writes;

pub use audit::{
    AuditEntry, AuditFault, AuditReport, AuditSource, StoreSource, audit, audit_source,
};
pub use error::EngineError;
pub use events::IncidentEvent;
pub use evidence::{EvidenceIn, EvidenceReceipt};
pub use init::{InitOutcome, record_agreement};
pub use ledger::{Anchor, LedgerKeys, LedgerStatus, StoreHashReader, WitnessStatus};
pub use listener::{BindError, Binding};
pub use members::{Caller, MAX_NAME_BYTES, MAX_TEXT_BYTES, new_credential};
pub use migrate::{Migrated, migrate};
pub use replay::{replay, replay_observed};
pub use reports::IssuedReport;
pub use sequencer::{Accepted, Engine, SubmitOutcome};
pub use writes::{MemberWrite, Written};
