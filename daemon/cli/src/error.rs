//! The crate's one error type: what can go wrong talking to the server.

use std::fmt;

/// A non-success response, shown the way bao's `api.ResponseError` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub method: String,
    pub url: String,
    pub status: u16,
    /// The body was not a JSON object with `errors`; `errors` then holds the raw body.
    pub raw: bool,
    pub errors: Vec<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.raw { "Raw Message" } else { "Errors" };
        write!(
            f,
            "Error making API request.\n\nURL: {} {}\nCode: {}. {}:\n\n",
            self.method, self.url, self.status, kind
        )?;
        if self.raw && self.errors.len() == 1 {
            f.write_str(&self.errors[0])?;
        } else {
            // bao concatenates the entries without a separator; so do we.
            for e in &self.errors {
                write!(f, "* {e}")?;
            }
        }
        Ok(())
    }
}

/// Errors from a request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The request never got an HTTP response (Go's `url.Error` wording).
    #[error("{0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("{0}")]
    Api(ApiError),
    /// The server's body could not be decoded.
    #[error("{0}")]
    Decode(String),
}

impl Error {
    /// The error text contains bao's "Vault is sealed" marker.
    pub(crate) fn mentions_sealed(&self) -> bool {
        self.to_string().contains("Vault is sealed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error block has bao's exact layout.
    #[test]
    fn api_error_display_matches_bao() {
        let e = ApiError {
            method: "GET".into(),
            url: "http://127.0.0.1:8200/v1/secret/foo".into(),
            status: 403,
            raw: false,
            errors: vec!["permission denied".into()],
        };
        assert_eq!(
            e.to_string(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/secret/foo\nCode: 403. Errors:\n\n* permission denied"
        );
        let raw = ApiError { raw: true, errors: vec!["<html>".into()], status: 502, ..e };
        assert!(raw.to_string().ends_with("Code: 502. Raw Message:\n\n<html>"));
    }
}
