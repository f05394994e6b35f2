//! Why the engine refused or failed a request.

use thiserror::Error;
use truce_core::agreement::AgreementError;
use truce_core::entry::EntryError;
use truce_store::StoreError;

/// A submission or start-up failed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A `client_id` was reused for different content, or twice in one batch with different
    /// content (HTTP 422, field `client_id`).
    #[error("client_id {client_id} was already used for a different observation")]
    ClientIdConflict {
        /// The reused id.
        client_id: uuid::Uuid,
        /// Index of the item in the batch.
        index: usize,
    },
    /// The data folder has no agreement yet.
    #[error("the store has no agreement; run `truce init` first")]
    NoAgreement,
    /// The stored agreement does not check out.
    #[error(transparent)]
    Agreement(#[from] AgreementError),
    /// The data folder is already initialised with another agreement.
    #[error("the data folder already holds agreement version {version} ({name:?}), which differs")]
    AgreementDiffers {
        /// The version in force.
        version: u32,
        /// Its name.
        name: String,
    },
    /// A key, checkpoint or cosignature of the ledger is not acceptable.
    #[error("ledger: {0}")]
    Ledger(String),
    /// An entry could not be encoded.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value of a request is not acceptable (HTTP 422, naming the field).
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The thing asked for does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The caller's role or monitor does not allow it (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// An observation cites a file the center does not hold (HTTP 422, field
    /// `evidence[position].sha256`).
    #[error(
        "evidence[{position}].sha256: the center holds no file {sha256}; hand it in first (POST /api/evidence)"
    )]
    EvidenceNotHeld {
        /// Index of the item in the batch.
        index: usize,
        /// Index of the file in the item's `evidence`.
        position: usize,
        /// The hash cited.
        sha256: String,
    },
    /// Something this center needs is not there or not working: the request may succeed
    /// later (HTTP 503).
    #[error("{0}")]
    Unavailable(String),
}

impl EngineError {
    /// A 422 naming `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        EngineError::Invalid {
            field,
            message: message.into(),
        }
    }
}
