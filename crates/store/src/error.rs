//! Storage errors, with what was being done.

use std::error::Error as _;
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
    /// The database server could not be reached just now (a connection was lost and making
    /// one again failed): nothing was done.
    #[error("{0}")]
    Unreachable(String),
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

/// A fault of the storage beneath the record, not of truce nor of the request: it clears
/// without truce changing (space freed, a disk replaced, a file system made writable again,
/// the database server back), and the same request then succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// The disk or file system holding the record is full.
    Full,
    /// Reading or writing the disk failed (an I/O error).
    Failing,
    /// The record's file or file system takes no writes.
    ReadOnly,
    /// The record's files cannot be opened (permissions, a missing folder, or too many open
    /// files).
    CannotOpen,
    /// The database server cannot be reached.
    Unreachable,
}

impl StorageFault {
    /// What happened, in words an operator acts on.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Full => "the disk holding the record is full",
            Self::Failing => "the disk holding the record failed to read or write (I/O error)",
            Self::ReadOnly => "the record's storage is read-only",
            Self::CannotOpen => {
                "the record's files cannot be opened (permissions, a missing folder, or too many \
                 open files)"
            }
            Self::Unreachable => "the database server holding the record cannot be reached",
        }
    }
}

impl StoreError {
    /// The storage fault behind this error, if it is one (see [`StorageFault`]); `None` for
    /// anything a retry would meet again (a constraint, a bug, a malformed value).
    pub fn storage_fault(&self) -> Option<StorageFault> {
        use rusqlite::ErrorCode;
        match self {
            Self::Database {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => match e.code {
                ErrorCode::DiskFull => Some(StorageFault::Full),
                ErrorCode::SystemIoFailure => Some(StorageFault::Failing),
                ErrorCode::CannotOpen => Some(StorageFault::CannotOpen),
                ErrorCode::ReadOnly => Some(StorageFault::ReadOnly),
                _ => None,
            },
            Self::Postgres { source, .. } => postgres_fault(source),
            Self::Unreachable(_) => Some(StorageFault::Unreachable),
            _ => None,
        }
    }
}

/// The storage fault a PostgreSQL error reports: the server's disk full or failing, writes
/// refused, or the session lost (class 08, an administrator's or timeout's end of the session
/// (57P, 25P03), any FATAL error, a closed connection, or a network error on the socket).
fn postgres_fault(e: &postgres::Error) -> Option<StorageFault> {
    use postgres::error::SqlState;
    if let Some(code) = e.code() {
        let c = code.code();
        return if *code == SqlState::DISK_FULL {
            Some(StorageFault::Full)
        } else if *code == SqlState::IO_ERROR {
            Some(StorageFault::Failing)
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            Some(StorageFault::ReadOnly)
        } else if c.starts_with("08")
            || c.starts_with("57P")
            || c == "25P03"
            || e.as_db_error().is_some_and(|d| d.severity() == "FATAL")
        {
            Some(StorageFault::Unreachable)
        } else {
            None
        };
    }
    if e.is_closed() {
        return Some(StorageFault::Unreachable);
    }
    // Encoding and parsing errors wrap io::Error too (InvalidInput, InvalidData): those are
    // truce's or the data's, and a retry meets them again.
    use std::io::ErrorKind::*;
    e.source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .filter(|io| {
            matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | BrokenPipe
                    | UnexpectedEof
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
                    | NetworkDown
            )
        })
        .map(|_| StorageFault::Unreachable)
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
