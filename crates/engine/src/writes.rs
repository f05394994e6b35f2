//! Members' writes other than observations submitted over HTTP (a verdict, a note, a merge, a
//! split, a member change, an issued report, and a TAK client's report or track point) as
//! values, so that a node of several can queue one for the sequencer
//! ([`truce_store::IntakeRequest::Write`]) and any node answers it as the one
//! server would.
//!
//! [`Engine::perform`] records a write and gives its answer. Taken from the intake queue, the
//! answer is written in the transaction that records the write's entries, so an item that a
//! dying sequencer left half-done is either recorded and answered, or neither, and the next
//! sequencer does it once.

use crate::SubmitOutcome;
use crate::{Caller, Engine, EngineError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use truce_core::access::Role;
use truce_core::access::Verdict;
use truce_core::incident::Status;
use truce_core::track::TrackPoint;
use truce_core::validate::validate;
use truce_core::{IncidentId, Kind, Observation, ObservationId, Timestamp};
use truce_store::IntakeSettle;

/// One member's write, as its request asked for it (already checked for form by the node that
/// took it; the sequencer checks the rest: the member's role, the incident, the texts, the
/// values at the time the node received it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "write", rename_all = "snake_case", deny_unknown_fields)]
pub enum MemberWrite {
    /// An officer's verdict on an incident for their monitor.
    Assess {
        /// The incident.
        incident: IncidentId,
        /// Confirm, dispute or undetermined.
        verdict: Verdict,
        /// Why.
        reason: String,
        /// The statement signed with the monitor's own key, when the center does not hold it.
        signed_note: Option<String>,
    },
    /// An analyst's note on an incident, possibly correcting its kind.
    Annotate {
        /// The incident.
        incident: IncidentId,
        /// The note.
        text: String,
        /// The kind it should have.
        corrected_kind: Option<Kind>,
    },
    /// An analyst folds incident `fold` into `into` (one event).
    Merge {
        /// The incident folded.
        fold: IncidentId,
        /// The incident kept.
        into: IncidentId,
        /// Why.
        reason: String,
    },
    /// An analyst moves `observation_ids` out of `incident` into a new incident.
    Split {
        /// The incident split.
        incident: IncidentId,
        /// The observations that leave it.
        observation_ids: Vec<ObservationId>,
        /// Why.
        reason: String,
    },
    /// An observer's reports that came by a listener (TAK) or an imported file, which name
    /// where they came from in `via` (a field an HTTP submission may not set): recorded all or
    /// none, as one submission.
    Reports {
        /// The reports.
        observations: Vec<Observation>,
    },
    /// A point of an observer's team's track (from their TAK device).
    Track {
        /// The point.
        point: TrackPoint,
    },
    /// An admin admits `user` to their own monitor with `role`; the token was made where it is
    /// shown ([`crate::new_credential`]): only its argon2 hash travels and is kept.
    AddMember {
        /// The new member's name.
        user: String,
        /// Their role.
        role: Role,
        /// The argon2 hash of their token.
        token_hash: String,
    },
    /// An admin revokes `user`, a member of their own monitor.
    Revoke {
        /// The member revoked.
        user: String,
    },
    /// An observer's or an officer's hand-in of a file the node kept already
    /// ([`Engine::keep_evidence_file`]).
    Evidence {
        /// The file's SHA-256.
        sha256: String,
        /// Its size in bytes.
        size: u64,
        /// What the member states about it.
        evidence: crate::EvidenceIn,
    },
    /// An officer issues a report the node rendered from the record at one size.
    IssueReport {
        /// What its entry says.
        report: crate::IssuedReport,
    },
}

/// A write's answer: the HTTP status and JSON body the API gives for it, from whichever node
/// took the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// HTTP status (201: recorded; 200: a report already in the record).
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// Whether this answer was recorded as an intake item's, with the write's entries (false
    /// when nothing was recorded, or the write came from no intake item).
    pub settled: bool,
}

impl Written {
    /// A verdict recorded: the incident and its status after it.
    pub fn assessed(incident: IncidentId, status: Status) -> Self {
        Self::created(json!({"incident_id": incident, "status": status.as_str()}))
    }

    /// A note recorded.
    pub fn annotated(incident: IncidentId) -> Self {
        Self::created(json!({"incident_id": incident}))
    }

    /// `fold` merged into `keep`.
    pub fn merged(keep: IncidentId, fold: IncidentId) -> Self {
        Self::created(json!({"incident_id": keep, "merged": fold}))
    }

    /// `new` split off `from`.
    pub fn split(new: IncidentId, from: IncidentId) -> Self {
        Self::created(json!({"incident_id": new, "split_from": from}))
    }

    /// `user` admitted to `monitor` as `role` (the node that shows the token adds it).
    pub fn member_added(user: &str, monitor: &str, role: Role) -> Self {
        Self::created(json!({"user": user, "monitor": monitor, "role": role.as_str()}))
    }

    /// A member revoked: 204, no body.
    pub fn revoked() -> Self {
        Self {
            status: 204,
            body: Value::Null,
            settled: false,
        }
    }

    /// A report issued: its entry's index, the file's SHA-256 and the record size its figures
    /// are from.
    pub fn issued(entry: u64, sha256: &str, record_size: u64) -> Self {
        Self::created(json!({"entry": entry, "sha256": sha256, "record_size": record_size}))
    }

    /// A file handed in: 201 with its entry, or 200 with the first entry when this member had
    /// handed it in with the same claims already (nothing recorded).
    pub fn evidence(receipt: &crate::EvidenceReceipt) -> Self {
        Self {
            status: if receipt.created { 201 } else { 200 },
            body: json!({"sha256": receipt.sha256, "size": receipt.size, "entry": receipt.entry}),
            settled: false,
        }
    }

    /// A track point recorded for `monitor`'s team.
    pub fn track_point(monitor: &str) -> Self {
        Self::created(json!({"monitor": monitor}))
    }

    /// Observations taken: 201 when any was new, else 200 (all in the record already); the
    /// body lists each one's number and incident, and how many were new.
    pub fn accepted(outcome: &SubmitOutcome) -> Self {
        Self {
            status: if outcome.new > 0 { 201 } else { 200 },
            body: json!({"accepted": outcome.accepted, "new": outcome.new}),
            settled: false,
        }
    }

    fn created(body: Value) -> Self {
        Self {
            status: 201,
            body,
            settled: false,
        }
    }

    /// This answer as intake item `id`'s.
    pub fn settling(&self, id: u64) -> IntakeSettle {
        IntakeSettle {
            id,
            status: self.status,
            outcome: self.body.to_string(),
        }
    }
}

impl Engine {
    /// Records `write` by `caller` at `now` and answers it. For intake item `intake` (a write a
    /// node queued), the answer is recorded in the same transaction as the write's entries
    /// ([`Written::settled`]). Errors as the write's own method ([`Engine::assess`],
    /// [`Engine::annotate`], [`Engine::merge_incidents`], [`Engine::split_incident`],
    /// [`Engine::submit`], [`Engine::record_track`]); nothing is recorded then.
    pub fn perform(
        &self,
        caller: &Caller,
        write: &MemberWrite,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<Written, EngineError> {
        let mut written = match write {
            MemberWrite::Assess {
                incident,
                verdict,
                reason,
                signed_note,
            } => {
                let status = self.assess_answering(
                    caller,
                    *incident,
                    *verdict,
                    reason,
                    signed_note.as_deref(),
                    now,
                    intake,
                )?;
                Written::assessed(*incident, status)
            }
            MemberWrite::Annotate {
                incident,
                text,
                corrected_kind,
            } => {
                self.annotate_answering(caller, *incident, text, *corrected_kind, now, intake)?;
                Written::annotated(*incident)
            }
            MemberWrite::Merge { fold, into, reason } => {
                self.merge_answering(caller, *into, *fold, reason, now, intake)?;
                Written::merged(*into, *fold)
            }
            MemberWrite::Split {
                incident,
                observation_ids,
                reason,
            } => {
                let new =
                    self.split_answering(caller, *incident, observation_ids, reason, now, intake)?;
                Written::split(new, *incident)
            }
            MemberWrite::Reports { observations } => {
                if caller.role != Role::Observer {
                    return Err(EngineError::Forbidden(format!(
                        "{} is {}, and only an observer submits reports",
                        caller.user,
                        caller.role.as_str()
                    )));
                }
                // The node validated them when it took them, at the same time: this fails only
                // for a node of another build, and names the item and field in the message.
                let valid = observations
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        validate(o.clone(), now).map_err(|e| {
                            EngineError::invalid(
                                "observations",
                                format!("item {i}: {}: {}", e.field, e.message),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let answer = |o: &SubmitOutcome| Written::accepted(o).body.to_string();
                let outcome = self.submit_answering(valid, now, intake, &answer)?;
                let mut written = Written::accepted(&outcome);
                // Nothing new: nothing was recorded, and the caller answers the item.
                written.settled = intake.is_some() && outcome.new > 0;
                return Ok(written);
            }
            MemberWrite::Track { point } => {
                self.record_track_answering(caller, point.clone(), now, intake)?;
                Written::track_point(&caller.monitor)
            }
            MemberWrite::AddMember {
                user,
                role,
                token_hash,
            } => {
                self.add_member_hashed(caller, user, *role, token_hash, now, intake)?;
                Written::member_added(user, &caller.monitor, *role)
            }
            MemberWrite::Revoke { user } => {
                crate::members::require_admin(caller, "revokes members")?;
                self.revoke_answering(user, &caller.user, Some(&caller.monitor), now, intake)?;
                Written::revoked()
            }
            MemberWrite::Evidence {
                sha256,
                size,
                evidence,
            } => {
                let receipt = self.record_kept_evidence(
                    caller,
                    sha256,
                    *size,
                    evidence.clone(),
                    now,
                    intake,
                )?;
                let mut written = Written::evidence(&receipt);
                // Handed in before with the same claims: nothing was recorded, and the caller
                // answers the item.
                written.settled = intake.is_some() && receipt.created;
                return Ok(written);
            }
            MemberWrite::IssueReport { report } => {
                let entry = self.issue_report_answering(caller, report.clone(), now, intake)?;
                Written::issued(entry, &report.sha256, report.record_size)
            }
        };
        written.settled = intake.is_some();
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_the_same_after_the_queue() {
        let writes = [
            MemberWrite::Assess {
                incident: IncidentId(3),
                verdict: Verdict::Dispute,
                reason: "the crater is old".into(),
                signed_note: Some("note\n\n— key sig\n".into()),
            },
            MemberWrite::Annotate {
                incident: IncidentId(4),
                text: "seen twice".into(),
                corrected_kind: Some(Kind::Explosion),
            },
            MemberWrite::Merge {
                fold: IncidentId(5),
                into: IncidentId(2),
                reason: "one event".into(),
            },
            MemberWrite::Split {
                incident: IncidentId(6),
                observation_ids: vec![ObservationId(9), ObservationId(11)],
                reason: "two events".into(),
            },
            MemberWrite::Reports {
                observations: vec![
                    serde_json::from_str(
                        r#"{"kind":"shot","observed_at":"2026-11-20T10:00:00Z","reporter":"post-1",
                        "via":"cot-tcp 127.0.0.1:8087 as op-1 (m1)",
                        "geometry":{"type":"position","lat":40.1,"lon":46.6,"accuracy_m":50}}"#,
                    )
                    .unwrap(),
                ],
            },
            MemberWrite::Track {
                point: serde_json::from_str(
                    r#"{"device":"ANDROID-1","callsign":"Patrol 1","platform":"ground",
                    "lat":40.2,"lon":46.6,"hae_m":null,"accuracy_m":5.0,"course_deg":null,
                    "speed_mps":null,"observed_at":"2026-11-20T10:00:00Z",
                    "via":"cot-tcp 127.0.0.1:8087"}"#,
                )
                .unwrap(),
            },
            MemberWrite::AddMember {
                user: "m1-relief".into(),
                role: Role::Observer,
                token_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            },
            MemberWrite::Revoke {
                user: "m1-relief".into(),
            },
            MemberWrite::Evidence {
                sha256: "ef".repeat(32),
                size: 2048,
                evidence: crate::EvidenceIn {
                    media_type: "image/jpeg".into(),
                    name: Some("crater.jpg".into()),
                    derived_from: None,
                    capture: serde_json::from_str(
                        r#"{"captured_at":"2026-11-20T10:01:00Z","lat":40.1,"lon":46.6}"#,
                    )
                    .unwrap(),
                },
            },
            MemberWrite::IssueReport {
                report: crate::IssuedReport {
                    report: "daily".into(),
                    date: "2026-11-20".into(),
                    cutoff: "18:00".into(),
                    lang: "en".into(),
                    format: "pdf".into(),
                    sha256: "ab".repeat(32),
                    record_size: 77,
                    record_root: "cd".repeat(32),
                    checkpoint_size: Some(76),
                    cosigned_by: vec!["Monitor 1".into()],
                    generator: "truce 0.1.0".into(),
                },
            },
        ];
        for write in writes {
            let bytes = serde_json::to_vec(&write).unwrap();
            let back: MemberWrite = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(back, write);
        }
    }

    #[test]
    fn an_unknown_write_or_field_is_refused() {
        for text in [
            r#"{"write":"delete","incident":1}"#,
            r#"{"write":"annotate","incident":1,"text":"x","corrected_kind":null,"extra":1}"#,
            r#"{"write":"merge","fold":1,"reason":"x"}"#,
        ] {
            assert!(serde_json::from_str::<MemberWrite>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn an_answer_settles_as_its_status_and_body() {
        let settle = Written::merged(IncidentId(2), IncidentId(5)).settling(17);
        assert_eq!(settle.id, 17);
        assert_eq!(settle.status, 201);
        let body: Value = serde_json::from_str(&settle.outcome).unwrap();
        assert_eq!(body, json!({"incident_id": 2, "merged": 5}));
    }
}
