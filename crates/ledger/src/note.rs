//! C2SP signed-note keys, tlog-checkpoints signed by the log, and tlog-cosignatures by witnesses.
//!
//! Key text follows the signed-note convention of Go's `sumdb/note`: a verifier key is
//! `name+<key id, 8 hex>+<base64(type ‖ public key)>`, a signer key `PRIVATE+KEY+name+<id>+
//! <base64(type ‖ seed)>`; the key id is the first four bytes of SHA-256(name ‖ "\n" ‖ type ‖ key).
//! Type 0x01 is a plain Ed25519 signature (the log), 0x04 a timestamped cosignature (witnesses,
//! c2sp.org/tlog-cosignature: the witness signs `cosignature/v1\ntime <T>\n` followed by the
//! checkpoint body, and the signature field is T as 8 big-endian bytes, then the signature).
//! Every verdict uses `verify_strict`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, VerifierList};
use thiserror::Error;
use tlog_tiles::{Checkpoint, Hash};

/// Signature type of a log's Ed25519 signature.
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type of a timestamped Ed25519 cosignature.
pub const TYPE_COSIGNATURE: u8 = 0x04;

/// A key or note could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NoteError {
    /// Key text is not in the expected form.
    #[error("malformed key: {0}")]
    Key(String),
    /// The note does not parse.
    #[error("malformed note: {0}")]
    Note(String),
    /// A known key's signature does not verify.
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    /// No signature by the required key.
    #[error("no signature by {0}")]
    Unsigned(String),
    /// The note's text is not a checkpoint.
    #[error("not a checkpoint: {0}")]
    Checkpoint(String),
}

fn key_id(name: &str, kind: u8, public: &[u8; 32]) -> u32 {
    let mut typed = vec![kind];
    typed.extend_from_slice(public);
    signed_note::key_id(name, &typed)
}

fn valid_name(name: &str) -> Result<(), NoteError> {
    // C2SP signed-note: a non-empty name without Unicode spaces or '+' (and no control
    // characters, which no signature line could carry).
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
    {
        return Err(NoteError::Key(format!(
            "key name {name:?} must be non-empty, without spaces, control characters or '+'"
        )));
    }
    Ok(())
}

/// A private key that signs notes: the log's (type 0x01) or a witness's (type 0x04).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    kind: u8,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new random key named `name` of signature type `kind` ([`TYPE_ED25519`] or
    /// [`TYPE_COSIGNATURE`]).
    pub fn generate(name: &str, kind: u8) -> Result<Self, NoteError> {
        valid_name(name)?;
        if kind != TYPE_ED25519 && kind != TYPE_COSIGNATURE {
            return Err(NoteError::Key(format!("unknown key type {kind:#04x}")));
        }
        Ok(Self {
            name: name.to_string(),
            kind,
            key: SigningKey::generate(&mut rand_core::OsRng),
        })
    }

    /// Reads `PRIVATE+KEY+name+id+base64(type ‖ seed)`.
    pub fn from_text(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::Key("a private key starts with PRIVATE+KEY+".into()))?;
        // base64 may itself contain '+': split off name and id only.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key("expected PRIVATE+KEY+name+id+key".into()));
        };
        valid_name(name)?;
        let bytes = B64
            .decode(b64)
            .map_err(|e| NoteError::Key(format!("key is not base64: {e}")))?;
        let (kind, seed) = match bytes.split_first() {
            Some((&k, seed))
                if seed.len() == 32 && (k == TYPE_ED25519 || k == TYPE_COSIGNATURE) =>
            {
                (k, seed)
            }
            _ => {
                return Err(NoteError::Key(
                    "key must be type 0x01 or 0x04 and 32 bytes".into(),
                ));
            }
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::Key("key must be 32 bytes".into()))?;
        let signer = Self {
            name: name.to_string(),
            kind,
            key: SigningKey::from_bytes(&seed),
        };
        if format!("{:08x}", signer.id()) != id {
            return Err(NoteError::Key(format!(
                "key id {id} does not match the key"
            )));
        }
        Ok(signer)
    }

    /// The private key text (keep it secret).
    pub fn to_text(&self) -> String {
        let mut bytes = vec![self.kind];
        bytes.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id(),
            B64.encode(bytes)
        )
    }

    /// The matching public verifier key text.
    pub fn verifier_text(&self) -> String {
        let mut bytes = vec![self.kind];
        bytes.extend_from_slice(self.key.verifying_key().as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id(), B64.encode(bytes))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn id(&self) -> u32 {
        key_id(&self.name, self.kind, self.key.verifying_key().as_bytes())
    }

    /// The signature line of this key over note `text` (a cosignature carries `time`, Unix
    /// seconds; a plain signature ignores it), as `— name base64(id ‖ sig)\n`.
    pub fn signature_line(&self, text: &[u8], time: u64) -> String {
        let mut sig = self.id().to_be_bytes().to_vec();
        if self.kind == TYPE_COSIGNATURE {
            sig.extend_from_slice(&time.to_be_bytes());
            sig.extend_from_slice(&self.key.sign(&cosigned_message(text, time)).to_bytes());
        } else {
            sig.extend_from_slice(&self.key.sign(text).to_bytes());
        }
        format!("\u{2014} {} {}\n", self.name, B64.encode(sig))
    }
}

/// What a witness signs: `cosignature/v1\ntime <T>\n` followed by the checkpoint body.
fn cosigned_message(body: &[u8], time: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

/// A public key that verifies notes, strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    kind: u8,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Reads `name+id+base64(type ‖ public key)`.
    pub fn from_text(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::Key("expected name+id+key".into()));
        };
        valid_name(name)?;
        let bytes = B64
            .decode(b64)
            .map_err(|e| NoteError::Key(format!("key is not base64: {e}")))?;
        let (kind, public) = match bytes.split_first() {
            Some((&k, p)) if p.len() == 32 && (k == TYPE_ED25519 || k == TYPE_COSIGNATURE) => {
                (k, p)
            }
            _ => {
                return Err(NoteError::Key(
                    "key must be type 0x01 or 0x04 and 32 bytes".into(),
                ));
            }
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| NoteError::Key("key must be 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|e| NoteError::Key(format!("not an Ed25519 public key: {e}")))?;
        let expected = key_id(name, kind, &public);
        if format!("{expected:08x}") != id {
            return Err(NoteError::Key(format!(
                "key id {id} does not match the key"
            )));
        }
        Ok(Self {
            name: name.to_string(),
            kind,
            id: expected,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// For a cosignature verifier, the time it signed (when `sig` verifies).
    pub fn cosignature_time(&self, text: &[u8], sig: &[u8]) -> Option<u64> {
        if self.kind != TYPE_COSIGNATURE || sig.len() != 72 {
            return None;
        }
        let time = u64::from_be_bytes(sig[..8].try_into().ok()?);
        let s = ed25519_dalek::Signature::from_slice(&sig[8..]).ok()?;
        self.key
            .verify_strict(&cosigned_message(text, time), &s)
            .ok()
            .map(|_| time)
    }
}

impl signed_note::Verifier for NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if self.kind == TYPE_COSIGNATURE {
            return self.cosignature_time(msg, sig).is_some();
        }
        ed25519_dalek::Signature::from_slice(sig)
            .map(|s| self.key.verify_strict(msg, &s).is_ok())
            .unwrap_or(false)
    }
}

/// A checkpoint body: `origin\nsize\nbase64(root)\n`, no extension lines.
pub fn checkpoint_body(origin: &str, size: u64, root: &Hash) -> Result<Vec<u8>, NoteError> {
    Checkpoint::new(origin, size, *root, "")
        .map(|c| c.to_bytes())
        .map_err(|_| NoteError::Checkpoint(format!("origin {origin:?} is not allowed")))
}

/// The log's signed checkpoint note for a tree of `size` leaves with root `root`.
pub fn sign_checkpoint(
    log: &NoteSigner,
    origin: &str,
    size: u64,
    root: &Hash,
) -> Result<Vec<u8>, NoteError> {
    let body = checkpoint_body(origin, size, root)?;
    let mut note = body.clone();
    note.push(b'\n');
    note.extend_from_slice(log.signature_line(&body, 0).as_bytes());
    Ok(note)
}

/// A checkpoint whose log signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCheckpoint {
    /// The log's origin line.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The checkpoint body (what every signature covers).
    pub body: Vec<u8>,
    /// Names of the known cosigners whose cosignatures verified, with their times.
    pub cosigners: Vec<(String, u64)>,
}

/// Verifies a checkpoint note: the log's signature must verify, every known witness signature
/// present must verify (a failing known signature rejects the note, as signed-note says), and
/// unknown signatures are ignored.
pub fn verify_checkpoint(
    note: &[u8],
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
) -> Result<VerifiedCheckpoint, NoteError> {
    let parsed = Note::from_bytes(note).map_err(|e| NoteError::Note(e.to_string()))?;
    let mut known: Vec<Box<dyn signed_note::Verifier>> = vec![Box::new(log.clone())];
    for w in witnesses {
        known.push(Box::new(w.clone()));
    }
    let list = VerifierList::new(known);
    let (verified, _unknown) = parsed.verify(&list).map_err(|e| match e {
        signed_note::NoteError::InvalidSignature { name, .. } => NoteError::BadSignature(name),
        signed_note::NoteError::UnverifiedNote => NoteError::Unsigned(log.name.clone()),
        other => NoteError::Note(other.to_string()),
    })?;
    if !verified
        .iter()
        .any(|s| s.name() == log.name && s.id() == log.id)
    {
        return Err(NoteError::Unsigned(log.name.clone()));
    }
    let text = parsed.text().to_vec();
    let cp = Checkpoint::from_bytes(&text)
        .map_err(|_| NoteError::Checkpoint("expected origin, size and root hash lines".into()))?;
    if !cp.extension().is_empty() {
        return Err(NoteError::Checkpoint(
            "extension lines are not accepted".into(),
        ));
    }
    let cosigners = verified
        .iter()
        .filter_map(|s| {
            let w = witnesses
                .iter()
                .find(|w| w.name == s.name() && w.id == s.id())?;
            Some((w.name.clone(), w.cosignature_time(&text, s.signature())?))
        })
        .collect();
    Ok(VerifiedCheckpoint {
        origin: cp.origin().to_string(),
        size: cp.size(),
        root: *cp.hash(),
        body: text,
        cosigners,
    })
}

#[cfg(test)]
mod tests;

/// A signed note of `text` (which must end in a newline) signed by `signer`: the text, a blank
/// line, and the signature line.
pub fn sign_note(signer: &NoteSigner, text: &[u8]) -> String {
    let mut note = String::from_utf8_lossy(text).into_owned();
    note.push('\n');
    note.push_str(&signer.signature_line(text, 0));
    note
}

/// The text of `note` when `key` signed it (checked with `verify_strict`); an error otherwise.
pub fn verify_note(note: &[u8], key: &NoteVerifier) -> Result<Vec<u8>, NoteError> {
    let parsed = Note::from_bytes(note).map_err(|e| NoteError::Note(e.to_string()))?;
    let list = VerifierList::new(vec![Box::new(key.clone()) as Box<dyn signed_note::Verifier>]);
    let (verified, _) = parsed.verify(&list).map_err(|e| match e {
        signed_note::NoteError::InvalidSignature { name, .. } => NoteError::BadSignature(name),
        signed_note::NoteError::UnverifiedNote => NoteError::Unsigned(key.name.clone()),
        other => NoteError::Note(other.to_string()),
    })?;
    if !verified
        .iter()
        .any(|s| s.name() == key.name && s.id() == key.id)
    {
        return Err(NoteError::Unsigned(key.name.clone()));
    }
    Ok(parsed.text().to_vec())
}
