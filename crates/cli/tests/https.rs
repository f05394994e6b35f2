//! HTTPS with the real binary: `truce serve --tls-cert FILE --tls-key FILE` answers over TLS 1.2
//! and 1.3 and refuses TLS 1.1 (OpenSSL's client as the peer); its responses carry HSTS beside
//! the other security headers; `truce submit` and `truce status` reach it trusting the
//! certificate through `TRUCE_CA_CERT`; repeated failed sign-ins are throttled; a client that connects and says nothing holds up no one; bad certificate flags are refused
//! naming the file.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_truce");
const DEMO_AGREEMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/agreement.toml");

fn truce(args: &[&str], ca: Option<&Path>) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("TRUCE_CA_CERT");
    if let Some(ca) = ca {
        command.env("TRUCE_CA_CERT", ca);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A server certificate for 127.0.0.1 and localhost, self-signed and not a CA (what webpki
/// accepts as an end entity), made by OpenSSL's command line.
fn make_cert(cert: &Path, key: &Path) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("running openssl (Debian: openssl)");
    assert!(out.status.success(), "openssl req: {}", text(&out.stderr));
}

/// `truce serve` over HTTPS on a free port: the child and its `https://` base URL.
fn serve_https(data: &Path, cert: &Path, key: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--http", "127.0.0.1:0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap_or_else(|| panic!("no https URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (child, url)
}

/// An HTTP client that trusts only `cert`.
fn client(cert: &Path) -> ureq::Agent {
    let pem = std::fs::read(cert).unwrap();
    let root = ureq::tls::Certificate::from_pem(&pem).unwrap();
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                .build(),
        )
        .build()
        .into()
}

/// OpenSSL's client handshaking with `version` (`-tls1_1`, …), at security level 0 so that the
/// client itself offers old versions: its output.
fn s_client(addr: &str, version: &str, cert: &Path) -> String {
    let out = Command::new("openssl")
        .args([
            "s_client",
            version,
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-connect",
            addr,
        ])
        .arg("-CAfile")
        .arg(cert)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_api_is_served_over_tls_1_2_and_1_3_with_hsts_and_clients_reach_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    make_cert(&cert, &key);
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let init = truce(
        &["init", "--data", data_s, "--agreement", DEMO_AGREEMENT],
        None,
    );
    assert!(init.status.success(), "{}", text(&init.stderr));
    let added = truce(
        &[
            "user",
            "add",
            "--data",
            data_s,
            "--monitor",
            "m1",
            "--role",
            "observer",
            "op-1",
        ],
        None,
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let token = text(&added.stdout).trim().to_string();
    let (mut server, url) = serve_https(&data, &cert, &key);
    let addr = url.trim_start_matches("https://").to_string();

    // A client that connects and never speaks holds up no one.
    let _silent = std::net::TcpStream::connect(&addr).unwrap();

    let agent = client(&cert);
    let mut health = agent.get(&format!("{url}/healthz")).call().unwrap();
    assert_eq!(health.status(), 200);
    let headers = health.headers();
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self';")
    );
    let _ = health.body_mut().read_to_string().unwrap();

    // TLS 1.3 and 1.2 are spoken; TLS 1.1 is refused by the server (an alert), not by the
    // client declining to offer it.
    let v13 = s_client(&addr, "-tls1_3", &cert);
    assert!(
        v13.contains("Protocol  : TLSv1.3") || v13.contains("TLSv1.3"),
        "{v13}"
    );
    assert!(v13.contains("Verify return code: 0 (ok)"), "{v13}");
    let v12 = s_client(&addr, "-tls1_2", &cert);
    assert!(v12.contains("TLSv1.2"), "{v12}");
    let v11 = s_client(&addr, "-tls1_1", &cert);
    assert!(
        v11.contains("alert"),
        "TLS 1.1 was not refused by the server: {v11}"
    );
    assert!(!v11.contains("no protocols available"), "{v11}");

    // Plain HTTP on the HTTPS port gets no answer.
    assert!(
        ureq::get(&format!("http://{addr}/healthz")).call().is_err(),
        "plain HTTP answered on the HTTPS port"
    );

    // truce's own clients trust the server through TRUCE_CA_CERT, and only then.
    let obs = dir.path().join("obs.jsonl");
    std::fs::write(
        &obs,
        r#"{"kind":"shot","observed_at":"2026-11-20T10:00:00Z","reporter":"op","geometry":{"type":"position","lat":40.45,"lon":46.2,"accuracy_m":50}}"#,
    )
    .unwrap();
    let obs_s = obs.to_str().unwrap();
    let submit = ["submit", "--server", &url, "--token", &token, obs_s];
    let untrusted = truce(&submit, None);
    assert!(!untrusted.status.success());
    assert!(
        text(&untrusted.stderr).contains("certificate"),
        "{}",
        text(&untrusted.stderr)
    );
    let submitted = truce(&submit, Some(&cert));
    assert!(
        text(&submitted.stdout).contains("accepted 1 (1 new"),
        "{}{}",
        text(&submitted.stdout),
        text(&submitted.stderr)
    );
    let size = agent
        .get(&format!("{url}/api/ledger"))
        .call()
        .unwrap()
        .body_mut()
        .read_json::<serde_json::Value>()
        .unwrap()["size"]
        .as_u64()
        .unwrap();
    let status = truce(&["status", "--server", &url], Some(&cert));
    assert!(
        text(&status.stdout).contains(&format!("record:      {size} entries")),
        "{}{}",
        text(&status.stdout),
        text(&status.stderr)
    );

    // Failed sign-ins are throttled over TLS too: the eleventh is refused with 429.
    let mut last = 0;
    for _ in 0..11 {
        last = agent
            .get(&format!("{url}/api/me"))
            .header("Authorization", "Bearer op-1.wrong")
            .call()
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "failed sign-ins over TLS are not throttled");

    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn certificate_flags_that_cannot_serve_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    make_cert(&cert, &key);
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    assert!(
        truce(
            &["init", "--data", data_s, "--agreement", DEMO_AGREEMENT],
            None
        )
        .status
        .success()
    );
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--data", data_s, "--http", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        truce(&args, None)
    };
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let alone = serve(&["--tls-cert", cert_s]);
    assert!(!alone.status.success());
    assert!(
        text(&alone.stderr).contains("--tls-key"),
        "{}",
        text(&alone.stderr)
    );
    let missing = dir.path().join("missing.pem");
    let gone = serve(&["--tls-cert", missing.to_str().unwrap(), "--tls-key", key_s]);
    assert!(!gone.status.success());
    assert!(
        text(&gone.stderr).contains("missing.pem"),
        "{}",
        text(&gone.stderr)
    );
    let swapped = serve(&["--tls-cert", key_s, "--tls-key", cert_s]);
    assert!(!swapped.status.success());
    assert!(
        text(&swapped.stderr).contains("key.pem") && text(&swapped.stderr).contains("CERTIFICATE"),
        "{}",
        text(&swapped.stderr)
    );
}
