//! Entries of the shared record and their canonical bytes.
//!
//! An entry's bytes are the RFC 8785 (JSON Canonicalization Scheme) serialisation of
//! [`EntryBody`]: keys sorted, no white space, numbers in their shortest round-trip form. The same
//! entry therefore always has the same bytes, whichever program wrote it. Each entry is chained to
//! the one before: `chain_n = SHA-256(chain_{n-1} || leaf_n)` with `leaf_n = SHA-256(0x00 ||
//! bytes_n)` (the RFC 9162 leaf hash) and `chain_{-1}` 32 zero bytes.

use crate::access::{Role, Verdict};
use crate::ids::{IncidentId, ObservationId};
use crate::incident::IncidentEstimate;
use crate::observation::Kind;
use crate::observation::Observation;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod bulk;

/// Largest entry accepted in the record, bytes (so a tile's entry bundle can length-prefix it
/// with 16 bits).
pub const MAX_ENTRY_BYTES: usize = 65_535;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// What one entry of the record states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
// An entry is built once and serialised at once; boxing the estimate would only add an
// allocation to every revision.
#[allow(clippy::large_enum_variant)]
pub enum EntryBody {
    /// A version of the agreement came into force. The document itself is stored beside the
    /// record, addressed by its SHA-256 (it may exceed an entry's size).
    Agreement {
        /// 1 for the first version, then increasing.
        version: u32,
        /// Lowercase hex SHA-256 of the canonical agreement document.
        document_sha256: String,
        /// The agreement's title.
        name: String,
        /// When the center recorded it.
        recorded_at: Timestamp,
    },
    /// An observation was accepted.
    Observation {
        /// Its number.
        id: ObservationId,
        /// When the center accepted it.
        recorded_at: Timestamp,
        /// The observation as validated.
        observation: Observation,
    },
    /// An incident was created or re-estimated.
    IncidentRevision {
        /// The incident.
        incident_id: IncidentId,
        /// 1 when created, then increasing by one.
        revision: u32,
        /// When the center recorded it.
        recorded_at: Timestamp,
        /// Observations that joined the incident in this revision.
        added_observation_ids: Vec<ObservationId>,
        /// The estimate after this revision.
        estimate: IncidentEstimate,
        /// The analyst whose merge or split made this revision (none when association did).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// The analyst's reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A member joined a monitor with a role, or left it. Tokens are not in the record.
    Membership {
        /// The member's name, unique across the center.
        user: String,
        /// The monitor the member belongs to.
        monitor: String,
        /// The member's role.
        role: Role,
        /// True when the member joins, false when the member is revoked.
        active: bool,
        /// The SHA-256 of the DER client certificate the member reports with over CoT/TLS
        /// (lowercase hex), when one was bound on joining: the record, not the operator's
        /// database, says which certificate speaks for whom. Absent from entries without one,
        /// so their canonical bytes are those of entries written before the field existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cert_sha256: Option<String>,
        /// The SHA-256 (lowercase hex) of the credential the center keeps for the member (the
        /// argon2 hash of their token, in PHC form) when they join: the record says which
        /// credential speaks for whom, so one swapped in the database signs no one in and the
        /// audit names it. Absent from revocations and from entries written before the field
        /// existed (their canonical bytes unchanged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credential_sha256: Option<String>,
        /// Who made the change (`cli` for the operator's command line).
        by: String,
        /// When the center recorded it.
        recorded_at: Timestamp,
    },
    /// A monitor's verdict on an incident, signed with the monitor's assessment key. It
    /// supersedes that monitor's earlier verdict on the incident; the earlier stays recorded.
    Assessment {
        /// The incident.
        incident_id: IncidentId,
        /// The monitor whose verdict it is.
        monitor: String,
        /// The verdict.
        verdict: Verdict,
        /// Why, in the officer's words.
        reason: String,
        /// The officer who gave it.
        user: String,
        /// When the center recorded it.
        recorded_at: Timestamp,
        /// The C2SP signed note over the statement (see `access::assessment_statement`).
        signed_note: String,
    },
    /// Where one of a monitor's own patrols or UAVs was, from its device's situational
    /// awareness (a point kept at a bounded rate: see ARCHITECTURE.md, "Tracks").
    Track {
        /// The monitor whose team it is (the reporting member's).
        monitor: String,
        /// When the center recorded it.
        recorded_at: Timestamp,
        /// The point.
        point: crate::track::TrackPoint,
    },
    /// A report the center issued: what it said can later be proven by the file's hash, and
    /// re-derived from the record at the size it names.
    Report {
        /// `daily`.
        report: String,
        /// The request: `YYYY-MM-DD`, cut-off `HH:MM` (UTC), language `en` or `ru`.
        date: String,
        /// The cut-off.
        cutoff: String,
        /// The language.
        lang: String,
        /// `html`.
        format: String,
        /// SHA-256 of the file as issued, lowercase hex.
        sha256: String,
        /// The record's size its figures were computed at (before this entry).
        record_size: u64,
        /// The record's Merkle root at that size, lowercase hex.
        record_root: String,
        /// The latest signed checkpoint then, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint_size: Option<u64>,
        /// The monitors whose witnesses had cosigned that checkpoint then, as the report names
        /// them (cosignatures arriving later do not change what the report said).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cosigned_by: Vec<String>,
        /// What made the file (`truce 0.1.0, typst 0.14.2`): the same bytes are promised again
        /// only by the same makers.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        generator: String,
        /// The officer who issued it.
        by: String,
        /// When the center recorded it.
        recorded_at: Timestamp,
    },
    /// A file handed in to the center (a photo, a recording, a proof): one link of its chain
    /// of custody. The file is kept outside the record under its SHA-256; the entry says who
    /// handed it in and when (the center's facts), and what the client claims about its
    /// capture (kept apart, in `capture`).
    Evidence {
        /// SHA-256 of the file's bytes, lowercase hex.
        sha256: String,
        /// Its size, bytes.
        size: u64,
        /// Its media type, checked against its first bytes.
        media_type: String,
        /// Its name as the client knew it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The file it was derived from (a redacted copy, a thumbnail), by SHA-256.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        derived_from: Option<String>,
        /// The client's claims about the capture.
        #[serde(default, skip_serializing_if = "crate::evidence::Capture::is_empty")]
        capture: crate::evidence::Capture,
        /// The member who handed it in.
        by: String,
        /// Their monitor.
        monitor: String,
        /// How it came: `upload`.
        channel: String,
        /// When the center received it.
        received_at: Timestamp,
    },
    /// An analyst's note on an incident, possibly correcting its kind.
    Annotation {
        /// The incident.
        incident_id: IncidentId,
        /// The analyst.
        user: String,
        /// The note.
        text: String,
        /// The kind the analyst corrects the incident to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        corrected_kind: Option<Kind>,
        /// When the center recorded it.
        recorded_at: Timestamp,
    },
}

impl EntryBody {
    /// The entry's type name, as in its `type` field.
    pub fn type_name(&self) -> &'static str {
        match self {
            EntryBody::Agreement { .. } => "agreement",
            EntryBody::Observation { .. } => "observation",
            EntryBody::IncidentRevision { .. } => "incident_revision",
            EntryBody::Membership { .. } => "membership",
            EntryBody::Assessment { .. } => "assessment",
            EntryBody::Annotation { .. } => "annotation",
            EntryBody::Track { .. } => "track",
            EntryBody::Report { .. } => "report",
            EntryBody::Evidence { .. } => "evidence",
        }
    }

    /// The canonical bytes (RFC 8785). Fails only if the entry is over [`MAX_ENTRY_BYTES`].
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let bytes = canonical_json(self)?;
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// Reads an entry from bytes the store wrote, without re-checking canonical form (that is
    /// [`EntryBody::from_canonical_bytes`], for audits).
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        serde_json::from_slice(bytes).map_err(|e| EntryError::Decode(e.to_string()))
    }

    /// Reads an entry back from its bytes, checking that they are canonical.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, EntryError> {
        let body = match bulk::decode(bytes) {
            Some(body) => body,
            None => serde_json::from_slice(bytes).map_err(|e| EntryError::Decode(e.to_string()))?,
        };
        // The bytes the writer would make (`canonical_bytes`), compared without keeping them;
        // refused as `canonical_bytes` and the comparison would refuse them.
        if !crate::canonical::is_encoding_of(&body, bytes)
            .map_err(|e| EntryError::Encode(e.to_string()))?
        {
            return Err(match body.canonical_bytes() {
                Err(too_large) => too_large,
                Ok(_) => EntryError::NotCanonical,
            });
        }
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge(bytes.len()));
        }
        Ok(body)
    }
}

/// Why an entry could not be written or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EntryError {
    /// Serialisation failed.
    #[error("cannot encode entry: {0}")]
    Encode(String),
    /// The bytes are not an entry.
    #[error("cannot decode entry: {0}")]
    Decode(String),
    /// The bytes decode, but are not the canonical form of what they decode to.
    #[error("entry bytes are not in canonical form")]
    NotCanonical,
    /// Over [`MAX_ENTRY_BYTES`].
    #[error("entry is {0} bytes; at most {MAX_ENTRY_BYTES} allowed")]
    TooLarge(usize),
}

/// The RFC 8785 canonical JSON of any serialisable value (documents kept beside the record).
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, EntryError> {
    crate::canonical::to_vec(value).map_err(|e| EntryError::Encode(e.to_string()))
}

/// The RFC 9162 leaf hash of entry bytes: SHA-256(0x00 || bytes).
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// The chain hash after an entry: SHA-256(previous chain hash || leaf hash).
pub fn chain_hash(previous: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(leaf);
    h.finalize().into()
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The bytes of lowercase or uppercase hex text, if it is hex of even length.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_hash_of_empty_entry_matches_rfc9162() {
        // RFC 9162 §2.1.1: MTH of one empty leaf = SHA-256(0x00).
        assert_eq!(
            hex(&leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn canonical_bytes_sort_keys_and_round_trip() {
        let body = EntryBody::Agreement {
            version: 1,
            document_sha256: "ab".repeat(32),
            name: "Test".into(),
            recorded_at: Timestamp::parse("2026-11-20T10:00:00Z").unwrap(),
        };
        let bytes = body.canonical_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("{\"document_sha256\":"), "{text}");
        assert!(
            text.ends_with("\"type\":\"agreement\",\"version\":1}"),
            "{text}"
        );
        assert_eq!(EntryBody::from_canonical_bytes(&bytes).unwrap(), body);
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let spaced = br#"{"type": "agreement","version":1,"document_sha256":"x","name":"n","recorded_at":"2026-11-20T10:00:00Z"}"#;
        assert_eq!(
            EntryBody::from_canonical_bytes(spaced),
            Err(EntryError::NotCanonical)
        );
    }
}
