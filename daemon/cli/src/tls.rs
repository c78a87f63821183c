//! TLS client configuration: CA files and directories, client certificates, and the
//! insecure "skip verification" mode (quarantined in [`danger`]).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use rustls_pki_types::{ServerName, UnixTime};

/// TLS settings from flags and environment.
#[derive(Debug, Default, Clone)]
pub(crate) struct TlsOptions {
    pub ca_cert: Option<String>,
    pub ca_path: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub skip_verify: bool,
}

impl TlsOptions {
    fn is_default(&self) -> bool {
        self.ca_cert.is_none()
            && self.ca_path.is_none()
            && self.client_cert.is_none()
            && self.client_key.is_none()
            && !self.skip_verify
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Go's wording of an OS error: "open PATH: no such file or directory".
pub(crate) fn go_io_error(op: &str, path: &str, e: &std::io::Error) -> String {
    format!("{op} {path}: {}", go_errno_text(e))
}

/// The lower-case errno text Go prints, from Rust's "No such file ... (os error 2)".
pub(crate) fn go_errno_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(idx) => text[..idx].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => text,
    }
}

fn load_ca_file(path: &str, roots: &mut Vec<CertificateDer<'static>>) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("Error loading CA File: {}", go_io_error("open", path, &e)))?;
    let before = roots.len();
    roots.extend(CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok));
    if roots.len() == before {
        return Err(format!("Error loading CA File: Couldn't parse PEM in: {path}"));
    }
    Ok(())
}

fn load_ca_dir(path: &str, roots: &mut Vec<CertificateDer<'static>>) -> Result<(), String> {
    std::fs::symlink_metadata(path).map_err(|e| go_io_error("lstat", path, &e))?;
    let entries = std::fs::read_dir(path).map_err(|e| go_io_error("open", path, &e))?;
    let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    for file in files.iter().filter(|p| p.is_file()) {
        let Ok(bytes) = std::fs::read(file) else { continue };
        roots.extend(CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok));
    }
    if roots.is_empty() {
        return Err(format!("Error loading CA Path: Couldn't parse PEM in: {}", Path::new(path).display()));
    }
    Ok(())
}

/// The system CA bundle: `SSL_CERT_FILE`, else the first bundle found where Go looks.
fn system_roots() -> Vec<CertificateDer<'static>> {
    let mut candidates: Vec<String> = std::env::var("SSL_CERT_FILE").into_iter().collect();
    candidates.extend(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/ca-bundle.pem",
            "/etc/pki/tls/cacert.pem",
            "/etc/ssl/cert.pem",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok).collect();
            if !certs.is_empty() {
                return certs;
            }
        }
    }
    Vec::new()
}

/// Verification against the certificates of `-ca-cert`/`-ca-path`. Chains are checked by
/// webpki; in addition, a server certificate that is byte-for-byte one of the trusted
/// certificates is accepted if it names the server (Go trusts such a certificate even when it
/// is marked as a CA, which is how `openssl req -x509` makes self-signed ones). Such a pinned
/// certificate's validity period is not checked; the handshake signature still is.
#[derive(Debug)]
struct TrustedCertificates {
    webpki: Arc<WebPkiServerVerifier>,
    trusted: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for TrustedCertificates {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Ok(v) => Ok(v),
            Err(e) => {
                if !self.trusted.iter().any(|t| t.as_ref() == end_entity.as_ref()) {
                    return Err(e);
                }
                let parsed = ParsedCertificate::try_from(end_entity)?;
                verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Builds the rustls configuration for the options, or `None` to use ureq's defaults
/// (the bundled web PKI roots). Errors carry bao's wording.
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Option<Arc<ClientConfig>>, String> {
    if opts.is_default() {
        return Ok(None);
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if opts.skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(danger::NoVerification::new(provider())))
    } else if opts.ca_cert.is_some() || opts.ca_path.is_some() {
        let mut certs = Vec::new();
        if let Some(file) = &opts.ca_cert {
            load_ca_file(file, &mut certs)?;
        } else if let Some(dir) = &opts.ca_path {
            load_ca_dir(dir, &mut certs)?;
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(certs.iter().cloned());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| format!("Error loading CA File: {e}"))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(TrustedCertificates { webpki, trusted: certs }))
    } else {
        // Client certificates without a CA option: the system's bundle, as Go uses.
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(system_roots());
        builder.with_root_certificates(roots)
    };
    let config = match (&opts.client_cert, &opts.client_key) {
        (Some(cert), Some(key)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| format!("open {cert}: {e}"))?
                .filter_map(Result::ok)
                .collect();
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("open {key}: {e}"))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| e.to_string())?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err("both client cert and client key must be provided".to_string());
        }
    };
    Ok(Some(Arc::new(config)))
}

/// Certificate verification that accepts any server: `-tls-skip-verify` /
/// `BAO_SKIP_VERIFY`. Handshake signatures are still checked so the connection is at least
/// bound to the presented key; the identity of that key is not.
pub(crate) mod danger {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(crate) struct NoVerification {
        provider: Arc<CryptoProvider>,
    }

    impl NoVerification {
        pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
            Self { provider }
        }
    }

    impl ServerCertVerifier for NoVerification {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Missing and unparseable CA files fail with bao's messages.
    #[test]
    fn ca_file_errors_match_bao() {
        let opts = TlsOptions { ca_cert: Some("/nonexistent/ca.pem".to_string()), ..Default::default() };
        assert_eq!(
            client_config(&opts).err(),
            Some("Error loading CA File: open /nonexistent/ca.pem: no such file or directory".to_string())
        );
        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().join("x.pem"));
        if let Some(path) = path {
            let _ = std::fs::write(&path, "not a pem");
            let p = path.display().to_string();
            let opts = TlsOptions { ca_cert: Some(p.clone()), ..Default::default() };
            assert_eq!(client_config(&opts).err(), Some(format!("Error loading CA File: Couldn't parse PEM in: {p}")));
        }
        let opts = TlsOptions { ca_path: Some("/nonexistent".to_string()), ..Default::default() };
        assert_eq!(client_config(&opts).err(), Some("lstat /nonexistent: no such file or directory".to_string()));
    }

    /// Skip-verify builds a config; defaults leave ureq's own.
    #[test]
    fn skip_verify_and_default() {
        assert!(matches!(client_config(&TlsOptions::default()), Ok(None)));
        let opts = TlsOptions { skip_verify: true, ..Default::default() };
        assert!(matches!(client_config(&opts), Ok(Some(_))));
    }
}
