//! CoT over TLS with client certificates: the certificate says who reports.
//!
//! A member's certificate is bound to them in the record: `truce user add … --cert FILE`
//! writes the SHA-256 of its DER bytes into the membership entry. A client connecting to the
//! TLS listener must present a certificate and prove it holds its key (the handshake's
//! signature, checked here); the certificate is then accepted only if an active member's
//! membership entry binds exactly it, and that member's monitor and role apply to the
//! connection as their token would. There is no certificate authority to trust or to
//! compromise: the record is the list of who may speak, revoking a member ends their
//! certificate's use within seconds (an open session checks every [`crate::REVOCATION_CHECK`]
//! and is closed), and the certificate's own dates and issuer are
//! not consulted (a TAK server's CA usually issues them; any will do).

use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use truce_engine::Engine;

/// Largest certificate or key file read, bytes.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// Why TLS could not be set up, or a certificate not read; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("reading {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The file holds no certificate or key in a form truce reads.
    #[error("{path}: {message}")]
    Content {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// rustls refused the server's certificate and key.
    #[error("the server certificate and key: {0}")]
    Config(String),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    let fail = |message: String| TlsError::Read {
        path: path.display().to_string(),
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if size > MAX_PEM_BYTES {
        return Err(fail(format!(
            "{size} bytes; a certificate or key file is at most {MAX_PEM_BYTES}"
        )));
    }
    std::fs::read(path).map_err(|e| fail(e.to_string()))
}

/// The SHA-256 of the first certificate in `path` (PEM, or DER as it is), the fingerprint a
/// membership entry binds. Guarantees the bytes hashed are one DER certificate as a TLS
/// client would present it.
pub fn cert_fingerprint(path: &Path) -> Result<[u8; 32], TlsError> {
    let bytes = read(path)?;
    let content = |message: &str| TlsError::Content {
        path: path.display().to_string(),
        message: message.to_owned(),
    };
    let der = if bytes.starts_with(b"-----BEGIN") || bytes.windows(11).any(|w| w == b"-----BEGIN ")
    {
        CertificateDer::pem_slice_iter(&bytes)
            .next()
            .ok_or_else(|| content("no CERTIFICATE block in the PEM file"))?
            .map_err(|e| content(&format!("not a readable PEM certificate: {e}")))?
            .to_vec()
    } else {
        bytes
    };
    // A DER certificate is a SEQUENCE whose length covers the rest of the bytes.
    if der.first() != Some(&0x30) || der.len() < 64 {
        return Err(content(
            "not a certificate: expected PEM (-----BEGIN CERTIFICATE-----) or DER",
        ));
    }
    Ok(Sha256::digest(&der).into())
}

/// What the CoT/TLS listener needs: its TLS configuration (the server's certificate chain
/// and key, TLS 1.2 and 1.3, client certificates checked by [`MemberCertificates`]) and the
/// engine whose record names the member each certificate is bound to.
#[derive(Clone)]
pub struct TlsServer {
    /// The rustls configuration.
    pub config: Arc<ServerConfig>,
    /// The engine the members are read from.
    pub engine: Arc<Engine>,
}

impl TlsServer {
    /// Reads the server's certificate chain `cert` and private key `key` (PEM files; each
    /// error names its file) and checks clients against `engine`'s members.
    pub fn load(cert: &Path, key: &Path, engine: Arc<Engine>) -> Result<Self, TlsError> {
        let (chain, private) = read_identity(cert, key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(MemberCertificates {
            engine: engine.clone(),
            algorithms: provider.signature_verification_algorithms,
        });
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, private)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            engine,
        })
    }
}

/// A server's certificate chain `cert` and private key `key`, read from PEM files; each error
/// names its file.
pub fn read_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let content = |path: &Path, message: String| TlsError::Content {
        path: path.display().to_string(),
        message,
    };
    let cert_bytes = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| content(cert, format!("not a readable PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(content(cert, "no CERTIFICATE block in the PEM file".into()));
    }
    let key_bytes = read(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_bytes)
        .map_err(|e| content(key, format!("no readable PEM private key: {e}")))?;
    Ok((chain, private))
}

/// Accepts a client certificate only when an active member's membership entry binds it, and
/// only with the handshake's proof that the client holds its key.
pub struct MemberCertificates {
    engine: Arc<Engine>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl std::fmt::Debug for MemberCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberCertificates")
    }
}

impl ClientCertVerifier for MemberCertificates {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        // Called inside the handshake, on an async thread; the store may be PostgreSQL, whose
        // client blocks (and must not run inside the runtime): the thread steps out for it.
        let lookup = || self.engine.member_by_cert(&fingerprint);
        let found = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(lookup)
            }
            _ => lookup(),
        };
        match found {
            Ok(Some(_)) => Ok(ClientCertVerified::assertion()),
            Ok(None) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
            Err(e) => Err(rustls::Error::General(format!("reading the members: {e}"))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
