//! The HTTP client of `truce submit`, `truce status` and `truce witness`: HTTPS servers are
//! checked against Mozilla's roots, or against the certificate authorities in the PEM file
//! `TRUCE_CA_CERT` names (a mission's own CA, or a server's self-signed certificate).

use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// The environment variable naming a PEM file of trusted certificate authorities.
pub const CA_CERT_ENV: &str = "TRUCE_CA_CERT";

/// Largest CA file read, so a wrong path (a disk image, /dev/zero) fails quickly.
const MAX_CA_BYTES: u64 = 1 << 20;

/// An agent whose whole exchange must end within `timeout`, that answers HTTP error statuses
/// as responses (the caller reads the contract's error body), and that trusts the CAs of
/// `TRUCE_CA_CERT` when it is set. Fails naming the file when it cannot be read or holds no
/// certificate.
pub fn agent(timeout: Duration) -> Result<ureq::Agent> {
    let roots = match std::env::var_os(CA_CERT_ENV) {
        Some(path) => RootCerts::Specific(Arc::new(read_cas(std::path::Path::new(&path))?)),
        None => RootCerts::WebPki,
    };
    Ok(ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .into())
}

fn read_cas(path: &std::path::Path) -> Result<Vec<Certificate<'static>>> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .with_context(|| format!("{CA_CERT_ENV}={shown}: cannot read"))?
        .len();
    anyhow::ensure!(
        size <= MAX_CA_BYTES,
        "{CA_CERT_ENV}={shown}: {size} bytes, more than a CA file holds (1 MiB)"
    );
    let pem = std::fs::read(path).with_context(|| format!("{CA_CERT_ENV}={shown}: cannot read"))?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()
        .with_context(|| format!("{CA_CERT_ENV}={shown}: not a readable PEM file"))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{CA_CERT_ENV}={shown}: no CERTIFICATE block in it"
    );
    Ok(certs)
}
