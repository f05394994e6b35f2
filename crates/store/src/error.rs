//! Storage errors, with what was being done.

use thiserror::Error;

/// A storage operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("{context}: {source}")]
    Database {
        /// What the store was doing.
        context: String,
        /// The database's error.
        #[source]
        source: rusqlite::Error,
    },
    /// Stored data does not decode: the file was changed outside truce, or is damaged.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The data folder was made by a newer truce.
    #[error("the database schema is version {found}; this truce knows up to {known}")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
}

/// Attaches `context` to a database error.
pub(crate) trait Context<T> {
    fn context(self, context: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn context(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database {
            context: context.to_string(),
            source,
        })
    }
}
