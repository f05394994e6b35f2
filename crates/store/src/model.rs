//! The values the store takes and gives.

use truce_core::access::{Role, Verdict};
use truce_core::entry::Hash;
use truce_core::incident::IncidentEstimate;
use truce_core::incident::Status;
use truce_core::{IncidentId, Kind, Observation, ObservationId, Timestamp};
use uuid::Uuid;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit reaches the disk before it returns (survives power loss). The default.
    #[default]
    Full,
    /// Commits survive a crash of the process, but the last ones may be lost on power loss.
    Process,
}

/// An entry to append, with the projection it carries.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The entry's canonical bytes.
    pub bytes: Vec<u8>,
    /// The entry's type (`observation`, `incident_revision`, `agreement`).
    pub type_name: &'static str,
    /// What derived tables learn from it.
    pub projection: Projection,
}

/// What an entry changes in the derived tables.
#[derive(Debug, Clone)]
pub enum Projection {
    /// An observation was accepted.
    Observation {
        /// Its number.
        id: ObservationId,
        /// The client's idempotency key, with the SHA-256 of the submitted content.
        client: Option<(Uuid, Hash)>,
        /// The incident it joined.
        incident_id: IncidentId,
        /// Its kind.
        kind: Kind,
        /// When it happened.
        observed_at: Timestamp,
    },
    /// An incident's latest state.
    Incident {
        /// The incident.
        id: IncidentId,
        /// Its revision.
        revision: u32,
        /// Its estimate after the revision.
        estimate: Box<IncidentEstimate>,
        /// Observations this revision takes over from another incident (a split or merge).
        moved: Vec<ObservationId>,
    },
    /// A member joined or left.
    Membership {
        /// The member.
        user: String,
        /// Their monitor.
        monitor: String,
        /// Their role.
        role: Role,
        /// Whether the member is active after the change.
        active: bool,
        /// The argon2 hash of the member's new token (joining); `None` when revoked.
        token_hash: Option<String>,
    },
    /// A monitor's verdict on an incident.
    Assessment {
        /// The incident.
        incident_id: IncidentId,
        /// The monitor.
        monitor: String,
        /// The verdict.
        verdict: Verdict,
        /// The reason.
        reason: String,
        /// The officer.
        user: String,
        /// When it was recorded.
        at: Timestamp,
        /// The incident's status with this verdict counted.
        status: Status,
    },
    /// An analyst's note, possibly correcting the incident's kind.
    Annotation {
        /// The incident.
        incident_id: IncidentId,
        /// The analyst.
        user: String,
        /// The note.
        text: String,
        /// The corrected kind, if any.
        corrected_kind: Option<Kind>,
        /// When it was recorded.
        at: Timestamp,
    },
    /// A point of a monitoring team's track.
    Track {
        /// The row, as the `tracks` table holds it.
        row: TrackRow,
    },
    /// A file was handed in.
    Evidence {
        /// The row, as the `evidence` table holds it.
        row: EvidenceRow,
    },
    /// Nothing derived changes (an issued report: the entry is all there is).
    Nothing,
    /// A new agreement version; the document is stored as a blob.
    Agreement {
        /// Its version.
        version: u32,
        /// The canonical document bytes.
        document: Vec<u8>,
    },
}

/// Entries to append in one transaction.
#[derive(Debug, Clone, Default)]
pub struct AppendBatch {
    /// In record order.
    pub entries: Vec<NewEntry>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Index of the batch's first entry.
    pub first_index: u64,
    /// The record after the append.
    pub head: Head,
}

/// The record's size, the chain hash of its last entry (32 zero bytes when empty), and the
/// RFC 9162 Merkle root of all its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Number of entries.
    pub size: u64,
    /// Chain hash after the last entry.
    pub chain: Hash,
    /// Merkle tree root over entries `0..size` (SHA-256 of the empty string when empty).
    pub root: Hash,
}

/// A checkpoint the log signed, with the witnesses' cosignature lines collected for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// The log-signed note.
    pub note: Vec<u8>,
    /// (witness name, signature line) for each cosignature received.
    pub cosignatures: Vec<(String, String)>,
}

impl StoredCheckpoint {
    /// The note with every collected cosignature appended: what `/checkpoint` serves.
    pub fn cosigned_note(&self) -> Vec<u8> {
        let mut out = self.note.clone();
        for (_, line) in &self.cosignatures {
            out.extend_from_slice(line.as_bytes());
            if !line.ends_with('\n') {
                out.push(b'\n');
            }
        }
        out
    }
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Its index, from 0.
    pub index: u64,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// The chain hash stored with it.
    pub chain: Hash,
}

/// A client id that is already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client's idempotency key.
    pub client_id: Uuid,
    /// SHA-256 of the content first submitted under it.
    pub content_hash: Hash,
    /// The observation it created.
    pub observation_id: ObservationId,
    /// The incident that observation joined.
    pub incident_id: IncidentId,
}

/// An observation with where it stands in the record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObservation {
    /// Its number.
    pub id: ObservationId,
    /// The incident it joined.
    pub incident_id: IncidentId,
    /// Index of its entry in the record.
    pub entry_index: u64,
    /// When the center accepted it.
    pub recorded_at: Timestamp,
    /// The observation.
    pub observation: Observation,
}

/// Which incidents to list. Every field narrows; `None` does not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFilter {
    /// West, south, east, north in degrees: incidents whose position lies inside.
    pub bbox: Option<[f64; 4]>,
    /// Incidents last seen at or after this.
    pub since: Option<Timestamp>,
    /// Incidents first seen at or before this.
    pub until: Option<Timestamp>,
    /// Of this kind.
    pub kind: Option<Kind>,
    /// In this status.
    pub status: Option<Status>,
    /// With a finding against this clause.
    pub clause: Option<String>,
    /// Attributed to this side (or `undetermined`).
    pub side: Option<String>,
    /// At most this many (the store caps it).
    pub limit: Option<u32>,
}

impl IncidentFilter {
    /// The most incidents one query returns.
    pub const MAX_LIMIT: u32 = 10_000;
}

/// An `observations` row as stored, for audits that rebuild it from the entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationRow {
    /// Observation number.
    pub id: u64,
    /// Index of its entry.
    pub entry: u64,
    /// The incident it joined.
    pub incident_id: u64,
    /// Its kind's name.
    pub kind: String,
    /// Observed time, ns since the epoch.
    pub observed_ns: i64,
    /// Client id bytes, if any.
    pub client_id: Option<Vec<u8>>,
    /// Content hash bytes, if any.
    pub content_hash: Option<Vec<u8>>,
}

/// An `incidents` row as stored, for audits.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    /// Incident number.
    pub id: u64,
    /// Latest revision.
    pub revision: u32,
    /// Index of the latest revision's entry.
    pub entry: u64,
    /// Kind name.
    pub kind: String,
    /// Status name.
    pub status: String,
    /// Attributed side.
    pub side: String,
    /// `,1,3,` form of the clauses with findings.
    pub clauses: String,
    /// First seen, ns.
    pub first_seen_ns: i64,
    /// Last seen, ns.
    pub last_seen_ns: i64,
    /// Latitude, if located.
    pub lat: Option<f64>,
    /// Longitude, if located.
    pub lon: Option<f64>,
}

impl IncidentRow {
    /// The row an incident revision in entry `entry` projects to: the one place that decides
    /// how an estimate becomes the columns queries filter on.
    pub fn from_estimate(id: u64, revision: u32, entry: u64, e: &IncidentEstimate) -> Self {
        let clauses = if e.findings.is_empty() {
            String::new()
        } else {
            let mut s = String::from(",");
            for f in &e.findings {
                s.push_str(&f.clause_id);
                s.push(',');
            }
            s
        };
        let ns = |t: Timestamp| t.unix_nanos().clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        Self {
            id,
            revision,
            entry,
            kind: e.kind.as_str().to_string(),
            status: e.status.as_str().to_string(),
            side: e.attribution.side.clone(),
            clauses,
            first_seen_ns: ns(e.first_seen),
            last_seen_ns: ns(e.last_seen),
            lat: e.position.as_ref().map(|p| p.lat),
            lon: e.position.as_ref().map(|p| p.lon),
        }
    }
}

/// A recorded agreement version with its stored document bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementVersion {
    /// Version number.
    pub version: u32,
    /// Index of its entry.
    pub entry: u64,
    /// The document's stored bytes.
    pub document: Vec<u8>,
}

/// A member as the center knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their name.
    pub user: String,
    /// Their monitor.
    pub monitor: String,
    /// Their role.
    pub role: Role,
    /// Whether they may act (false once revoked).
    pub active: bool,
    /// The argon2 hash of their token, while active.
    pub token_hash: Option<String>,
    /// Index of the entry that last changed them.
    pub entry: u64,
}

/// A `tracks` row: one point of a monitoring team's track (the entry holds the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackRow {
    /// Index of its entry.
    pub entry: u64,
    /// The team's monitor.
    pub monitor: String,
    /// The device's identifier.
    pub device: String,
    /// The call sign.
    pub callsign: String,
    /// `ground`, `air`, `sea` or `other`.
    pub platform: String,
    /// When the device was there, nanoseconds since the epoch.
    pub at_ns: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl TrackRow {
    /// The row entry `entry` gives for `point` of `monitor`'s team.
    pub fn of(entry: u64, monitor: &str, point: &truce_core::track::TrackPoint) -> Self {
        Self {
            entry,
            monitor: monitor.to_owned(),
            device: point.device.clone(),
            callsign: point.callsign.clone(),
            platform: point.platform.as_str().to_owned(),
            at_ns: point.observed_at.unix_nanos() as i64,
            lat: point.lat,
            lon: point.lon,
        }
    }
}

/// An `evidence` row: one hand-in of a file (the entry holds the rest: name, capture claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    /// Index of its entry.
    pub entry: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Its size, bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// The member who handed it in.
    pub user: String,
    /// Their monitor.
    pub monitor: String,
    /// When the center received it, nanoseconds since the epoch.
    pub received_ns: i64,
}

impl EvidenceRow {
    /// The row entry `entry` gives, when `body` is an `evidence` entry.
    pub fn of(entry: u64, body: &truce_core::entry::EntryBody) -> Option<Self> {
        match body {
            truce_core::entry::EntryBody::Evidence {
                sha256,
                size,
                media_type,
                by,
                monitor,
                received_at,
                ..
            } => Some(Self {
                entry,
                sha256: sha256.clone(),
                size: *size,
                media_type: media_type.clone(),
                user: by.clone(),
                monitor: monitor.clone(),
                received_ns: received_at.unix_nanos() as i64,
            }),
            _ => None,
        }
    }
}

/// An `assessments` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentRow {
    /// Index of its entry.
    pub entry: u64,
    /// The incident.
    pub incident_id: u64,
    /// The monitor.
    pub monitor: String,
    /// The verdict's name.
    pub verdict: String,
    /// The reason.
    pub reason: String,
    /// The officer.
    pub user: String,
    /// Recorded time, ns since the epoch.
    pub at_ns: i64,
}

/// One `annotations` row: an analyst's note as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationRow {
    /// Index of its entry.
    pub entry: u64,
    /// The incident.
    pub incident_id: u64,
    /// The analyst.
    pub user: String,
    /// The note.
    pub text: String,
    /// The kind it corrects the incident to, by name.
    pub corrected_kind: Option<String>,
    /// Recorded time, ns since the epoch.
    pub at_ns: i64,
}

/// The answer an intake item gets when it is sequenced, recorded in the same transaction as
/// the entries it produced (so an item is either pending, or sequenced with its answer, never
/// sequenced twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeSettle {
    /// The intake item.
    pub id: u64,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's JSON body.
    pub outcome: String,
}

/// What an intake item asks the sequencer to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeRequest {
    /// Observations: the body is the submission as received (one object or an array).
    Observations,
    /// Another member's write (a verdict, a note, a merge or a split): the body is the
    /// engine's JSON of it.
    Write,
}

impl IntakeRequest {
    /// The name stored in the queue.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Observations => "observations",
            Self::Write => "write",
        }
    }

    /// The request a stored name stands for, or `None` for a name this build does not know.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "observations" => Some(Self::Observations),
            "write" => Some(Self::Write),
            _ => None,
        }
    }
}

/// A submission committed to the intake queue and not yet sequenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingIntake {
    /// Its number, in commit order.
    pub id: u64,
    /// What it asks to record.
    pub request: IntakeRequest,
    /// The member who submitted it.
    pub member: String,
    /// When the intake node received it (the time it was validated against).
    pub received_ns: i64,
    /// The request body as received.
    pub body: Vec<u8>,
    /// Times a sequencer took it up before (and did not answer it).
    pub attempts: u32,
}
