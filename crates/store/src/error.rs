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
    /// PostgreSQL refused or failed.
    #[error("{context}: {}", pg_message(source))]
    Postgres {
        /// What the store was doing.
        context: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// Another sequencer appended to the record since this one last did (its lease was taken
    /// over): this process must stop appending and rebuild from the store.
    #[error("fenced: {0}")]
    Fenced(String),
    /// Another process holds the record open for writing (a running server): one writer at a
    /// time, or two would number entries alike.
    #[error("{0}")]
    InUse(String),
    /// The record grew under this writer (another process appended to it): nothing of this
    /// append was recorded, and the writer has reloaded the record's head.
    #[error("{0}")]
    Moved(String),
    /// This store was opened for reading only.
    #[error("{0}")]
    ReadOnly(String),
    /// Every connection to the database stayed busy: try again shortly.
    #[error("busy: {0}")]
    Busy(String),
    /// The store's address or settings are not usable.
    #[error("store settings: {0}")]
    Config(String),
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

impl<T> Context<T> for Result<T, postgres::Error> {
    fn context(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Postgres {
            context: context.to_string(),
            source,
        })
    }
}

/// The server's own message and detail when it gave them, else the client's description.
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}
