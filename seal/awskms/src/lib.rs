//! The AWS KMS seal (`seal "awskms"`): the root key wrapped under a KMS key, so a node can
//! unseal itself after a restart.
//!
//! ```text
//! let cfg = AwsKmsConfig::from_attrs(&stanza, &|k| std::env::var(k).ok())?;
//! let seal = AwsKmsSeal::new(cfg).await?;      // DescribeKey: the key exists and is usable
//! let blob = seal.wrap(&root_key).await?;      // store it
//! let root_key = seal.unwrap(&blob).await?;    // at every start
//! ```
//!
//! # Envelope encryption, as OpenBao does it
//!
//! `wrap` draws a fresh 256-bit data key (DEK) from the OS, encrypts the root key with it
//! (AES-256-GCM, random 96-bit nonce), and has KMS `Encrypt` the DEK under the configured key
//! with a fixed encryption context. The blob keeps the key's ARN, the KMS-encrypted DEK, the
//! nonce and the ciphertext (layout in [`blob`](crate::blob)); the header is bound into GCM as
//! associated data. `unwrap` has KMS `Decrypt` the DEK (naming the key and the context) and
//! opens the root key locally.
//!
//! Why this and not `Encrypt` of the root key itself (it is only 32 bytes):
//! - the root key never leaves the process: KMS (and anything logging requests between) sees
//!   only a one-time DEK;
//! - the IAM permissions are OpenBao's (`kms:Encrypt`, `kms:Decrypt`, `kms:DescribeKey`), so an
//!   existing OpenBao key policy works; `GenerateDataKey` would need one more permission and
//!   gives nothing the OS RNG does not;
//! - every wrap costs one KMS call, every unwrap one, as with direct encryption.
//!
//! # Which key opens a blob
//!
//! The blob records the ARN that wrapped it; `unwrap` under a seal configured with another key
//! is [`SealError::WrongKey`] without a KMS call (OpenBao lets KMS pick the key from the
//! ciphertext instead; Coffer binds a blob to its seal's key, so moving to another key is an
//! explicit seal migration). `kms_key_id` may be an alias: DescribeKey resolves it to the ARN
//! at startup. KMS's own automatic key rotation keeps the ARN, so it needs nothing here.
//!
//! # Errors
//!
//! - network failure, timeout, throttling, KMS 5xx → [`SealError::Unavailable`], after the
//!   SDK's bounded retries (`max_attempts`, jittered backoff) and within `operation_timeout`;
//! - credentials refused, key missing/disabled/wrong kind → [`SealError::InvalidConfig`] from
//!   [`AwsKmsSeal::new`], [`SealError::Backend`] from `wrap`/`unwrap` (with AWS's code and text);
//! - a blob of another key, a ciphertext KMS rejects, a GCM tag failure → [`SealError::WrongKey`];
//! - a malformed blob (bad version or lengths) → [`SealError::Backend`].
//!
//! # Credentials
//!
//! See [`config`] for the sources and their order: stanza keys, the `AWS_*` environment, the
//! shared credentials file. Instance, container and web-identity roles need aws-config (which
//! brings an STS client) and are not supported.
//!
//! # Dependencies
//!
//! aws-sdk-kms without default features, and its HTTPS client built from
//! aws-smithy-http-client on rustls with ring, the crypto provider the daemon's TLS already
//! uses: no second TLS stack, no aws-lc-sys. System root certificates are trusted.
//!
//! # Secrets in memory
//!
//! The DEK and root key live in zeroizing buffers here; the copies the SDK makes of the DEK
//! while sending and parsing requests are outside Coffer's control and are not zeroized.
#![forbid(unsafe_code)]

pub mod blob;
pub mod config;
mod credentials;
mod seal;

pub use config::{AwsKmsConfig, CredentialSource};
pub use seal::{AwsKmsSeal, AWSKMS};

// For the docs above.
#[allow(unused_imports)]
use coffer_seal::SealError;
