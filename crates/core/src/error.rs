//! Errors that name what is wrong: the field (a dotted path such as `geometry.observer.lat`) and,
//! in a batch, the index of the item.

use thiserror::Error;

/// One field of one item has a value outside what the contract allows.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Dotted path of the field within the item (`geometry.bearing_deg`).
    pub field: String,
    /// What is wrong and what is allowed, for a person to read.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a submitted body was refused. Maps one to one onto the HTTP statuses of the contract.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseError {
    /// Not JSON, or not of the expected shape at the top level (HTTP 400).
    #[error("malformed: {message}")]
    Malformed {
        /// What the parser found.
        message: String,
        /// The item index, when the fault is inside one item of a batch.
        index: Option<usize>,
    },
    /// Over a size or count limit (HTTP 413).
    #[error("too large: {message}")]
    TooLarge {
        /// Which limit and its value.
        message: String,
    },
    /// Well-formed, but a field has a missing, unknown or out-of-range value (HTTP 422).
    #[error("item {index:?}: {error}")]
    Invalid {
        /// The offending field.
        error: FieldError,
        /// The item index within a batch (`None` for a single object).
        index: Option<usize>,
    },
}

impl ParseError {
    /// The machine-readable code of the contract's error body.
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Malformed { .. } => "malformed",
            ParseError::TooLarge { .. } => "too_large",
            ParseError::Invalid { .. } => "invalid_value",
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ParseError::Invalid { error, .. } => Some(&error.field),
            _ => None,
        }
    }

    /// The batch index the error is about, if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            ParseError::Malformed { index, .. } | ParseError::Invalid { index, .. } => *index,
            ParseError::TooLarge { .. } => None,
        }
    }

    /// The human-readable message without the code.
    pub fn message(&self) -> String {
        match self {
            ParseError::Malformed { message, .. } | ParseError::TooLarge { message } => {
                message.clone()
            }
            ParseError::Invalid { error, .. } => error.message.clone(),
        }
    }
}
