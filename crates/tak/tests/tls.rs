//! CoT over TLS against pytak's TLS client (PyPI) and Python's own `ssl`: a certificate bound
//! to a member in the record reports as that member; one bound to no one, to a revoked
//! member, or none at all is refused at the handshake and nothing reaches the record; a
//! member who is not an observer is connected but their reports are refused, as with their
//! token.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;
use truce_core::Timestamp;
use truce_core::access::Role;
use truce_core::observation::Kind;

/// pytak's CLI over TLS to the center's TLS listener with the client certificate `cert` and
/// key `key`, trusting the center's certificate and checking its address (pytak's
/// `PYTAK_TLS_*` settings). Returns what it printed.
async fn pytak_tls(center: &Center, cert: &Path, key: &Path, file: &Path) -> String {
    let python = truce_peers::python();
    let bin = python.parent().unwrap().join("pytak");
    let out = sh(format!(
        "(cat '{file}'; sleep 2) | PYTAK_TLS_CLIENT_CERT='{cert}' PYTAK_TLS_CLIENT_KEY='{key}' \
         PYTAK_TLS_CLIENT_CAFILE='{ca}' timeout 10 '{bin}' tls://{addr} 2>&1",
        file = file.display(),
        cert = cert.display(),
        key = key.display(),
        ca = center.server_cert.display(),
        bin = bin.display(),
        addr = center.tls,
    ))
    .await;
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fingerprint(cert: &Path) -> [u8; 32] {
    truce_tak::tls::cert_fingerprint(cert).unwrap()
}

fn add_with_cert(center: &Center, user: &str, monitor: &str, role: Role, cert: &Path) {
    off_runtime(|| {
        center
            .engine
            .add_member_with_cert(
                user,
                monitor,
                role,
                Some(&fingerprint(cert)),
                "test",
                Timestamp::now(),
            )
            .unwrap()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_bound_to_an_observer_reports_as_that_observer() {
    reports_as_the_bound_observer(Center::start().await).await;
}

/// The certificate is looked up inside the handshake: with the record in PostgreSQL, whose
/// client blocks, that lookup must step off the async thread (it panicked the server before).
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_bound_to_an_observer_reports_as_that_observer_with_the_record_in_postgres() {
    reports_as_the_bound_observer(Center::start_in_postgres().await).await;
}

async fn reports_as_the_bound_observer(center: Center) {
    let (cert, key) = center.client_cert("m2-tls-observer");
    add_with_cert(&center, "m2-tls-observer", "m2", Role::Observer, &cert);
    let file = center.file("marker.xml", &marker("tls-marker-1", TRUCE_DETAIL));
    let printed = pytak_tls(&center, &cert, &key, &file).await;
    assert!(
        printed.contains("t-x-takp-v"),
        "the stream works both ways once the certificate is accepted:\n{printed}"
    );
    let found = center.wait_for(1).await;
    let o = &found[0].observation;
    assert_eq!((o.kind, o.count), (Kind::Explosion, 2));
    assert_eq!(
        o.via.as_deref(),
        Some(format!("cot-tls {} as m2-tls-observer (m2)", center.tls).as_str()),
        "the record names the listener and the member the certificate is bound to"
    );
    assert_eq!(counter(&center.intake, "tls_refused"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn certificates_bound_to_no_one_or_to_a_revoked_member_are_refused_at_the_handshake() {
    let center = Center::start().await;
    let file = center.file("marker.xml", &marker("tls-marker-2", TRUCE_DETAIL));

    let (stranger, stranger_key) = center.client_cert("stranger");
    let printed = pytak_tls(&center, &stranger, &stranger_key, &file).await;
    assert!(
        printed.contains("ACCESS_DENIED") || printed.contains("access denied"),
        "an unknown certificate gets TLS's access_denied:\n{printed}"
    );

    let (revoked, revoked_key) = center.client_cert("m1-revoked");
    add_with_cert(&center, "m1-revoked", "m1", Role::Observer, &revoked);
    center
        .engine
        .revoke_member("m1-revoked", "test", None, Timestamp::now())
        .unwrap();
    let printed = pytak_tls(&center, &revoked, &revoked_key, &file).await;
    assert!(
        printed.contains("ACCESS_DENIED") || printed.contains("access denied"),
        "a revoked member's certificate is refused:\n{printed}"
    );

    let answer = tak_client(vec![
        "tls-no-cert".into(),
        "127.0.0.1".into(),
        center.tls.port().to_string(),
        center.server_cert.display().to_string(),
        file.display().to_string(),
    ])
    .await;
    assert!(
        answer["refused"].is_string(),
        "a client without a certificate is refused: {answer}"
    );
    assert_eq!(answer["received"], "", "and is sent nothing: {answer}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        center.observations().is_empty(),
        "nothing of a refused client reaches the record"
    );
    assert_eq!(counter(&center.intake, "tls_refused"), 3);
    assert_eq!(counter(&center.intake, "messages"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_revoked_while_connected_is_disconnected_and_reports_no_more() {
    let center = Center::start().await;
    let (cert, key) = center.client_cert("m1-leaving");
    add_with_cert(&center, "m1-leaving", "m1", Role::Observer, &cert);
    let first = center.file("first.xml", &marker("tls-before", TRUCE_DETAIL));
    let second = center.file("second.xml", &marker("tls-after", TRUCE_DETAIL));
    // The second report is sent after a whole check interval has passed since the revocation.
    let gap = truce_tak::REVOCATION_CHECK.as_secs() + 3;
    let wait = gap + 4;
    let python = truce_peers::python();
    let bin = python.parent().unwrap().join("pytak");
    let script = format!(
        "(cat '{first}'; sleep {gap}; cat '{second}'; sleep 2) | PYTAK_TLS_CLIENT_CERT='{cert}' \
         PYTAK_TLS_CLIENT_KEY='{key}' PYTAK_TLS_CLIENT_CAFILE='{ca}' timeout {t} '{bin}' \
         tls://{addr} > /dev/null 2>&1",
        first = first.display(),
        second = second.display(),
        cert = cert.display(),
        key = key.display(),
        ca = center.server_cert.display(),
        t = wait + 10,
        bin = bin.display(),
        addr = center.tls,
    );
    // The first report arrives, then the member is revoked before the second is sent.
    let client = tokio::spawn(sh(script));
    let found = center.wait_for(1).await;
    assert_eq!(found[0].observation.count, 2);
    center
        .engine
        .revoke_member("m1-leaving", "test", None, Timestamp::now())
        .unwrap();
    let _ = client.await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        center.observations().len(),
        1,
        "nothing from a revoked member's open session after the check"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_who_is_not_an_observer_is_connected_but_does_not_report() {
    let center = Center::start().await;
    let (cert, key) = center.client_cert("m1-tls-officer");
    add_with_cert(&center, "m1-tls-officer", "m1", Role::Officer, &cert);
    let file = center.file("marker.xml", &marker("tls-marker-3", TRUCE_DETAIL));
    let printed = pytak_tls(&center, &cert, &key, &file).await;
    assert!(
        printed.contains("t-x-takp-v"),
        "an officer's device is served (it receives incidents):\n{printed}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(center.observations().is_empty());
    assert_eq!(counter(&center.intake, "refused"), 1);
}

#[tokio::test]
async fn one_certificate_speaks_for_one_member_and_only_a_certificate_is_read_as_one() {
    let center = Center::start().await;
    let (cert, key) = center.client_cert("shared");
    add_with_cert(&center, "m1-first", "m1", Role::Observer, &cert);
    let err = center
        .engine
        .add_member_with_cert(
            "m1-second",
            "m1",
            Role::Observer,
            Some(&fingerprint(&cert)),
            "test",
            Timestamp::now(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("already bound to \"m1-first\""), "{err}");
    let err = truce_tak::tls::cert_fingerprint(&key)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shared.key"),
        "the error names the file: {err}"
    );
    // The fingerprint is the SHA-256 of the DER certificate, as `openssl x509 -fingerprint
    // -sha256` prints it.
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout)
        .replace(':', "")
        .to_lowercase();
    assert!(
        printed.contains(&truce_core::entry::hex(&fingerprint(&cert))),
        "{printed}"
    );
}
