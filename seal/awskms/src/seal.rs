//! [`AwsKmsSeal`]: the client, the envelope, and the one place AWS errors become
//! [`SealError`]s.
use crate::blob;
use crate::config::AwsKmsConfig;
use crate::credentials;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use async_trait::async_trait;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::config::{BehaviorVersion, Region};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
use aws_sdk_kms::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use coffer_hardening::secret::Key256;
use coffer_seal::{Seal, SealError};
use rand::rngs::OsRng;
use rand::RngCore;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// The seal type name, as `sys/seal-status` reports it.
pub const AWSKMS: &str = "awskms";

/// KMS encryption context of every data-key encryption. Not secret (CloudTrail logs it); it
/// keeps KMS from decrypting a Coffer data key for a caller that does not name its purpose.
const CONTEXT: [(&str, &str); 2] = [("coffer:purpose", "root-key"), ("coffer:format", "awskms-v1")];

fn context() -> HashMap<String, String> {
    CONTEXT.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The root key wrapped under an AWS KMS key. See the crate docs for the envelope.
pub struct AwsKmsSeal {
    client: Client,
    /// The key as configured (id, ARN or alias).
    configured_key: String,
    /// The key's ARN, as DescribeKey resolved it at construction.
    key_arn: String,
    region: String,
    endpoint: Option<String>,
}

impl std::fmt::Debug for AwsKmsSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids, region and endpoint are not secret; the credentials live in the client.
        f.debug_struct("AwsKmsSeal")
            .field("key_arn", &self.key_arn)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Where a KMS call failed, which decides the variant of a credential or key problem: at
/// construction it is the configuration that is wrong, later it is the seal failing.
#[derive(Clone, Copy)]
enum Stage {
    Startup,
    Operation,
}

enum Failure {
    /// Network, timeout, throttling, KMS 5xx: retry later.
    Transient(String),
    /// The request's signature or credentials were not accepted (authentication).
    Credentials(String),
    /// Authenticated, but IAM or the key policy does not allow the call (authorization).
    Denied(String),
    /// The key is missing, disabled, pending deletion, or of the wrong kind.
    Key(String),
    /// KMS refused the ciphertext (altered, or from another key).
    Ciphertext,
    Other(String),
}

fn classify<E>(err: &SdkError<E, aws_sdk_kms::config::http::HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = || error_chain(err);
    match err {
        SdkError::TimeoutError(_) => Failure::Transient(format!("timed out: {}", detail())),
        SdkError::DispatchFailure(d) if d.is_user() => Failure::Other(detail()),
        SdkError::DispatchFailure(_) => Failure::Transient(detail()),
        SdkError::ResponseError(r) if r.raw().status().is_server_error() => Failure::Transient(detail()),
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            // KMS answers JSON; gateways and moto's auth layer answer the AWS XML error form,
            // which the SDK cannot parse: read its <Code> and <Message> then.
            let body = s.raw().body().bytes().and_then(|b| std::str::from_utf8(b).ok());
            let xml = |tag| body.and_then(|b| xml_text(b, tag));
            let code = s.err().code().or_else(|| xml("Code")).unwrap_or("");
            let message = s.err().message().or_else(|| xml("Message"));
            let text = match message {
                Some(m) if !code.is_empty() => format!("{code}: {m}"),
                Some(m) => format!("HTTP {status}: {m}"),
                None if !code.is_empty() => code.to_string(),
                None => format!("HTTP {status}"),
            };
            match code {
                "InvalidCiphertextException" | "IncorrectKeyException" => Failure::Ciphertext,
                "ThrottlingException"
                | "LimitExceededException"
                | "KMSInternalException"
                | "DependencyTimeoutException"
                | "KeyUnavailableException"
                | "ServiceUnavailableException"
                | "InternalFailure"
                | "RequestTimeout"
                | "RequestTimeoutException" => Failure::Transient(text),
                "UnrecognizedClientException"
                | "InvalidClientTokenId"
                | "InvalidSignatureException"
                | "SignatureDoesNotMatch"
                | "IncompleteSignature"
                | "MissingAuthenticationToken"
                | "ExpiredTokenException"
                | "ExpiredToken" => Failure::Credentials(text),
                "AccessDeniedException" | "AccessDenied" => Failure::Denied(text),
                "NotFoundException"
                | "DisabledException"
                | "KMSInvalidStateException"
                | "InvalidKeyUsageException"
                | "InvalidArnException"
                | "ValidationException" => Failure::Key(text),
                _ if status == 429 || s.raw().status().is_server_error() => Failure::Transient(text),
                // Error bodies KMS does not produce (an auth proxy, moto's XML): by status.
                _ if status == 401 || status == 403 => Failure::Credentials(text),
                _ => Failure::Other(text),
            }
        }
        _ => Failure::Other(detail()),
    }
}

fn to_seal_error(op: &str, key: &str, failure: Failure, stage: Stage) -> SealError {
    match (failure, stage) {
        (Failure::Transient(m), _) => SealError::Unavailable(format!("AWS KMS {op} of key {key} failed: {m}")),
        (Failure::Credentials(m), Stage::Startup) => SealError::InvalidConfig(format!(
            "awskms: AWS KMS refused the credentials for {op} of key {key} (check \
             access_key/secret_key or the AWS_* environment, and the key policy): {m}"
        )),
        (Failure::Credentials(m), Stage::Operation) => {
            SealError::Backend(format!("AWS KMS refused the credentials for {op} of key {key}: {m}"))
        }
        (Failure::Denied(m), Stage::Startup) => SealError::InvalidConfig(format!(
            "awskms: AWS KMS denied {op} on key {key} (IAM policy or key policy): {m}"
        )),
        (Failure::Denied(m), Stage::Operation) => {
            SealError::Backend(format!("AWS KMS denied {op} on key {key} (IAM policy or key policy): {m}"))
        }
        (Failure::Key(m), Stage::Startup) => {
            SealError::InvalidConfig(format!("awskms: kms_key_id {key} cannot be used: {m}"))
        }
        (Failure::Key(m), Stage::Operation) => SealError::Backend(format!("AWS KMS {op} with key {key} failed: {m}")),
        (Failure::Ciphertext, _) => SealError::WrongKey,
        (Failure::Other(m), _) => SealError::Backend(format!("AWS KMS {op} of key {key} failed: {m}")),
    }
}

/// An error and its sources, `: `-joined (the SDK's Display is only the outermost layer).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.ends_with(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

/// The text of the first `<tag>` element of an XML error body.
fn xml_text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find("</")?;
    Some(body[start..start + len].trim()).filter(|t| !t.is_empty())
}

fn kms_error<E>(
    op: &str,
    key: &str,
    err: SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
    stage: Stage,
) -> SealError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    to_seal_error(op, key, classify(&err), stage)
}

impl AwsKmsSeal {
    /// Builds the KMS client from `cfg` and checks the key with DescribeKey: it must exist,
    /// be enabled, and be a symmetric encrypt/decrypt key. Errors: credentials or key problems
    /// → `InvalidConfig`; KMS unreachable, throttling → `Unavailable` (retry later).
    pub async fn new(cfg: AwsKmsConfig) -> Result<Self, SealError> {
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        let retry = RetryConfig::standard()
            .with_max_attempts(cfg.max_attempts.max(1))
            .with_initial_backoff(cfg.initial_backoff)
            .with_max_backoff(cfg.max_backoff);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(cfg.connect_timeout)
            .operation_attempt_timeout(cfg.attempt_timeout)
            .operation_timeout(cfg.operation_timeout)
            .build();
        let mut builder = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(credentials::provider(&cfg.credentials))
            .http_client(http)
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(ep) = &cfg.endpoint {
            builder = builder.endpoint_url(ep.clone());
        }
        let client = Client::from_conf(builder.build());

        let key = cfg.kms_key_id.as_str();
        let described = client
            .describe_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| kms_error("DescribeKey", key, e, Stage::Startup))?;
        let Some(meta) = described.key_metadata() else {
            return Err(SealError::Backend(format!("AWS KMS DescribeKey of key {key} returned no key metadata")));
        };
        let Some(arn) = meta.arn().filter(|a| !a.is_empty()) else {
            return Err(SealError::Backend(format!("AWS KMS DescribeKey of key {key} returned no ARN")));
        };
        let unusable = |why: String| {
            Err(SealError::InvalidConfig(format!("awskms: kms_key_id {key} ({arn}) cannot be used: {why}")))
        };
        if let Some(state) = meta.key_state() {
            if *state != KeyState::Enabled {
                return unusable(format!("key state is {}", state.as_str()));
            }
        }
        if !meta.enabled() {
            return unusable("key is disabled".into());
        }
        // moto leaves KeyUsage empty for keys created without it; AWS always sets both.
        if let Some(usage) = meta.key_usage() {
            if *usage != KeyUsageType::EncryptDecrypt {
                return unusable(format!("key usage is {}, ENCRYPT_DECRYPT is needed", usage.as_str()));
            }
        }
        if let Some(spec) = meta.key_spec() {
            if *spec != KeySpec::SymmetricDefault {
                return unusable(format!("key spec is {}, a SYMMETRIC_DEFAULT key is needed", spec.as_str()));
            }
        }
        let key_arn = arn.to_string();
        tracing::info!(key = %key_arn, region = %cfg.region, endpoint = ?cfg.endpoint, "awskms seal ready");
        Ok(AwsKmsSeal { client, configured_key: cfg.kms_key_id, key_arn, region: cfg.region, endpoint: cfg.endpoint })
    }

    /// The ARN of the KMS key, resolved from the configured id or alias.
    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }

    /// The key as configured (id, ARN or alias).
    pub fn configured_key(&self) -> &str {
        &self.configured_key
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

fn cipher(dek: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(dek.into())
}

#[async_trait]
impl Seal for AwsKmsSeal {
    fn seal_type(&self) -> &'static str {
        AWSKMS
    }

    async fn wrap(&self, root_key: &Key256) -> Result<Vec<u8>, SealError> {
        let mut dek = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(dek.as_mut());
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_arn)
            .plaintext(Blob::new(dek.to_vec()))
            .set_encryption_context(Some(context()))
            .send()
            .await
            .map_err(|e| kms_error("Encrypt", &self.key_arn, e, Stage::Operation))?;
        if let Some(used) = out.key_id() {
            if used != self.key_arn {
                return Err(SealError::Backend(format!(
                    "AWS KMS Encrypt used key {used}, not the configured {}",
                    self.key_arn
                )));
            }
        }
        let encrypted_dek = out
            .ciphertext_blob()
            .map(|b| b.as_ref())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| SealError::Backend("AWS KMS Encrypt returned no ciphertext".into()))?;

        let header = blob::header(&self.key_arn, encrypted_dek)?;
        let mut nonce = [0u8; blob::NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = cipher(&dek)
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: root_key.expose(), aad: &blob::aad(&header) })
            .map_err(|_| SealError::Backend("AES-GCM encryption of the root key failed".into()))?;
        let mut out = header;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    async fn unwrap(&self, stored: &[u8]) -> Result<Key256, SealError> {
        let b = blob::parse(stored)?;
        if b.key_arn != self.key_arn {
            // Another KMS key wrapped this root key: this seal's key does not open it. (A
            // seal migration between keys unwraps with the old stanza, wraps with the new.)
            tracing::warn!(stored_key = %b.key_arn, seal_key = %self.key_arn,
                "root key blob was wrapped under another KMS key");
            return Err(SealError::WrongKey);
        }
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_arn)
            .ciphertext_blob(Blob::new(b.encrypted_dek))
            .set_encryption_context(Some(context()))
            .send()
            .await
            .map_err(|e| kms_error("Decrypt", &self.key_arn, e, Stage::Operation))?;
        if let Some(used) = out.key_id() {
            if used != self.key_arn {
                return Err(SealError::Backend(format!(
                    "AWS KMS Decrypt used key {used}, not the configured {}",
                    self.key_arn
                )));
            }
        }
        let plain =
            out.plaintext().ok_or_else(|| SealError::Backend("AWS KMS Decrypt returned no plaintext".into()))?;
        let dek: Zeroizing<[u8; 32]> = Zeroizing::new(
            plain
                .as_ref()
                .try_into()
                .map_err(|_| SealError::Backend("AWS KMS returned a data key that is not 32 bytes".into()))?,
        );
        drop(out);
        // A tag failure: the nonce or ciphertext was altered (the header is bound in too).
        let root = Zeroizing::new(
            cipher(&dek)
                .decrypt(Nonce::from_slice(b.nonce), Payload { msg: b.sealed, aad: &blob::aad(b.header) })
                .map_err(|_| SealError::WrongKey)?,
        );
        Key256::from_slice(&root).ok_or_else(|| SealError::Backend("unwrapped root key is not 32 bytes".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::config::http::HttpResponse;
    use aws_sdk_kms::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_kms::operation::describe_key::DescribeKeyError;

    type Err = SdkError<DescribeKeyError, HttpResponse>;

    fn service(status: u16, code: Option<&str>, body: &str) -> Err {
        let mut meta = ErrorMetadata::builder().message("the message");
        if let Some(c) = code {
            meta = meta.code(c);
        }
        let resp = HttpResponse::new(status.try_into().expect("status"), body.to_string().into());
        SdkError::service_error(DescribeKeyError::generic(meta.build()), resp)
    }

    fn at(stage: Stage, err: Err) -> SealError {
        kms_error("DescribeKey", "arn:k", err, stage)
    }

    fn is_unavailable(e: &SealError) -> bool {
        matches!(e, SealError::Unavailable(_))
    }

    /// Outages and overload are retryable (Unavailable) at any stage: network errors,
    /// timeouts, KMS throttling and internal errors, any 5xx or 429 whatever the body.
    #[test]
    fn transient_failures_are_unavailable() {
        for stage in [Stage::Startup, Stage::Operation] {
            let refused = SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
            assert!(is_unavailable(&at(stage, refused)));
            assert!(is_unavailable(&at(stage, SdkError::timeout_error("slow"))));
            for code in
                ["ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException"]
            {
                assert!(is_unavailable(&at(stage, service(400, Some(code), ""))), "{code}");
            }
            assert!(is_unavailable(&at(stage, service(503, None, "<html>bad gateway</html>"))));
            assert!(is_unavailable(&at(stage, service(429, None, ""))));
        }
    }

    /// Credentials and key problems are configuration errors at startup and Backend errors
    /// later, and say which; the code and message of AWS are in the text.
    #[test]
    fn credentials_denials_and_key_problems() {
        let e = at(Stage::Startup, service(400, Some("UnrecognizedClientException"), ""));
        assert!(
            matches!(&e, SealError::InvalidConfig(m) if m.contains("refused the credentials") && m.contains("UnrecognizedClientException: the message")),
            "{e:?}"
        );
        let e = at(Stage::Operation, service(400, Some("ExpiredTokenException"), ""));
        assert!(matches!(&e, SealError::Backend(m) if m.contains("refused the credentials")), "{e:?}");
        let e = at(Stage::Startup, service(400, Some("AccessDeniedException"), ""));
        assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("denied DescribeKey")), "{e:?}");
        let e = at(Stage::Startup, service(400, Some("NotFoundException"), ""));
        assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("NotFoundException")), "{e:?}");
        let e = at(Stage::Operation, service(400, Some("DisabledException"), ""));
        assert!(matches!(&e, SealError::Backend(m) if m.contains("DisabledException")), "{e:?}");
    }

    /// An XML error body (STS-style, as moto's signature check and some proxies send) is
    /// read for its code: a bad signature is a credentials error, not an opaque HTTP 403.
    #[test]
    fn xml_error_bodies_are_read() {
        let body = "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>\
                    <Message>The request signature we calculated does not match</Message></Error></Errors></ErrorResponse>";
        let resp = HttpResponse::new(403u16.try_into().expect("status"), body.to_string().into());
        let err: Err = SdkError::service_error(DescribeKeyError::generic(ErrorMetadata::builder().build()), resp);
        let e = at(Stage::Startup, err);
        assert!(
            matches!(&e, SealError::InvalidConfig(m)
            if m.contains("refused the credentials") && m.contains("SignatureDoesNotMatch: The request signature")),
            "{e:?}"
        );
        // A bare 403 without a readable body still reads as a credentials problem.
        let e = at(Stage::Startup, service(403, None, ""));
        assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("refused the credentials")), "{e:?}");
    }

    /// KMS refusing a ciphertext is WrongKey (an altered blob or another key's data key).
    #[test]
    fn refused_ciphertext_is_wrong_key() {
        for code in ["InvalidCiphertextException", "IncorrectKeyException"] {
            assert_eq!(at(Stage::Operation, service(400, Some(code), "")), SealError::WrongKey);
        }
    }

    /// Error texts join the error's sources instead of the SDK's bare outer layer.
    #[test]
    fn error_text_has_the_cause() {
        let refused = SdkError::<DescribeKeyError, HttpResponse>::dispatch_failure(ConnectorError::io(
            "tcp connect error: Connection refused".into(),
        ));
        let e = at(Stage::Operation, refused);
        assert!(e.to_string().contains("Connection refused"), "{e}");
    }
}
