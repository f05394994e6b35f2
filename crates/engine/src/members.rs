//! Members, their tokens, and what they record: membership changes, each monitor's signed
//! verdicts on incidents, analysts' notes.
//!
//! A token is `<user>.<secret>` with 32 random bytes of secret; only its argon2id hash is
//! kept (in `members.token_hash`, never in the record). Verifying a token runs argon2 once; a
//! verified token is then remembered by its SHA-256 until the member is revoked, so each
//! request does not pay argon2 again. Failed attempts are limited per client by the server.
//!
//! An assessment is signed with its monitor's assessment key (a C2SP signed-note Ed25519 key
//! listed in the agreement's `[ledger.assessment_keys]`): the record itself then proves which
//! monitor said what. The key is the monitor's, not the center's: the center holds it only
//! when the monitor deposits it (the demo does), and a monitor that does not may sign the
//! statement itself and send the signed note.

use crate::writes::Written;
use crate::{Engine, EngineError};
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use truce_core::access::{Role, Verdict, assessment_statement, derive_status, statement_time};
use truce_core::entry::{EntryBody, hex};
use truce_core::incident::Status;
use truce_core::{IncidentId, Kind, Timestamp};
use truce_ledger::note::{NoteSigner, NoteVerifier};
use truce_store::{AppendBatch, IntakeSettle, Member, NewEntry, Projection};

/// Longest member name, reason or note, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest reason or note text, bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// How far a monitor's own signing time may be from the center's clock, seconds.
const MAX_SIGNING_SKEW_S: f64 = 300.0;

/// Who is calling, once their token verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Their name.
    pub user: String,
    /// Their monitor.
    pub monitor: String,
    /// Their role.
    pub role: Role,
}

/// A new sign-in token for `user` (shown once) and its argon2 hash (all that is stored).
pub fn new_credential(user: &str) -> Result<(String, String), EngineError> {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{user}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .map_err(|e| EngineError::Ledger(format!("hashing a token: {e}")))?
        .to_string();
    Ok((token, hash))
}

/// Refuses a caller who is not an admin.
pub(crate) fn require_admin(caller: &Caller, what: &str) -> Result<(), EngineError> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(EngineError::Forbidden(format!(
            "{} is {}, and only an admin {what}",
            caller.user,
            caller.role.as_str()
        )))
    }
}

/// Tokens verified since start, by SHA-256, and each monitor's deposited assessment key.
#[derive(Default)]
pub(crate) struct Access {
    verified: Mutex<HashMap<[u8; 32], Caller>>,
    assessment_signers: Mutex<HashMap<String, NoteSigner>>,
}

impl Engine {
    /// Forgets the tokens of `user` verified so far: the next request checks theirs against
    /// the store again (after a membership change another node recorded).
    pub(crate) fn forget_member(&self, user: &str) {
        lock(&self.access.verified).retain(|_, c| c.user != user);
    }

    /// Adds `user` to `monitor` with `role` (or re-admits a revoked member) and returns their
    /// token, which is shown once and stored only as a hash. `by` names who did it.
    pub fn add_member(
        &self,
        user: &str,
        monitor: &str,
        role: Role,
        by: &str,
        now: Timestamp,
    ) -> Result<String, EngineError> {
        self.add_member_with_cert(user, monitor, role, None, by, now)
    }

    /// As [`Engine::add_member`], and binds the client certificate whose DER bytes hash to
    /// `cert_sha256` to the member: its fingerprint goes into the membership entry, so a
    /// CoT/TLS client presenting it acts as this member (see [`Engine::member_by_cert`]).
    /// Refused when an active member already holds that certificate.
    pub fn add_member_with_cert(
        &self,
        user: &str,
        monitor: &str,
        role: Role,
        cert_sha256: Option<&[u8; 32]>,
        by: &str,
        now: Timestamp,
    ) -> Result<String, EngineError> {
        check_name("user", user)?;
        let cert_hex = cert_sha256.map(|f| hex(f));
        if let Some(fingerprint) = cert_sha256
            && let Some(holder) = self.member_by_cert(fingerprint)?
        {
            return Err(EngineError::invalid(
                "cert",
                format!(
                    "the certificate is already bound to {:?} ({} of {}): one certificate speaks for one member",
                    holder.user,
                    holder.role.as_str(),
                    holder.monitor
                ),
            ));
        }
        if !self
            .agreement()
            .doc
            .monitors
            .iter()
            .any(|m| m.id == monitor)
        {
            return Err(EngineError::invalid(
                "monitor",
                format!("{monitor:?} is not a monitor of the agreement"),
            ));
        }
        let (token, hash) = new_credential(user)?;
        self.admit(user, monitor, role, cert_hex, hash, by, now, None)?;
        Ok(token)
    }

    /// Records `user` as an active member of `monitor` with `role`, signing in with the token
    /// whose argon2 hash is `hash` (made by [`new_credential`] where the token is shown); for
    /// intake item `intake`, its answer is recorded with the entry. Refused when an active
    /// member has that name (checked holding the sequencer lock, so two admissions of one name
    /// cannot both pass). The caller checked the name and the monitor.
    #[allow(clippy::too_many_arguments)]
    fn admit(
        &self,
        user: &str,
        monitor: &str,
        role: Role,
        cert_hex: Option<String>,
        hash: String,
        by: &str,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<(), EngineError> {
        let body = EntryBody::Membership {
            user: user.to_string(),
            monitor: monitor.to_string(),
            role,
            active: true,
            cert_sha256: cert_hex,
            credential_sha256: Some(truce_core::entry::sha256_hex(hash.as_bytes())),
            by: by.to_string(),
            recorded_at: now,
        };
        let _seq = self.lock_sequencer()?;
        self.refuse_active(user)?;
        self.append_locked(
            &body,
            Projection::Membership {
                user: user.to_string(),
                monitor: monitor.to_string(),
                role,
                active: true,
                token_hash: Some(hash),
            },
            intake
                .map(|id| Written::member_added(user, monitor, role).settling(id))
                .as_ref(),
        )?;
        Ok(())
    }

    /// Refuses `user` when an active member has that name.
    fn refuse_active(&self, user: &str) -> Result<(), EngineError> {
        match self.store().member(user)? {
            Some(m) if m.active => Err(EngineError::invalid(
                "user",
                format!(
                    "{user:?} is already a member ({} of {})",
                    m.role.as_str(),
                    m.monitor
                ),
            )),
            _ => Ok(()),
        }
    }

    /// [`Engine::add_member`] for a token made elsewhere (on the node of several that shows it:
    /// only its argon2 `hash` travels), by admin `caller` for their own monitor; for intake item
    /// `intake`, its answer is recorded with the entry.
    pub(crate) fn add_member_hashed(
        &self,
        caller: &Caller,
        user: &str,
        role: Role,
        hash: &str,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<(), EngineError> {
        require_admin(caller, "adds members")?;
        check_name("user", user)?;
        PasswordHash::new(hash)
            .map_err(|e| EngineError::invalid("token_hash", format!("not an argon2 hash: {e}")))?;
        self.admit(
            user,
            &caller.monitor,
            role,
            None,
            hash.to_string(),
            &caller.user,
            now,
            intake,
        )
    }

    /// Revokes `user`: their token stops working at once on this process (on the other nodes of
    /// several, once each has followed the entry, within a fraction of a second; the sequencer
    /// refuses their queued writes from the entry on); the record keeps that they were a
    /// member. `by` must be an admin of the same monitor (or the operator, `by_monitor: None`).
    pub fn revoke_member(
        &self,
        user: &str,
        by: &str,
        by_monitor: Option<&str>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.revoke_answering(user, by, by_monitor, now, None)
    }

    /// [`Engine::revoke_member`]; for intake item `intake`, its answer is recorded with the
    /// entry.
    pub(crate) fn revoke_answering(
        &self,
        user: &str,
        by: &str,
        by_monitor: Option<&str>,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<(), EngineError> {
        let m = self
            .store()
            .member(user)?
            .filter(|m| m.active)
            .ok_or_else(|| EngineError::NotFound(format!("no active member {user:?}")))?;
        if let Some(monitor) = by_monitor
            && monitor != m.monitor
        {
            return Err(EngineError::Forbidden(format!(
                "{user:?} is a member of {}, not of {monitor}",
                m.monitor
            )));
        }
        let body = EntryBody::Membership {
            user: m.user.clone(),
            monitor: m.monitor.clone(),
            role: m.role,
            active: false,
            cert_sha256: None,
            credential_sha256: None,
            by: by.to_string(),
            recorded_at: now,
        };
        self.append_one(
            &body,
            Projection::Membership {
                user: m.user.clone(),
                monitor: m.monitor,
                role: m.role,
                active: false,
                token_hash: None,
            },
            intake.map(|id| Written::revoked().settling(id)).as_ref(),
        )?;
        lock(&self.access.verified).retain(|_, c| c.user != m.user);
        Ok(())
    }

    /// The caller a token belongs to, or `None` when it is not an active member's.
    pub fn authenticate(&self, token: &str) -> Result<Option<Caller>, EngineError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(c) = lock(&self.access.verified).get(&digest) {
            return Ok(Some(c.clone()));
        }
        let Some((user, _)) = token.rsplit_once('.') else {
            return Ok(None);
        };
        let Some(m) = self.store().member(user)? else {
            return Ok(None);
        };
        let Some(hash) = m.token_hash.as_deref().filter(|_| m.active) else {
            return Ok(None);
        };
        // The row must be what its membership entry says, and the credential the one it
        // commits to: a hash (or a role) put in the database signs no one in.
        if !self.row_matches_its_entry(&m, hash)? {
            tracing::warn!(
                user = %m.user,
                "refused: the stored member is not what its membership entry records"
            );
            return Ok(None);
        }
        let Ok(parsed) = PasswordHash::new(hash) else {
            return Ok(None);
        };
        // argon2's comparison of the derived hash is constant-time.
        if Argon2::default()
            .verify_password(token.as_bytes(), &parsed)
            .is_err()
        {
            return Ok(None);
        }
        let caller = Caller {
            user: m.user,
            monitor: m.monitor,
            role: m.role,
        };
        lock(&self.access.verified).insert(digest, caller.clone());
        Ok(Some(caller))
    }

    /// `user` as an active member, as their membership entry records them (role and monitor),
    /// or `None` when they are not active, or their stored row is not what the entry says (a
    /// role or credential put in the database acts for no one). For writes a node took from
    /// them and the sequencer records later.
    pub fn member_as_recorded(&self, user: &str) -> Result<Option<Caller>, EngineError> {
        let Some(m) = self.store().member(user)? else {
            return Ok(None);
        };
        let Some(hash) = m.token_hash.clone().filter(|_| m.active) else {
            return Ok(None);
        };
        if !self.row_matches_its_entry(&m, &hash)? {
            tracing::warn!(
                user = %m.user,
                "refused: the stored member is not what its membership entry records"
            );
            return Ok(None);
        }
        Ok(Some(Caller {
            user: m.user,
            monitor: m.monitor,
            role: m.role,
        }))
    }

    /// The active member whose membership entry binds the client certificate with SHA-256
    /// `cert_sha256`, or `None`. Read from the record's entries (each active member's latest
    /// membership entry), not from a table an operator could edit unseen; revoking a member
    /// unbinds their certificate at once.
    pub fn member_by_cert(&self, cert_sha256: &[u8; 32]) -> Result<Option<Caller>, EngineError> {
        let wanted = hex(cert_sha256);
        for m in self.store().members(None)? {
            if m.active && self.bound_cert(&m)?.as_deref() == Some(wanted.as_str()) {
                return Ok(Some(Caller {
                    user: m.user,
                    monitor: m.monitor,
                    role: m.role,
                }));
            }
        }
        Ok(None)
    }

    /// The SHA-256 (hex) of the client certificate `member`'s latest membership entry binds,
    /// if any (a revoked member's latest entry binds none).
    pub fn bound_cert(&self, member: &Member) -> Result<Option<String>, EngineError> {
        let Some(entry) = self.store().entries(member.entry, 1)?.into_iter().next() else {
            return Ok(None);
        };
        let body = EntryBody::decode(&entry.bytes)
            .map_err(|e| EngineError::Ledger(format!("entry {}: {e}", member.entry)))?;
        Ok(match body {
            EntryBody::Membership {
                cert_sha256, user, ..
            } if user == member.user => cert_sha256,
            _ => None,
        })
    }

    /// Whether `member`'s row agrees with the membership entry it names: an entry that makes
    /// this user an active member of the same monitor in the same role, committing to
    /// `credential` (entries written before the commitment existed commit to none, and are
    /// taken as they are). Anything else fails closed.
    fn row_matches_its_entry(
        &self,
        member: &Member,
        credential: &str,
    ) -> Result<bool, EngineError> {
        let Some(entry) = self.store().entries(member.entry, 1)?.into_iter().next() else {
            return Ok(false);
        };
        let Ok(body) = EntryBody::decode(&entry.bytes) else {
            return Ok(false);
        };
        Ok(match body {
            EntryBody::Membership {
                user,
                monitor,
                role,
                active,
                credential_sha256,
                ..
            } => {
                user == member.user
                    && monitor == member.monitor
                    && role == member.role
                    && active
                    && credential_sha256
                        .is_none_or(|c| c == truce_core::entry::sha256_hex(credential.as_bytes()))
            }
            _ => false,
        })
    }

    /// The members of `monitor` (all monitors with `None`), without their token hashes.
    pub fn members(&self, monitor: Option<&str>) -> Result<Vec<Member>, EngineError> {
        let mut list = self.store().members(monitor)?;
        for m in &mut list {
            m.token_hash = None;
        }
        Ok(list)
    }

    /// Deposits `monitor`'s assessment key with this process, so it can sign that monitor's
    /// officers' verdicts. The key must be the one the agreement lists for the monitor.
    pub fn set_assessment_signer(
        &self,
        monitor: &str,
        signer: NoteSigner,
    ) -> Result<(), EngineError> {
        if signer.verifier_text() != listed_text(self, monitor) {
            return Err(EngineError::Ledger(format!(
                "the key {} is not the assessment key the agreement lists for {monitor}",
                signer.name()
            )));
        }
        lock(&self.access.assessment_signers).insert(monitor.to_string(), signer);
        Ok(())
    }

    /// Records the calling officer's verdict on `incident` for their own monitor, signed with
    /// the monitor's key: by the key deposited here, or as `signed_note` the monitor signed
    /// itself over the exact statement. Returns the incident's status after it.
    pub fn assess(
        &self,
        caller: &Caller,
        incident: IncidentId,
        verdict: Verdict,
        reason: &str,
        signed_note: Option<&str>,
        now: Timestamp,
    ) -> Result<Status, EngineError> {
        self.assess_answering(caller, incident, verdict, reason, signed_note, now, None)
    }

    /// [`Engine::assess`]; for intake item `intake`, its answer is recorded with the entry.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assess_answering(
        &self,
        caller: &Caller,
        incident: IncidentId,
        verdict: Verdict,
        reason: &str,
        signed_note: Option<&str>,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<Status, EngineError> {
        if caller.role != Role::Officer {
            return Err(EngineError::Forbidden(format!(
                "{} is {}, and only an officer assesses",
                caller.user,
                caller.role.as_str()
            )));
        }
        check_text("reason", reason)?;
        let verifier = self.assessment_key(&caller.monitor)?;
        let mut seq = self.lock_sequencer()?;
        let found = self
            .store()
            .incident(incident)?
            .ok_or_else(|| EngineError::NotFound(format!("no incident {incident}")))?;
        if found.estimate.status == Status::Merged {
            return Err(EngineError::invalid(
                "incident",
                format!(
                    "incident {incident} was merged into {}: assess that one",
                    found
                        .estimate
                        .merged_into
                        .map(|i| i.to_string())
                        .unwrap_or_default()
                ),
            ));
        }
        let origin = self.record_origin();
        let statement = |at: Timestamp| {
            assessment_statement(
                &origin,
                incident,
                &caller.monitor,
                verdict,
                reason,
                &caller.user,
                at,
            )
        };
        let note = match signed_note {
            Some(note) => {
                let text = truce_ledger::note::verify_note(note.as_bytes(), &verifier)
                    .map_err(|e| EngineError::invalid("signed_note", e.to_string()))?;
                // The monitor signed at its own time: the statement names it.
                let signed_at = statement_time(&text).ok_or_else(|| {
                    EngineError::invalid("signed_note", "the statement has no time line")
                })?;
                if signed_at.seconds_since(now).abs() > MAX_SIGNING_SKEW_S {
                    return Err(EngineError::invalid(
                        "signed_note",
                        format!("signed at {signed_at}, more than 5 minutes from now ({now})"),
                    ));
                }
                let statement = statement(signed_at);
                if text != statement.as_bytes() {
                    return Err(EngineError::invalid(
                        "signed_note",
                        format!("must sign exactly this statement:\n{statement}"),
                    ));
                }
                note.to_string()
            }
            None => {
                let signers = lock(&self.access.assessment_signers);
                let signer = signers.get(&caller.monitor).ok_or_else(|| {
                    EngineError::invalid(
                        "signed_note",
                        format!(
                            "{} has not deposited its assessment key with the center: send the \
                             statement signed with it",
                            caller.monitor
                        ),
                    )
                })?;
                truce_ledger::note::sign_note(signer, statement(now).as_bytes())
            }
        };
        let mut verdicts: HashMap<String, Verdict> = found
            .assessments
            .iter()
            .filter(|a| a.current)
            .map(|a| (a.monitor.clone(), a.verdict))
            .collect();
        verdicts.insert(caller.monitor.clone(), verdict);
        let current: Vec<Verdict> = verdicts.into_values().collect();
        let status = derive_status(
            found.estimate.status,
            self.agreement().doc.monitors.len(),
            &current,
        );
        let body = EntryBody::Assessment {
            incident_id: incident,
            monitor: caller.monitor.clone(),
            verdict,
            reason: reason.to_string(),
            user: caller.user.clone(),
            recorded_at: now,
            signed_note: note,
        };
        let answer = intake.map(|id| Written::assessed(incident, status).settling(id));
        self.append_locked(
            &body,
            Projection::Assessment {
                incident_id: incident,
                monitor: caller.monitor.clone(),
                verdict,
                reason: reason.to_string(),
                user: caller.user.clone(),
                at: now,
                status,
            },
            answer.as_ref(),
        )?;
        seq.verdicts
            .entry(incident)
            .or_default()
            .insert(caller.monitor.clone(), verdict);
        Ok(status)
    }

    /// Records an analyst's note on `incident`, possibly correcting its kind.
    pub fn annotate(
        &self,
        caller: &Caller,
        incident: IncidentId,
        text: &str,
        corrected_kind: Option<Kind>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.annotate_answering(caller, incident, text, corrected_kind, now, None)
    }

    /// [`Engine::annotate`]; for intake item `intake`, its answer is recorded with the entry.
    pub(crate) fn annotate_answering(
        &self,
        caller: &Caller,
        incident: IncidentId,
        text: &str,
        corrected_kind: Option<Kind>,
        now: Timestamp,
        intake: Option<u64>,
    ) -> Result<(), EngineError> {
        if caller.role != Role::Analyst {
            return Err(EngineError::Forbidden(format!(
                "{} is {}, and only an analyst annotates",
                caller.user,
                caller.role.as_str()
            )));
        }
        check_text("text", text)?;
        let mut seq = self.lock_sequencer()?;
        if self.store().incident(incident)?.is_none() {
            return Err(EngineError::NotFound(format!("no incident {incident}")));
        }
        let body = EntryBody::Annotation {
            incident_id: incident,
            user: caller.user.clone(),
            text: text.to_string(),
            corrected_kind,
            recorded_at: now,
        };
        let answer = intake.map(|id| Written::annotated(incident).settling(id));
        self.append_locked(
            &body,
            Projection::Annotation {
                incident_id: incident,
                user: caller.user.clone(),
                text: text.to_string(),
                corrected_kind,
                at: now,
            },
            answer.as_ref(),
        )?;
        if let Some(kind) = corrected_kind {
            seq.corrected.insert(incident, kind);
        }
        Ok(())
    }

    /// The name assessments are signed under: the log's origin, else the agreement's name.
    pub fn record_origin(&self) -> String {
        self.agreement()
            .doc
            .ledger
            .as_ref()
            .map(|l| l.origin.clone())
            .unwrap_or_else(|| self.agreement().doc.name.clone())
    }

    fn assessment_key(&self, monitor: &str) -> Result<NoteVerifier, EngineError> {
        let text = listed_text(self, monitor);
        if text.is_empty() {
            return Err(EngineError::invalid(
                "monitor",
                format!("the agreement lists no assessment key for {monitor}"),
            ));
        }
        NoteVerifier::from_text(&text).map_err(|e| EngineError::Ledger(e.to_string()))
    }

    fn append_one(
        &self,
        body: &EntryBody,
        projection: Projection,
        answer: Option<&IntakeSettle>,
    ) -> Result<(), EngineError> {
        let _seq = self.lock_sequencer()?;
        self.append_locked(body, projection, answer)
    }

    /// Appends one entry, with `answer` (an intake item's) in the same transaction; the caller
    /// holds the sequencer lock.
    fn append_locked(
        &self,
        body: &EntryBody,
        projection: Projection,
        answer: Option<&IntakeSettle>,
    ) -> Result<(), EngineError> {
        let batch = AppendBatch {
            entries: vec![NewEntry {
                bytes: body.canonical_bytes()?,
                type_name: body.type_name(),
                projection,
            }],
        };
        self.append_answering(&batch, answer)?;
        Ok(())
    }
}

fn listed_text(engine: &Engine, monitor: &str) -> String {
    engine
        .agreement()
        .doc
        .ledger
        .as_ref()
        .and_then(|l| l.assessment_keys.get(monitor).cloned())
        .unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn check_name(field: &'static str, name: &str) -> Result<(), EngineError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid(
            field,
            format!("{name:?} must be 1–{MAX_NAME_BYTES} letters, digits, - or _"),
        ))
    }
}

/// Checks a free-text field (a reason, a note): not blank, no NUL, at most [`MAX_TEXT_BYTES`].
pub(crate) fn check_text(field: &'static str, text: &str) -> Result<(), EngineError> {
    if text.trim().is_empty() {
        return Err(EngineError::invalid(field, "must not be empty"));
    }
    if text.contains('\0') {
        return Err(EngineError::invalid(
            field,
            "must not contain NUL characters",
        ));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(EngineError::invalid(
            field,
            format!("{} bytes, at most {MAX_TEXT_BYTES}", text.len()),
        ));
    }
    Ok(())
}
