//! What went wrong with a CoT message, naming the element or attribute.

/// A message the codec refuses. Every variant names where in the message the problem is, as a
/// path such as `event/point@lat` or `event/detail/remarks`, so a field user or a sensor
/// gateway can tell which part of what it sent to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CotError {
    /// A part of the message is larger than the codec's limit for it.
    #[error("{at} is larger than the limit of {limit} {unit}")]
    TooLarge {
        /// Where: a path, or `message` for the whole.
        at: String,
        /// The limit that was exceeded.
        limit: usize,
        /// What the limit counts (`bytes`, `elements`, `attributes`, `levels`).
        unit: &'static str,
    },
    /// A required element or attribute is absent.
    #[error("{at} is missing")]
    Missing {
        /// The path of what is missing.
        at: String,
    },
    /// A value is present but unusable.
    #[error("{at}: {problem}")]
    Invalid {
        /// The path of the value.
        at: String,
        /// What is wrong with it, and what is expected.
        problem: String,
    },
    /// The bytes are not well-formed XML.
    #[error("malformed XML in {at} at byte {position}: {problem}")]
    Xml {
        /// The innermost element open when the problem was found.
        at: String,
        /// Offset in the message, bytes.
        position: u64,
        /// The parser's description.
        problem: String,
    },
    /// The bytes are not a valid TAK protocol message.
    #[error("TAK protocol message: {problem}")]
    Protobuf {
        /// The decoder's description, naming the field where it can.
        problem: String,
    },
    /// A stream or datagram does not follow TAK's framing.
    #[error("framing: {problem}")]
    Framing {
        /// What was expected and what came.
        problem: String,
    },
}

impl CotError {
    pub(crate) fn invalid(at: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            at: at.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn missing(at: impl Into<String>) -> Self {
        Self::Missing { at: at.into() }
    }

    pub(crate) fn too_large(at: impl Into<String>, limit: usize, unit: &'static str) -> Self {
        Self::TooLarge {
            at: at.into(),
            limit,
            unit,
        }
    }

    pub(crate) fn framing(problem: impl Into<String>) -> Self {
        Self::Framing {
            problem: problem.into(),
        }
    }
}
