//! The credentials the KMS client signs with, from a resolved [`CredentialSource`].
use crate::config::{shared_file_credentials, CredentialSource};
use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_sdk_kms::config::SharedCredentialsProvider;
use std::path::PathBuf;

const PROVIDER_NAME: &str = "coffer-awskms";

pub(crate) fn provider(source: &CredentialSource) -> SharedCredentialsProvider {
    match source {
        CredentialSource::Config { access_key, secret_key, session_token }
        | CredentialSource::Env { access_key, secret_key, session_token } => {
            SharedCredentialsProvider::new(Credentials::new(
                access_key.expose(),
                secret_key.expose(),
                session_token.as_ref().map(|t| t.expose().to_string()),
                None,
                PROVIDER_NAME,
            ))
        }
        CredentialSource::SharedFile { path, profile } => {
            SharedCredentialsProvider::new(SharedFileProvider { path: path.clone(), profile: profile.clone() })
        }
    }
}

/// Reads one profile of the shared credentials file each time the SDK's identity cache
/// refreshes (credentials without an expiry are kept for the cache's default lifetime).
#[derive(Debug)]
struct SharedFileProvider {
    path: PathBuf,
    profile: String,
}

impl SharedFileProvider {
    fn load(&self) -> Result<Credentials, CredentialsError> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            CredentialsError::not_loaded(format!("cannot read shared credentials file {}: {e}", self.path.display()))
        })?;
        let keys = shared_file_credentials(&text, &self.profile).map_err(|e| {
            CredentialsError::invalid_configuration(format!("shared credentials file {}: {e}", self.path.display()))
        })?;
        Ok(Credentials::new(
            keys.access_key.expose(),
            keys.secret_key.expose(),
            keys.session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            PROVIDER_NAME,
        ))
    }
}

impl ProvideCredentials for SharedFileProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(self.load())
    }
}
