//! Keys, checkpoints and cosignatures: round trips, published examples, and every way a note
//! must be refused.

use super::*;

/// The Ed25519 verifier key of the signed-note spec's example (`PeterNeumann`), from Go's
/// `sumdb/note` documentation.
const SPEC_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
/// Its note, signed by that key.
const SPEC_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
then you don't know what your problem is.\n\
\n\
\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn the_signed_note_spec_example_verifies_strictly() {
    let v = NoteVerifier::from_text(SPEC_VKEY).unwrap();
    let note = Note::from_bytes(SPEC_NOTE.as_bytes()).unwrap();
    let (ok, _) = note.verify(&VerifierList::new(vec![Box::new(v)])).unwrap();
    assert_eq!(ok.len(), 1);
    // One flipped bit in the text and it fails.
    let tampered = SPEC_NOTE.replace("cryptography", "cryptographY");
    let note = Note::from_bytes(tampered.as_bytes()).unwrap();
    let v = NoteVerifier::from_text(SPEC_VKEY).unwrap();
    assert!(note.verify(&VerifierList::new(vec![Box::new(v)])).is_err());
}

#[test]
fn keys_round_trip_through_text_and_ids_are_checked() {
    let k = NoteSigner::generate("truce.example/log", TYPE_ED25519).unwrap();
    let again = NoteSigner::from_text(&k.to_text()).unwrap();
    assert_eq!(again.verifier_text(), k.verifier_text());
    let v = NoteVerifier::from_text(&k.verifier_text()).unwrap();
    assert_eq!(v.name(), "truce.example/log");
    let wrong_id = k.verifier_text().replacen('+', "+0", 1);
    assert!(NoteVerifier::from_text(&wrong_id).is_err());
    assert!(NoteSigner::generate("has space", TYPE_ED25519).is_err());
    assert!(NoteVerifier::from_text("name+00000000+AAAA").is_err());
}

fn setup() -> (NoteSigner, NoteVerifier, Vec<(NoteSigner, NoteVerifier)>) {
    let log = NoteSigner::generate("truce.example/log", TYPE_ED25519).unwrap();
    let lv = NoteVerifier::from_text(&log.verifier_text()).unwrap();
    let witnesses = ["m1", "m2"]
        .iter()
        .map(|n| {
            let s = NoteSigner::generate(n, TYPE_COSIGNATURE).unwrap();
            let v = NoteVerifier::from_text(&s.verifier_text()).unwrap();
            (s, v)
        })
        .collect();
    (log, lv, witnesses)
}

#[test]
fn a_checkpoint_with_cosignatures_verifies_and_names_its_cosigners() {
    let (log, lv, w) = setup();
    let root = Hash([7; 32]);
    let mut note = sign_checkpoint(&log, "truce.example/log", 42, &root).unwrap();
    let body = checkpoint_body("truce.example/log", 42, &root).unwrap();
    assert_eq!(
        String::from_utf8(body.clone()).unwrap(),
        format!("truce.example/log\n42\n{}\n", B64.encode([7u8; 32]))
    );
    note.extend_from_slice(w[0].0.signature_line(&body, 1_700_000_000).as_bytes());
    let verifiers: Vec<NoteVerifier> = w.iter().map(|(_, v)| v.clone()).collect();
    let cp = verify_checkpoint(&note, &lv, &verifiers).unwrap();
    assert_eq!((cp.size, cp.root), (42, root));
    assert_eq!(cp.cosigners, vec![("m1".to_string(), 1_700_000_000)]);
}

#[test]
fn forged_or_missing_log_signatures_are_refused() {
    let (log, lv, w) = setup();
    let root = Hash([1; 32]);
    let note = sign_checkpoint(&log, "o", 5, &root).unwrap();
    // Another size under the same signature.
    let forged = String::from_utf8(note.clone())
        .unwrap()
        .replacen("\n5\n", "\n6\n", 1);
    assert_eq!(
        verify_checkpoint(forged.as_bytes(), &lv, &[]),
        Err(NoteError::BadSignature("truce.example/log".into()))
    );
    // Signed only by a witness: the log's signature is missing.
    let body = checkpoint_body("o", 5, &root).unwrap();
    let mut only_witness = body.clone();
    only_witness.push(b'\n');
    only_witness.extend_from_slice(w[0].0.signature_line(&body, 9).as_bytes());
    let verifiers = vec![w[0].1.clone()];
    assert!(verify_checkpoint(&only_witness, &lv, &verifiers).is_err());
    // A cosignature whose timestamp was changed fails, and so the whole note does.
    let mut bad = note.clone();
    let line = w[1].0.signature_line(&body, 100);
    let (head, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let mut raw = B64.decode(b64).unwrap();
    raw[11] ^= 1; // inside the 8-byte timestamp (after the 4-byte key id)
    bad.extend_from_slice(format!("{head} {}\n", B64.encode(raw)).as_bytes());
    let verifiers = vec![w[1].1.clone()];
    assert_eq!(
        verify_checkpoint(&bad, &lv, &verifiers),
        Err(NoteError::BadSignature("m2".into()))
    );
}

/// Found by fuzzing (`fuzz/regressions/signed_note_keys/private-key-of-an-unknown-type`): a
/// private key of a type no verifier reads (0x02) was accepted, and its public key then refused.
#[test]
fn a_private_key_of_a_type_no_verifier_reads_is_refused() {
    let text =
        "PRIVATE+KEY+fuzz.truce.invalid/log+28f687d2+AqcRCD2IelrXRwVQhYmTnOdRVvu8uki3I2N/aD4fLH/n";
    let refused = NoteSigner::from_text(text).map(|_| ()).unwrap_err();
    assert!(
        refused.to_string().contains("type 0x01 or 0x04"),
        "{refused}"
    );
    for name in ["\rlog", "log\u{0}", "lo\u{a0}g", "log+1", ""] {
        assert!(
            NoteSigner::generate(name, TYPE_ED25519).is_err(),
            "{name:?}"
        );
    }
    for kind in [TYPE_ED25519, TYPE_COSIGNATURE] {
        let signer = NoteSigner::generate("k", kind).unwrap();
        let read = NoteSigner::from_text(&signer.to_text()).unwrap();
        assert!(NoteVerifier::from_text(&read.verifier_text()).is_ok());
    }
}
